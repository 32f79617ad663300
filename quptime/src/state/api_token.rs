//! API tokens: who may read or change the cluster over HTTP (the JSON API
//! under `/api/` and the dashboard).
//!
//! A token is `qut_<id>_<secret>`. The replicated state keeps only its id,
//! name, role and `sha256:` of the secret: the secret is 256 random bits,
//! so a fast hash is as safe as a slow one (argon2 protects guessable
//! passwords; nothing here is guessable) and costs nothing per request.
//! Anyone who reads a snapshot learns no usable token.
//!
//! Last use is recorded coarsely: a node that accepts a token proposes
//! [`Mutation::TouchApiToken`](super::Mutation) only when the replicated
//! `last_used_ms` is older than [`TOUCH_EVERY_MS`], so a busy token costs
//! at most about one log entry a minute, not one per request.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ClusterState, fields, model};
use crate::error::{Error, ErrorKind, Result};

/// At most this many API tokens are on record.
pub const MAX_API_TOKENS: usize = 200;
/// `last_used_ms` is replicated again only when it is older than this.
pub const TOUCH_EVERY_MS: u64 = 60_000;
/// The prefix of every API token's text.
pub const TOKEN_PREFIX: &str = "qut_";
/// Longest token text accepted from a request (longer is refused unread).
pub const MAX_TOKEN_TEXT: usize = 256;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// Read the status, checks, channels (masked), transitions, maintenance.
    Read,
    /// Read, and add, edit, enable, disable and remove checks and windows.
    Write,
}

impl TokenRole {
    /// Parse `read` or `write`; the error names the field `role`.
    pub fn parse(text: &str) -> Result<TokenRole> {
        match text {
            "read" => Ok(TokenRole::Read),
            "write" => Ok(TokenRole::Write),
            other => Err(Error::invalid_field(
                "role",
                format!(
                    "{:?} is not a token role: use read or write",
                    fields::excerpt(other)
                ),
            )),
        }
    }

    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Read => "read",
            TokenRole::Write => "write",
        }
    }

    /// Whether a token of this role may do what `needed` allows.
    pub fn allows(self, needed: TokenRole) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for TokenRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One API token on record (hash only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Token id (the public part of the token text).
    pub id: String,
    /// Its name (unique), as `qu token create` was given it.
    pub name: String,
    /// What it may do.
    pub role: TokenRole,
    /// `sha256:<hex>` of the secret part.
    pub secret_hash: String,
    /// When it was created (ms since the epoch, the proposer's clock).
    pub created_at_ms: u64,
    /// When it was last accepted, to within [`TOUCH_EVERY_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
}

impl ApiToken {
    /// Check the name and the sizes of the fields.
    pub fn validate(&self) -> Result<()> {
        model::validate_name("token", &self.name).map_err(|e| e.with_field("name"))?;
        fields::text("token id", &self.id, model::MAX_TOKEN_FIELD)?;
        fields::text(
            "token secret hash",
            &self.secret_hash,
            model::MAX_TOKEN_FIELD,
        )?;
        if !self.secret_hash.starts_with("sha256:") {
            return Err(Error::invalid("token secret hash: expected sha256:<hex>"));
        }
        Ok(())
    }

    /// Whether `secret` is this token's secret (compared in constant time).
    pub fn matches(&self, secret: &str) -> bool {
        let want = self.secret_hash.as_bytes();
        let got = hash_secret(secret);
        let got = got.as_bytes();
        want.len() == got.len() && want.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// Whether its recorded last use is older than [`TOUCH_EVERY_MS`] at
    /// `now_ms`, so the node that accepted it should record the use.
    pub fn touch_due(&self, now_ms: u64) -> bool {
        self.last_used_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= TOUCH_EVERY_MS)
    }
}

/// `sha256:<hex>` of a token secret.
pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The text of a token: `qut_<id>_<secret>`.
pub fn token_text(id: &str, secret: &str) -> String {
    format!("{TOKEN_PREFIX}{id}_{secret}")
}

/// Split a presented token text into (id, secret); `None` when it is not
/// shaped like a token (or is longer than [`MAX_TOKEN_TEXT`]).
pub fn split_token(text: &str) -> Option<(&str, &str)> {
    if text.len() > MAX_TOKEN_TEXT {
        return None;
    }
    let (id, secret) = text.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

impl ClusterState {
    /// The token with id or name `key`.
    pub fn find_api_token(&self, key: &str) -> Result<&ApiToken> {
        self.api_tokens
            .get(key)
            .or_else(|| self.api_tokens.values().find(|t| t.name == key))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("no API token {key:?} in this cluster"),
                )
                .with_hint("list them with `qu token list`")
            })
    }

    /// The token the text `presented` is, when it is on record and its
    /// secret matches; `None` otherwise (the caller does not learn which
    /// part was wrong).
    pub fn authenticate(&self, presented: &str) -> Option<&ApiToken> {
        let (id, secret) = split_token(presented)?;
        self.api_tokens.get(id).filter(|t| t.matches(secret))
    }

    pub(super) fn add_api_token(&mut self, token: &ApiToken) -> Result<Option<String>> {
        token.validate()?;
        model::room_for("API tokens", self.api_tokens.len(), 1, MAX_API_TOKENS)?;
        if self.api_tokens.contains_key(&token.id) {
            return Err(super::exists("token id", &token.id));
        }
        if self.api_tokens.values().any(|t| t.name == token.name) {
            return Err(super::exists("token", &token.name).with_field("name"));
        }
        self.api_tokens.insert(token.id.clone(), token.clone());
        Ok(Some(token.id.clone()))
    }

    pub(super) fn revoke_api_token(&mut self, key: &str) -> Result<Option<String>> {
        let id = self.find_api_token(key)?.id.clone();
        self.api_tokens.remove(&id);
        Ok(Some(id))
    }

    /// Record a use; an older time than the one on record is ignored (two
    /// nodes may touch the same token), a revoked token is no error.
    pub(super) fn touch_api_token(&mut self, id: &str, at_ms: u64) -> Result<Option<String>> {
        if let Some(t) = self.api_tokens.get_mut(id) {
            t.last_used_ms = Some(t.last_used_ms.map_or(at_ms, |old| old.max(at_ms)));
        }
        Ok(Some(id.to_string()))
    }
}

#[cfg(test)]
#[path = "api_token_tests.rs"]
mod tests;
