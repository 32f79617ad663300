//! The HTTP side shared by every HTTP notifier: one client per node (and
//! one more per distinct channel `ca`, built on first use and kept), one
//! request per delivery, and the receiver's answer turned into a delivery
//! or a classified failure (`discord: 429 rate limited, retry after 2s`,
//! `webhook: 500 Internal Server Error`).
//!
//! Unlike the probers, notifiers honour the `HTTPS_PROXY` / `HTTP_PROXY` /
//! `NO_PROXY` environment variables: alerts often have to leave through a
//! proxy. Redirects are not followed (a webhook that moved must be
//! reconfigured, not chased). Error texts never contain the URL: Discord
//! webhook URLs carry their token.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Client, Method, StatusCode, Url, redirect};

use crate::error::{Error, ErrorKind, Result};

use super::failure::{MAX_RETRY_AFTER, Retry, fail};
use super::notification::words;
use super::tls::NotifyTls;

const USER_AGENT: &str = concat!("quptime/", env!("CARGO_PKG_VERSION"));
/// How much of an error response's body is read to explain it.
const ERROR_BODY_LIMIT: usize = 16 * 1024;
/// How much of it is quoted in the error text.
const QUOTE_LIMIT: usize = 200;

/// One request to make.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub timeout: Duration,
    /// The channel's own CA roots (its `ca` setting), trusted on top of
    /// the node's.
    pub ca: Option<Ca>,
}

/// A channel's extra CA roots (DER), from its `ca` setting.
pub(crate) type Ca = Arc<Vec<CertificateDer<'static>>>;

/// More distinct channel CAs than this and the cache starts over.
const MAX_CACHED_CAS: usize = 32;

/// The HTTP client of the notifiers, built once per node.
pub(crate) struct HttpSender {
    client: Client,
    /// The node's extra roots, kept to build per-CA clients.
    roots: Vec<CertificateDer<'static>>,
    /// One client per channel CA (keyed by the CA's DER bytes).
    by_ca: Mutex<HashMap<Vec<u8>, Client>>,
}

impl std::fmt::Debug for HttpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSender").finish_non_exhaustive()
    }
}

impl HttpSender {
    pub(crate) fn new(tls: &NotifyTls) -> Result<HttpSender> {
        Ok(HttpSender {
            client: client(tls)?,
            roots: tls.extra_roots().to_vec(),
            by_ca: Mutex::new(HashMap::new()),
        })
    }

    /// The client for a channel with `ca` (the node's when `None`).
    fn client_for(&self, ca: Option<&Ca>) -> Result<Client> {
        let Some(ca) = ca.filter(|c| !c.is_empty()) else {
            return Ok(self.client.clone());
        };
        let key: Vec<u8> = ca.iter().flat_map(|c| c.as_ref().to_vec()).collect();
        let mut cache = self.by_ca.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let mut roots = self.roots.clone();
        roots.extend(ca.iter().cloned());
        let built = client(&NotifyTls::new(roots)?)?;
        if cache.len() >= MAX_CACHED_CAS {
            cache.clear();
        }
        cache.insert(key, built.clone());
        Ok(built)
    }

    /// Send `req`; `who` (`discord`, `webhook`) starts every error text.
    /// Success is a 2xx answer, returned as `204 No Content`.
    pub(crate) async fn send(&self, who: &str, req: Request) -> Result<String> {
        let timeout = req.timeout;
        let client = self.client_for(req.ca.as_ref()).map_err(|e| {
            fail(
                e.kind(),
                Retry::Never,
                format!("{who}: {}", e.message()),
                None,
            )
        })?;
        let sent = client
            .request(req.method, req.url)
            .headers(req.headers)
            .timeout(timeout)
            .body(req.body)
            .send()
            .await;
        answer(who, sent, timeout).await
    }
}

/// The node's HTTP client on `tls`.
fn client(tls: &NotifyTls) -> Result<Client> {
    Client::builder()
        .tls_backend_preconfigured(tls.http.clone())
        .user_agent(USER_AGENT)
        .redirect(redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Tls,
                format!("build the notifier HTTP client: {e}"),
            )
            .with_source(e)
        })
}

/// The receiver's answer to one request, as a delivery or a failure.
async fn answer(
    who: &str,
    sent: reqwest::Result<reqwest::Response>,
    timeout: Duration,
) -> Result<String> {
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => return Err(transport_error(who, e, timeout)),
    };
    let status = response.status();
    let line = status_line(status);
    if status.is_success() {
        return Ok(line);
    }
    let retry_header = response.headers().get(RETRY_AFTER).and_then(seconds_header);
    let body = read_some(&mut response).await;
    if status == StatusCode::TOO_MANY_REQUESTS {
        let after = retry_after_json(&body)
            .or(retry_header)
            .map(|d| d.min(MAX_RETRY_AFTER));
        return Err(match after {
            Some(d) => fail(
                ErrorKind::Transport,
                Retry::After(d),
                format!("{who}: 429 rate limited, retry after {}", words(d)),
                None,
            ),
            None => fail(
                ErrorKind::Transport,
                Retry::Later,
                format!("{who}: 429 rate limited"),
                None,
            ),
        });
    }
    let mut message = format!("{who}: {line}");
    if status.is_redirection() {
        message.push_str(": the receiver moved; configure its new URL");
    } else if let Some(quote) = quote(&body) {
        message.push_str(": ");
        message.push_str(&quote);
    }
    let retry = if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        Retry::Later
    } else {
        Retry::Never
    };
    Err(fail(ErrorKind::Transport, retry, message, None))
}

