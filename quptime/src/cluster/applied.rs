//! [`Cluster::wait_applied`]: read-your-writes across nodes. A write
//! returns the config version it committed ([`crate::state::Outcome`]);
//! a caller that wrote through one node and reads on another waits here
//! until that node's applied state has caught up, bounded by a timeout.

use std::time::Duration;

use crate::cluster::Cluster;
use crate::error::{Error, ErrorKind, Result};
use crate::state::duration;

impl Cluster {
    /// Wait until this node has applied config version `version` or later,
    /// for at most `timeout`; returns the version applied then.
    /// [`ErrorKind::Timeout`] when it has not, [`ErrorKind::Shutdown`] when
    /// the node stopped first.
    pub async fn wait_applied(&self, version: u64, timeout: Duration) -> Result<u64> {
        let mut states = self.watch_state();
        let reached = tokio::time::timeout(timeout, async {
            loop {
                let now = states.borrow_and_update().version;
                if now >= version {
                    return Ok(now);
                }
                if self.is_stopped() || states.changed().await.is_err() {
                    return Err(Error::new(
                        ErrorKind::Shutdown,
                        "the node stopped before applying that version",
                    ));
                }
            }
        })
        .await;
        reached.unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "this node has applied config version {}, not yet {version}, after {}",
                    self.state().version,
                    duration::format(timeout)
                ),
            ))
        })
    }
}
