//! Notifiers: telling people that a check went down or came back, by mail
//! (SMTP), Discord, a generic webhook, or the services teams page and chat
//! through: Slack, Microsoft Teams, Telegram, ntfy, Gotify, Pushover,
//! PagerDuty, Opsgenie, Matrix, Mattermost and Google Chat.
//!
//! What to say is a [`Notification`], built from an outbox entry's kind
//! and the transition it announces by [`Notification::announcing`] (the
//! outbox decided the alert when the transition was applied), or by
//! [`Notification::test`]; it carries the incident key that ties a DOWN,
//! its reminders and its RECOVERED together ([`incident_key`]).
//! How it reads is [`message`]: a default subject and body, optionally
//! reshaped per channel by templates. Where it goes is an
//! [`AlertChannel`]; each channel type has its notifier in its own file,
//! all with the same shape (the `Notifier` trait), registered in one
//! place (`registry.rs`), behind [`Notifiers`], which a node builds once:
//! the HTTP client and the TLS configurations are made there and shared.
//!
//! Settings per channel type (all values are strings; every type also
//! takes `timeout`, default 30s, and `subject_template` / `body_template`;
//! every HTTP type takes `ca`, PEM roots trusted for that channel):
//! - `smtp`: `host`, `port`, `from`, `to` (comma-separated) required;
//!   `tls` = `starttls` (default) | `tls` | `none`; `user` + `password`
//!   (refused with `tls = none` unless `allow_plain_auth` = `true`);
//!   `hello` (the EHLO name).
//! - `discord`: `webhook` (an `https://` URL).
//! - `webhook`: `url`; `method` = `POST` (default) | `PUT` | `PATCH`;
//!   `headers` (a JSON object); `secret` (an HMAC-SHA256 signature of a
//!   timestamp and the body).
//! - `slack`, `teams`, `mattermost`, `googlechat`: `url` (the webhook).
//! - `telegram`: `token`, `chat_id`; `base_url`.
//! - `ntfy`: `topic`; `base_url`, `token`.
//! - `gotify`: `base_url`, `token`.
//! - `pushover`: `token`, `user`; `base_url`.
//! - `pagerduty`: `routing_key`; `base_url` (trigger / resolve by dedup key).
//! - `opsgenie`: `api_key`; `base_url` (create / close by alias).
//! - `matrix`: `access_token`, `room_id`; `base_url` (the homeserver).
//!
//! Each file's `//!` says its provider's limits (texts are cut to them)
//! and where its secret travels; docs/configuration.md has the table.
//!
//! A failed send says what the receiver answered (`smtp: 535 5.7.8
//! Authentication credentials invalid`, `discord: 429 rate limited, retry
//! after 2s`, `webhook: 500 Internal Server Error`) and whether trying
//! again can help ([`is_retryable`], [`retry_after`]). Retrying, queueing
//! and the master-only gate belong to the dispatcher, not here. Secrets in
//! settings are shown only through [`masked_settings`].

mod discord;
mod failure;
mod googlechat;
mod gotify;
mod http;
mod matrix;
mod mattermost;
pub mod message;
mod monitor_notice;
mod notification;
mod ntfy;
mod opsgenie;
mod pagerduty;
mod provider;
mod pushover;
mod registry;
mod settings;
mod slack;
mod smtp;
mod teams;
mod telegram;
mod template;
mod tls;
mod webhook;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::state::AlertChannel;

pub use discord::CONTENT_LIMIT as DISCORD_CONTENT_LIMIT;
pub use failure::{MAX_RETRY_AFTER, is_retryable, retry_after};
pub use message::Message;
pub use notification::{DigestItem, Notification, NotificationKind, expectation, incident_key};
pub use provider::MAX_CA;
pub use settings::{DEFAULT_TIMEOUT, MASK, masked_settings};
pub use smtp::PLAIN_AUTH_REFUSED;
pub use template::PLACEHOLDERS;
pub use webhook::{
    BODY_VERSION as WEBHOOK_BODY_VERSION, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature,
};

use self::settings::Settings;

/// The channel types there are notifiers for.
pub const CHANNEL_TYPES: [&str; 14] = crate::state::ALERT_TYPES;

/// A successful delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The channel's name.
    pub channel: String,
    /// Its type: `smtp`, `discord`, `slack`, ….
    pub kind: &'static str,
    /// What the receiver answered: `250 2.0.0 Ok: queued`, `204 No Content`.
    pub answer: String,
    /// How long the delivery took.
    pub elapsed: Duration,
}

/// The shape every notifier has. A notifier is built once per node and
/// shared; `config` parses and checks a channel's settings (the same code
/// validates a channel when it is added and before every send), `send`
/// delivers one rendered message and returns the receiver's answer or a
/// classified failure (see [`failure`]).
pub(crate) trait Notifier: Send + Sync + fmt::Debug {
    /// The channel type served.
    const KIND: &'static str;
    /// The settings it reads (besides `timeout` and the templates).
    const KEYS: &'static [&'static str];
    /// A channel's settings, parsed.
    type Config: Send + Sync;

    /// Parse `settings`; errors name the setting and the accepted form.
    fn config(settings: Settings<'_>) -> Result<Self::Config>;

    /// Deliver `message` (the rendering of `n` for this channel).
    fn send(
        &self,
        config: &Self::Config,
        n: &Notification,
        message: &Message,
    ) -> impl Future<Output = Result<String>> + Send;
}

/// Every notifier a node has, built once and shared: cheap to clone (one
/// `Arc`), safe to call from many tasks at once.
#[derive(Clone)]
pub struct Notifiers {
    inner: Arc<Registry>,
}

