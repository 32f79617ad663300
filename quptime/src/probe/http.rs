//! The http prober: send the check's request (`GET` by default; method,
//! headers, body and auth from its settings, see `http_request`), follow
//! redirects (up to `max_redirects`, default 10; 0 judges the redirect
//! itself), read the first 1 MiB of the body, and compare the status with
//! `expect_status` (default 200, unless a condition judges the status), the
//! body with `body_match` (case-sensitive substring), then every condition
//! in order; the first that fails is the detail (`json $.status was
//! "degraded"`).
//!
//! By default every probe opens a fresh connection, so it measures what a
//! new visitor waits for: DNS, TCP, TLS, response. Checks with `keep_alive`
//! use a pooled client instead. Four clients are built once per node
//! (verified or insecure, fresh or pooled); redirects are followed here, not
//! by the client, so the limit can be per check.

use std::error::Error as StdError;
use std::io;
use std::time::Instant;

use reqwest::header::LOCATION;
use reqwest::{Client, StatusCode, Url};

use super::http_request::{
    ClientCache, build_client, cert_left, check_family, header_pairs, next_method, origin_of,
    request,
};
use super::tls_config::{TlsConfigs, tls_detail};
use super::{Probe, ProbeResult, io_detail};
use crate::error::Result;
use crate::state::probe_condition::Observed;
use crate::state::{Check, CheckType, HttpMethod, HttpProbe};

/// Redirects followed when a check sets no limit.
pub(crate) const DEFAULT_MAX_REDIRECTS: u8 = 10;
/// How much of the body is read and searched.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;
const USER_AGENT: &str = concat!("quptime/", env!("CARGO_PKG_VERSION"));

/// The four HTTP clients, built once, and the clients of checks that need
/// their own.
#[derive(Debug)]
pub(crate) struct HttpProber {
    fresh: Client,
    pooled: Client,
    fresh_insecure: Client,
    pooled_insecure: Client,
    insecure_config: rustls::ClientConfig,
    own: ClientCache,
}

impl HttpProber {
    pub(crate) fn new(tls: &TlsConfigs) -> Result<HttpProber> {
        let client = |config: &rustls::ClientConfig, pooled: bool| -> Result<Client> {
            build_client(config, pooled, None, USER_AGENT)
        };
        Ok(HttpProber {
            fresh: client(&tls.http_verified, false)?,
            pooled: client(&tls.http_verified, true)?,
            fresh_insecure: client(&tls.http_insecure, false)?,
            pooled_insecure: client(&tls.http_insecure, true)?,
            insecure_config: tls.http_insecure.clone(),
            own: ClientCache::default(),
        })
    }

    fn client(&self, http: &HttpProbe) -> std::result::Result<Client, String> {
        if http.ca.is_some() || http.ip_version.is_some() {
            return self.own.get(
                http,
                |config, pooled, ip| build_client(config, pooled, ip, USER_AGENT),
                &self.insecure_config,
            );
        }
        Ok(match (http.insecure, http.keep_alive) {
            (false, false) => &self.fresh,
            (false, true) => &self.pooled,
            (true, false) => &self.fresh_insecure,
            (true, true) => &self.pooled_insecure,
        }
        .clone())
    }
}

