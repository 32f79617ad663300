//! The Microsoft Teams notifier: one Adaptive Card per alert, posted to a
//! Teams workflow ("Post to a channel when a webhook request is
//! received"), the replacement of the retired Office 365 connectors.
//!
//! Settings: `url` (required; the workflow's HTTP trigger URL, whose
//! `sig` query parameter is the secret), `ca`, and the common ones.
//! Teams refuses messages over about 28 KB; the card's body text is cut
//! to 20000 bytes and the title to 1000 characters, and marked.

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
/// Longest card body text, in bytes (the whole message must stay under
/// Teams' 28 KB).
pub const BODY_LIMIT: usize = 20_000;
/// Longest card title, in characters.
pub const TITLE_LIMIT: usize = 1000;

/// A parsed Teams channel.
#[derive(Debug)]
pub(crate) struct TeamsConfig {
    endpoint: Endpoint,
}

/// Posts Adaptive Cards to Teams workflows.
#[derive(Debug)]
pub(crate) struct TeamsNotifier {
    http: Arc<HttpSender>,
}

impl TeamsNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> TeamsNotifier {
        TeamsNotifier { http }
    }
}

impl Notifier for TeamsNotifier {
    const KIND: &'static str = "teams";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = TeamsConfig;

    fn config(s: Settings<'_>) -> Result<TeamsConfig> {
        let example = "https://prod-00.westus.logic.azure.com/workflows/…/triggers/manual/paths/invoke?…&sig=…";
        Ok(TeamsConfig {
            endpoint: provider::endpoint(&s, "url", None, example, false)?,
        })
    }

    async fn send(&self, c: &TeamsConfig, _n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let req = provider::json(e, Method::POST, e.url.clone(), &[], &card(m))?;
        self.http.send(Self::KIND, req).await
    }
}

/// The message: one attachment holding an Adaptive Card 1.4.
pub(crate) fn card(m: &Message) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": provider::cut_chars(&m.subject, TITLE_LIMIT),
                     "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": provider::cut_bytes(m.body.trim_end(), BODY_LIMIT),
                     "wrap": true, "fontType": "Monospace"},
                ],
            },
        }],
    })
}
