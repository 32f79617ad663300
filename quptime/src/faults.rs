//! Fault injection for partition tests and chaos drills: cut this node off
//! from chosen peers at the application layer, in both directions, or make
//! this node's probes of chosen checks fail (one node's broken uplink).
//!
//! A cut peer's Raft RPCs, liveness pings and forwarded proposals fail as
//! if the network dropped them (outgoing calls fail fast as unreachable;
//! incoming calls from it are refused). Real partitions need root and
//! network namespaces; this works anywhere, including in-process clusters
//! on loopback.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use crate::identity::NodeId;

/// A cheap-clone set of peers this node cannot talk to.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    cut: Arc<RwLock<HashSet<NodeId>>>,
    probes: Arc<RwLock<HashSet<String>>>,
    pretend_level: Arc<AtomicU32>,
}

impl Faults {
    /// No faults.
    pub fn new() -> Faults {
        Faults::default()
    }

    /// Drop all traffic to and from `peer`.
    pub fn cut(&self, peer: &NodeId) {
        self.cut
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer.clone());
    }

    /// Restore traffic with every peer.
    pub fn heal(&self) {
        self.cut.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Make this node's probes of the check named `check` (or `*` for every
    /// check) fail with the detail `injected fault`.
    pub fn fail_probes(&self, check: &str) {
        self.probes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(check.to_string());
    }

    /// Answer pings as if this node were an older release that applies
    /// state level `level` at most (for rolling-upgrade drills); 0 restores
    /// the real level.
    pub fn pretend_state_level(&self, level: u32) {
        self.pretend_level.store(level, Ordering::Relaxed);
    }

    /// The state level this node reports to its peers.
    pub fn reported_state_level(&self) -> u32 {
        match self.pretend_level.load(Ordering::Relaxed) {
            0 => crate::state::STATE_LEVEL,
            n => n,
        }
    }

    /// Let this node's probes run for real again.
    pub fn heal_probes(&self) {
        self.probes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The injected failure detail for `check`, if its probes must fail.
    pub fn probe_fault(&self, check: &crate::state::Check) -> Option<String> {
        let p = self.probes.read().unwrap_or_else(|p| p.into_inner());
        (p.contains("*") || p.contains(&check.name)).then(|| "injected fault".to_string())
    }

    /// Whether traffic with `peer` is dropped.
    pub fn is_cut(&self, peer: &NodeId) -> bool {
        self.cut
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(peer)
    }
}
