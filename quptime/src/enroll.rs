//! Enrollment tokens: joining a cluster without sharing its secret by hand.
//!
//! `qu enroll create` on a member records a single-use, expiring token (only
//! a hash of its secret is replicated) and prints it: base64url JSON with
//! the token id and secret, the cluster's endpoints and their key
//! fingerprints, and the expiry. `qu enroll join <token>` on the new host
//! creates an identity, dials a member *pinned to a fingerprint from the
//! token* (so a token also tells the new node whom to trust), presents the
//! token, and waits until it is admitted (at once with `--auto-approve`,
//! else after `qu enroll approve`). It then writes the members' keys and
//! the cluster secret, and the operator starts `qu serve`; the master adds
//! the node to Raft once it is reachable.
//!
//! A join that fails leaves the host as it was before: everything this
//! attempt created is removed, so it can simply be retried.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, Identity, NodeId};
use crate::init::{InitOptions, init_node, is_initialised};
use crate::paths::{KEYS_DIR, NODE_FILE, TRUST_FILE};
use crate::state::PeerRecord;
use crate::store::NodeConfig;
use crate::transport::{Dialer, Limits, Rpc};
use crate::trust::{TrustStore, TrustedPeer, now_rfc3339};

/// Token format version.
const TOKEN_VERSION: u32 = 1;

/// One member endpoint in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The member's id.
    pub node_id: NodeId,
    /// `host:port`.
    pub addr: String,
    /// The key it must prove.
    pub fingerprint: Fingerprint,
}

/// The content of an enrollment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Format version.
    pub v: u32,
    /// Token id (also its record's key).
    pub id: String,
    /// The secret; the cluster stores only its hash.
    pub secret: String,
    /// Members to contact.
    pub endpoints: Vec<Endpoint>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
}

impl Token {
    /// Encode as the text operators copy.
    pub fn encode(&self) -> String {
        B64URL.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decode a token, with an error that says what is wrong with it.
    pub fn decode(text: &str) -> Result<Token> {
        let bad = |why: String| {
            Error::invalid(format!(
                "this is not a valid enrollment token ({why}): copy the whole token a member \
                 created"
            ))
            .with_hint("the token `qu enroll create` printed")
        };
        let bytes = B64URL
            .decode(text.trim().as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        let token: Token = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if token.v > TOKEN_VERSION {
            return Err(Error::new(
                ErrorKind::Incompatible,
                format!(
                    "the token has format {}, this qu reads format {TOKEN_VERSION}: upgrade qu",
                    token.v
                ),
            ));
        }
        if token.endpoints.is_empty() {
            return Err(bad("it names no cluster member".into()));
        }
        Ok(token)
    }

    /// Whether the token has expired by this host's clock.
    pub fn expired(&self) -> bool {
        unix_now() >= self.expires_at
    }
}

/// `sha256:<hex>` of a token secret, as the cluster records it.
pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Present a token (open method, answered by any member).
#[derive(Debug)]
pub enum EnrollRpc {}
impl Rpc for EnrollRpc {
    const METHOD: &'static str = "enroll.request";
    const OPEN: bool = true;
    type Request = EnrollRequest;
    type Response = EnrollReply;
}

/// What the joiner sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// Token id.
    pub token_id: String,
    /// Token secret.
    pub secret: String,
    /// The joiner's id.
    pub node_id: NodeId,
    /// Where members will dial it.
    pub advertise: String,
    /// Its labels from `node.yaml` (older nodes send none).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: crate::state::Labels,
}

/// The member's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EnrollReply {
    /// Waiting for `qu enroll approve`.
    Pending,
    /// Admitted: trust these members and use this secret.
    Admitted {
        /// The members.
        members: Vec<PeerRecord>,
        /// The cluster secret (for later `qu node add` from this node).
        secret: Option<String>,
    },
}

/// Where the joiner listens.
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    /// Bind address, port and advertise address for the new node.
    pub init: InitOptions,
    /// How long to wait for an approval.
    pub wait: Duration,
}

/// What a successful join produced.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The new node's id.
    pub node_id: NodeId,
    /// The members it now trusts.
    pub members: Vec<PeerRecord>,
}

/// Join the cluster of `token` from the (empty) data dir `dir`. `on_pending`
/// is called once if the token needs an approval.
pub async fn join(
    dir: &Path,
    token: &Token,
    opts: JoinOptions,
    on_pending: impl Fn(),
) -> Result<Joined> {
    if token.expired() {
        return Err(Error::invalid(format!(
            "the enrollment token {} has expired: create a new one",
            token.id
        ))
        .with_hint("`qu enroll create`"));
    }
    if is_initialised(dir)? {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} already holds a node: `qu enroll join` sets up a new node and needs an empty \
                 data directory (set QUPTIME_DIR, or move the existing one away)",
                dir.display()
            ),
        ));
    }
    let existed = dir.exists();
    let mut init = opts.init.clone();
    // A placeholder secret until the cluster's arrives; never a founder.
    init.secret = Some(crate::init::generate_secret()?);
    let done = init_node(dir, init)?;
    let outcome = join_inner(dir, token, &opts, &done.identity, &done.config, on_pending).await;
    if outcome.is_err() {
        // Leave the host clean for a retry.
        let _ = std::fs::remove_dir_all(dir.join(KEYS_DIR));
        for f in [NODE_FILE, TRUST_FILE] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        if !existed {
            let _ = std::fs::remove_dir(dir);
        }
    }
    outcome
}

