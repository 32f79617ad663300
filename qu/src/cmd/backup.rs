//! `qu backup create|restore` and `qu recover --force-new-cluster`.
//!
//! Restore and recover rewrite the node's storage, so both refuse while a
//! daemon runs on this data directory (its control socket answers, or it
//! holds the Raft log lock); the library validates everything before it
//! writes anything and keeps the old Raft directory aside.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use quptime::api::CreateBackup;
use quptime::backup::{self, Backup};
use quptime::control::BlockingControlClient;

use crate::cli::{BackupCmd, RecoverArgs};

pub fn run(cmd: BackupCmd) -> Result<()> {
    match cmd {
        BackupCmd::Create { file } => create(&file),
        BackupCmd::Restore { file, yes } => restore(&file, yes),
    }
}

fn create(file: &Path) -> Result<()> {
    let socket = quptime::paths::socket_path();
    let backup = match BlockingControlClient::connect(&socket) {
        Ok(client) => client.call::<CreateBackup>(&())?,
        Err(_) => {
            let dir = quptime::paths::data_dir();
            eprintln!(
                "no daemon answers at {}; reading the stopped node's storage in {}",
                socket.display(),
                dir.display()
            );
            runtime()?.block_on(Backup::of_stopped_node(&dir))?
        }
    };
    backup.write(file)?;
    println!(
        "wrote backup of node {} to {} ({} checks, {} alert channels, config ver {}, mode 0600)",
        backup.node_id,
        file.display(),
        backup.checks.len(),
        backup.alerts.len(),
        backup.config_version
    );
    Ok(())
}

fn restore(file: &Path, yes: bool) -> Result<()> {
    let backup = Backup::read(file)?;
    refuse_running_daemon("restoring")?;
    let dir = quptime::paths::data_dir();
    if quptime::backup::has_storage(&dir) && !yes {
        eprintln!(
            "{} holds this node's Raft storage. Restoring makes node {} the only member of a \
             NEW cluster; the old storage is kept as raft.old-<time>.",
            dir.display(),
            backup.node_id
        );
        if !confirm("Restore and found a new cluster?", "re-run with --yes")? {
            bail!("not restored; nothing changed");
        }
    }
    let done = backup::restore(&dir, &backup, &format!("backup {}", file.display()))?;
    println!(
        "restored node {} into {}{}",
        done.node_id,
        dir.display(),
        if done.wrote_identity {
            " (identity written)"
        } else {
            " (identity already there)"
        }
    );
    if let Some(old) = &done.kept_raft {
        println!("old Raft storage kept in {}", old.display());
    }
    println!(
        "next `qu serve` founds a new cluster with {} checks and {} alert channels; \
         then add the other nodes (`qu node add` or `qu enroll create`)",
        done.checks, done.alerts
    );
    Ok(())
}

pub fn recover(args: RecoverArgs) -> Result<()> {
    if !args.force_new_cluster {
        bail!(
            "recover needs --force-new-cluster: it makes this node the only voter of a new \
             cluster, and is only for when a majority of the members is lost for good \
             (see docs/operations.md)"
        );
    }
    refuse_running_daemon("recovering")?;
    let dir = quptime::paths::data_dir();
    let config = quptime::store::NodeConfig::load(&dir)?;
    eprintln!(
        "\
!!! DANGER: qu recover --force-new-cluster
!!! Node {id} ({dir}) will become the ONLY voter of a NEW cluster.
!!! Use this only when a majority of the members is permanently lost.
!!! If the other members are still alive somewhere, you will run two
!!! clusters that both send alerts. They must be stopped, their Raft
!!! storage wiped, and then added back as new members.
!!! Checks and alert channels are kept; check states, history and
!!! pending alerts are not. The old storage is kept as raft.old-<time>.",
        id = config.node_id,
        dir = dir.display()
    );
    if !args.yes {
        let question = format!("Type the node id ({}) to continue:", config.node_id);
        if !confirm_typed(&question, &config.node_id)? {
            bail!("not recovered; nothing changed");
        }
    }
    let (done, version) = runtime()?.block_on(backup::force_new_cluster(&dir))?;
    println!(
        "node {} re-founded: {} checks and {} alert channels (from config ver {}) are imported \
         at the next `qu serve`",
        done.node_id, done.checks, done.alerts, version
    );
    if let Some(old) = &done.kept_raft {
        println!("old Raft storage kept in {}", old.display());
    }
    println!(
        "start the daemon, then re-add the other nodes as new members (wipe their raft/ first)"
    );
    Ok(())
}

/// A daemon answering on the control socket must be stopped first.
fn refuse_running_daemon(what: &str) -> Result<()> {
    let socket = quptime::paths::socket_path();
    if BlockingControlClient::connect(&socket).is_ok() {
        bail!(
            "a daemon is running (it answers on {}); stop it before {what} \
             (`systemctl stop quptime`, or Ctrl-C the `qu serve`)",
            socket.display()
        );
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start a runtime")
}

fn confirm(question: &str, otherwise: &str) -> Result<bool> {
    Ok(ask(question, otherwise)?
        .map(|a| matches!(a.as_str(), "y" | "Y" | "yes" | "YES"))
        .unwrap_or(false))
}

fn confirm_typed(question: &str, expected: &str) -> Result<bool> {
    Ok(ask(question, "re-run with --yes")?.as_deref() == Some(expected))
}

fn ask(question: &str, otherwise: &str) -> Result<Option<String>> {
    if !std::io::stdin().is_terminal() {
        bail!("{question} needs a confirmation, but stdin is not a terminal: {otherwise}");
    }
    eprint!("{question} ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Some(line.trim().to_string()))
}
