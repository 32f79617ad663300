//! The local trust store: which public keys this node accepts as which
//! NodeIds.
//!
//! Trust is SSH-style: a peer is known by the fingerprint of its key, learnt
//! once (on `qu node add` after a person confirms it, or from an enrollment
//! token) and pinned from then on. The store is the source of truth for the
//! transport's per-request authorisation: the identity handed to every
//! handler is the verified TLS key looked up here, never an id written in a
//! message. Changes are written durably to `trust.yaml` before they take
//! effect in memory, so an acknowledged trust change survives a crash and a
//! failed write changes nothing.

mod verify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub(crate) use verify::handshake_signatures;
pub use verify::{AnyClientKeyVerifier, PinnedServerVerifier};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::store::trust_file::{TrustEntry, TrustFile};

/// Decides which node, if any, a verified TLS key belongs to. The transport
/// asks this for every request, so revocations apply to open connections too.
pub trait Authorizer: Send + Sync + 'static {
    /// The NodeId trusted under `fingerprint`, or `None` if the key is unknown.
    fn node_for(&self, fingerprint: &Fingerprint) -> Option<NodeId>;
}

/// One trusted peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedPeer {
    /// The peer's NodeId.
    pub node_id: NodeId,
    /// Where it was last known to listen (`host:port`).
    pub address: String,
    /// The pinned key fingerprint.
    pub fingerprint: Fingerprint,
    /// Its certificate in PEM, shared with other members on join.
    pub cert_pem: String,
    /// When this node first trusted it (RFC 3339 UTC).
    pub added_at: String,
}

impl TrustedPeer {
    fn from_entry(e: TrustEntry) -> Result<TrustedPeer> {
        Ok(TrustedPeer {
            node_id: NodeId::new(e.node_id)?,
            address: e.address,
            fingerprint: Fingerprint::parse(&e.fingerprint)?,
            cert_pem: e.cert,
            added_at: e.added_at,
        })
    }

    fn to_entry(&self) -> TrustEntry {
        TrustEntry {
            node_id: self.node_id.to_string(),
            address: self.address.clone(),
            fingerprint: self.fingerprint.to_string(),
            cert: self.cert_pem.clone(),
            added_at: self.added_at.clone(),
        }
    }
}

/// The trust store: a cheap-clone handle, shared by the transport and the
/// cluster. `dir = None` keeps it in memory only (tests, ephemeral embedders).
#[derive(Debug, Clone)]
pub struct TrustStore {
    dir: Option<PathBuf>,
    peers: Arc<RwLock<Vec<TrustedPeer>>>,
    /// Set while memory holds revocations the file does not (a failed
    /// [`TrustStore::replace_all`]); the next one writes even if nothing
    /// changed in memory.
    unsaved: Arc<std::sync::atomic::AtomicBool>,
}

