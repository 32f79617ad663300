//! The Slack notifier: one incoming-webhook message per alert, as Block
//! Kit blocks (a header with the subject, a section with the body) and a
//! plain `text` fallback for notifications.
//!
//! Settings: `url` (required; the incoming webhook,
//! `https://hooks.slack.com/services/…`, which is the secret), `ca`, and
//! the common ones. Slack's limits: a header's text is at most 150
//! characters and a section's 3000; longer texts are cut and marked.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::Notification;
use super::provider::{self, Endpoint};
use super::settings::Settings;

const KEYS: [&str; 2] = ["url", provider::CA];
/// Slack's limit on a header block's text.
pub const HEADER_LIMIT: usize = 150;
/// Slack's limit on a section block's text (and our `text` fallback).
pub const TEXT_LIMIT: usize = 3000;

/// A parsed Slack channel.
#[derive(Debug)]
pub(crate) struct SlackConfig {
    endpoint: Endpoint,
}

/// Posts to Slack incoming webhooks.
#[derive(Debug)]
pub(crate) struct SlackNotifier {
    http: Arc<HttpSender>,
}

impl SlackNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> SlackNotifier {
        SlackNotifier { http }
    }
}

impl Notifier for SlackNotifier {
    const KIND: &'static str = "slack";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = SlackConfig;

    fn config(s: Settings<'_>) -> Result<SlackConfig> {
        let example = "https://hooks.slack.com/services/T…/B…/…";
        Ok(SlackConfig {
            endpoint: provider::endpoint(&s, "url", None, example, false)?,
        })
    }

    async fn send(&self, c: &SlackConfig, _n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let req = provider::json(e, Method::POST, e.url.clone(), &[], &payload(m))?;
        self.http.send(Self::KIND, req).await
    }
}

/// The message: header + section blocks, and the fallback text.
pub(crate) fn payload(m: &Message) -> Value {
    let body = provider::cut_chars(m.body.trim_end(), TEXT_LIMIT);
    json!({
        "text": provider::cut_chars(&provider::text(m), TEXT_LIMIT),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": provider::cut_chars(&m.subject, HEADER_LIMIT)}},
            {"type": "section", "text": {"type": "plain_text", "text": body}},
        ],
    })
}
