//! Cluster-level methods between nodes: forwarding work to the master, and
//! the open join handshake a not-yet-trusted node answers.

use serde::{Deserialize, Serialize};

use crate::identity::NodeId;
use crate::state::{Command, Outcome, PeerRecord};
use crate::transport::Rpc;

/// A follower hands a proposal to the master.
#[derive(Debug)]
pub enum ProposeRpc {}
impl Rpc for ProposeRpc {
    const METHOD: &'static str = "cluster.propose";
    type Request = Command;
    type Response = Outcome;
}

/// Ask the master to admit a node that accepted an invitation.
#[derive(Debug)]
pub enum AdmitRpc {}
impl Rpc for AdmitRpc {
    const METHOD: &'static str = "cluster.admit";
    type Request = PeerRecord;
    type Response = Outcome;
}

/// Ask the master to remove a member.
#[derive(Debug)]
pub enum EvictRpc {}
impl Rpc for EvictRpc {
    const METHOD: &'static str = "cluster.evict";
    type Request = NodeId;
    type Response = Outcome;
}

/// A member invites this (new) node, proving it knows the cluster secret.
#[derive(Debug)]
pub enum JoinInviteRpc {}
impl Rpc for JoinInviteRpc {
    const METHOD: &'static str = "join.invite";
    const OPEN: bool = true;
    type Request = JoinInvite;
    type Response = JoinAccept;
}

/// The invitation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinInvite {
    /// Fresh random challenge.
    pub nonce: String,
    /// HMAC-SHA256 over the invitation with the cluster secret.
    pub proof: String,
    /// The current members, to trust.
    pub members: Vec<PeerRecord>,
}

/// The new node's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinAccept {
    /// Its id.
    pub node_id: NodeId,
    /// Where members dial it.
    pub advertise: String,
    /// Its certificate (PEM).
    pub cert_pem: String,
    /// HMAC-SHA256 over the acceptance with the cluster secret.
    pub proof: String,
    /// Set (with an empty proof) by a node that founded its own cluster but
    /// holds nothing but itself: it can be absorbed, see [`JoinAbsorbRpc`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absorb: bool,
    /// Its labels from `node.yaml` (older nodes send none).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: crate::state::Labels,
}

/// The inviting member asks a lone founder to leave its one-node cluster
/// and join this one (after the operator confirmed its key, TOFU). Sent on
/// the connection pinned to that key, so the secret reaches only it.
#[derive(Debug)]
pub enum JoinAbsorbRpc {}
impl Rpc for JoinAbsorbRpc {
    const METHOD: &'static str = "join.absorb";
    const OPEN: bool = true;
    type Request = JoinAbsorb;
    type Response = JoinAccept;
}

/// What a lone founder needs to join: whom to trust, the cluster secret,
/// and a single-use enrollment token that finishes the join by itself if
/// either side stops half-way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinAbsorb {
    /// The invitation (proved with `secret`).
    pub invite: JoinInvite,
    /// The cluster secret.
    pub secret: String,
    /// An auto-approved enrollment token (encoded).
    pub token: String,
}
