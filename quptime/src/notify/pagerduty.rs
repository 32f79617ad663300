//! The PagerDuty notifier: PagerDuty Events API v2, `POST
//! <base_url>/v2/enqueue`. A DOWN (and each reminder) is a `trigger`, the
//! RECOVERED that ends it a `resolve`, both with the incident's
//! `dedup_key` (see [`Notification::incident`]), so the RECOVERED resolves
//! the incident the DOWN opened and reminders do not open new ones. A test
//! alert triggers an `info` event under its own key and resolves it at
//! once, leaving nothing open.
//!
//! Settings: `routing_key` (required; the integration key of an Events API
//! v2 service integration, 32 letters and digits; it travels in the JSON
//! body), `base_url` (default `https://events.pagerduty.com`), `ca`, and
//! the common ones. PagerDuty's limits: `summary` at most 1024
//! characters (cut and marked); the body goes in `custom_details.body`,
//! cut at 16384 bytes. Success is `202 Accepted`; 429 is retried.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::{Notification, NotificationKind};
use super::provider::{self, Endpoint};
use super::settings::{Secret, Settings};

const KEYS: [&str; 3] = ["routing_key", "base_url", provider::CA];
/// PagerDuty's limit on `payload.summary`.
pub const SUMMARY_LIMIT: usize = 1024;
/// quptime's cap on `custom_details.body` (bytes).
pub const DETAILS_LIMIT: usize = 16384;
/// The public Events API.
pub const DEFAULT_BASE_URL: &str = "https://events.pagerduty.com";

/// A parsed PagerDuty channel.
#[derive(Debug)]
pub(crate) struct PagerDutyConfig {
    endpoint: Endpoint,
    routing_key: Secret,
}

/// Sends PagerDuty events.
#[derive(Debug)]
pub(crate) struct PagerDutyNotifier {
    http: Arc<HttpSender>,
}

impl PagerDutyNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> PagerDutyNotifier {
        PagerDutyNotifier { http }
    }

    async fn event(&self, c: &PagerDutyConfig, body: &Value) -> Result<String> {
        let e = &c.endpoint;
        let url = provider::join(&e.url, "/v2/enqueue");
        let req = provider::json(e, Method::POST, url, &[], body)?;
        self.http.send("pagerduty", req).await
    }
}

impl Notifier for PagerDutyNotifier {
    const KIND: &'static str = "pagerduty";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = PagerDutyConfig;

    fn config(s: Settings<'_>) -> Result<PagerDutyConfig> {
        let form = "the integration key of an Events API v2 integration (32 letters and digits)";
        let routing_key = provider::token(&s, "routing_key", form, |c| c.is_ascii_alphanumeric())?;
        Ok(PagerDutyConfig {
            endpoint: provider::endpoint(
                &s,
                "base_url",
                Some(DEFAULT_BASE_URL),
                DEFAULT_BASE_URL,
                false,
            )?,
            routing_key,
        })
    }

    async fn send(&self, c: &PagerDutyConfig, n: &Notification, m: &Message) -> Result<String> {
        let key = provider::incident_key(n);
        match n.kind {
            NotificationKind::Down
            | NotificationKind::Reminder
            | NotificationKind::MonitorDegraded => {
                self.event(c, &event(c, n, m, "trigger", &key)).await
            }
            NotificationKind::Recovered | NotificationKind::MonitorRecovered => {
                self.event(c, &event(c, n, m, "resolve", &key)).await
            }
            NotificationKind::Test
            | NotificationKind::Flapping
            | NotificationKind::Degraded
            | NotificationKind::DegradedCleared => {
                let opened = self.event(c, &event(c, n, m, "trigger", &key)).await?;
                let closed = self.event(c, &event(c, n, m, "resolve", &key)).await?;
                Ok(format!("{opened}, then {closed}"))
            }
        }
    }
}

/// One Events API v2 event.
pub(crate) fn event(
    c: &PagerDutyConfig,
    n: &Notification,
    m: &Message,
    action: &str,
    key: &str,
) -> Value {
    let mut v = json!({
        "routing_key": c.routing_key.0,
        "event_action": action,
        "dedup_key": key,
    });
    if action == "trigger" {
        let severity = if n.kind == NotificationKind::Test {
            "info"
        } else {
            "critical"
        };
        let source = if n.target.is_empty() {
            n.master.to_string()
        } else {
            n.target.clone()
        };
        v["payload"] = json!({
            "summary": provider::cut_chars(&m.subject, SUMMARY_LIMIT),
            "source": source,
            "severity": severity,
            "timestamp": n.time,
            "component": n.check,
            "class": n.check_type.map(|t| t.as_str()),
            "custom_details": { "body": provider::cut_bytes(m.body.trim_end(), DETAILS_LIMIT) },
        });
        v["client"] = json!("quptime");
    }
    v
}
