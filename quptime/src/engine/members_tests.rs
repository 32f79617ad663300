//! Unit tests of the membership engine: a replicated state and a Raft
//! view in, the reconciliation steps out, in the order the driver
//! performs them.

use std::collections::BTreeMap;

use super::members::{Action, CAUGHT_UP, PRUNE_EXPIRED_AFTER, RaftMembers, prunable, reconcile};
use crate::identity::{Fingerprint, NodeId};
use crate::state::{ClusterState, Enrollment, Mutation, PeerRecord};

const NOW: u64 = 1_750_000_000;

fn node(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

fn fingerprint(id: &str) -> Fingerprint {
    Fingerprint::of_spki(id.as_bytes())
}

fn peer(id: &str) -> PeerRecord {
    PeerRecord {
        node_id: node(id),
        advertise: format!("127.0.0.1:99{:02}", id.len()),
        fingerprint: fingerprint(id),
        cert_pem: String::new(),
        added_at: String::new(),
        labels: Default::default(),
    }
}

fn token(id: &str, expires_at: u64) -> Enrollment {
    Enrollment {
        id: id.into(),
        name: None,
        secret_hash: "sha256:00".into(),
        expires_at,
        auto_approve: false,
        request: None,
        approved: false,
        used: false,
    }
}

/// A state recording `peers` as members.
fn state(peers: &[&str]) -> ClusterState {
    let mut s = ClusterState::default();
    for p in peers {
        s.peers.insert(node(p), peer(p));
    }
    s
}

fn raft(voters: &[&str], learners: &[(&str, Option<u64>)]) -> RaftMembers {
    RaftMembers {
        voters: voters.iter().map(|v| node(v)).collect(),
        learners: learners
            .iter()
            .map(|(l, lag)| (node(l), *lag))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn a_settled_membership_needs_nothing() {
    let s = state(&["a", "b", "c"]);
    assert!(reconcile(&s, &raft(&["a", "b", "c"], &[]), NOW).is_empty());
}

#[test]
fn a_learner_is_promoted_once_caught_up() {
    let s = state(&["a", "b", "c"]);
    let view = |lag| raft(&["a", "b"], &[("c", lag)]);
    for lag in [0, 1, CAUGHT_UP] {
        assert_eq!(
            reconcile(&s, &view(Some(lag)), NOW),
            [Action::Promote(node("c"))],
            "lag {lag}"
        );
    }
    for lag in [Some(CAUGHT_UP + 1), Some(10_000), None] {
        assert!(reconcile(&s, &view(lag), NOW).is_empty(), "lag {lag:?}");
    }
}

#[test]
fn a_recorded_peer_outside_raft_is_added_as_a_learner() {
    let s = state(&["a", "b", "c"]);
    assert_eq!(
        reconcile(&s, &raft(&["a", "b"], &[]), NOW),
        [Action::AddLearner {
            id: node("c"),
            addr: peer("c").advertise,
            fingerprint: fingerprint("c"),
        }]
    );
}

#[test]
fn a_removed_peer_still_in_raft_is_removed() {
    let mut s = state(&["a", "b"]);
    s.removed.insert(node("c"));
    s.removed.insert(node("d"));
    assert_eq!(
        reconcile(&s, &raft(&["a", "b", "c"], &[("d", Some(0))]), NOW),
        [Action::Remove(node("c")), Action::Remove(node("d"))]
    );
    // Gone from Raft already: nothing left to do.
    assert!(reconcile(&s, &raft(&["a", "b"], &[]), NOW).is_empty());
    // A member not recorded as removed is left alone (it may be joining).
    let s = state(&["a", "b"]);
    assert!(reconcile(&s, &raft(&["a", "b", "c"], &[]), NOW).is_empty());
}

#[test]
fn an_expired_token_is_pruned_a_minute_after_it_expires() {
    let mut s = state(&["a"]);
    s.enrollments.insert("t1".into(), token("t1", NOW));
    s.enrollments.insert("t2".into(), token("t2", NOW + 3600));
    let view = raft(&["a"], &[]);
    assert!(
        reconcile(&s, &view, NOW).is_empty(),
        "expired, not yet pruned"
    );
    assert!(reconcile(&s, &view, NOW + PRUNE_EXPIRED_AFTER - 1).is_empty());
    let revoke = |id: &str| Action::Propose(Box::new(Mutation::RevokeEnrollment { id: id.into() }));
    assert_eq!(
        reconcile(&s, &view, NOW + PRUNE_EXPIRED_AFTER),
        [revoke("t1")]
    );
    assert_eq!(
        reconcile(&s, &view, NOW + 3600 + PRUNE_EXPIRED_AFTER),
        [revoke("t1"), revoke("t2")]
    );
}

#[test]
fn one_pass_prunes_then_promotes_or_adds_then_removes() {
    let mut s = state(&["a", "b", "c", "d"]);
    s.removed.insert(node("e"));
    s.enrollments
        .insert("t".into(), token("t", NOW - 2 * PRUNE_EXPIRED_AFTER));
    let view = raft(&["a", "e"], &[("b", Some(0)), ("c", Some(CAUGHT_UP + 5))]);
    let kinds: Vec<String> = reconcile(&s, &view, NOW)
        .into_iter()
        .map(|a| match a {
            Action::Propose(_) => "revoke".to_string(),
            Action::AddLearner { id, .. } => format!("add {id}"),
            Action::Promote(id) => format!("promote {id}"),
            Action::Remove(id) => format!("remove {id}"),
        })
        .collect();
    assert_eq!(kinds, ["revoke", "promote b", "add d", "remove e"]);
}

// Moved from cluster/reconcile.rs with the rule.
#[test]
fn expired_tokens_are_pruned_a_minute_later() {
    let t = 1_000_000;
    assert!(!prunable(t, t));
    assert!(!prunable(t, t + PRUNE_EXPIRED_AFTER - 1));
    assert!(prunable(t, t + PRUNE_EXPIRED_AFTER));
    assert!(!prunable(u64::MAX, u64::MAX - 1));
}
