//! Keeping `trust.yaml` in line with the replicated membership.
//!
//! The trust store decides who reaches this node's Raft, so it must follow
//! the members the cluster agreed on, not the history of this one node: a
//! key left over from before a `qu backup restore` or a `qu recover
//! --force-new-cluster`, or a removal whose write failed, would let a node
//! the cluster no longer counts talk to its Raft. So after every applied
//! membership change, every installed snapshot and every start:
//!
//! - once the replicated peers table records this node, the store becomes
//!   exactly the other recorded members (with their recorded keys); every
//!   other entry goes;
//! - before that (a node still joining: it trusts the members its
//!   invitation or token named, and has not replicated the table yet),
//!   recorded members are added and removed ids dropped, nothing else.
//!
//! A failed write is retried every [`RETRY`] until it succeeds (the
//! revocations take effect in memory at once, see
//! [`TrustStore::replace_all`]); the decision itself ([`plan`]) is pure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::identity::NodeId;
use crate::state::ClusterState;
use crate::trust::{TrustStore, TrustedPeer};

/// Pause between attempts to write a trust change that failed.
pub const RETRY: Duration = Duration::from_secs(1);

/// What the store should hold, given what it holds and the replicated state.
/// `me` is `None` offline, where nothing is pruned.
pub(crate) fn plan(
    current: &[TrustedPeer],
    state: &ClusterState,
    me: Option<&NodeId>,
) -> Vec<TrustedPeer> {
    let members: Vec<TrustedPeer> = state
        .peers
        .values()
        .filter(|p| Some(&p.node_id) != me)
        .map(|p| {
            // Keep when this node first trusted the key, if it did.
            let added_at = current
                .iter()
                .find(|c| c.node_id == p.node_id && c.fingerprint == p.fingerprint)
                .map_or_else(|| p.added_at.clone(), |c| c.added_at.clone());
            TrustedPeer {
                node_id: p.node_id.clone(),
                address: p.advertise.clone(),
                fingerprint: p.fingerprint.clone(),
                cert_pem: p.cert_pem.clone(),
                added_at,
            }
        })
        .collect();
    if me.is_some_and(|me| state.peers.contains_key(me)) {
        return members;
    }
    let mut next: Vec<TrustedPeer> = current
        .iter()
        .filter(|c| !state.removed.contains(&c.node_id))
        .filter(|c| {
            // A recorded member's entry (or key) is replaced by the record.
            !members
                .iter()
                .any(|m| m.node_id == c.node_id || m.fingerprint == c.fingerprint)
        })
        .cloned()
        .collect();
    next.extend(members);
    next
}

/// The state machine's handle on the trust store.
#[derive(Debug, Clone)]
pub(crate) struct TrustSync {
    trust: TrustStore,
    /// This node (`None` offline: nothing is pruned then).
    me: Option<NodeId>,
    retrying: Arc<AtomicBool>,
}

impl TrustSync {
    pub(crate) fn new(trust: TrustStore, me: Option<NodeId>) -> TrustSync {
        TrustSync {
            trust,
            me,
            retrying: Arc::default(),
        }
    }

