//! `qu key rotate` on the node: a new key pair, written beside the old one,
//! announced by one replicated `RotateKey` change proposed over this
//! node's current key, and swapped in once committed (see
//! [`crate::keyring`] for the files and what a crash leaves).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::cluster::Core;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, Identity};
use crate::keyring;
use crate::state::{Command, Mutation};
use crate::transport::{Dialer, Ping};

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// The key no longer trusted.
    pub old: Fingerprint,
    /// The key in use now.
    pub new: Fingerprint,
    /// The config version that recorded it.
    pub version: u64,
}

/// How often a pending key is checked against the cluster after a start.
const SETTLE_EVERY: Duration = Duration::from_secs(2);

impl Core {
    /// Give this node a new key pair (see the module docs).
    pub(crate) async fn rotate_key(&self) -> Result<KeyRotation> {
        let me = self.me().clone();
        if !self.state().peers.contains_key(&me) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{me} is not a member of a cluster yet: only a member's key is rotated"),
            ));
        }
        let old = self.identity.fingerprint();
        let next = Identity::generate(me.clone())?;
        // Durable before anything is proposed: once the change commits, the
        // new key must exist on disk.
        keyring::save_pending(&self.data_dir, &next)?;
        self.set_pending(Some(next.clone()));
        let m = Mutation::RotateKey {
            node_id: me.clone(),
            fingerprint: next.fingerprint().clone(),
            cert_pem: next.cert_pem().to_string(),
        };
        self.check_levels(&m)?;
        // Proposed (or forwarded to the leader) over connections made with
        // the current key, which the leader checks.
        let outcome = self.submit(Command::new(me.clone(), m)).await?;
        self.swap_in(next.clone())?;
        tracing::info!(old = %old, new = %next.fingerprint(), "rotated this node's key");
        Ok(KeyRotation {
            old,
            new: next.fingerprint().clone(),
            version: outcome.version,
        })
    }

    fn set_pending(&self, key: Option<Identity>) {
        if let Ok(mut p) = self.pending_key.lock() {
            *p = key;
        }
    }

    /// Make `next` the key on disk and the one presented from now on.
    fn swap_in(&self, next: Identity) -> Result<()> {
        keyring::promote(&self.data_dir, &next)?;
        self.identity.set(next);
        self.set_pending(None);
        Ok(())
    }

    /// Whether the cluster trusts `pending` already: the replicated state
    /// names it, or a member accepts a call made with it (the change
    /// committed while this node was down, and the members no longer
    /// trust the old key this node still presents).
    async fn committed(&self, pending: &Identity) -> bool {
        let state = self.state();
        let me = self.me();
        if state
            .peers
            .get(me)
            .is_some_and(|p| p.fingerprint == *pending.fingerprint())
        {
            return true;
        }
        let dialer = Dialer::new(pending, crate::transport::Limits::default());
        for peer in state.peers.values().filter(|p| p.node_id != *me) {
            let call = async {
                let conn = dialer
                    .connect(&peer.advertise, Some(&peer.fingerprint))
                    .await?;
                conn.call_with_timeout::<Ping>(&(), Duration::from_secs(1))
                    .await
            };
            if tokio::time::timeout(Duration::from_secs(3), call)
                .await
                .is_ok_and(|r| r.is_ok())
            {
                return true;
            }
        }
        false
    }
}

/// After a start that found a rotation's pending key: swap it in as soon
/// as the cluster is seen to trust it; until then the node keeps its old
/// key (the change may never have committed). Ends when swapped or
/// stopped, or when a new `qu key rotate` takes over.
pub(crate) async fn settle(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let Some(pending) = core.pending_key.lock().ok().and_then(|p| p.clone()) else {
        return;
    };
    tracing::info!(key = %pending.fingerprint(), "a key rotation is pending: waiting for the cluster to trust the new key");
    loop {
        let current = core.pending_key.lock().ok().and_then(|p| p.clone());
        if current.as_ref().map(|p| p.fingerprint()) != Some(pending.fingerprint()) {
            return;
        }
        if core.committed(&pending).await {
            match core.swap_in(pending.clone()) {
                Ok(()) => {
                    tracing::info!(key = %pending.fingerprint(), "the pending key rotation committed: using the new key");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not swap in the rotated key"),
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(SETTLE_EVERY) => {}
        }
    }
}
