//! The ntfy notifier: one JSON publish per alert to an ntfy server
//! (`POST <base_url>/` with the topic in the body).
//!
//! Settings: `topic` (required; letters, digits, `_` and `-`, at most 64;
//! masked when shown, since on a public server knowing it is enough to
//! read and publish),
//! `base_url` (default `https://ntfy.sh`; `http://` is accepted for a
//! server on a private network), `token` (optional; an access token sent
//! as `Authorization: Bearer …`), `ca`, and the common ones. ntfy turns
//! messages over 4096 bytes into attachments; ours are cut to 4096 bytes
//! and marked instead. DOWN and reminders are sent at priority 5
//! (urgent), the rest at 3.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::{Notification, NotificationKind};
use super::provider::{self, Endpoint};
use super::settings::{Secret, Settings};

const KEYS: [&str; 4] = ["topic", "base_url", "token", provider::CA];
/// ntfy's limit on a message (bytes), beyond which it makes an attachment.
pub const MESSAGE_LIMIT: usize = 4096;
/// The public server.
pub const DEFAULT_BASE_URL: &str = "https://ntfy.sh";

/// A parsed ntfy channel.
#[derive(Debug)]
pub(crate) struct NtfyConfig {
    endpoint: Endpoint,
    topic: String,
    token: Option<Secret>,
}

/// Publishes to ntfy topics.
#[derive(Debug)]
pub(crate) struct NtfyNotifier {
    http: Arc<HttpSender>,
}

impl NtfyNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> NtfyNotifier {
        NtfyNotifier { http }
    }
}

impl Notifier for NtfyNotifier {
    const KIND: &'static str = "ntfy";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = NtfyConfig;

    fn config(s: Settings<'_>) -> Result<NtfyConfig> {
        let form = "a topic name of letters, digits, _ and -, at most 64, such as ops-alerts";
        let topic = s.required("topic", form)?;
        let ok = topic.len() <= 64
            && topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            // Not quoted: on a public server the topic name is the secret.
            return Err(s.error("topic", format!("not a topic name: use {form}")));
        }
        let token = match s.get("token") {
            Some(_) => Some(provider::token(
                &s,
                "token",
                "an ntfy access token such as tk_…",
                provider::any,
            )?),
            None => None,
        };
        Ok(NtfyConfig {
            endpoint: provider::endpoint(
                &s,
                "base_url",
                Some(DEFAULT_BASE_URL),
                DEFAULT_BASE_URL,
                true,
            )?,
            topic: topic.to_string(),
            token,
        })
    }

    async fn send(&self, c: &NtfyConfig, n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let (priority, tag) = match n.kind {
            NotificationKind::Down | NotificationKind::Reminder => (5, "rotating_light"),
            NotificationKind::Recovered => (3, "white_check_mark"),
            NotificationKind::Test => (3, "test_tube"),
            NotificationKind::Flapping
            | NotificationKind::MonitorDegraded
            | NotificationKind::Degraded => (4, "warning"),
            NotificationKind::DegradedCleared => (3, "white_check_mark"),
            NotificationKind::MonitorRecovered => (3, "white_check_mark"),
        };
        let body = json!({
            "topic": c.topic,
            "title": m.subject,
            "message": provider::cut_bytes(m.body.trim_end(), MESSAGE_LIMIT),
            "priority": priority,
            "tags": [tag],
        });
        let auth: Vec<(&'static str, String)> = c
            .token
            .iter()
            .map(|t| ("authorization", format!("Bearer {}", t.0)))
            .collect();
        let req = provider::json(e, Method::POST, provider::join(&e.url, "/"), &auth, &body)?;
        self.http.send(Self::KIND, req).await
    }
}
