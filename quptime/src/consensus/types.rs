//! The openraft type configuration: what our log entries, responses, node
//! ids and node records are.

use serde::{Deserialize, Serialize};

use crate::identity::{Fingerprint, NodeId};
use crate::state::{Applied, Command};

/// How Raft reaches a member: its address and the key it must prove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// `host:port` to dial.
    pub addr: String,
    /// The key the member proves in the TLS handshake.
    pub fingerprint: Fingerprint,
}

openraft::declare_raft_types!(
    /// quptime's Raft: log entries are [`Command`]s, responses [`Applied`],
    /// members are known by [`NodeId`] and reached through a [`Member`].
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = NodeId,
        Node = Member,
);

/// Shorthand for the Raft handle over our state machine.
pub type Raft = openraft::Raft<TypeConfig, crate::consensus::state_machine::StateMachine>;
