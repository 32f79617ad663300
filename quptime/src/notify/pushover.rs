//! The Pushover notifier: one `POST /1/messages.json` per alert.
//!
//! Settings: `token` (required; the application's API token), `user`
//! (required; the user or group key), `base_url` (default
//! `https://api.pushover.net`), `ca`, and the common ones. Both keys
//! travel in the JSON body, as Pushover documents. Pushover's limits: a
//! title of 250 characters and a message of 1024; longer ones are cut and
//! marked. DOWN and reminders are sent at priority 1 (high), the rest at 0.

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

const KEYS: [&str; 4] = ["token", "user", "base_url", provider::CA];
/// Pushover's limit on a message.
pub const MESSAGE_LIMIT: usize = 1024;
/// Pushover's limit on a title.
pub const TITLE_LIMIT: usize = 250;
/// The public API.
pub const DEFAULT_BASE_URL: &str = "https://api.pushover.net";

/// A parsed Pushover channel.
#[derive(Debug)]
pub(crate) struct PushoverConfig {
    endpoint: Endpoint,
    token: Secret,
    user: Secret,
}

/// Sends Pushover messages.
#[derive(Debug)]
pub(crate) struct PushoverNotifier {
    http: Arc<HttpSender>,
}

impl PushoverNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> PushoverNotifier {
        PushoverNotifier { http }
    }
}

/// Pushover keys are 30 letters and digits.
fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

impl Notifier for PushoverNotifier {
    const KIND: &'static str = "pushover";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = PushoverConfig;

    fn config(s: Settings<'_>) -> Result<PushoverConfig> {
        let token = provider::token(
            &s,
            "token",
            "the application's API token (30 letters and digits)",
            key_char,
        )?;
        let user = provider::token(
            &s,
            "user",
            "the user or group key (30 letters and digits)",
            key_char,
        )?;
        Ok(PushoverConfig {
            endpoint: provider::endpoint(
                &s,
                "base_url",
                Some(DEFAULT_BASE_URL),
                DEFAULT_BASE_URL,
                false,
            )?,
            token,
            user,
        })
    }

    async fn send(&self, c: &PushoverConfig, n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let priority = match n.kind {
            NotificationKind::Down | NotificationKind::Reminder => 1,
            NotificationKind::Recovered
            | NotificationKind::Test
            | NotificationKind::Flapping
            | NotificationKind::MonitorDegraded
            | NotificationKind::MonitorRecovered
            | NotificationKind::Degraded
            | NotificationKind::DegradedCleared => 0,
        };
        let body = json!({
            "token": c.token.0,
            "user": c.user.0,
            "title": provider::cut_chars(&m.subject, TITLE_LIMIT),
            "message": provider::cut_chars(m.body.trim_end(), MESSAGE_LIMIT),
            "priority": priority,
        });
        let url = provider::join(&e.url, "/1/messages.json");
        let req = provider::json(e, Method::POST, url, &[], &body)?;
        self.http.send(Self::KIND, req).await
    }
}
