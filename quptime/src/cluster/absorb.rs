//! Absorbing a lone founder: the original's set-up, where every host runs
//! `qu init` (each founding its own one-node cluster) and `qu serve`, and
//! one host then runs `qu node add` for the others.
//!
//! A node that holds nothing but itself (no checks, alert channels,
//! enrollment tokens, settings or other members) answers an invitation
//! with "absorbable". The inviting member, whose operator confirmed the
//! node's key (TOFU), then sends the cluster secret, the members and a
//! single-use auto-approved enrollment token over the connection pinned to
//! that key. The node decides on its own applied state, after its Raft has
//! stopped (nothing can change any more): when it still holds nothing it
//! writes `absorb.json` (the commit point), moves its Raft storage aside and
//! starts again on empty storage, trusting the members, with the cluster's
//! secret in `node.yaml`. The inviter then admits it as in any join.
//!
//! Crash safety: before `absorb.json` is durable the node is wholly in its
//! own cluster; after it, it is committed to leaving: every start finishes
//! the move ([`resume`]) and, until the node is a member, presents the token
//! to the cluster, which admits it if the inviter did not. So a crash of
//! either side never leaves it in two clusters, nor stranded in none.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::cluster::Core;
use crate::cluster::rpc::{JoinAbsorb, JoinAccept};
use crate::consensus::Member;
use crate::enroll::{EnrollRequest, Token};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::state::{ClusterState, PeerRecord};
use crate::store::{NodeConfig, write_atomic};
use crate::transport::Peer;
use crate::trust::{TrustStore, TrustedPeer, now_rfc3339};

/// The commit record of an absorption, in the data directory.
pub(crate) const ABSORB_FILE: &str = "absorb.json";
/// Marks a node that accepted an invitation or a token: it waits to be
/// replicated and must not found a cluster of its own on a first change.
pub const JOINING_FILE: &str = "joining";
/// How long the absorbing cluster's token stays valid.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// How long a resumed absorption waits for the inviter before presenting
/// the token itself.
const PRESENT_AFTER: Duration = Duration::from_secs(5);

/// `absorb.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AbsorbFile {
    format: u32,
    /// The old Raft storage's new name (a sibling of `raft/`).
    aside: String,
    secret: String,
    members: Vec<PeerRecord>,
    /// The enrollment token (encoded).
    token: String,
}

/// What this node's applied state holds besides itself, for the refusal
/// message; empty when it can be absorbed.
pub fn holdings(state: &ClusterState, me: &NodeId) -> Vec<String> {
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    let mut out = Vec::new();
    if !state.checks.is_empty() {
        out.push(n(state.checks.len(), "check", "checks"));
    }
    if !state.alerts.is_empty() {
        out.push(n(state.alerts.len(), "alert channel", "alert channels"));
    }
    if !state.enrollments.is_empty() {
        out.push(n(
            state.enrollments.len(),
            "enrollment token",
            "enrollment tokens",
        ));
    }
    let others = state.peers.keys().filter(|id| *id != me).count();
    if others > 0 {
        out.push(n(others, "other member", "other members"));
    }
    if !state.dns_resolvers.is_empty() {
        out.push("cluster-wide DNS resolvers".into());
    }
    out
}

/// The refusal for a node that holds something (the message names it).
pub(crate) fn refusal(me: &NodeId, held: &[String]) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "node {me} already belongs to a cluster and holds {}: remove it from that cluster \
             and re-initialise it (new data dir) before adding it elsewhere, or add the other \
             nodes from it instead",
            held.join(", ")
        ),
    )
}

/// Finish an absorption a crash interrupted, before the node opens its
/// storage: move the old Raft storage aside, write the secret and trust
/// the members (all idempotent). Returns the pending record, if any.
pub(crate) fn resume(dir: &Path) -> Result<Option<AbsorbFile>> {
    let path = dir.join(ABSORB_FILE);
    let Some(text) = crate::store::read_file(&path)? else {
        return Ok(None);
    };
    let file: AbsorbFile = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!(
                "{}: unreadable ({e}); it records that this node is joining another cluster: \
                 restore it from a backup, or remove it and re-initialise the node",
                path.display()
            ),
        )
    })?;
    roll_forward(dir, &file)?;
    Ok(Some(file))
}

