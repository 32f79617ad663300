//! Raft log positions from openraft's metrics watch, for the metrics
//! endpoint (kept here because only `consensus` may touch openraft).

use openraft::async_runtime::WatchReceiver as _;

use super::Consensus;

/// Where this node's Raft log stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogIndices {
    /// Index of the last entry in the log.
    pub last_log: u64,
    /// Index of the last entry this node knows to be committed (openraft's
    /// local committed index).
    pub committed: u64,
    /// Index of the last applied entry.
    pub applied: u64,
    /// Whether this node is the Raft leader.
    pub leader: bool,
}

impl Consensus {
    /// The log positions and leadership of this node right now.
    pub fn indices(&self) -> LogIndices {
        let m = self.raft().metrics().borrow_watched().clone();
        LogIndices {
            last_log: m.last_log_index.unwrap_or(0),
            committed: m.local_committed.as_ref().map_or(0, |l| l.index),
            applied: m.last_applied.as_ref().map_or(0, |l| l.index),
            leader: m.state == openraft::ServerState::Leader
                && m.current_leader.as_ref() == Some(&self.me),
        }
    }
}
