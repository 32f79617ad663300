//! Command-line surface of the operations commands: config as code
//! (`apply`, `export`), `snapshot`, `leader transfer` and the `status`
//! arguments (`--watch`).

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON (a stable schema) instead of the human layout
    #[arg(long)]
    pub json: bool,
    /// Redraw every --interval until Ctrl-C (on a terminal the screen is
    /// cleared; otherwise each status is printed after a timestamp line)
    #[arg(short, long)]
    pub watch: bool,
    /// How often --watch redraws
    #[arg(
        long,
        default_value = "2s",
        value_name = "DURATION",
        requires = "watch"
    )]
    pub interval: String,
    /// Stop --watch after this many redraws [default: until Ctrl-C]
    #[arg(long, value_name = "N", requires = "watch")]
    pub count: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// How often to ask the daemon for its status
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub interval: String,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The declaration file (YAML with `checks:`, `alerts:` and optionally
    /// `retention:`); `-` reads standard input
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: String,
    /// Show the difference only; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the checks and alert channels the file does not declare
    #[arg(long)]
    pub prune: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file (mode 0600; it contains alert secrets) instead of
    /// standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LeaderCmd {
    /// Move the master role to another member (manual step-down for
    /// maintenance on the current master).
    ///
    /// Without NODE_ID the lowest live voter other than the current master
    /// takes over. The choice is replicated and holds for --hold (the usual
    /// rule, lowest live NodeID after the cooldown, would otherwise hand the
    /// role straight back); --clear ends it early.
    ///
    /// Example: qu leader transfer --hold 30m
    Transfer {
        /// The member to make master [default: the lowest other live voter]
        #[arg(value_name = "NODE_ID", conflicts_with = "clear")]
        node_id: Option<String>,
        /// How long the chosen node keeps the role
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        hold: String,
        /// Drop an earlier choice: the lowest live NodeID rule applies again
        #[arg(long)]
        clear: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}