fn roll_forward(dir: &Path, file: &AbsorbFile) -> Result<()> {
    crate::consensus::move_aside(&dir.join("raft"), &file.aside)?;
    let mut cfg = NodeConfig::load(dir)?;
    if cfg.bootstrap || cfg.secret.as_deref() != Some(file.secret.as_str()) {
        cfg.bootstrap = false;
        cfg.secret = Some(file.secret.clone());
        cfg.save(dir)?;
    }
    mark_joining(dir)?;
    let trust = TrustStore::load(dir)?;
    trust_members(&trust, &file.members)
}

/// Write the [`JOINING_FILE`] marker.
pub(crate) fn mark_joining(dir: &Path) -> Result<()> {
    write_atomic(&dir.join(JOINING_FILE), b"", 0o600)
}

pub(crate) fn trust_members(trust: &TrustStore, members: &[PeerRecord]) -> Result<()> {
    for m in members {
        trust.add(TrustedPeer {
            node_id: m.node_id.clone(),
            address: m.advertise.clone(),
            fingerprint: m.fingerprint.clone(),
            cert_pem: m.cert_pem.clone(),
            added_at: now_rfc3339(),
        })?;
    }
    Ok(())
}

impl Core {
    /// The cluster secret in force.
    pub(crate) fn current_secret(&self) -> Option<String> {
        match self.secret.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub(crate) fn set_secret(&self, secret: String) {
        match self.secret.write() {
            Ok(mut s) => *s = Some(secret),
            Err(p) => *p.into_inner() = Some(secret),
        }
    }

    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stopping.clone()
    }

    /// The shared-secret set-up: a node given a secret (`qu init --secret`)
    /// waits to be added, and the first change made on one of them founds
    /// the cluster there. Not for a node that accepted an invitation or a
    /// token (it is joining) or one that founded already.
    pub(crate) async fn found_if_lone(&self) -> Result<()> {
        if self.config.bootstrap
            || self.data_dir.join(JOINING_FILE).exists()
            || self.consensus.is_initialized().await?
        {
            return Ok(());
        }
        if self.current_secret().is_none() {
            // A data directory of the original qu, whose later releases
            // blanked the secret: this node founds, so it needs one.
            let mut cfg = NodeConfig::load(&self.data_dir)?;
            let secret = crate::init::generate_secret()?;
            cfg.secret = Some(secret.clone());
            cfg.save(&self.data_dir)?;
            self.set_secret(secret);
            tracing::info!("generated a cluster secret for this node (node.yaml had none)");
        }
        self.consensus
            .bootstrap(Member {
                addr: self.advertise.clone(),
                fingerprint: self.identity.fingerprint(),
            })
            .await?;
        tracing::info!(node = %self.me(), "first change on a node that waited to be added: founded a new cluster here");
        Ok(())
    }

