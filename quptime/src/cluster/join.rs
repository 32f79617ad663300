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
use crate::cluster::rpc::{JoinAbsorb, JoinAbsorbRpc, JoinAccept, JoinInvite, JoinInviteRpc};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::state::{Outcome, PeerRecord};
use crate::transport::{Hello, Peer};
use crate::trust::now_rfc3339;

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

pub(crate) fn proof(
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

pub(crate) fn verify(
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
            "the cluster secrets differ: initialise the new node with the first node's secret",
        )
        .with_hint(
            "`qu init --secret <secret>` with the secret the first node's `qu init` printed",
        ))
    }
}

pub(crate) const INVITE: &str = "quptime-join-invite";
pub(crate) const ACCEPT: &str = "quptime-join-accept";

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
        if let Some(p) = self.state().peers.values().find(|p| p.advertise == addr) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "member {} already advertises {addr}: two members at one address would \
                     both be dialled there; check the address",
                    p.node_id
                ),
            )
            .with_hint("`qu node list`"));
        }
        let conn = self.pool.dialer().connect(addr, Some(fingerprint)).await?;
        let info = conn.call::<Hello>(&()).await?;
        if self.state().peers.contains_key(&info.node_id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("node {} is already a member", info.node_id),
            ));
        }
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let mine = &self.identity.fingerprint();
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
        let mut accept = conn.call::<JoinInviteRpc>(&invite).await?;
        let mut token_id = None;
        if accept.absorb {
            // A lone founder: hand it the secret and a token that finishes
            // the join should either side stop half-way (see absorb.rs).
            let (token, record) = self
                .create_enrollment(
                    Some(format!("absorb {}", info.node_id)),
                    super::absorb::TOKEN_TTL,
                    true,
                )
                .await?;
            token_id = Some(record.id);
            let req = JoinAbsorb {
                invite,
                secret: secret.clone(),
                token: token.encode(),
            };
            accept = match conn.call::<JoinAbsorbRpc>(&req).await {
                Ok(a) => a,
                Err(e) => {
                    if e.kind() == ErrorKind::AlreadyExists {
                        // Refused for good (it holds something now).
                        let _ = self.revoke_token(&req.token).await;
                    }
                    return Err(e);
                }
            };
            tracing::info!(node = %info.node_id, "absorbing a lone founder");
        }
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
            labels: accept.labels,
        };
        let outcome = self.admit(peer).await?;
        if let Some(id) = token_id {
            // Admitted: the fallback token is not needed any more.
            let cmd = self.command(crate::state::Mutation::RevokeEnrollment { id });
            if let Err(e) = self.submit(cmd).await {
                tracing::debug!(error = %e, "could not revoke the absorption token");
            }
        }
        Ok(outcome)
    }

    async fn revoke_token(&self, encoded: &str) -> Result<()> {
        let token = crate::enroll::Token::decode(encoded)?;
        let cmd = self.command(crate::state::Mutation::RevokeEnrollment { id: token.id });
        self.submit(cmd).await.map(|_| ())
    }

    /// The new node's side of the invitation.
    pub(crate) async fn accept_invite(
        &self,
        caller: Peer,
        invite: JoinInvite,
    ) -> Result<JoinAccept> {
        if self.consensus.is_initialized().await? {
            // Decided on this node's own applied state.
            let held = super::absorb::holdings(&self.state(), self.me());
            if !held.is_empty() {
                return Err(super::absorb::refusal(self.me(), &held));
            }
            return Ok(JoinAccept {
                node_id: self.me().clone(),
                advertise: self.advertise.clone(),
                cert_pem: self.identity.cert_pem(),
                proof: String::new(),
                absorb: true,
                labels: self.config.labels.clone(),
            });
        }
        let secret = self.secret()?;
        let mine = &self.identity.fingerprint();
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
        super::absorb::mark_joining(&self.data_dir)?;
        super::absorb::trust_members(&self.trust, &invite.members)?;
        tracing::info!(
            members = invite.members.len(),
            "accepted an invitation to join a cluster"
        );
        Ok(JoinAccept {
            node_id: self.me().clone(),
            advertise: self.advertise.clone(),
            cert_pem: self.identity.cert_pem(),
            proof: proof(&secret, ACCEPT, mine, &caller.fingerprint, &invite.nonce)?,
            absorb: false,
            labels: self.config.labels.clone(),
        })
    }

    pub(crate) fn secret(&self) -> Result<String> {
        self.current_secret().ok_or_else(|| {
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