    /// Bring the store in line with `state`; on a failed write, retry in
    /// the background with the latest state from `latest` until it works
    /// (or the state machine is gone).
    pub(crate) fn sync(&self, state: &ClusterState, latest: watch::Receiver<Arc<ClusterState>>) {
        if self.try_sync(state) || self.retrying.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.retrying.store(false, Ordering::SeqCst);
            return;
        };
        let me = self.clone();
        rt.spawn(async move {
            loop {
                tokio::time::sleep(RETRY).await;
                if latest.has_changed().is_err() {
                    break;
                }
                let state = latest.borrow().clone();
                if me.try_sync(&state) {
                    tracing::info!("trust.yaml is in line with the membership again");
                    break;
                }
            }
            me.retrying.store(false, Ordering::SeqCst);
        });
    }

    fn try_sync(&self, state: &ClusterState) -> bool {
        let current = self.trust.list();
        let next = plan(&current, state, self.me.as_ref());
        let dropped: Vec<String> = current
            .iter()
            .filter(|c| {
                !next
                    .iter()
                    .any(|n| n.node_id == c.node_id && n.fingerprint == c.fingerprint)
            })
            .map(|c| format!("{} ({})", c.node_id, c.fingerprint))
            .collect();
        if !dropped.is_empty() {
            tracing::info!(
                dropped = %dropped.join(", "),
                "trust.yaml follows the membership: no longer trusting keys the cluster does not record"
            );
        }
        self.write(next)
    }

    fn write(&self, next: Vec<TrustedPeer>) -> bool {
        match self.trust.replace_all(next) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "could not write trust.yaml to follow the membership (revoked keys are \
                     refused already); retrying every {}",
                    humantime::format_duration(RETRY)
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Fingerprint;
    use crate::state::PeerRecord;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("id")
    }

    fn record(name: &str, key: &str) -> PeerRecord {
        PeerRecord {
            node_id: id(name),
            advertise: format!("{name}:9901"),
            fingerprint: Fingerprint::of_spki(key.as_bytes()),
            cert_pem: String::new(),
            added_at: "2026-01-01T00:00:00Z".into(),
            labels: Default::default(),
        }
    }

    fn trusted(name: &str, key: &str) -> TrustedPeer {
        let r = record(name, key);
        TrustedPeer {
            node_id: r.node_id,
            address: r.advertise,
            fingerprint: r.fingerprint,
            cert_pem: r.cert_pem,
            added_at: "2025-06-01T00:00:00Z".into(),
        }
    }

    fn names(peers: &[TrustedPeer]) -> Vec<String> {
        let mut v: Vec<String> = peers.iter().map(|p| p.node_id.to_string()).collect();
        v.sort();
        v
    }

    fn state(members: &[(&str, &str)], removed: &[&str]) -> ClusterState {
        let mut s = ClusterState::default();
        for (n, k) in members {
            s.peers.insert(id(n), record(n, k));
        }
        s.removed = removed.iter().map(|n| id(n)).collect();
        s
    }

    #[test]
    fn a_member_trusts_exactly_the_other_members() {
        // Left over from an old cluster (a restore), and a key that changed.
        let current = vec![
            trusted("old1", "k-old1"),
            trusted("n2", "k2-before"),
            trusted("n3", "k3"),
        ];
        let s = state(&[("n1", "k1"), ("n2", "k2"), ("n3", "k3")], &[]);
        let next = plan(&current, &s, Some(&id("n1")));
        assert_eq!(names(&next), ["n2", "n3"]);
        let n2 = next.iter().find(|p| p.node_id == id("n2")).expect("n2");
        assert_eq!(n2.fingerprint, Fingerprint::of_spki(b"k2"));
        // First trusted: kept where the key is the same.
        let n3 = next.iter().find(|p| p.node_id == id("n3")).expect("n3");
        assert_eq!(n3.added_at, "2025-06-01T00:00:00Z");
        assert_eq!(n2.added_at, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn a_fresh_refounded_node_trusts_nobody_once_it_records_itself() {
        let current = vec![trusted("n2", "k2"), trusted("n3", "k3")];
        // Restored: the new cluster's state holds only this node.
        let next = plan(&current, &state(&[("n1", "k1")], &[]), Some(&id("n1")));
        assert!(next.is_empty(), "{:?}", names(&next));
    }

    #[test]
    fn a_joining_node_keeps_what_its_invitation_named() {
        // Not recorded yet: the inviter's members stay, removed ids go.
        let current = vec![
            trusted("a", "ka"),
            trusted("b", "kb"),
            trusted("gone", "kg"),
        ];
        let s = state(&[("a", "ka2")], &["gone"]);
        let next = plan(&current, &s, Some(&id("joiner")));
        assert_eq!(names(&next), ["a", "b"]);
        let a = next.iter().find(|p| p.node_id == id("a")).expect("a");
        assert_eq!(a.fingerprint, Fingerprint::of_spki(b"ka2"));
    }

    #[test]
    fn a_failed_write_revokes_in_memory_and_is_retried() {
        use crate::trust::Authorizer;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = TrustStore::load(dir.path()).expect("load");
        store.add(trusted("n2", "k2")).expect("add n2");
        store.add(trusted("n3", "k3")).expect("add n3");
        // trust.yaml cannot be replaced while a directory stands there.
        let file = dir.path().join(crate::paths::TRUST_FILE);
        std::fs::remove_file(&file).expect("rm");
        std::fs::create_dir(&file).expect("dir in the way");
        std::fs::write(file.join("x"), b"").expect("non-empty");

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let sync = TrustSync::new(store.clone(), Some(id("n1")));
            let s = state(&[("n1", "k1"), ("n2", "k2")], &["n3"]);
            let (_tx, rx) = watch::channel(Arc::new(s.clone()));
            sync.sync(&s, rx);
            // The removed key is refused at once, though the disk failed.
            assert_eq!(store.node_for(&Fingerprint::of_spki(b"k3")), None);
            assert!(store.node_for(&Fingerprint::of_spki(b"k2")).is_some());
            assert!(sync.retrying.load(Ordering::SeqCst));
            // The disk recovers: the retry writes the file.
            std::fs::remove_dir_all(&file).expect("clear the way");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while sync.retrying.load(Ordering::SeqCst) {
                assert!(tokio::time::Instant::now() < deadline, "never retried");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let reloaded = TrustStore::load(dir.path()).expect("reload");
        assert_eq!(names(&reloaded.list()), ["n2"]);
    }
}
