//! Raft membership following the peers table, decided without I/O.
//!
//! `AddPeer` records who should be a member; the master makes Raft follow:
//! a recorded peer outside Raft is added as a learner (once it answers,
//! which the driver finds out), a learner that has caught up is promoted
//! to voter, a Raft member whose peer record was removed is removed, and
//! an expired enrollment token is revoked [`PRUNE_EXPIRED_AFTER`] seconds
//! after it expires. The same pass finishes a join interrupted between its
//! two steps and completes the token joins, whose daemon starts after the
//! join was approved. It keeps no memory: every pass decides from the
//! replicated state and the Raft view as they are.

use std::collections::{BTreeMap, BTreeSet};

use crate::identity::{Fingerprint, NodeId};
use crate::state::{ClusterState, Mutation};

/// Seconds an expired token is kept before it is revoked: until then every
/// member refuses it by its expiry (the server-side check, which a joiner
/// that skips its own cannot get past), and the operator's `qu enroll list`
/// shows it as expired rather than gone.
pub(crate) const PRUNE_EXPIRED_AFTER: u64 = 60;
/// A learner at most this many log entries behind the leader is promoted.
pub(crate) const CAUGHT_UP: u64 = 10;

/// Raft's membership as the leader sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RaftMembers {
    /// The voters.
    pub(crate) voters: BTreeSet<NodeId>,
    /// The learners, each with how many entries it is behind the leader's
    /// log (`None` while the leader does not know).
    pub(crate) learners: BTreeMap<NodeId, Option<u64>>,
}

/// What the driver is to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Propose this mutation (`RevokeEnrollment` of an expired token);
    /// boxed, as a mutation is far larger than the other actions.
    Propose(Box<Mutation>),
    /// Add this recorded peer as a learner, if it answers a ping: a node
    /// that is not running yet would only hold the membership change up.
    AddLearner {
        id: NodeId,
        addr: String,
        fingerprint: Fingerprint,
    },
    /// Make this learner a voter.
    Promote(NodeId),
    /// Take this member out of Raft: its peer record was removed.
    Remove(NodeId),
}

/// Whether a token that expires at `expires_at` is pruned at `now`.
pub(crate) fn prunable(expires_at: u64, now: u64) -> bool {
    expires_at.saturating_add(PRUNE_EXPIRED_AFTER) <= now
}

/// One reconciliation pass at `now_unix` (seconds since the epoch): token
/// prunes first, then each recorded peer outside the voters (promote or
/// add), then the removals.
pub(crate) fn reconcile(state: &ClusterState, raft: &RaftMembers, now_unix: u64) -> Vec<Action> {
    let mut out = Vec::new();
    for e in state.enrollments.values() {
        if prunable(e.expires_at, now_unix) {
            let revoke = Mutation::RevokeEnrollment { id: e.id.clone() };
            out.push(Action::Propose(Box::new(revoke)));
        }
    }
    for peer in state.peers.values() {
        let id = &peer.node_id;
        if raft.voters.contains(id) {
            continue;
        }
        match raft.learners.get(id) {
            Some(lag) => {
                if lag.is_some_and(|lag| lag <= CAUGHT_UP) {
                    out.push(Action::Promote(id.clone()));
                }
            }
            None => out.push(Action::AddLearner {
                id: id.clone(),
                addr: peer.advertise.clone(),
                fingerprint: peer.fingerprint.clone(),
            }),
        }
    }
    for id in raft.voters.iter().chain(raft.learners.keys()) {
        if state.removed.contains(id) && !state.peers.contains_key(id) {
            out.push(Action::Remove(id.clone()));
        }
    }
    out
}
