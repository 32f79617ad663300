//! The Google Chat notifier: one space-webhook message per alert, threaded
//! by incident: a DOWN, its reminders and its RECOVERED share the
//! `threadKey` (with `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`).
//!
//! Settings: `url` (required; the space's webhook,
//! `https://chat.googleapis.com/v1/spaces/…/messages?key=…&token=…`,
//! whose query is the secret), `ca`, and the common ones. Google Chat's
//! limit is 4096 characters of text; longer texts are cut and marked.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::{Notification, NotificationKind};
use super::provider::{self, Endpoint};
use super::settings::Settings;

const KEYS: [&str; 2] = ["url", provider::CA];
/// Google Chat's limit on a message's text.
pub const TEXT_LIMIT: usize = 4096;

/// A parsed Google Chat channel.
#[derive(Debug)]
pub(crate) struct GoogleChatConfig {
    endpoint: Endpoint,
}

/// Posts to Google Chat space webhooks.
#[derive(Debug)]
pub(crate) struct GoogleChatNotifier {
    http: Arc<HttpSender>,
}

impl GoogleChatNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> GoogleChatNotifier {
        GoogleChatNotifier { http }
    }
}

impl Notifier for GoogleChatNotifier {
    const KIND: &'static str = "googlechat";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = GoogleChatConfig;

    fn config(s: Settings<'_>) -> Result<GoogleChatConfig> {
        let example = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=…&token=…";
        Ok(GoogleChatConfig {
            endpoint: provider::endpoint(&s, "url", None, example, false)?,
        })
    }

    async fn send(&self, c: &GoogleChatConfig, n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let mut url = e.url.clone();
        if n.kind != NotificationKind::Test {
            url.query_pairs_mut()
                .append_pair("threadKey", &provider::incident_key(n))
                .append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
        }
        let body = json!({ "text": provider::cut_chars(&provider::text(m), TEXT_LIMIT) });
        let req = provider::json(e, Method::POST, url, &[], &body)?;
        self.http.send(Self::KIND, req).await
    }
}
