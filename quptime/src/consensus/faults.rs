//! Fault injection for partition tests and chaos drills: cut this node off
//! from chosen peers at the application layer, in both directions.
//!
//! A cut peer's Raft RPCs, liveness pings and forwarded proposals fail as
//! if the network dropped them (outgoing calls fail fast as unreachable;
//! incoming calls from it are refused). Real partitions need root and
//! network namespaces; this works anywhere, including in-process clusters
//! on loopback.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use crate::identity::NodeId;

/// A cheap-clone set of peers this node cannot talk to.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    cut: Arc<RwLock<HashSet<NodeId>>>,
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

    /// Whether traffic with `peer` is dropped.
    pub fn is_cut(&self, peer: &NodeId) -> bool {
        self.cut
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(peer)
    }
}
