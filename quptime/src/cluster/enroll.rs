//! The member side of enrollment tokens: create, answer join requests,
//! approve, revoke. See [`crate::enroll`] for the flow and the joiner side.

use std::time::Duration;

use crate::cluster::Core;
use crate::enroll::{Endpoint, EnrollReply, EnrollRequest, Token, hash_secret, unix_now};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::cert_der_to_pem;
use crate::state::{Command, Enrollment, Mutation, PeerRecord};
use crate::transport::Peer;
use crate::trust::now_rfc3339;

impl Core {
    /// Record a new token and return it with its record.
    pub(crate) async fn create_enrollment(
        &self,
        name: Option<String>,
        ttl: Duration,
        auto_approve: bool,
    ) -> Result<(Token, Enrollment)> {
        if ttl.is_zero() || ttl > Duration::from_secs(30 * 86_400) {
            return Err(Error::invalid_field(
                "ttl",
                "use a duration from 1s to 30 days, such as 1h",
            ));
        }
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let secret = crate::init::generate_secret()?;
        let expires_at = unix_now() + ttl.as_secs().max(1);
        let record = Enrollment {
            id: id.clone(),
            name,
            secret_hash: hash_secret(&secret),
            expires_at,
            auto_approve,
            request: None,
            approved: false,
            used: false,
        };
        self.submit(self.command(Mutation::CreateEnrollment {
            enrollment: record.clone(),
        }))
        .await?;
        let mut peers: Vec<PeerRecord> = self.state().peers.values().cloned().collect();
        if !peers.iter().any(|p| p.node_id == *self.me()) {
            peers.push(self.own_record());
        }
        // The master first (it has applied the token when this returns),
        // then this node, then the others: the joiner asks in this order.
        let leader = self.consensus.view().leader;
        peers.sort_by_key(|p| (Some(&p.node_id) != leader.as_ref(), p.node_id != *self.me()));
        let token = Token {
            v: 1,
            id,
            secret,
            endpoints: peers
                .into_iter()
                .map(|p| Endpoint {
                    node_id: p.node_id,
                    addr: p.advertise,
                    fingerprint: p.fingerprint,
                })
                .collect(),
            expires_at,
        };
        Ok((token, record))
    }

    /// Answer a joiner presenting a token.
    pub(crate) async fn handle_enroll(
        &self,
        caller: Peer,
        req: EnrollRequest,
    ) -> Result<EnrollReply> {
        let refused =
            |why: &str| Error::new(ErrorKind::NotTrusted, format!("enrollment refused: {why}"));
        let create = "create a new one with `qu enroll create`";
        let state = self.state();
        let e = state.enrollments.get(&req.token_id).ok_or_else(|| {
            refused("unknown or revoked token; create a new one").with_hint(create)
        })?;
        if hash_secret(&req.secret) != e.secret_hash {
            return Err(refused("the token secret does not match"));
        }
        let same_node = e
            .request
            .as_ref()
            .is_some_and(|r| r.fingerprint == caller.fingerprint);
        if e.used {
            return if same_node {
                Ok(self.admitted())
            } else {
                Err(refused("the token was already used"))
            };
        }
        if unix_now() >= e.expires_at {
            return Err(refused("the token has expired; create a new one").with_hint(create));
        }
        let peer = PeerRecord {
            node_id: req.node_id,
            advertise: req.advertise,
            fingerprint: caller.fingerprint.clone(),
            cert_pem: cert_der_to_pem(&caller.cert_der),
            added_at: now_rfc3339(),
            labels: req.labels,
        };
        if !same_node {
            self.submit(self.command(Mutation::RequestEnrollment {
                id: req.token_id.clone(),
                peer: peer.clone(),
            }))
            .await?;
        }
        let approved = self
            .state()
            .enrollments
            .get(&req.token_id)
            .is_some_and(|e| e.approved);
        if !approved {
            return Ok(EnrollReply::Pending);
        }
        if !self.state().peers.contains_key(&peer.node_id) {
            self.record_self_first().await?;
            self.submit(self.command(Mutation::AddPeer { peer }))
                .await?;
        }
        self.submit(self.command(Mutation::ConsumeEnrollment { id: req.token_id }))
            .await?;
        Ok(self.admitted())
    }

    fn admitted(&self) -> EnrollReply {
        let mut members: Vec<PeerRecord> = self.state().peers.values().cloned().collect();
        if !members.iter().any(|m| m.node_id == *self.me()) {
            // The founder's own record may still be on its way to the log.
            members.push(self.own_record());
        }
        EnrollReply::Admitted {
            members,
            secret: self.current_secret(),
        }
    }

    pub(crate) fn command(&self, m: Mutation) -> Command {
        Command::new(self.me().clone(), m)
    }
}
