//! The Telegram notifier: one Bot API `sendMessage` per alert, as plain
//! text (no `parse_mode`, so nothing in a check's output is read as
//! markup).
//!
//! Settings: `token` (required; the bot token from @BotFather, which
//! travels in the URL path, `/bot<token>/sendMessage`), `chat_id`
//! (required; a numeric chat id or `@channelname`), `base_url` (default
//! `https://api.telegram.org`; a self-hosted Bot API server), `ca`, and
//! the common ones. Telegram's limit is 4096 characters of text; longer
//! texts are cut and marked. Its 429 answers carry
//! `parameters.retry_after`, honoured like `Retry-After`.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::Notification;
use super::provider::{self, Endpoint};
use super::settings::{Secret, Settings};

const KEYS: [&str; 4] = ["token", "chat_id", "base_url", provider::CA];
/// Telegram's limit on a message's text.
pub const TEXT_LIMIT: usize = 4096;
/// The public Bot API.
pub const DEFAULT_BASE_URL: &str = "https://api.telegram.org";

/// A parsed Telegram channel.
#[derive(Debug)]
pub(crate) struct TelegramConfig {
    endpoint: Endpoint,
    token: Secret,
    chat_id: String,
}

/// Sends Telegram messages through the Bot API.
#[derive(Debug)]
pub(crate) struct TelegramNotifier {
    http: Arc<HttpSender>,
}

impl TelegramNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> TelegramNotifier {
        TelegramNotifier { http }
    }
}

impl Notifier for TelegramNotifier {
    const KIND: &'static str = "telegram";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = TelegramConfig;

    fn config(s: Settings<'_>) -> Result<TelegramConfig> {
        let form = "the bot token from @BotFather, such as 123456:ABC-DEF…";
        let token = provider::token(&s, "token", form, |c| {
            c.is_ascii_alphanumeric() || ":_-".contains(c)
        })?;
        let form = "a numeric chat id such as -1001234567890, or @channelname";
        let chat_id = s.required("chat_id", form)?;
        let ok = chat_id.parse::<i64>().is_ok()
            || (chat_id.len() > 1
                && chat_id.starts_with('@')
                && chat_id[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !ok {
            return Err(s.error("chat_id", format!("{chat_id:?}: use {form}")));
        }
        Ok(TelegramConfig {
            endpoint: provider::endpoint(
                &s,
                "base_url",
                Some(DEFAULT_BASE_URL),
                DEFAULT_BASE_URL,
                false,
            )?,
            token,
            chat_id: chat_id.to_string(),
        })
    }

    async fn send(&self, c: &TelegramConfig, _n: &Notification, m: &Message) -> Result<String> {
        let e = &c.endpoint;
        let url = provider::join(&e.url, &format!("/bot{}/sendMessage", c.token.0));
        let chat: serde_json::Value = match c.chat_id.parse::<i64>() {
            Ok(id) => json!(id),
            Err(_) => json!(c.chat_id),
        };
        let body = json!({
            "chat_id": chat,
            "text": provider::cut_chars(&provider::text(m), TEXT_LIMIT),
            "disable_web_page_preview": true,
        });
        let req = provider::json(e, Method::POST, url, &[], &body)?;
        self.http.send(Self::KIND, req).await
    }
}
