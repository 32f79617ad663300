//! Maintenance operations on the Raft group: a snapshot on demand (`qu
//! snapshot`), waiting until it is written and the log behind it purged,
//! so an operator (or a test) can measure the disk use that results.

use std::time::{Duration, Instant};

use openraft::async_runtime::WatchReceiver as _;

use crate::consensus::Consensus;
use crate::error::{Error, ErrorKind, Result};

/// Log entries kept behind a snapshot (for followers that lag a little).
pub const KEEP_BEHIND_SNAPSHOT: u64 = 100;

/// What a forced snapshot achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotDone {
    /// Index of the last entry the snapshot covers.
    pub index: u64,
    /// Index up to which the log is purged (0: nothing purged yet).
    pub purged: u64,
}

impl Consensus {
    /// Build a snapshot of everything applied now and wait (up to
    /// `timeout`) until it is written and the log is purged up to
    /// [`KEEP_BEHIND_SNAPSHOT`] entries before it. A purge that lagging
    /// followers still need waits for them; the snapshot is still done.
    pub async fn snapshot_and_wait(&self, timeout: Duration) -> Result<SnapshotDone> {
        let metrics = || self.raft().metrics().borrow_watched().clone();
        let target = metrics().last_applied.map_or(0, |l| l.index);
        let already = metrics().snapshot.map_or(0, |l| l.index);
        if target == 0 {
            return Err(Error::invalid(
                "nothing to snapshot: this node has applied no entries yet",
            ));
        }
        if already < target {
            self.snapshot().await?;
        }
        let deadline = Instant::now() + timeout;
        let want_purged = target.saturating_sub(KEEP_BEHIND_SNAPSHOT);
        loop {
            let m = metrics();
            let index = m.snapshot.as_ref().map_or(0, |l| l.index);
            let purged = m.purged.as_ref().map_or(0, |l| l.index);
            if index >= target && purged >= want_purged {
                return Ok(SnapshotDone { index, purged });
            }
            if Instant::now() >= deadline {
                if index >= target {
                    return Ok(SnapshotDone { index, purged });
                }
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the snapshot up to entry {target} was not written within {}s \
                         (last snapshot: entry {index}); see the daemon's log",
                        timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
