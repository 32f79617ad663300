//! What the HTTP providers (Slack, Teams, Telegram, ntfy, Gotify,
//! Pushover, PagerDuty, Opsgenie, Matrix, Mattermost, Google Chat) share:
//! where a channel sends (its `url` or `base_url`, with the provider's
//! public default where there is one), which extra CA it trusts (`ca`),
//! how a text is cut to a provider's limit, and the incident key that
//! ties a RECOVERED to the DOWN it ends.
//!
//! Every provider's address is a setting so that a self-hosted server, a
//! corporate relay or a test receiver is reached the same way as the real
//! service: there is no test-only switch. `ca` is PEM text (one or more
//! certificates), trusted for that channel on top of the system's roots
//! and the node's extra roots.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use crate::error::Result;

use super::http::{Ca, Request};
use super::message::Message;
use super::notification::{Notification, NotificationKind};
use super::settings::{Secret, Settings, mask_url};

/// The setting holding a channel's extra CA (PEM).
pub(crate) const CA: &str = "ca";
/// Longest `ca` value: a few certificates' PEM.
pub const MAX_CA: usize = 16 << 10;
/// What a cut text ends with.
pub(crate) const TRUNCATED: &str = "… (truncated)";

/// Where a channel sends and how: its URL, its CA, its timeout.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// May carry a token (webhook URLs): never shown unmasked.
    pub url: Url,
    pub ca: Option<Ca>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &mask_url(self.url.as_str()))
            .field("ca", &self.ca.as_ref().map(|c| c.len()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The endpoint from setting `key` (`url` for webhook-style providers,
/// `base_url` for APIs), or `default` when unset (`None`: required).
/// `https://` always; `http://` only where `plain_ok` (self-hosted
/// servers on a private network).
pub(crate) fn endpoint(
    s: &Settings<'_>,
    key: &str,
    default: Option<&str>,
    example: &str,
    plain_ok: bool,
) -> Result<Endpoint> {
    let form = if plain_ok {
        format!("an http:// or https:// URL such as {example}")
    } else {
        format!("an https:// URL such as {example}")
    };
    let text = match (s.get(key), default) {
        (Some(t), _) => t,
        (None, Some(d)) => d,
        (None, None) => s.required(key, &form)?,
    };
    let url = Url::parse(text)
        .ok()
        .filter(|u| u.host_str().is_some())
        .ok_or_else(|| s.error(key, format!("not a URL: use {form}")))?;
    let ok = url.scheme() == "https" || (plain_ok && url.scheme() == "http");
    if !ok {
        return Err(s.error(
            key,
            format!("{}:// URLs are refused: use {form}", url.scheme()),
        ));
    }
    Ok(Endpoint {
        url,
        ca: ca(s)?,
        timeout: s.timeout()?,
    })
}

/// The channel's `ca` setting: PEM certificates, at least one.
pub(crate) fn ca(s: &Settings<'_>) -> Result<Option<Ca>> {
    let Some(text) = s.get(CA) else {
        return Ok(None);
    };
    let form = "PEM text of the CA certificate(s) to trust (-----BEGIN CERTIFICATE----- …)";
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| s.error(CA, format!("{e}: use {form}")))?;
    if certs.is_empty() {
        return Err(s.error(CA, format!("no certificate found: use {form}")));
    }
    Ok(Some(Arc::new(certs)))
}

/// A required secret setting.
pub(crate) fn secret(s: &Settings<'_>, key: &str, form: &str) -> Result<Secret> {
    s.required(key, form).map(|v| Secret(v.to_string()))
}

/// A required secret that travels in a header or a URL path: printable
/// ASCII without spaces (`allowed` says what else it may not hold).
pub(crate) fn token(
    s: &Settings<'_>,
    key: &str,
    form: &str,
    allowed: fn(char) -> bool,
) -> Result<Secret> {
    let v = secret(s, key, form)?;
    if !v.0.chars().all(|c| c.is_ascii_graphic() && allowed(c)) {
        return Err(s.error(
            key,
            format!("has characters a token cannot hold: use {form}"),
        ));
    }
    Ok(v)
}

/// Any printable ASCII character (for [`token`]).
pub(crate) fn any(_: char) -> bool {
    true
}

/// `base` with `path` appended (a base URL may have a path of its own,
/// such as a proxy prefix). `path` starts with `/`; its segments must
/// already be percent-encoded where needed.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let prefix = base.path().trim_end_matches('/').to_string();
    u.set_path(&format!("{prefix}{path}"));
    u
}

/// One path segment, percent-encoded (`!room:example.org` →
/// `%21room%3Aexample.org`).
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` within `limit` characters (Unicode scalar values), marked with
/// [`TRUNCATED`] when cut.
pub(crate) fn cut_chars(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let keep = limit.saturating_sub(TRUNCATED.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(TRUNCATED);
    out
}

/// `text` within `limit` UTF-8 bytes, cut on a character boundary and
/// marked with [`TRUNCATED`] when cut.
pub(crate) fn cut_bytes(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit.saturating_sub(TRUNCATED.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED}", &text[..end])
}

/// Subject, a blank line, then the body: the text of providers that take
/// one message.
pub(crate) fn text(m: &Message) -> String {
    format!("{}\n\n{}", m.subject, m.body.trim_end())
}

/// The incident key a DOWN, its reminders and the RECOVERED that ends it
/// share (see [`Notification::incident`]); a test alert has its own.
pub(crate) fn incident_key(n: &Notification) -> String {
    match (&n.incident, n.kind) {
        // Its own key: providers open and close it at once, never
        // touching the incident it may fall within.
        (Some(k), NotificationKind::Flapping) => format!("{k}-flapping"),
        (Some(k), NotificationKind::Degraded | NotificationKind::DegradedCleared) => {
            format!("{k}-degraded")
        }
        (Some(k), _) => k.clone(),
        (None, NotificationKind::Test) => {
            let stamp: String = n.time.chars().filter(char::is_ascii_alphanumeric).collect();
            format!("quptime-test-{stamp}")
        }
        (None, _) => format!("quptime-{}", n.check),
    }
}

/// A JSON request to `url`, with `headers` added.
pub(crate) fn json(
    e: &Endpoint,
    method: Method,
    url: Url,
    headers: &[(&'static str, String)],
    body: &Value,
) -> Result<Request> {
    let mut map = HeaderMap::new();
    map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in headers {
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            crate::Error::invalid(format!("the {name} header has characters not allowed"))
        })?;
        v.set_sensitive(true);
        map.insert(HeaderName::from_static(name), v);
    }
    Ok(Request {
        method,
        url,
        headers: map,
        body: body.to_string().into_bytes(),
        timeout: e.timeout,
        ca: e.ca.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_respect_limits_and_boundaries() {
        assert_eq!(cut_chars("short", 10), "short");
        let c = cut_chars(&"é".repeat(50), 20);
        assert_eq!(c.chars().count(), 20);
        assert!(c.ends_with(TRUNCATED));
        let b = cut_bytes(&"é".repeat(50), 31);
        assert!(b.len() <= 31 && b.ends_with(TRUNCATED), "{b}");
        assert_eq!(cut_bytes("abc", 3), "abc");
    }

    #[test]
    fn joins_keep_a_base_path_and_segments_are_encoded() {
        let base = Url::parse("https://relay.test/pd/").expect("url");
        assert_eq!(
            join(&base, "/v2/enqueue").as_str(),
            "https://relay.test/pd/v2/enqueue"
        );
        assert_eq!(segment("!room:ex.org"), "%21room%3Aex.org");
    }
}