use self::registry::Registry;

impl fmt::Debug for Notifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifiers")
            .field("types", &CHANNEL_TYPES)
            .finish()
    }
}

impl Notifiers {
    /// Build the notifiers, trusting the system's root certificates.
    pub fn new() -> Result<Notifiers> {
        Notifiers::with_extra_roots(Vec::new())
    }

    /// Like [`Notifiers::new`], and also trust `roots` (DER certificates)
    /// for SMTP, Discord and webhook servers: for receivers whose
    /// certificates come from a private CA. A root that cannot be parsed
    /// is an `InvalidInput` error.
    pub fn with_extra_roots(roots: Vec<CertificateDer<'static>>) -> Result<Notifiers> {
        let tls = Arc::new(tls::NotifyTls::new(roots)?);
        let http = Arc::new(http::HttpSender::new(&tls)?);
        let registry = Registry::new(tls, http);
        Ok(Notifiers {
            inner: Arc::new(registry),
        })
    }

    /// Send `n` through `channel`, rendered with the channel's templates.
    /// Whether the channel is disabled is the caller's business (`qu alert
    /// test` may test a disabled channel). Invalid settings fail at once,
    /// as a permanent error.
    pub async fn send(&self, channel: &AlertChannel, n: &Notification) -> Result<Delivery> {
        self.dispatch(channel, n).await
    }

    async fn run<N: Notifier>(
        &self,
        notifier: &N,
        channel: &AlertChannel,
        n: &Notification,
    ) -> Result<Delivery> {
        let start = Instant::now();
        let settings = Settings::new(N::KIND, &channel.settings);
        let config = N::config(settings).map_err(failure::invalid_config)?;
        let message = message::render_for(channel, n);
        let answer = notifier.send(&config, n, &message).await?;
        Ok(Delivery {
            channel: channel.name.clone(),
            kind: N::KIND,
            answer,
            elapsed: start.elapsed(),
        })
    }
}

/// Check `channel`'s type and settings: everything a send needs is there
/// and well-formed (addresses, ports, URLs, methods, headers, templates),
/// and no setting is unknown (a typo such as `passwrod` is caught here).
/// Errors name the setting and the accepted form: `smtp setting port:
/// missing: set it to a port number such as 587 …`. Nothing is contacted.
pub fn validate(channel: &AlertChannel) -> Result<()> {
    registry::validate(channel)
}

/// Refuse settings that are well-formed but unsafe: today, SMTP AUTH over
/// a plain connection (`tls = none` with `user` and `password`) unless
/// `allow_plain_auth = true`, since it sends the password in clear. Run
/// after [`validate`] wherever a channel is added or its settings change
/// (`qu alert add`/`edit`, `qu apply`, the C and Python calls), by the
/// proposer only: a replicated entry written by an older release that
/// allowed it still applies on every node (the notifier refuses to send it).
pub fn refuse_unsafe(channel: &AlertChannel) -> Result<()> {
    if channel.kind == "smtp" {
        let settings = Settings::new(smtp::SmtpNotifier::KIND, &channel.settings);
        <smtp::SmtpNotifier as Notifier>::config(settings)?.refuse_plain_auth()?;
    }
    Ok(())
}

/// [`validate`] for one notifier: known keys, valid templates, and
/// settings its `config` accepts.
fn check<N: Notifier>(channel: &AlertChannel) -> Result<()> {
    crate::state::route::validate(channel)?;
    crate::state::escalate::validate(channel)?;
    crate::engine::digest::validate(channel)?;
    let mut own = channel.settings.clone();
    // Delivery settings every channel type takes (routing, escalation,
    // the storm digest); the notifier sees only its own.
    for key in [
        crate::state::route::EVENTS_KEY,
        crate::state::escalate::AFTER_KEY,
        crate::state::escalate::TO_KEY,
        crate::engine::digest::THRESHOLD_KEY,
    ] {
        own.remove(key);
    }
    let settings = Settings::new(N::KIND, &own);
    settings.only(N::KEYS)?;
    settings.sizes()?;
    settings.templates()?;
    N::config(settings).map(drop)
}

fn unknown_type(channel: &AlertChannel) -> Error {
    Error::invalid(format!(
        "unknown alert type {:?}: use one of {}",
        channel.kind,
        CHANNEL_TYPES.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parsed_configs_never_show_secrets() {
        let smtp = settings(&[
            ("host", "mail.test"),
            ("port", "587"),
            ("from", "a@b.test"),
            ("to", "c@d.test"),
            ("user", "bot"),
            ("password", "hunter2"),
        ]);
        let discord = settings(&[("webhook", "https://discord.com/api/webhooks/1/TOKEN")]);
        let webhook = settings(&[
            ("url", "https://h.test/x?token=TOKEN"),
            ("headers", r#"{"Authorization": "Bearer TOKEN"}"#),
            ("secret", "hunter2"),
        ]);
        let shown = [
            format!(
                "{:?}",
                smtp::SmtpNotifier::config(Settings::new("smtp", &smtp)).expect("smtp")
            ),
            format!(
                "{:?}",
                discord::DiscordNotifier::config(Settings::new("discord", &discord))
                    .expect("discord")
            ),
            format!(
                "{:?}",
                webhook::WebhookNotifier::config(Settings::new("webhook", &webhook))
                    .expect("webhook")
            ),
        ];
        for text in shown {
            assert!(
                !text.contains("hunter2") && !text.contains("TOKEN"),
                "{text}"
            );
        }
    }
}
