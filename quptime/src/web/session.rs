//! Dashboard sessions: who logged in with which API token, kept in this
//! node's memory only (a session is a convenience of one browser talking
//! to one node; the token it came from is what the cluster replicates).
//!
//! Pure (time is an argument, ids come from the caller) and bounded: at
//! most [`MAX_SESSIONS`] at once (a new login evicts the least recently
//! used), each ending after [`IDLE_MS`] without a request or
//! [`ABSOLUTE_MS`] after login, whichever is first. A session id is 256
//! random bits, so it cannot be guessed; the map is keyed by it.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use crate::state::api_token::TokenRole;

/// Sessions held at once on one node.
pub(crate) const MAX_SESSIONS: usize = 256;
/// A session ends after this long without a request (30 min).
pub(crate) const IDLE_MS: u64 = 30 * 60 * 1000;
/// A session ends this long after login, used or not (12 h).
pub(crate) const ABSOLUTE_MS: u64 = 12 * 3600 * 1000;
/// The session cookie's name.
pub(crate) const COOKIE: &str = "qu_session";
/// Longest cookie value read (a session id is 64 hex digits).
const MAX_ID: usize = 128;

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The API token it logged in with (its id): the session ends when the
    /// token is revoked.
    pub token_id: String,
    /// That token's name, shown on the page.
    pub token_name: String,
    /// What the token may do.
    pub role: TokenRole,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    created_ms: u64,
    seen_ms: u64,
}

/// Why [`Sessions::touch`] found no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// No such id (never made, logged out, or evicted).
    Unknown,
    /// It was idle too long or is too old.
    Expired,
}

/// The sessions of one node.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_id: HashMap<String, Session>,
}

impl Sessions {
    /// Open session `id` (fresh random) for a token at `now_ms`, with CSRF
    /// token `csrf` (fresh random); the least recently used one is
    /// dropped when [`MAX_SESSIONS`] are open.
    pub(crate) fn open(
        &mut self,
        id: String,
        csrf: String,
        token_id: &str,
        token_name: &str,
        role: TokenRole,
        now_ms: u64,
    ) {
        self.by_id.retain(|_, s| live(s, now_ms).is_none());
        if self.by_id.len() >= MAX_SESSIONS
            && let Some(oldest) = (self.by_id.iter())
                .min_by_key(|(_, s)| s.seen_ms)
                .map(|(k, _)| k.clone())
        {
            self.by_id.remove(&oldest);
        }
        self.by_id.insert(
            id,
            Session {
                token_id: token_id.to_string(),
                token_name: token_name.to_string(),
                role,
                csrf,
                created_ms: now_ms,
                seen_ms: now_ms,
            },
        );
    }

    /// The session `id` at `now_ms`, marked as used; an expired one is
    /// removed.
    pub(crate) fn touch(&mut self, id: &str, now_ms: u64) -> Result<Session, Gone> {
        let s = self.by_id.get_mut(id).ok_or(Gone::Unknown)?;
        if let Some(gone) = live(s, now_ms) {
            self.by_id.remove(id);
            return Err(gone);
        }
        s.seen_ms = now_ms;
        Ok(s.clone())
    }

    /// End session `id` (logout).
    pub(crate) fn close(&mut self, id: &str) {
        self.by_id.remove(id);
    }

    /// End every session of the token `token_id` (it was revoked).
    pub(crate) fn end_token(&mut self, token_id: &str) {
        self.by_id.retain(|_, s| s.token_id != token_id);
    }

    /// Sessions open (expired ones not yet swept included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// `None` when `s` is still valid at `now_ms`, else why not.
fn live(s: &Session, now_ms: u64) -> Option<Gone> {
    let idle = now_ms.saturating_sub(s.seen_ms) >= IDLE_MS;
    let old = now_ms.saturating_sub(s.created_ms) >= ABSOLUTE_MS;
    (idle || old).then_some(Gone::Expired)
}

/// The `Set-Cookie` value that gives a browser session `id`: not readable
/// by scripts, never sent by another site's request, only to the
/// dashboard's paths, and only over TLS when the listener is TLS.
pub(crate) fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/dashboard{secure}")
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=0{secure}")
}

/// The value of cookie `name` in the request's `Cookie` headers (bounded
/// to [`MAX_ID`] characters; longer is taken as absent).
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= MAX_ID)
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
