//! `qu backup …` and `qu recover`: backups and disaster recovery.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write a backup of this node: every check and alert channel, the
    /// members, and the node's identity (key, certificate, node.yaml with the
    /// cluster secret, trust.yaml) in one JSON file with mode 0600.
    ///
    /// With the daemon running, it answers with one consistent copy of its
    /// applied state; with the daemon stopped, the state is read from the
    /// node's Raft storage (snapshot and log). Keep the file as safe as the
    /// private key it contains.
    ///
    /// Example: qu backup create /var/backups/quptime-$(date +%F).json
    Create {
        /// Where to write the backup (replaced atomically if it exists)
        file: PathBuf,
    },
    /// Restore a backup into this node's data directory (daemon stopped).
    ///
    /// Writes the identity back (into an empty data directory, or over the
    /// same node), keeps any old Raft storage as raft.old-<time>, and leaves
    /// an import: the next `qu serve` founds a new one-member cluster holding
    /// the backup's checks and alert channels. Other nodes then join it as
    /// new members (`qu node add` or enrollment tokens). Nothing is written
    /// unless the whole file is valid.
    ///
    /// Example: qu backup restore /var/backups/quptime-2025-01-31.json
    Restore {
        /// The backup file (from `qu backup create`)
        file: PathBuf,
        /// Do not ask before replacing existing Raft storage
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Make this node the only voter of a new cluster that keeps the checks
    /// and alert channels in its storage (required: says you mean it)
    #[arg(long)]
    pub force_new_cluster: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
}
