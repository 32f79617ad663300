//! The Matrix notifier: the client-server API, one `m.room.message`
//! (`m.text`) per alert, `PUT
//! <base_url>/_matrix/client/v3/rooms/<room_id>/send/m.room.message/<txn_id>`
//! with `Authorization: Bearer <access_token>`.
//!
//! The transaction id is derived from the alert (a SHA-256 of the room,
//! the kind, the check, the incident and the time), so a retried send of
//! the same alert is deduplicated by the homeserver instead of posted
//! twice.
//!
//! Settings: `base_url` (the homeserver's client API, default
//! `https://matrix-client.matrix.org`; `http://` is accepted for a server
//! on a private network), `access_token` (required; a bot account's
//! token), `room_id` (required; `!opaque:server`), `ca`, and the common
//! ones. Matrix events are at most 65536 bytes; the text is cut at 60000
//! bytes and marked.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::Notification;
use super::provider::{self, Endpoint};
use super::settings::{Secret, Settings};

const KEYS: [&str; 4] = ["base_url", "access_token", "room_id", provider::CA];
/// Longest text sent (bytes), leaving room in Matrix's 65536-byte event.
pub const TEXT_LIMIT: usize = 60_000;
/// matrix.org's client API.
pub const DEFAULT_BASE_URL: &str = "https://matrix-client.matrix.org";

/// A parsed Matrix channel.
#[derive(Debug)]
pub(crate) struct MatrixConfig {
    endpoint: Endpoint,
    access_token: Secret,
    room_id: String,
}

/// Posts to Matrix rooms.
#[derive(Debug)]
pub(crate) struct MatrixNotifier {
    http: Arc<HttpSender>,
}

impl MatrixNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> MatrixNotifier {
        MatrixNotifier { http }
    }
}

impl Notifier for MatrixNotifier {
    const KIND: &'static str = "matrix";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = MatrixConfig;

    fn config(s: Settings<'_>) -> Result<MatrixConfig> {
        let form = "a bot account's access token such as syt_…";
        let access_token = provider::token(&s, "access_token", form, provider::any)?;
        let form = "a room id such as !AbCdEf:example.org (not an #alias)";
        let room_id = s.required("room_id", form)?;
        let ok = room_id.starts_with('!')
            && room_id.len() > 3
            && room_id.chars().all(|c| c.is_ascii_graphic());
        if !ok {
            return Err(s.error("room_id", format!("{room_id:?}: use {form}")));
        }
        Ok(MatrixConfig {
            endpoint: provider::endpoint(
                &s,
                "base_url",
                Some(DEFAULT_BASE_URL),
                DEFAULT_BASE_URL,
                true,
            )?,
            access_token,
            room_id: room_id.to_string(),
        })
    }

    async fn send(&self, c: &MatrixConfig, n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let path = format!(
            "/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
            provider::segment(&c.room_id),
            txn_id(&c.room_id, n)
        );
        let body = json!({
            "msgtype": "m.text",
            "body": provider::cut_bytes(&provider::text(m), TEXT_LIMIT),
        });
        let auth = [("authorization", format!("Bearer {}", c.access_token.0))];
        let req = provider::json(e, Method::PUT, provider::join(&e.url, &path), &auth, &body)?;
        self.http.send(Self::KIND, req).await
    }
}

/// `qu-<32 hex>`: the same for the same alert to the same room.
pub(crate) fn txn_id(room: &str, n: &Notification) -> String {
    let mut h = Sha256::new();
    for part in [
        room,
        n.kind.as_str(),
        &n.check,
        n.incident.as_deref().unwrap_or(""),
        &n.time,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("qu-{hex}")
}
