//! Joining with the cluster secret (the seeds' flow of the original):
//! `qu init --secret S` on the new host, then `qu node add host:port` on a
//! member.
//!
//! The member first shows the new node's id and key to a person (trust on
//! first use), then dials it pinned to that key and proves it knows the
//! cluster secret; the new node proves the same back. Neither side sends
//! the secret: each sends an HMAC bound to both keys and a fresh nonce, so a
//! proof cannot be replayed elsewhere. The new node then trusts the members,
//! the master records it as a peer (every member trusts it), adds it as a
//! learner and promotes it to voter once it has caught up.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cluster::Core;
use crate::cluster::rpc::{JoinAccept, JoinInvite, JoinInviteRpc};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::state::{Outcome, PeerRecord};
use crate::transport::{Hello, Peer};
use crate::trust::{TrustedPeer, now_rfc3339};

/// What `qu node add` shows before asking for confirmation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NodePreview {
    /// The remote node's id.
    pub node_id: NodeId,
    /// The key it proved in the TLS handshake.
    pub fingerprint: Fingerprint,
    /// The address it advertises.
    pub advertise: String,
    /// Its software version.
    pub version: String,
}

fn proof(
    secret: &str,
    label: &str,
    a: &Fingerprint,
    b: &Fingerprint,
    nonce: &str,
) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| Error::internal(format!("hmac: {e}")))?;
    for part in [label, a.as_str(), b.as_str(), nonce] {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part.as_bytes());
    }
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn verify(
    secret: &str,
    label: &str,
    a: &Fingerprint,
    b: &Fingerprint,
    nonce: &str,
    got: &str,
) -> Result<()> {
    let want = proof(secret, label, a, b, nonce)?;
    // Constant-time comparison.
    let same = want.len() == got.len()
        && want
            .bytes()
            .zip(got.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0;
    if same {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::NotTrusted,
            "the cluster secrets differ: initialise the new node with `qu init --secret <secret>` \
             using the secret printed by the first node's `qu init`",
        ))
    }
}

const INVITE: &str = "quptime-join-invite";
const ACCEPT: &str = "quptime-join-accept";

impl Core {
    /// Dial `addr` without pinning and report who answers there.
    pub(crate) async fn preview_node(&self, addr: &str) -> Result<NodePreview> {
        let conn = self.pool.dialer().connect(addr, None).await?;
        let info = conn.call::<Hello>(&()).await?;
        Ok(NodePreview {
            node_id: info.node_id,
            fingerprint: conn.peer_fingerprint().clone(),
            advertise: info.advertise,
            version: info.version,
        })
    }

    /// Invite the node at `addr`, which must prove `fingerprint`, and admit it.
    pub(crate) async fn add_node(&self, addr: &str, fingerprint: &Fingerprint) -> Result<Outcome> {
        let secret = self.secret()?;
        let conn = self.pool.dialer().connect(addr, Some(fingerprint)).await?;
        let info = conn.call::<Hello>(&()).await?;
        if self.state().peers.contains_key(&info.node_id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("node {} is already a member", info.node_id),
            ));
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let mine = self.identity.fingerprint();
        let mut members: Vec<PeerRecord> = self.state().peers.values().cloned().collect();
        if !members.iter().any(|m| m.node_id == *self.me()) {
            // The founder's own record may still be on its way to the log.
            members.push(self.own_record());
        }
        let invite = JoinInvite {
            proof: proof(&secret, INVITE, mine, fingerprint, &nonce)?,
            nonce: nonce.clone(),
            members,
        };
        let accept = conn.call::<JoinInviteRpc>(&invite).await?;
        verify(&secret, ACCEPT, fingerprint, mine, &nonce, &accept.proof)?;
        if accept.node_id != info.node_id {
            return Err(Error::new(
                ErrorKind::Protocol,
                "the node changed its id during the join",
            ));
        }
        let peer = PeerRecord {
            node_id: accept.node_id,
            advertise: if accept.advertise.is_empty() {
                addr.to_string()
            } else {
                accept.advertise
            },
            fingerprint: fingerprint.clone(),
            cert_pem: accept.cert_pem,
            added_at: now_rfc3339(),
        };
        self.admit(peer).await
    }

    /// The new node's side of the invitation.
    pub(crate) async fn accept_invite(
        &self,
        caller: Peer,
        invite: JoinInvite,
    ) -> Result<JoinAccept> {
        if self.consensus.is_initialized().await? {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "node {} already belongs to a cluster: remove it from that cluster and \
                     re-initialise it (new data dir) before adding it elsewhere",
                    self.me()
                ),
            ));
        }
        let secret = self.secret()?;
        let mine = self.identity.fingerprint();
        verify(
            &secret,
            INVITE,
            &caller.fingerprint,
            mine,
            &invite.nonce,
            &invite.proof,
        )?;
        if !invite
            .members
            .iter()
            .any(|m| m.fingerprint == caller.fingerprint)
        {
            return Err(Error::new(
                ErrorKind::Protocol,
                "the inviting node is not among the members it sent",
            ));
        }
        for m in &invite.members {
            self.trust.add(TrustedPeer {
                node_id: m.node_id.clone(),
                address: m.advertise.clone(),
                fingerprint: m.fingerprint.clone(),
                cert_pem: m.cert_pem.clone(),
                added_at: now_rfc3339(),
            })?;
        }
        tracing::info!(
            members = invite.members.len(),
            "accepted an invitation to join a cluster"
        );
        Ok(JoinAccept {
            node_id: self.me().clone(),
            advertise: self.advertise.clone(),
            cert_pem: self.identity.cert_pem().to_string(),
            proof: proof(&secret, ACCEPT, mine, &caller.fingerprint, &invite.nonce)?,
        })
    }

    fn secret(&self) -> Result<String> {
        self.config.secret.clone().ok_or_else(|| {
            Error::invalid("this node has no cluster secret in node.yaml: set cluster_secret (or re-run `qu init --secret`)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_bind_secret_keys_and_nonce() {
        let a = Fingerprint::of_spki(b"a");
        let b = Fingerprint::of_spki(b"b");
        let p = proof("s3cret", INVITE, &a, &b, "n1").expect("proof");
        assert!(verify("s3cret", INVITE, &a, &b, "n1", &p).is_ok());
        assert!(verify("other", INVITE, &a, &b, "n1", &p).is_err());
        assert!(verify("s3cret", INVITE, &b, &a, "n1", &p).is_err());
        assert!(verify("s3cret", INVITE, &a, &b, "n2", &p).is_err());
        assert!(verify("s3cret", ACCEPT, &a, &b, "n1", &p).is_err());
    }
}
