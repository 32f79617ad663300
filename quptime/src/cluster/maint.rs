//! Maintenance on a running node: a snapshot on demand with the disk use
//! it leaves (`qu snapshot`), and moving the master role by hand (`qu
//! leader transfer`) for maintenance on the current master.
//!
//! A manual transfer is a replicated *pin* ([`Mutation::PinMaster`]), not a
//! one-off Raft call: the master preference (lowest live NodeId) would
//! otherwise hand the role straight back. The leader's controller moves the
//! role to the pinned node and the pinned node keeps it until the pin
//! expires; any node can set it, and it survives failovers.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::consensus::no_quorum;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::state::Mutation;
use crate::state::mutation::now_ms;

/// Longest `qu leader transfer --hold` (30 days).
pub const MAX_HOLD: Duration = Duration::from_secs(30 * 86_400);

/// What `qu snapshot` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotReport {
    /// Last log index the snapshot covers.
    pub index: u64,
    /// Log purged up to this index.
    pub purged: u64,
    /// Bytes under the node's Raft directory (log, snapshot, vote).
    pub raft_bytes: u64,
    /// Bytes under the whole data directory.
    pub data_dir_bytes: u64,
}

/// Total size of the regular files under `dir` (0 if it does not exist).
pub fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => disk_usage(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

impl Cluster {
    /// Why this node can no longer commit or apply: its Raft stopped on a
    /// fatal error (storage or a bug), or its log store refused a write.
    /// `None` while it runs (a full disk is not fatal: writes are refused
    /// until there is room, see `/healthz`).
    pub fn failure(&self) -> Option<String> {
        self.core.consensus.failure()
    }

    /// Resolves once [`Cluster::failure`] has a cause. The library never
    /// exits the process: the embedding program decides (`qu serve` exits
    /// non-zero, so its service manager restarts it from durable storage).
    pub async fn failed(&self) -> Error {
        let why = self.core.consensus.failed().await;
        Error::new(
            ErrorKind::Shutdown,
            format!("this node cannot commit or apply any more: {why}"),
        )
    }

    /// Snapshot the replicated state now, wait until the log behind it is
    /// purged, and report the resulting disk use.
    pub async fn snapshot(&self) -> Result<SnapshotReport> {
        let done = self
            .core
            .consensus
            .snapshot_and_wait(Duration::from_secs(30))
            .await?;
        let dir = self.data_dir().to_path_buf();
        let (raft_bytes, data_dir_bytes) =
            tokio::task::spawn_blocking(move || (disk_usage(&dir.join("raft")), disk_usage(&dir)))
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
        Ok(SnapshotReport {
            index: done.index,
            purged: done.purged,
            raft_bytes,
            data_dir_bytes,
        })
    }

    /// Make `to` (default: the lowest live voter other than the current
    /// master) the master and keep it there for `hold`; waits until it has
    /// taken over. Returns the new master.
    pub async fn transfer_master(&self, to: Option<NodeId>, hold: Duration) -> Result<NodeId> {
        let core = &self.core;
        let view = core.consensus.view();
        let current = view.leader.clone().ok_or_else(|| {
            no_quorum("no master is known (election in progress or too few members reachable)")
        })?;
        let target = match to {
            Some(t) => {
                if !view.voters.contains_key(&t) {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!("{t} is not a voting member"),
                    )
                    .with_hint("list them with `qu node list`"));
                }
                if !core.liveness.get(&t).0 {
                    return Err(Error::invalid(format!(
                        "{t} is not live: bring it up first, or pick another member"
                    )));
                }
                t
            }
            // The preference among the others, without the pin this replaces.
            None => {
                let (voters, live_for) = core.live_voters();
                crate::engine::leader::step_down_to(
                    &current,
                    &crate::engine::leader::Situation {
                        voters: &voters,
                        live_for: &live_for,
                        pin: None,
                        leader: None,
                        cooldown: Duration::ZERO,
                        now_ms: now_ms(),
                    },
                )
            }
            .ok_or_else(|| {
                Error::invalid(
                    "no other live voting member can take the master role; add or start one first",
                )
            })?,
        };
        if hold < Duration::from_secs(1) || hold > MAX_HOLD {
            return Err(Error::invalid_field(
                "hold",
                format!(
                    "{} is out of range: use a duration from 1s to {}, such as 1h",
                    crate::state::duration::format(hold),
                    crate::state::duration::format(MAX_HOLD)
                ),
            ));
        }
        let until_ms = now_ms().saturating_add(crate::state::duration::millis(hold));
        self.propose(Mutation::PinMaster {
            node: Some(target.clone()),
            until_ms,
        })
        .await?;
        // The leader's controller hands over within a tick, or after its
        // back-off if it transferred moments ago; then an election.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let leader = core.consensus.view().leader;
            if leader.as_ref() == Some(&target) {
                return Ok(target);
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{target} is preferred as master now, but {} still leads after 20s; \
                         check `qu status` and the daemons' logs (the preference stays for {})",
                        leader.map_or_else(|| "nobody".to_string(), |l| l.to_string()),
                        humantime::format_duration(hold)
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Drop the operator's master preference: the lowest live NodeId rule
    /// applies again.
    pub async fn clear_master_pin(&self) -> Result<()> {
        self.propose(Mutation::PinMaster {
            node: None,
            until_ms: 0,
        })
        .await
        .map(|_| ())
    }
}
