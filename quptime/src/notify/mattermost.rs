//! The Mattermost notifier: one incoming-webhook post per alert.
//!
//! Settings: `url` (required; the incoming webhook,
//! `https://chat.example.com/hooks/…`, which is the secret; `http://` is
//! accepted for a server on a private network), `ca`, and the common
//! ones. Mattermost refuses posts over 16383 characters; longer texts are
//! cut and marked.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::Notification;
use super::provider::{self, Endpoint};
use super::settings::Settings;

const KEYS: [&str; 2] = ["url", provider::CA];
/// Mattermost's limit on a post's text.
pub const TEXT_LIMIT: usize = 16383;

/// A parsed Mattermost channel.
#[derive(Debug)]
pub(crate) struct MattermostConfig {
    endpoint: Endpoint,
}

/// Posts to Mattermost incoming webhooks.
#[derive(Debug)]
pub(crate) struct MattermostNotifier {
    http: Arc<HttpSender>,
}

impl MattermostNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> MattermostNotifier {
        MattermostNotifier { http }
    }
}

impl Notifier for MattermostNotifier {
    const KIND: &'static str = "mattermost";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = MattermostConfig;

    fn config(s: Settings<'_>) -> Result<MattermostConfig> {
        let example = "https://chat.example.com/hooks/xxx";
        Ok(MattermostConfig {
            endpoint: provider::endpoint(&s, "url", None, example, true)?,
        })
    }

    async fn send(&self, c: &MattermostConfig, _n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        // A code block keeps the body's layout and markdown inert.
        let text = format!("**{}**\n```\n{}\n```", m.subject, m.body.trim_end());
        let body = json!({ "text": provider::cut_chars(&text, TEXT_LIMIT) });
        let req = provider::json(e, Method::POST, e.url.clone(), &[], &body)?;
        self.http.send(Self::KIND, req).await
    }
}
