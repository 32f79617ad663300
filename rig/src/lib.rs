//! The fault rig (issue #19): five real `qu serve` processes, each in its
//! own network namespace on a private bridge, an HTTP target and a webhook
//! receiver in namespaces of their own, a fault schedule drawn from a
//! printed seed, a concurrent workload through random nodes, and a pure
//! checker over what was recorded. Everything it creates is named
//! `qurig-*` and lives on 10.77.0.0/24 inside its own namespaces; it is all
//! removed on drop, and stale leftovers are removed at start.
//!
//! `run::run_seed` is the one entry point the test (`qu/tests/fault_rig.rs`)
//! and the soak binary (`qurig`, behind `scripts/soak`) share.

pub mod checker;
pub mod faults;
pub mod netns;
pub mod node;
pub mod procs;
pub mod report;
pub mod run;
pub mod schedule;
pub mod services;
pub mod workload;

/// What went wrong setting up or driving the rig (not a checker finding).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RigError(pub String);

/// Results of the rig's own operations.
pub type Result<T> = std::result::Result<T, RigError>;

impl RigError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> RigError {
        RigError(msg.into())
    }
}

/// Whether this process runs as root (namespaces and iptables need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Milliseconds since the Unix epoch on the host clock, which every
/// namespace shares (the duty logs and the rig's records are compared on it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