impl TrustStore {
    /// Load `trust.yaml` from `dir` (an absent file is an empty store).
    pub fn load(dir: &Path) -> Result<TrustStore> {
        let file = TrustFile::load(dir)?;
        let peers = file
            .entries
            .into_iter()
            .map(TrustedPeer::from_entry)
            .collect::<Result<Vec<_>>>()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("{}: {e}", dir.join(crate::paths::TRUST_FILE).display()),
                )
            })?;
        Ok(TrustStore {
            dir: Some(dir.to_path_buf()),
            peers: Arc::new(RwLock::new(peers)),
            unsaved: Arc::default(),
        })
    }

    /// A store that is never written to disk.
    pub fn in_memory() -> TrustStore {
        TrustStore {
            dir: None,
            peers: Arc::new(RwLock::new(Vec::new())),
            unsaved: Arc::default(),
        }
    }

    /// Trust `peer`, replacing an earlier entry for the same NodeId. Refused
    /// when the key is already trusted under another NodeId.
    pub fn add(&self, peer: TrustedPeer) -> Result<()> {
        self.update(|peers| {
            if let Some(other) = peers
                .iter()
                .find(|p| p.fingerprint == peer.fingerprint && p.node_id != peer.node_id)
            {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "key {} is already trusted as node {}: remove that entry first \
                         (`qu trust remove {}`)",
                        peer.fingerprint, other.node_id, other.node_id
                    ),
                ));
            }
            peers.retain(|p| p.node_id != peer.node_id);
            peers.push(peer);
            peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
            Ok(())
        })
    }

    /// Stop trusting `node_id`. Returns whether it was trusted.
    pub fn remove(&self, node_id: &NodeId) -> Result<bool> {
        let mut found = false;
        self.update(|peers| {
            let before = peers.len();
            peers.retain(|p| &p.node_id != node_id);
            found = peers.len() != before;
            Ok(())
        })?;
        Ok(found)
    }

    /// Replace the whole store by `next` in one durable write (nothing is
    /// written when nothing changes). When the write fails, the removals
    /// still take effect in memory — a revoked key must stop working even
    /// on a failing disk — while the additions wait; the error is returned
    /// so that the caller retries the write.
    pub fn replace_all(&self, next: Vec<TrustedPeer>) -> Result<()> {
        let mut next = next;
        next.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        use std::sync::atomic::Ordering;
        if *self.read() == next && !self.unsaved.load(Ordering::SeqCst) {
            return Ok(());
        }
        let kept = next.clone();
        let written = self.update(|peers| {
            *peers = next;
            Ok(())
        });
        self.unsaved.store(written.is_err(), Ordering::SeqCst);
        if written.is_err() {
            let mut guard = self.peers.write().unwrap_or_else(|p| p.into_inner());
            guard.retain(|p| {
                kept.iter()
                    .any(|k| k.node_id == p.node_id && k.fingerprint == p.fingerprint)
            });
        }
        written
    }

    /// The entry for `node_id`, if trusted.
    pub fn get(&self, node_id: &NodeId) -> Option<TrustedPeer> {
        self.read().iter().find(|p| &p.node_id == node_id).cloned()
    }

    /// Every trusted peer, ordered by NodeId.
    pub fn list(&self) -> Vec<TrustedPeer> {
        self.read().clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<TrustedPeer>> {
        // A poisoned lock only means a panic elsewhere mid-update; the data
        // is replaced wholesale in `update`, so it is still consistent.
        self.peers.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Apply `change` to a copy, persist the copy, then publish it: memory
    /// never runs ahead of the disk.
    fn update(&self, change: impl FnOnce(&mut Vec<TrustedPeer>) -> Result<()>) -> Result<()> {
        let mut guard = self.peers.write().unwrap_or_else(|p| p.into_inner());
        let mut next = guard.clone();
        change(&mut next)?;
        if let Some(dir) = &self.dir {
            let file = TrustFile {
                schema: crate::store::SCHEMA_VERSION,
                entries: next.iter().map(TrustedPeer::to_entry).collect(),
            };
            file.save(dir)?;
        }
        *guard = next;
        Ok(())
    }
}

impl Authorizer for TrustStore {
    fn node_for(&self, fingerprint: &Fingerprint) -> Option<NodeId> {
        self.read()
            .iter()
            .find(|p| &p.fingerprint == fingerprint)
            .map(|p| p.node_id.clone())
    }
}

/// The current time as RFC 3339 UTC, for `added_at` fields.
pub use crate::store::trust_file::rfc3339_now as now_rfc3339;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn peer(name: &str) -> TrustedPeer {
        let id = Identity::generate(NodeId::new(name).expect("id")).expect("gen");
        TrustedPeer {
            node_id: id.node_id().clone(),
            address: "127.0.0.1:9901".into(),
            fingerprint: id.fingerprint().clone(),
            cert_pem: id.cert_pem().to_string(),
            added_at: now_rfc3339(),
        }
    }

    #[test]
    fn add_lookup_remove_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = TrustStore::load(dir.path()).expect("load empty");
        let a = peer("a");
        store.add(a.clone()).expect("add");
        assert_eq!(store.node_for(&a.fingerprint), Some(a.node_id.clone()));

        let reloaded = TrustStore::load(dir.path()).expect("reload");
        assert_eq!(reloaded.list(), vec![a.clone()]);

        assert!(store.remove(&a.node_id).expect("remove"));
        assert!(!store.remove(&a.node_id).expect("remove twice"));
        assert_eq!(store.node_for(&a.fingerprint), None);
        assert!(
            TrustStore::load(dir.path())
                .expect("reload")
                .list()
                .is_empty()
        );
    }

    #[test]
    fn one_key_cannot_be_two_nodes() {
        let store = TrustStore::in_memory();
        let a = peer("a");
        store.add(a.clone()).expect("add");
        let mut b = a.clone();
        b.node_id = NodeId::new("b").expect("id");
        let err = store.add(b).expect_err("duplicate key");
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(store.list().len(), 1);
    }

    #[test]
    fn failed_write_changes_nothing_in_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = TrustStore::load(dir.path()).expect("load");
        // Make the directory unusable: replace it by a file.
        let gone = dir.path().join("sub");
        std::fs::write(&gone, b"not a dir").expect("write");
        let broken = TrustStore {
            dir: Some(gone),
            peers: store.peers.clone(),
            unsaved: Arc::default(),
        };
        assert!(broken.add(peer("a")).is_err());
        assert!(store.list().is_empty());
    }
}
