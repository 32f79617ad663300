//! The Discord notifier: one webhook execution per alert, the subject as
//! the first line and the body in a code block, within Discord's 2000
//! character limit.
//!
//! Settings: `webhook` (required; the channel's webhook URL, `https://`
//! only), `ca` (PEM roots to trust for it), and the common `timeout`, `subject_template`, `body_template`.
//! Mentions are disabled (`allowed_mentions`), so a check named
//! `@everyone` pings nobody. A 429 answer is a retryable failure carrying
//! Discord's `retry_after` (or the `Retry-After` header).

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use std::time::Duration;

use crate::error::Result;

use super::Notifier;
use super::http::{HttpSender, Request};
use super::message::Message;
use super::notification::Notification;
use super::settings::{Settings, mask_url};

/// Settings of a Discord channel (besides the common ones).
const KEYS: [&str; 2] = ["webhook", super::provider::CA];
/// Discord refuses longer message content.
pub const CONTENT_LIMIT: usize = 2000;
/// Longest subject line kept in the content.
const SUBJECT_LIMIT: usize = 256;
const FENCE_OPEN: &str = "\n```\n";
const FENCE_CLOSE: &str = "\n```";
const TRUNCATED: &str = "\n… (truncated)";

/// A parsed Discord channel.
pub(crate) struct DiscordConfig {
    /// Carries the webhook's token: never shown unmasked.
    url: Url,
    timeout: Duration,
    ca: Option<super::http::Ca>,
}

impl std::fmt::Debug for DiscordConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("url", &mask_url(self.url.as_str()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Posts to Discord webhooks through the shared HTTP client.
#[derive(Debug)]
pub(crate) struct DiscordNotifier {
    http: std::sync::Arc<HttpSender>,
}

impl DiscordNotifier {
    pub(crate) fn new(http: std::sync::Arc<HttpSender>) -> DiscordNotifier {
        DiscordNotifier { http }
    }
}

impl Notifier for DiscordNotifier {
    const KIND: &'static str = "discord";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = DiscordConfig;

    fn config(s: Settings<'_>) -> Result<DiscordConfig> {
        let form = "the webhook URL, https://discord.com/api/webhooks/…";
        let text = s.required("webhook", form)?;
        let url = Url::parse(text)
            .ok()
            .filter(|u| u.host_str().is_some())
            .ok_or_else(|| s.error("webhook", format!("not a URL: use {form}")))?;
        if url.scheme() != "https" {
            return Err(s.error(
                "webhook",
                format!("{}:// URLs are refused: use {form}", url.scheme()),
            ));
        }
        Ok(DiscordConfig {
            url,
            timeout: s.timeout()?,
            ca: super::provider::ca(&s)?,
        })
    }

    async fn send(&self, c: &DiscordConfig, _n: &Notification, m: &Message) -> Result<String> {
        let payload = serde_json::json!({
            "content": content(&m.subject, &m.body),
            "allowed_mentions": { "parse": [] },
        });
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let req = Request {
            method: Method::POST,
            url: c.url.clone(),
            headers,
            body: payload.to_string().into_bytes(),
            timeout: c.timeout,
            ca: c.ca.clone(),
        };
        self.http.send(Self::KIND, req).await
    }
}

/// Length as Discord may count it (UTF-16 code units; never less than
/// the number of characters).
fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The longest prefix of `s` within `budget` UTF-16 units.
fn prefix(s: &str, budget: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.len_utf16();
        if used > budget {
            return &s[..i];
        }
    }
    s
}

/// `subject\n```\nbody\n```` within [`CONTENT_LIMIT`]: a long body is cut
/// and marked, and the code block is always closed. Triple backticks in
/// the body are broken up so they cannot close the block early.
pub(crate) fn content(subject: &str, body: &str) -> String {
    let subject = prefix(subject, SUBJECT_LIMIT);
    let body = body.trim_end().replace("```", "`\u{200b}``");
    let whole = format!("{subject}{FENCE_OPEN}{body}{FENCE_CLOSE}");
    if units(&whole) <= CONTENT_LIMIT {
        return whole;
    }
    let frame = units(subject) + units(FENCE_OPEN) + units(TRUNCATED) + units(FENCE_CLOSE);
    let kept = prefix(&body, CONTENT_LIMIT.saturating_sub(frame));
    format!("{subject}{FENCE_OPEN}{kept}{TRUNCATED}{FENCE_CLOSE}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_fenced_whole() {
        assert_eq!(content("s", "a\nb\n"), "s\n```\na\nb\n```");
    }

    #[test]
    fn long_bodies_are_cut_within_the_limit_and_stay_fenced() {
        for body in ["x".repeat(5000), "é😀".repeat(3000)] {
            let c = content("[quptime] HTTP DOWN — api (https://a.test)", &body);
            assert!(units(&c) <= CONTENT_LIMIT, "{}", units(&c));
            assert!(units(&c) > CONTENT_LIMIT - 4, "cut too much: {}", units(&c));
            assert!(c.ends_with("\n… (truncated)\n```"));
            assert_eq!(c.matches("```").count(), 2);
        }
    }

    #[test]
    fn backticks_cannot_close_the_block() {
        let c = content("s", "before ``` after");
        assert_eq!(c.matches("```").count(), 2, "{c}");
    }
}
