//! The Opsgenie notifier: the Alert API. A DOWN (and each reminder)
//! creates an alert (`POST <base_url>/v2/alerts`) whose `alias` is the
//! incident key (see [`Notification::incident`]): Opsgenie deduplicates
//! open alerts by alias, so reminders add to it. The RECOVERED that ends
//! the incident closes it by that alias (`POST
//! <base_url>/v2/alerts/<alias>/close?identifierType=alias`). A test
//! alert creates a P5 alert under its own alias and closes it at once.
//!
//! Settings: `api_key` (required; an API integration key, sent as
//! `Authorization: GenieKey <key>`), `base_url` (default
//! `https://api.opsgenie.com`; EU accounts use `https://api.eu.opsgenie.com`),
//! `ca`, and the common ones. Opsgenie's limits: `message` 130
//! characters, `description` 15000 (cut and marked). Success is `202
//! Accepted` (requests are processed asynchronously).

use std::sync::Arc;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::error::Result;

use super::Notifier;
use super::http::HttpSender;
use super::message::Message;
use super::notification::{Notification, NotificationKind};
use super::provider::{self, Endpoint};
use super::settings::{Secret, Settings};

const KEYS: [&str; 3] = ["api_key", "base_url", provider::CA];
/// Opsgenie's limit on an alert's `message`.
pub const MESSAGE_LIMIT: usize = 130;
/// Opsgenie's limit on an alert's `description`.
pub const DESCRIPTION_LIMIT: usize = 15000;
/// The public API (US).
pub const DEFAULT_BASE_URL: &str = "https://api.opsgenie.com";

/// A parsed Opsgenie channel.
#[derive(Debug)]
pub(crate) struct OpsgenieConfig {
    endpoint: Endpoint,
    api_key: Secret,
}

/// Creates and closes Opsgenie alerts.
#[derive(Debug)]
pub(crate) struct OpsgenieNotifier {
    http: Arc<HttpSender>,
}

impl OpsgenieNotifier {
    pub(crate) fn new(http: Arc<HttpSender>) -> OpsgenieNotifier {
        OpsgenieNotifier { http }
    }

    async fn call(&self, c: &OpsgenieConfig, url: Url, body: &Value) -> Result<String> {
        let e = &c.endpoint;
        let auth = [("authorization", format!("GenieKey {}", c.api_key.0))];
        let req = provider::json(e, Method::POST, url, &auth, body)?;
        self.http.send("opsgenie", req).await
    }

    async fn create(
        &self,
        c: &OpsgenieConfig,
        n: &Notification,
        m: &Message,
        alias: &str,
    ) -> Result<String> {
        let priority = if n.kind == NotificationKind::Test {
            "P5"
        } else {
            "P1"
        };
        let body = json!({
            "message": provider::cut_chars(&m.subject, MESSAGE_LIMIT),
            "alias": alias,
            "description": provider::cut_chars(m.body.trim_end(), DESCRIPTION_LIMIT),
            "priority": priority,
            "source": "quptime",
            "entity": n.check,
            "tags": ["quptime"],
        });
        self.call(c, provider::join(&c.endpoint.url, "/v2/alerts"), &body)
            .await
    }

    async fn close(&self, c: &OpsgenieConfig, m: &Message, alias: &str) -> Result<String> {
        let mut url = provider::join(
            &c.endpoint.url,
            &format!("/v2/alerts/{}/close", provider::segment(alias)),
        );
        url.query_pairs_mut().append_pair("identifierType", "alias");
        let body =
            json!({ "source": "quptime", "note": provider::cut_chars(&m.subject, MESSAGE_LIMIT) });
        self.call(c, url, &body).await
    }
}

impl Notifier for OpsgenieNotifier {
    const KIND: &'static str = "opsgenie";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = OpsgenieConfig;

    fn config(s: Settings<'_>) -> Result<OpsgenieConfig> {
        let form = "an API integration key such as 01234567-89ab-cdef-0123-456789abcdef";
        let api_key = provider::token(&s, "api_key", form, |c| {
            c.is_ascii_alphanumeric() || c == '-'
        })?;
        Ok(OpsgenieConfig {
            endpoint: provider::endpoint(
                &s,
                "base_url",
                Some(DEFAULT_BASE_URL),
                DEFAULT_BASE_URL,
                false,
            )?,
            api_key,
        })
    }

    async fn send(&self, c: &OpsgenieConfig, n: &Notification, m: &Message) -> Result<String> {
        let alias = provider::incident_key(n);
        match n.kind {
            NotificationKind::Down
            | NotificationKind::Reminder
            | NotificationKind::MonitorDegraded => self.create(c, n, m, &alias).await,
            NotificationKind::Recovered | NotificationKind::MonitorRecovered => {
                self.close(c, m, &alias).await
            }
            NotificationKind::Test
            | NotificationKind::Flapping
            | NotificationKind::Degraded
            | NotificationKind::DegradedCleared => {
                let opened = self.create(c, n, m, &alias).await?;
                let closed = self.close(c, m, &alias).await?;
                Ok(format!("{opened}, then {closed}"))
            }
        }
    }
}
