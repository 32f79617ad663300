//! The Gotify notifier: one `POST <base_url>/message` per alert, the
//! application token in the `X-Gotify-Key` header.
//!
//! Settings: `base_url` (required: Gotify is self-hosted; `http://` is
//! accepted for a server on a private network), `token` (required; an
//! application token), `ca`, and the common ones. Gotify documents no
//! length limit; quptime cuts messages at 16384 characters so that one
//! runaway output cannot fill a phone. DOWN and reminders are sent at
//! priority 8, the rest at 4.

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

const KEYS: [&str; 3] = ["base_url", "token", provider::CA];
/// quptime's cap on a Gotify message (Gotify sets none).
pub const MESSAGE_LIMIT: usize = 16384;

/// A parsed Gotify channel.
#[derive(Debug)]
pub(crate) struct GotifyConfig {
    endpoint: Endpoint,
    token: Secret,
}

/// Pushes Gotify messages.
#[derive(Debug)]
pub(crate) struct GotifyNotifier {
    http: Arc<HttpSender>,
}

impl GotifyNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> GotifyNotifier {
        GotifyNotifier { http }
    }
}

impl Notifier for GotifyNotifier {
    const KIND: &'static str = "gotify";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = GotifyConfig;

    fn config(s: Settings<'_>) -> Result<GotifyConfig> {
        let token = provider::token(
            &s,
            "token",
            "an application token such as AbCdEf123",
            provider::any,
        )?;
        Ok(GotifyConfig {
            endpoint: provider::endpoint(&s, "base_url", None, "https://gotify.example.com", true)?,
            token,
        })
    }

    async fn send(&self, c: &GotifyConfig, n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let priority = match n.kind {
            NotificationKind::Down | NotificationKind::Reminder => 8,
            NotificationKind::Recovered
            | NotificationKind::Test
            | NotificationKind::Flapping
            | NotificationKind::MonitorDegraded
            | NotificationKind::MonitorRecovered
            | NotificationKind::Degraded
            | NotificationKind::DegradedCleared => 4,
        };
        let body = json!({
            "title": m.subject,
            "message": provider::cut_chars(m.body.trim_end(), MESSAGE_LIMIT),
            "priority": priority,
        });
        let key = [("x-gotify-key", c.token.0.clone())];
        let req = provider::json(
            e,
            Method::POST,
            provider::join(&e.url, "/message"),
            &key,
            &body,
        )?;
        self.http.send(Self::KIND, req).await
    }
}
