//! `RotateKey`: a member's new key replaces its old one in the peers
//! table, and so in every node's trust store.
//!
//! Only the member itself may rotate its key: the command's proposer must
//! be the member (the leader also checks that a forwarded rotation arrived
//! over a connection authenticated as that member, so the old key vouches
//! for the new one). The certificate is bounded and must carry the key the
//! fingerprint names; the new key may belong to no other member and must
//! differ from the old one.

use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId, fingerprint_of_pem};
use crate::state::ClusterState;
use crate::state::fields;
use crate::state::model::MAX_CERT_PEM;

impl ClusterState {
    /// Replace the key of member `node_id`, proposed by `proposer`.
    pub(crate) fn rotate_key(
        &mut self,
        proposer: &NodeId,
        node_id: &NodeId,
        fingerprint: &Fingerprint,
        cert_pem: &str,
    ) -> Result<Option<String>> {
        if proposer != node_id {
            return Err(Error::new(
                ErrorKind::NotTrusted,
                format!(
                    "only node {node_id} itself can rotate its key (proposed by {proposer}): \
                     run `qu key rotate` on that node"
                ),
            ));
        }
        fields::text("member certificate", cert_pem, MAX_CERT_PEM)?;
        let actual = fingerprint_of_pem(cert_pem)
            .map_err(|e| Error::invalid(format!("new certificate: {}", e.message())))?;
        if actual != *fingerprint {
            return Err(Error::invalid(format!(
                "the new certificate carries key {actual}, not {fingerprint}"
            )));
        }
        if let Some(other) = self
            .peers
            .values()
            .find(|p| p.fingerprint == *fingerprint && p.node_id != *node_id)
        {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "key {fingerprint} already belongs to member {}",
                    other.node_id
                ),
            ));
        }
        let peer = self.peers.get_mut(node_id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no member {node_id}: only a member can rotate its key"),
            )
        })?;
        if peer.fingerprint == *fingerprint {
            return Err(Error::invalid(format!(
                "{node_id} already uses key {fingerprint}: a rotation needs a new key"
            )));
        }
        peer.fingerprint = fingerprint.clone();
        peer.cert_pem = cert_pem.to_string();
        Ok(Some(fingerprint.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use crate::identity::Identity;
    use crate::state::{ClusterState, Command, Mutation, PeerRecord};

    use super::*;

    fn member(id: &Identity) -> PeerRecord {
        PeerRecord {
            node_id: id.node_id().clone(),
            advertise: "127.0.0.1:9901".into(),
            fingerprint: id.fingerprint().clone(),
            cert_pem: id.cert_pem().to_string(),
            added_at: "2025-01-01T00:00:00Z".into(),
            labels: Default::default(),
        }
    }

    fn rotate(by: &NodeId, of: &NodeId, next: &Identity) -> Command {
        Command::new(
            by.clone(),
            Mutation::RotateKey {
                node_id: of.clone(),
                fingerprint: next.fingerprint().clone(),
                cert_pem: next.cert_pem().to_string(),
            },
        )
    }

    #[test]
    fn only_the_member_itself_rotates_to_a_matching_bounded_new_key() {
        let a = Identity::generate(NodeId::new("a").unwrap()).unwrap();
        let b = Identity::generate(NodeId::new("b").unwrap()).unwrap();
        let mut s = ClusterState::default();
        for id in [&a, &b] {
            let cmd = Command::new(a.node_id().clone(), Mutation::AddPeer { peer: member(id) });
            s.apply(&cmd).expect("added");
        }
        let next = Identity::generate(a.node_id().clone()).unwrap();
        let before = s.clone();

        // Another member cannot rotate a's key.
        let e = s
            .apply(&rotate(b.node_id(), a.node_id(), &next))
            .unwrap_err();
        assert!(e.message.contains("only node a itself"), "{e:?}");
        // A certificate that does not carry the fingerprint is refused.
        let mut cmd = rotate(a.node_id(), a.node_id(), &next);
        if let Mutation::RotateKey { cert_pem, .. } = &mut cmd.mutation {
            *cert_pem = b.cert_pem().to_string();
        }
        let e = s.apply(&cmd).unwrap_err();
        assert!(e.message.contains("carries key"), "{e:?}");
        // An oversized certificate is refused before it is parsed (a new
        // request id: a retried id is answered from the record).
        if let Mutation::RotateKey { cert_pem, .. } = &mut cmd.mutation {
            *cert_pem = "x".repeat(MAX_CERT_PEM + 1);
        }
        cmd.request_id = "oversized".into();
        let e = s.apply(&cmd).unwrap_err();
        assert!(e.message.contains("member certificate"), "{e:?}");
        // Another member's key, or the same key, is refused.
        let e = s.apply(&rotate(a.node_id(), a.node_id(), &b)).unwrap_err();
        assert!(e.message.contains("already belongs to member b"), "{e:?}");
        let e = s.apply(&rotate(a.node_id(), a.node_id(), &a)).unwrap_err();
        assert!(e.message.contains("needs a new key"), "{e:?}");
        assert_eq!(s.peers, before.peers, "a rejected rotation changed nothing");

        s.apply(&rotate(a.node_id(), a.node_id(), &next))
            .expect("rotated");
        let rec = &s.peers[a.node_id()];
        assert_eq!(rec.fingerprint, *next.fingerprint());
        assert_eq!(rec.cert_pem, next.cert_pem());
        assert_eq!(rec.advertise, "127.0.0.1:9901", "the address is kept");
        assert_eq!(s.level, 3);
    }
}