async fn join_inner(
    dir: &Path,
    token: &Token,
    opts: &JoinOptions,
    identity: &Identity,
    config: &NodeConfig,
    on_pending: impl Fn(),
) -> Result<Joined> {
    let dialer = Dialer::new(identity, Limits::default());
    let request = EnrollRequest {
        token_id: token.id.clone(),
        secret: token.secret.clone(),
        node_id: identity.node_id().clone(),
        advertise: config.advertise_addr(),
        labels: config.labels.clone(),
    };
    let deadline = tokio::time::Instant::now() + opts.wait;
    let mut told = false;
    loop {
        let (reply, last_err) = match ask_members(&dialer, token, &request).await {
            Ok(r) => (Some(r), None),
            Err(Asked::Refused(e)) => return Err(e),
            Err(Asked::Unreachable(e)) => (None, Some(e)),
        };
        match reply {
            Some(EnrollReply::Admitted { members, secret }) => {
                let trust = TrustStore::load(dir)?;
                for m in &members {
                    trust.add(TrustedPeer {
                        node_id: m.node_id.clone(),
                        address: m.advertise.clone(),
                        fingerprint: m.fingerprint.clone(),
                        cert_pem: m.cert_pem.clone(),
                        added_at: now_rfc3339(),
                    })?;
                }
                let mut cfg = config.clone();
                if secret.is_some() {
                    cfg.secret = secret;
                }
                cfg.save(dir)?;
                // Joining: a first change on it must not found a cluster.
                crate::store::write_atomic(&dir.join(crate::cluster::JOINING_FILE), b"", 0o600)?;
                return Ok(Joined {
                    node_id: identity.node_id().clone(),
                    members,
                });
            }
            Some(EnrollReply::Pending) => {
                if !told {
                    on_pending();
                    told = true;
                }
            }
            None => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(last_err.unwrap_or_else(|| {
                        Error::new(ErrorKind::Transport, "no member answered")
                    }));
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the join request was not approved within {}: approve enrollment {} on a \
                     member, then retry",
                    humantime::format_duration(opts.wait),
                    token.id
                ),
            )
            .with_hint(format!("`qu enroll approve {}`", token.id)));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Why no member answered a token.
enum Asked {
    /// Every member that answered refused it (the first refusal).
    Refused(Error),
    /// Some member could not be reached (and none admitted).
    Unreachable(Error),
}

/// Present `request` to the token's members in order (the master first)
/// until one answers. A member that has not applied the token yet (it
/// joined a moment ago) refuses it and the next one is asked; only when
/// every member that answered refused is the token refused.
async fn ask_members(
    dialer: &Dialer,
    token: &Token,
    request: &EnrollRequest,
) -> std::result::Result<EnrollReply, Asked> {
    let mut unreachable: Option<Error> = None;
    let mut refusal: Option<Error> = None;
    for ep in &token.endpoints {
        let res = match dialer.connect(&ep.addr, Some(&ep.fingerprint)).await {
            Ok(conn) => conn.call::<EnrollRpc>(request).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(r) => return Ok(r),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Transport
                        | ErrorKind::Timeout
                        | ErrorKind::NoQuorum
                        | ErrorKind::Shutdown
                ) =>
            {
                unreachable = Some(e)
            }
            Err(e) => {
                tracing::debug!(member = %ep.node_id, error = %e, "enrollment refused by one member");
                refusal.get_or_insert(e);
            }
        }
    }
    Err(match (unreachable, refusal) {
        (None, Some(r)) => Asked::Refused(r),
        (Some(u), _) => Asked::Unreachable(u),
        (None, None) => Asked::Unreachable(Error::new(ErrorKind::Transport, "no member answered")),
    })
}

/// Present a token once to its members (for a node finishing an
/// absorption): the first answer, or why none came.
pub(crate) async fn present(
    dialer: &Dialer,
    token: &Token,
    request: &EnrollRequest,
) -> Result<EnrollReply> {
    ask_members(dialer, token, request)
        .await
        .map_err(|a| match a {
            Asked::Refused(e) | Asked::Unreachable(e) => e,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bad_ones_are_explained() {
        let t = Token {
            v: 1,
            id: "abcd1234".into(),
            secret: "s".into(),
            endpoints: vec![Endpoint {
                node_id: NodeId::new("n1").expect("id"),
                addr: "127.0.0.1:9901".into(),
                fingerprint: Fingerprint::of_spki(b"k"),
            }],
            expires_at: unix_now() + 60,
        };
        assert_eq!(Token::decode(&t.encode()).expect("decode"), t);
        assert!(!t.expired());
        let err = Token::decode("not-a-token").expect_err("garbage");
        // The fix is named; the `qu` command is a hint apart from the text.
        assert!(err.to_string().contains("copy the whole token"), "{err}");
        assert!(
            err.hint().is_some_and(|h| h.contains("qu enroll create")),
            "{err:?}"
        );
        assert!(hash_secret("s").starts_with("sha256:"));
    }
}