    /// The lone founder's side of [`JoinAbsorbRpc`](crate::cluster::rpc::JoinAbsorbRpc).
    pub(crate) async fn accept_absorb(
        self: &Arc<Self>,
        caller: Peer,
        req: JoinAbsorb,
    ) -> Result<JoinAccept> {
        let mine = self.identity.fingerprint();
        super::join::verify(
            &req.secret,
            super::join::INVITE,
            &caller.fingerprint,
            &mine,
            &req.invite.nonce,
            &req.invite.proof,
        )?;
        if !req
            .invite
            .members
            .iter()
            .any(|m| m.fingerprint == caller.fingerprint)
        {
            return Err(Error::new(
                ErrorKind::Protocol,
                "the inviting node is not among the members it sent",
            ));
        }
        if req.invite.members.iter().any(|m| m.node_id == *self.me()) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "the inviting cluster already has a member with this node's id {}",
                    self.me()
                ),
            ));
        }
        Token::decode(&req.token)?;
        // One absorption at a time: two clusters adding this node at once
        // must not both get it.
        use std::sync::atomic::Ordering;
        if self
            .absorbing
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("node {} is already joining another cluster", self.me()),
            ));
        }
        let res = self.absorb_now(caller, req, mine).await;
        if res.is_err() && self.data_dir.join(ABSORB_FILE).exists() {
            // Committed: it stays marked, whatever failed after.
        } else if res.is_err() {
            self.absorbing.store(false, Ordering::SeqCst);
        }
        res
    }

    async fn absorb_now(
        self: &Arc<Self>,
        caller: Peer,
        req: JoinAbsorb,
        mine: crate::identity::Fingerprint,
    ) -> Result<JoinAccept> {
        if !self.consensus.is_initialized().await? {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "node {} left its own cluster and is joining another",
                    self.me()
                ),
            ));
        }
        let held = holdings(&self.state(), self.me());
        if !held.is_empty() {
            return Err(refusal(self.me(), &held));
        }
        let file = AbsorbFile {
            format: 1,
            aside: format!("raft.absorbed-{}", crate::state::mutation::now_ms()),
            secret: req.secret.clone(),
            members: req.invite.members.clone(),
            token: req.token.clone(),
        };
        let record =
            serde_json::to_vec_pretty(&file).map_err(|e| Error::internal(e.to_string()))?;
        let dir = self.data_dir.clone();
        let me = self.me().clone();
        // The decision is made on the state as it stands once Raft has
        // stopped; absorb.json is the commit point.
        let res = self
            .consensus
            .reset(&file.aside, |state| {
                let held = holdings(state, &me);
                if !held.is_empty() {
                    return Err(refusal(&me, &held));
                }
                write_atomic(&dir.join(ABSORB_FILE), &record, 0o600)
            })
            .await;
        if let Err(e) = res {
            if !dir.join(&file.aside).exists() {
                // Not moved: this node stays in its own cluster.
                let _ = std::fs::remove_file(dir.join(ABSORB_FILE));
            }
            return Err(e);
        }
        roll_forward(&dir, &file)?;
        // The running node's trust store (roll_forward wrote the file).
        trust_members(&self.trust, &file.members)?;
        self.set_secret(req.secret.clone());
        tracing::info!(
            members = file.members.len(),
            aside = %file.aside,
            "left this node's own one-node cluster to join the inviting one"
        );
        tokio::spawn(finish(self.clone(), file, self.stop_signal()));
        Ok(JoinAccept {
            node_id: self.me().clone(),
            advertise: self.advertise.clone(),
            cert_pem: self.identity.cert_pem(),
            proof: super::join::proof(
                &req.secret,
                super::join::ACCEPT,
                &mine,
                &caller.fingerprint,
                &req.invite.nonce,
            )?,
            absorb: false,
            labels: self.config.labels.clone(),
        })
    }
}

