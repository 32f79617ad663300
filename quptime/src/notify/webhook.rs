//! The generic webhook notifier: a documented, versioned JSON document per
//! alert, optionally signed, for receivers we do not know in advance
//! (chat bridges, paging services, home-made scripts).
//!
//! Settings: `url` (required, `http://` or `https://`), `method` (`POST`,
//! the default, `PUT` or `PATCH`), `headers` (a JSON object of header
//! names to values, such as `{"Authorization": "Bearer abc"}`), `secret`
//! (signs each request, see below), `ca` (PEM roots to trust for it), and
//! the common `timeout`,
//! `subject_template`, `body_template`.
//!
//! With a secret, every request carries `X-Quptime-Timestamp: <unix
//! seconds, decimal ASCII>` and `X-Quptime-Signature: sha256=<lowercase hex
//! HMAC-SHA256, keyed with the secret's UTF-8 bytes, of the ASCII
//! timestamp, one `.`, then the exact body bytes>`. Signing the time as
//! well as the body lets a receiver refuse a replayed request: it checks
//! the signature, then that the timestamp is within its replay window
//! (docs/configuration.md suggests 5 minutes).
//!
//! The body (`Content-Type: application/json`), version 1:
//!
//! ```json
//! {"version": 1, "kind": "down",
//!  "check": {"name": "api", "type": "http", "target": "https://api.example.com/health"},
//!  "from": "up", "to": "down",
//!  "evidence": [{"node": "b", "ok": false, "detail": "timeout after 10s", "latency_ms": 10000}],
//!  "expectation": "status 200", "since": null,
//!  "master": "a", "time": "2025-01-02T03:04:05Z",
//!  "subject": "[quptime] HTTP DOWN — api (…)", "text": "The HTTP check api is DOWN. …"}
//! ```
//!
//! `incident` (added with state level 4; absent for tests) is the key a DOWN, its
//! reminders and its RECOVERED share, `quptime-<check id>-<seq>`.
//! `kind` is `down`, `recovered`, `reminder`, `flapping`, `degraded`,
//! `degraded-cleared`, `test`, `monitor-degraded` or `monitor-recovered`; for `test`, `check`, `from`
//! and `to` are `null` and `master` is the sending node; for the monitor's
//! notices they are `null` too and `text` gives the reason
//! (docs/canary.md).
//! `subject` and `text` are the channel's rendering (templates applied).
//! Version 1 only ever gains keys; receivers must ignore unknown ones.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::error::{ErrorKind, Result};

use super::Notifier;
use super::failure::permanent;
use super::http::{HttpSender, Request};
use super::message::Message;
use super::notification::Notification;
use super::settings::{Secret, Settings, mask_url};

/// Settings of a webhook channel (besides the common ones).
const KEYS: [&str; 5] = ["url", "method", "headers", "secret", super::provider::CA];
/// Most headers `headers` may set.
pub const MAX_HEADER_COUNT: usize = 32;
/// The header carrying the signature of the timestamp and the body.
pub const SIGNATURE_HEADER: &str = "X-Quptime-Signature";
/// The header carrying the signed time, in unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Quptime-Timestamp";
/// The version of the JSON document.
pub const BODY_VERSION: u32 = 1;

/// Headers a channel may not set: the client owns them.
const RESERVED: [&str; 6] = [
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "x-quptime-signature",
    "x-quptime-timestamp",
];

/// A parsed webhook channel (its URL may carry a token too).
pub(crate) struct WebhookConfig {
    url: Url,
    method: Method,
    headers: HeaderMap,
    secret: Option<Secret>,
    timeout: Duration,
    ca: Option<super::http::Ca>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &mask_url(self.url.as_str()))
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Sends webhook documents through the shared HTTP client.
#[derive(Debug)]
pub(crate) struct WebhookNotifier {
    http: std::sync::Arc<HttpSender>,
}

impl WebhookNotifier {
    pub(crate) fn new(http: std::sync::Arc<HttpSender>) -> WebhookNotifier {
        WebhookNotifier { http }
    }
}

impl Notifier for WebhookNotifier {
    const KIND: &'static str = "webhook";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = WebhookConfig;