impl Probe for HttpProber {
    const KIND: CheckType = CheckType::Http;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let Some(http) = check.http() else {
            return ProbeResult::down(start.elapsed(), "not an http check");
        };
        let client = match self.client(http) {
            Ok(c) => c,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let max = http.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS);
        let mut url = match Url::parse(&check.target) {
            Ok(u) => u,
            Err(e) => return ProbeResult::down(start.elapsed(), format!("bad URL: {e}")),
        };
        let origin = origin_of(&url);
        let mut method = http.method.unwrap_or(HttpMethod::Get);
        let mut followed = 0u8;
        loop {
            if let Err(e) = check_family(&url, http.ip_version) {
                return ProbeResult::down(start.elapsed(), e);
            }
            let sent = request(&client, http, method, &url, &origin).send().await;
            let mut response = match sent {
                Ok(r) => r,
                Err(e) => return ProbeResult::down(start.elapsed(), describe(&e)),
            };
            let status = response.status();
            if max > 0
                && is_followed(status)
                && let Some(next) = redirect_target(&response)
            {
                if followed == max {
                    return ProbeResult::down(
                        start.elapsed(),
                        format!("too many redirects (more than {max})"),
                    );
                }
                followed += 1;
                method = next_method(method, status.as_u16());
                url = next;
                continue;
            }
            let headers = if http.conditions.is_empty() {
                Vec::new()
            } else {
                header_pairs(&response)
            };
            let cert = if http.conditions.iter().any(|c| c.needs_cert()) {
                cert_left(&response)
            } else {
                None
            };
            let body = match read_body(&mut response).await {
                Ok(b) => b,
                Err(e) => return ProbeResult::down(start.elapsed(), describe(&e)),
            };
            let latency = start.elapsed();
            let code = status.as_u16();
            let status_ok = match &http.expect_status {
                Some(spec) => spec.matches(code),
                None => code == 200 || http.conditions.iter().any(|c| c.is_status()),
            };
            if !status_ok {
                return ProbeResult::down(latency, status_detail(status));
            }
            if let Some(needle) = &http.body_match
                && !contains(&body, needle.as_bytes())
            {
                return ProbeResult::down(latency, "body match miss");
            }
            let seen = Observed {
                status: code,
                elapsed: latency,
                headers: &headers,
                body: &body,
                cert_left: cert,
            };
            for condition in &http.conditions {
                if let Err(evidence) = condition.eval(&seen) {
                    return ProbeResult::down(latency, evidence);
                }
            }
            return ProbeResult::up(latency, status_detail(status));
        }
    }
}

/// Redirects a browser follows with a new request.
fn is_followed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The `Location` of a redirect, resolved against the response's URL.
fn redirect_target(response: &reqwest::Response) -> Option<Url> {
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    response.url().join(location).ok()
}

/// Up to [`BODY_LIMIT`] bytes of the body; the rest is left unread.
async fn read_body(response: &mut reqwest::Response) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while body.len() < BODY_LIMIT {
        match response.chunk().await? {
            Some(chunk) => {
                let room = BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// `status 503 Service Unavailable`, or `status 599` for a code without a
/// standard reason.
fn status_detail(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("status {} {reason}", status.as_u16()),
        None => format!("status {}", status.as_u16()),
    }
}

/// A reqwest failure as a probe detail, from the most telling cause in its
/// chain: a TLS error (`tls: handshake failed: …`, `cert expired 2d ago`),
/// a name lookup (`dns: …`) or an I/O error (`connect: connection
/// refused`).
fn describe(err: &reqwest::Error) -> String {
    let stage = if err.is_connect() {
        "connect"
    } else if err.is_body() || err.is_decode() {
        "read body"
    } else {
        "request"
    };
    let chain = causes(err);
    if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
        return tls_detail(tls);
    }
    let dns = chain.iter().any(|e| e.to_string().starts_with("dns error"));
    let last = chain
        .iter()
        .rev()
        .find_map(|e| e.downcast_ref::<io::Error>());
    let reason = match (last, chain.last()) {
        (Some(io), _) => io_detail(io),
        (None, Some(e)) => e.to_string(),
        (None, None) => err.to_string(),
    };
    if dns {
        format!("dns: {reason}")
    } else {
        format!("{stage}: {reason}")
    }
}

/// Every cause of `err`, outermost first, looking inside I/O errors too
/// (their `source()` skips the error they wrap).
fn causes(err: &reqwest::Error) -> Vec<&(dyn StdError + 'static)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_details() {
        assert_eq!(status_detail(StatusCode::OK), "status 200 OK");
        assert_eq!(
            status_detail(StatusCode::SERVICE_UNAVAILABLE),
            "status 503 Service Unavailable"
        );
        let odd = StatusCode::from_u16(599).expect("code");
        assert_eq!(status_detail(odd), "status 599");
    }

    #[test]
    fn body_search_is_case_sensitive() {
        assert!(contains(b"all systems go", b"systems"));
        assert!(!contains(b"all systems go", b"Systems"));
        assert!(contains(b"x", b""));
        assert!(!contains(b"", b"x"));
    }

    #[test]
    fn only_real_redirects_are_followed() {
        for code in [301, 302, 303, 307, 308] {
            assert!(is_followed(StatusCode::from_u16(code).expect("code")));
        }
        for code in [300, 304, 305, 200] {
            assert!(!is_followed(StatusCode::from_u16(code).expect("code")));
        }
    }

    #[test]
    fn user_agent_names_the_version() {
        assert_eq!(USER_AGENT, format!("quptime/{}", crate::VERSION));
    }
}
