//! API tokens (`qu token create|list|revoke`) and how the HTTP layer
//! authenticates one: the use cases and their control methods.

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::{Error, Result};
use crate::state::api_token::{self, ApiToken, TokenRole};
use crate::state::{Mutation, Outcome};
use crate::transport::Rpc;

method!(/// `qu token create`: the token text is in the answer, and nowhere else.
    CreateToken, "token.create", TokenSpec, CreatedToken);
method!(/// `qu token list`.
    ListTokens, "token.list", (), Vec<TokenView>);
method!(/// `qu token revoke`: by id or name.
    RevokeToken, "token.revoke", String, Outcome);

/// Arguments of `token.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenSpec {
    /// Its name (unique; letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// `read` or `write`.
    pub role: String,
}

/// Result of `token.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedToken {
    /// The token text (`qut_<id>_<secret>`), shown once.
    pub token: String,
    /// What the cluster recorded.
    pub record: TokenView,
}

/// A token as `qu token list` shows it (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `read` or `write`.
    pub role: TokenRole,
    /// Created, ms since the epoch.
    pub created_at_ms: u64,
    /// Last accepted (to within a minute), ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> TokenView {
        TokenView {
            id: t.id.clone(),
            name: t.name.clone(),
            role: t.role,
            created_at_ms: t.created_at_ms,
            last_used_ms: t.last_used_ms,
        }
    }
}

/// Create a token as `spec` says (name and role validated before
/// proposing); the answer carries the only copy of its text.
pub async fn create_token(c: &Cluster, spec: TokenSpec) -> Result<CreatedToken> {
    let role = TokenRole::parse(&spec.role)?;
    let secret = crate::secret::generate()?;
    let record = ApiToken {
        id: super::new_id(),
        name: spec.name,
        role,
        secret_hash: api_token::hash_secret(&secret),
        created_at_ms: crate::state::mutation::now_ms(),
        last_used_ms: None,
    };
    record.validate()?;
    if c.state().api_tokens.values().any(|t| t.name == record.name) {
        return Err(Error::new(
            crate::ErrorKind::AlreadyExists,
            format!(
                "token {:?} already exists: pick another name, or revoke it first",
                record.name
            ),
        )
        .with_field("name"));
    }
    let text = api_token::token_text(&record.id, &secret);
    let view = TokenView::from(&record);
    c.propose(Mutation::CreateApiToken { token: record })
        .await?;
    Ok(CreatedToken {
        token: text,
        record: view,
    })
}

/// The tokens on record (no hashes).
pub fn list_tokens(c: &Cluster) -> Vec<TokenView> {
    c.state().api_tokens.values().map(TokenView::from).collect()
}

/// Revoke the token with id or name `key`.
pub async fn revoke_token(c: &Cluster, key: &str) -> Result<Outcome> {
    let id = c.state().find_api_token(key)?.id.clone();
    c.propose(Mutation::RevokeApiToken { token: id }).await
}

/// The token `presented` (a bearer token's text) is, when it is on record
/// and allows `needed`; `Err(false)` when it is unknown or revoked,
/// `Err(true)` when it is valid but only for reading. A use is recorded
/// (replicated) at most once a minute per token, in the background, so a
/// request never waits for it nor fails with it.
pub fn authorize(
    c: &Cluster,
    presented: &str,
    needed: TokenRole,
) -> std::result::Result<TokenView, bool> {
    let state = c.state();
    let token = state.authenticate(presented).ok_or(false)?;
    if !token.role.allows(needed) {
        return Err(true);
    }
    let now = crate::state::mutation::now_ms();
    if token.touch_due(now) {
        let c = c.clone();
        let id = token.id.clone();
        tokio::spawn(async move {
            if let Err(e) = c.propose(Mutation::TouchApiToken { id, at_ms: now }).await {
                tracing::debug!("recording an API token's use: {e}");
            }
        });
    }
    Ok(TokenView::from(token))
}

/// Add the token methods to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    routes!(router, cluster,
        CreateToken => |c, spec| create_token(&c, spec).await,
        ListTokens => |c, ()| Ok(list_tokens(&c)),
        RevokeToken => |c, key| revoke_token(&c, &key).await,
    )
}