    fn config(s: Settings<'_>) -> Result<WebhookConfig> {
        let form = "an http:// or https:// URL";
        let text = s.required("url", form)?;
        let url = Url::parse(text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| s.error("url", format!("not {form}")))?;
        let method = match s
            .get("method")
            .unwrap_or("POST")
            .to_ascii_uppercase()
            .as_str()
        {
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            other => return Err(s.error("method", format!("{other:?}: use POST, PUT or PATCH"))),
        };
        let mut headers = HeaderMap::new();
        if let Some(text) = s.get("headers") {
            let form = r#"a JSON object such as {"Authorization": "Bearer abc"}"#;
            let map: BTreeMap<String, String> = serde_json::from_str(text)
                .map_err(|e| s.error("headers", format!("{e}: use {form}")))?;
            if map.len() > MAX_HEADER_COUNT {
                return Err(s.error(
                    "headers",
                    format!(
                        "{} headers; at most {MAX_HEADER_COUNT} are allowed",
                        map.len()
                    ),
                ));
            }
            for (name, value) in map {
                let key = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| s.error("headers", format!("{name:?} is not a header name")))?;
                if RESERVED.contains(&key.as_str()) {
                    return Err(s.error("headers", format!("{name} is set by quptime itself")));
                }
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    s.error(
                        "headers",
                        format!("the value of {name} has characters not allowed in a header"),
                    )
                })?;
                // Header values may be credentials: keep them out of Debug.
                value.set_sensitive(true);
                headers.insert(key, value);
            }
        }
        let secret = s
            .raw("secret")
            .filter(|v| !v.is_empty())
            .map(|v| Secret(v.to_string()));
        Ok(WebhookConfig {
            url,
            method,
            headers,
            secret,
            timeout: s.timeout()?,
            ca: super::provider::ca(&s)?,
        })
    }

    async fn send(&self, c: &WebhookConfig, n: &Notification, m: &Message) -> Result<String> {
        let body = document(n, m).to_string().into_bytes();
        let mut headers = c.headers.clone();
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(secret) = &c.secret {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let value = HeaderValue::from_str(&signature(secret.0.as_bytes(), now, &body))
                .map_err(|e| {
                    permanent(
                        ErrorKind::Internal,
                        format!("webhook: signature header: {e}"),
                    )
                })?;
            headers.insert(HeaderName::from_static("x-quptime-signature"), value);
            headers.insert(
                HeaderName::from_static("x-quptime-timestamp"),
                HeaderValue::from(now),
            );
        }
        let req = Request {
            method: c.method.clone(),
            url: c.url.clone(),
            headers,
            body,
            timeout: c.timeout,
            ca: c.ca.clone(),
        };
        self.http.send(Self::KIND, req).await
    }
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with secret>`,
/// the value of [`SIGNATURE_HEADER`] for a request whose
/// [`TIMESTAMP_HEADER`] is `timestamp`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The version-1 JSON document for `n` rendered as `m`.
pub(crate) fn document(n: &Notification, m: &Message) -> Value {
    let check = match n.check_type {
        Some(t) => json!({ "name": n.check, "type": t.as_str(), "target": n.target }),
        None => Value::Null,
    };
    let evidence: Vec<Value> = n
        .evidence
        .iter()
        .map(|e| {
            json!({ "node": e.node.to_string(), "ok": e.ok, "detail": e.detail, "latency_ms": e.latency_ms })
        })
        .collect();
    let mut doc = json!({
        "version": BODY_VERSION,
        "kind": n.kind.as_str(),
        "check": check,
        "from": n.from.map(|s| s.as_str()),
        "to": n.to.map(|s| s.as_str()),
        "evidence": evidence,
        "expectation": n.expectation,
        "since": n.since,
        "master": n.master.to_string(),
        "time": n.time,
        "subject": m.subject,
        "text": m.body,
    });
    if let Some(key) = &n.incident {
        doc["incident"] = json!(key);
    }
    if !n.digest.is_empty() {
        let items: Vec<Value> = n
            .digest
            .iter()
            .map(|d| json!({ "check": d.check, "target": d.target, "detail": d.detail, "incident": d.incident }))
            .collect();
        doc["digest"] = Value::Array(items);
        doc["digest_total"] = json!(n.digest_total.max(n.digest.len()));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_the_timestamp_then_a_dot_then_the_body() {
        // Computed independently with Python:
        // hmac.new(b"Jefe", b"1234.what do ya want for nothing?", sha256)
        assert_eq!(
            signature(b"Jefe", 1234, b"what do ya want for nothing?"),
            "sha256=154f07c6e9ad786e2586347b51e84859e53243b0f97c8e62de76b4eccb597f00"
        );
        assert_ne!(
            signature(b"Jefe", 1235, b"what do ya want for nothing?"),
            signature(b"Jefe", 1234, b"what do ya want for nothing?"),
        );
    }
}
