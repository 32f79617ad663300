//! Key rotation on the node itself: the key in use, swappable while the
//! node runs, and the pending key of a rotation on disk.
//!
//! `qu key rotate` makes a new key pair and writes it durably beside the
//! old one (`keys/next-private.pem`, `next-public.pem`, `next-cert.pem`)
//! before anything is proposed; the cluster learns the new fingerprint from
//! one replicated `RotateKey` change, proposed over this node's current
//! TLS connection (so the old key vouches for the new one); once that
//! committed, the node writes the new key over the old files, removes the
//! `next-` files and swaps the key its listener and dialer present
//! ([`LiveIdentity::set`]): new connections use the new key, and cached
//! ones made with the old key are redialled.
//!
//! A crash in between leaves both keys loadable. At start the node uses
//! the one the replicated state names for it ([`choose`]); a pending key
//! the state does not name yet stays on disk, since the change may have
//! committed while this node was down.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::Result;
use crate::identity::{CURRENT_FILES, Fingerprint, Identity, NodeId, key_path};

/// The files of a rotation's pending key: private key, public key,
/// certificate.
pub(crate) const NEXT_FILES: [&str; 3] = ["next-private.pem", "next-public.pem", "next-cert.pem"];

/// The identity a node presents, shared by its listener and dialer and
/// swapped in place when a rotation commits. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct LiveIdentity(Arc<RwLock<Identity>>);

impl std::fmt::Debug for LiveIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LiveIdentity").field(&self.get()).finish()
    }
}

impl LiveIdentity {
    /// Start with `identity`.
    pub fn new(identity: Identity) -> LiveIdentity {
        LiveIdentity(Arc::new(RwLock::new(identity)))
    }

    /// The identity in use now.
    pub fn get(&self) -> Identity {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The fingerprint in use now.
    pub fn fingerprint(&self) -> Fingerprint {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .fingerprint()
            .clone()
    }

    /// The certificate (PEM) in use now.
    pub fn cert_pem(&self) -> String {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .cert_pem()
            .to_string()
    }

    /// Present `identity` from now on (new handshakes).
    pub fn set(&self, identity: Identity) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = identity;
    }

    fn key(&self) -> Arc<CertifiedKey> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .certified_key()
    }
}

impl From<&Identity> for LiveIdentity {
    fn from(identity: &Identity) -> LiveIdentity {
        LiveIdentity::new(identity.clone())
    }
}

impl From<&LiveIdentity> for LiveIdentity {
    fn from(live: &LiveIdentity) -> LiveIdentity {
        live.clone()
    }
}

impl ResolvesServerCert for LiveIdentity {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key())
    }
}

impl ResolvesClientCert for LiveIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.key())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Write `next` durably as the pending key (before it is proposed).
pub(crate) fn save_pending(dir: &Path, next: &Identity) -> Result<()> {
    next.save_files(dir, NEXT_FILES)
}

/// The pending key, if a rotation left one (all three files present).
pub(crate) fn load_pending(dir: &Path, node_id: &NodeId) -> Option<Result<Identity>> {
    if !NEXT_FILES.iter().all(|n| key_path(dir, n).exists()) {
        return None;
    }
    Some(Identity::load_files(dir, node_id.clone(), NEXT_FILES))
}

/// Make `next` the identity on disk: its files written over the current
/// ones (each atomically and durably), then the pending files removed. A
/// crash before the removal leaves the pending key, and [`choose`] at the
/// next start completes the swap.
pub(crate) fn promote(dir: &Path, next: &Identity) -> Result<()> {
    next.save_files(dir, CURRENT_FILES)?;
    for name in NEXT_FILES {
        match std::fs::remove_file(key_path(dir, name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(crate::Error::io_at("remove", &key_path(dir, name), e)),
        }
    }
    crate::store::sync_dir(&dir.join(crate::paths::KEYS_DIR))
}

/// Which identity a starting node uses: the pending key when the
/// replicated state (`named`: the fingerprint its peer record holds)
/// names it, or when the current files cannot be loaded (a crash in the
/// middle of [`promote`]); else the current one, keeping the pending key.
/// Returns the identity and the pending key still waiting for its commit.
pub(crate) fn choose(
    dir: &Path,
    node_id: &NodeId,
    named: Option<&Fingerprint>,
) -> Result<(Identity, Option<Identity>)> {
    let current = Identity::load(dir, node_id.clone());
    let pending = match load_pending(dir, node_id) {
        None => return Ok((current?, None)),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "ignoring an unreadable pending key of a key rotation");
            return Ok((current?, None));
        }
        Some(Ok(p)) => p,
    };
    let named_pending = named == Some(pending.fingerprint());
    match current {
        Ok(c) if !named_pending => Ok((c, Some(pending))),
        _ => {
            promote(dir, &pending)?;
            Ok((pending, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data dir holding node n1's current key, and a new one pending.
    fn old_saved_next_pending() -> (tempfile::TempDir, NodeId, Identity, Identity) {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = NodeId::new("n1").expect("id");
        let old = Identity::generate(id.clone()).expect("old");
        old.save(dir.path()).expect("save");
        let next = Identity::generate(id.clone()).expect("next");
        save_pending(dir.path(), &next).expect("pending");
        (dir, id, old, next)
    }

    #[test]
    fn a_start_picks_the_key_the_state_names_and_finishes_a_swap() {
        let (dir, id, old, next) = old_saved_next_pending();

        // The state still names the old key: both stay on disk.
        let (using, waiting) = choose(dir.path(), &id, Some(old.fingerprint())).expect("choose");
        assert_eq!(using.fingerprint(), old.fingerprint());
        assert_eq!(waiting.expect("pending").fingerprint(), next.fingerprint());

        // The state names the new key: it is swapped in on disk.
        let (using, waiting) = choose(dir.path(), &id, Some(next.fingerprint())).expect("choose");
        assert_eq!(using.fingerprint(), next.fingerprint());
        assert!(waiting.is_none());
        assert!(
            load_pending(dir.path(), &id).is_none(),
            "pending files left"
        );
        let loaded = Identity::load(dir.path(), id.clone()).expect("load");
        assert_eq!(loaded.fingerprint(), next.fingerprint());
    }

    #[test]
    fn a_half_written_swap_is_completed() {
        let (dir, id, old, next) = old_saved_next_pending();
        // A crash after the new private key replaced the old one, before
        // the certificate: the current files do not fit together.
        std::fs::copy(
            key_path(dir.path(), NEXT_FILES[0]),
            key_path(dir.path(), CURRENT_FILES[0]),
        )
        .expect("copy");
        assert!(Identity::load(dir.path(), id.clone()).is_err());
        let (using, _) = choose(dir.path(), &id, Some(old.fingerprint())).expect("choose");
        assert_eq!(using.fingerprint(), next.fingerprint());
        assert_eq!(
            Identity::load(dir.path(), id).expect("load").fingerprint(),
            next.fingerprint()
        );
    }
}