/// `500 Internal Server Error`.
fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// `Retry-After: 2` (seconds, possibly fractional). The HTTP-date form is
/// not used by the receivers we talk to and is ignored.
fn seconds_header(v: &HeaderValue) -> Option<Duration> {
    let s: f64 = v.to_str().ok()?.trim().parse().ok()?;
    seconds(s)
}

/// Discord's `{"retry_after": 1.5, …}`, Telegram's `{"parameters":
/// {"retry_after": 3}, …}`.
fn retry_after_json(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let after = v
        .get("retry_after")
        .or_else(|| v.get("parameters")?.get("retry_after"))?;
    seconds(after.as_f64()?)
}

fn seconds(s: f64) -> Option<Duration> {
    if !s.is_finite() || s < 0.0 {
        return None;
    }
    // Round up to whole milliseconds: never retry early.
    let ms = (s * 1000.0).ceil().min(MAX_RETRY_AFTER.as_millis() as f64);
    Some(Duration::from_millis(ms as u64))
}

/// The first bytes of an error response's body, read within its timeout.
async fn read_some(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    body
}

/// Up to 200 characters of `body` on one line, if it says anything.
fn quote(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let one: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if one.is_empty() {
        return None;
    }
    if one.chars().count() > QUOTE_LIMIT {
        let cut: String = one.chars().take(QUOTE_LIMIT).collect();
        return Some(format!("{cut}…"));
    }
    Some(one)
}

/// A request that got no answer, classified and worded without its URL.
fn transport_error(who: &str, err: reqwest::Error, timeout: Duration) -> Error {
    let err = err.without_url();
    let chain = causes(&err as &(dyn StdError + 'static));
    if err.is_timeout() || chain.iter().any(|e| is_timed_out(*e)) {
        return fail(
            ErrorKind::Timeout,
            Retry::Later,
            format!("{who}: timeout after {}", words(timeout)),
            Some(Box::new(err)),
        );
    }
    if let Some((reason, retry)) = tls_failure(&chain) {
        let message = format!("{who}: {reason}");
        return fail(ErrorKind::Tls, retry, message, Some(Box::new(err)));
    }
    let stage = if err.is_connect() {
        "connect"
    } else {
        "request"
    };
    let reason = match chain
        .iter()
        .rev()
        .find_map(|e| e.downcast_ref::<io::Error>())
    {
        Some(io) => io_reason(io),
        None => chain
            .last()
            .map(|e| e.to_string())
            .unwrap_or_else(|| err.to_string()),
    };
    fail(
        ErrorKind::Transport,
        Retry::Later,
        format!("{who}: {stage}: {reason}"),
        Some(Box::new(err)),
    )
}

fn is_timed_out(e: &(dyn StdError + 'static)) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
}

/// `connection refused`: the OS's words, without the `(os error 111)`.
pub(crate) fn io_reason(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    text.to_lowercase()
}

/// Every cause of `err`, outermost first, looking inside I/O errors too
/// (their `source()` skips the error they wrap).
pub(crate) fn causes<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out: Vec<&(dyn StdError + 'static)> = Vec::new();
    let mut next = err.source();
    while let Some(e) = next {
        if out.len() > 16 {
            break;
        }
        out.push(e);
        next = match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    out
}

/// The TLS error among `chain`, as `tls: <rustls's reason>`, and whether
/// retrying may help: a certificate the receiver presents will not change
/// in a minute; a broken handshake might.
pub(crate) fn tls_failure(chain: &[&(dyn StdError + 'static)]) -> Option<(String, Retry)> {
    let tls = chain
        .iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>())?;
    let retry = match tls {
        rustls::Error::InvalidCertificate(_) | rustls::Error::General(_) => Retry::Never,
        _ => Retry::Later,
    };
    Some((format!("tls: {tls}"), retry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_from_json_or_header() {
        assert_eq!(
            retry_after_json(br#"{"message":"You are being rate limited.","retry_after":1.5}"#),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(retry_after_json(b"nope"), None);
        // Telegram's 429.
        assert_eq!(
            retry_after_json(br#"{"ok":false,"error_code":429,"parameters":{"retry_after":3}}"#),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            seconds_header(&HeaderValue::from_static("2")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(seconds_header(&HeaderValue::from_static("-1")), None);
        assert_eq!(seconds(1e12), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn quotes_are_short_and_on_one_line() {
        assert_eq!(quote(b"  \n "), None);
        assert_eq!(quote(b"bad\n  request\r\n").as_deref(), Some("bad request"));
        let long = "x".repeat(500);
        assert_eq!(quote(long.as_bytes()).map(|q| q.chars().count()), Some(201));
    }
}