/// Until this node is a member of the absorbing cluster, present the token
/// (the inviter may have stopped before admitting it); then drop
/// `absorb.json`.
pub(crate) async fn finish(core: Arc<Core>, file: AbsorbFile, mut stop: watch::Receiver<bool>) {
    let started = Instant::now();
    let token = Token::decode(&file.token).ok();
    let mut next_present = started + PRESENT_AFTER;
    loop {
        let joined = core.consensus.is_initialized().await.unwrap_or(false)
            && core.state().peers.contains_key(core.me());
        if joined {
            match std::fs::remove_file(core.data_dir.join(ABSORB_FILE)) {
                Ok(()) => tracing::info!("joined the absorbing cluster"),
                Err(e) => tracing::warn!(error = %e, "could not remove absorb.json"),
            }
            return;
        }
        if let Some(token) = &token
            && Instant::now() >= next_present
        {
            next_present = Instant::now() + PRESENT_AFTER;
            let request = EnrollRequest {
                token_id: token.id.clone(),
                secret: token.secret.clone(),
                node_id: core.me().clone(),
                advertise: core.advertise.clone(),
                labels: core.config.labels.clone(),
            };
            match crate::enroll::present(core.pool.dialer(), token, &request).await {
                Ok(_) => tracing::info!("presented the absorbing cluster's token"),
                Err(e) => tracing::debug!(error = %e, "token not accepted (yet)"),
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdings_name_everything_but_the_node_itself() {
        let me = NodeId::new("a").expect("id");
        let mut state = ClusterState::default();
        assert!(holdings(&state, &me).is_empty());
        let peer = |id: &str| PeerRecord {
            node_id: NodeId::new(id).expect("id"),
            advertise: format!("{id}:1"),
            fingerprint: crate::identity::Fingerprint::of_spki(id.as_bytes()),
            cert_pem: String::new(),
            added_at: String::new(),
            labels: Default::default(),
        };
        state.peers.insert(me.clone(), peer("a"));
        assert!(holdings(&state, &me).is_empty(), "itself is not a holding");
        state.peers.insert(NodeId::new("b").expect("id"), peer("b"));
        let check = crate::state::Check {
            id: "c1".into(),
            name: "web".into(),
            target: "http://x".into(),
            ..crate::state::Check::blank(crate::state::CheckType::Http)
        };
        state.checks.insert(check.id.clone(), check);
        assert_eq!(holdings(&state, &me), vec!["1 check", "1 other member"]);
        let msg = refusal(&me, &holdings(&state, &me)).to_string();
        assert!(msg.contains("holds 1 check, 1 other member"), "{msg}");
    }

    #[test]
    fn a_start_after_the_commit_point_finishes_the_move_and_repeats_safely() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("node");
        crate::init::init_node(
            &dir,
            crate::init::InitOptions {
                node_id: Some("lone".into()),
                ..Default::default()
            },
        )
        .expect("init");
        assert!(NodeConfig::load(&dir).expect("load").bootstrap, "a founder");
        std::fs::create_dir_all(dir.join("raft")).expect("raft dir");
        std::fs::write(dir.join("raft/old-log"), b"own cluster").expect("write");
        let member = PeerRecord {
            node_id: NodeId::new("m1").expect("id"),
            advertise: "127.0.0.1:1".into(),
            fingerprint: crate::identity::Fingerprint::of_spki(b"m1"),
            cert_pem: String::new(),
            added_at: String::new(),
            labels: Default::default(),
        };
        let token = Token {
            v: 1,
            id: "t1".into(),
            secret: "x".into(),
            endpoints: Vec::new(),
            expires_at: u64::MAX,
        };
        let file = AbsorbFile {
            format: 1,
            aside: "raft.absorbed-1".into(),
            secret: "the-cluster-secret".into(),
            members: vec![member.clone()],
            token: token.encode(),
        };
        // A crash right after the commit point left only absorb.json.
        write_atomic(
            &dir.join(ABSORB_FILE),
            &serde_json::to_vec(&file).expect("json"),
            0o600,
        )
        .expect("write");
        let pending = resume(&dir).expect("resume").expect("pending");
        assert_eq!(pending.aside, "raft.absorbed-1");
        assert!(!dir.join("raft").exists(), "own storage moved aside");
        assert!(dir.join("raft.absorbed-1/old-log").exists(), "and kept");
        let cfg = NodeConfig::load(&dir).expect("load");
        assert!(!cfg.bootstrap, "must not found again on the empty storage");
        assert_eq!(cfg.secret.as_deref(), Some("the-cluster-secret"));
        assert!(dir.join(JOINING_FILE).exists());
        let trust = TrustStore::load(&dir).expect("trust");
        assert_eq!(
            trust.get(&member.node_id).map(|p| p.fingerprint),
            Some(member.fingerprint.clone())
        );
        // The node started on empty storage and crashed again before it was
        // a member: the next start keeps the new storage.
        std::fs::create_dir_all(dir.join("raft")).expect("new raft");
        std::fs::write(dir.join("raft/new-log"), b"joining").expect("write");
        resume(&dir).expect("resume again").expect("still pending");
        assert!(dir.join("raft/new-log").exists());
        assert!(dir.join("raft.absorbed-1/old-log").exists());
        // Once it is a member the record goes, and starts are plain again.
        std::fs::remove_file(dir.join(ABSORB_FILE)).expect("rm");
        assert!(resume(&dir).expect("resume").is_none());
    }
}
