//! The request side of the http prober: building one request from a
//! check's settings (method, headers, body, auth), the clients of checks
//! that need their own (a CA of their own, one IP version), and reading the
//! response for the conditions.
//!
//! Most checks share the four clients built once per node. A check with a
//! `ca` or an `ip_version` needs a client configured for it; those are built
//! at its first probe and kept in a small cache keyed by the settings, so a
//! probe still costs only its network work. An IP version is enforced by
//! the client's resolver, which keeps only that family's addresses; a URL
//! whose host is a literal of the other family is refused before sending.
//! Credentials go only to the origin the check names: a redirect to another
//! origin is followed without them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, Method, RequestBuilder, Url};

use super::tls_config::TlsConfigs;
use crate::error::{Error, ErrorKind, Result};
use crate::state::HttpProbe;
use crate::state::probe::{HttpMethod, IpVersion, split_header};

/// Most per-check clients kept; the cache is emptied when it is full.
const MAX_CLIENTS: usize = 64;

/// What a per-check client is configured by.
type Key = (Option<String>, Option<IpVersion>, bool, bool);

/// Clients of checks with their own CA or IP version.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    clients: Mutex<HashMap<Key, Client>>,
}

impl ClientCache {
    /// The client for `http`, built at first use. `Err` is a probe detail.
    pub(crate) fn get(
        &self,
        http: &HttpProbe,
        build: impl FnOnce(&rustls::ClientConfig, bool, Option<IpVersion>) -> Result<Client>,
        insecure: &rustls::ClientConfig,
    ) -> std::result::Result<Client, String> {
        let key: Key = (
            http.ca.clone(),
            http.ip_version,
            http.insecure,
            http.keep_alive,
        );
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = if http.insecure {
            build(insecure, http.keep_alive, http.ip_version)
        } else {
            let roots = match &http.ca {
                Some(pem) => {
                    crate::state::probe::parse_ca(pem).map_err(|e| e.message().to_string())?
                }
                None => Vec::new(),
            };
            let tls = TlsConfigs::new(roots).map_err(|e| format!("ca: {}", e.message()))?;
            build(&tls.http_verified, http.keep_alive, http.ip_version)
        }
        .map_err(|e| e.message().to_string())?;
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// A reqwest client builder with the prober's common settings.
pub(crate) fn build_client(
    config: &rustls::ClientConfig,
    pooled: bool,
    ip: Option<IpVersion>,
    user_agent: &str,
) -> Result<Client> {
    let mut builder = Client::builder()
        .tls_backend_preconfigured(config.clone())
        .user_agent(user_agent)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true)
        .no_proxy();
    if !pooled {
        builder = builder.pool_max_idle_per_host(0);
    }
    if let Some(ip) = ip {
        builder = builder.dns_resolver(Arc::new(Family(ip)));
    }
    builder.build().map_err(|e| {
        Error::new(ErrorKind::Tls, format!("build the HTTP probe client: {e}")).with_source(e)
    })
}

/// The system resolver, keeping one IP version's addresses.
struct Family(IpVersion);

impl Resolve for Family {
    fn resolve(&self, name: Name) -> Resolving {
        let want = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_family(a.ip(), want))
                .collect();
            if addrs.is_empty() {
                return Err(format!("no IPv{} address for {host}", u8::from(want)).into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn is_family(ip: IpAddr, want: IpVersion) -> bool {
    match want {
        IpVersion::V4 => ip.is_ipv4(),
        IpVersion::V6 => ip.is_ipv6(),
    }
}

/// Refuse a URL whose host is an IP literal of the other version.
pub(crate) fn check_family(url: &Url, ip: Option<IpVersion>) -> std::result::Result<(), String> {
    let (Some(want), Some(host)) = (ip, url.host_str()) else {
        return Ok(());
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>().ok() {
        Some(a) if !is_family(a, want) => Err(format!(
            "ip_version {}: the target is the address {a}",
            u8::from(want)
        )),
        _ => Ok(()),
    }
}

/// The method of the request after `followed` redirect `status`: a 303,
/// and a 301 or 302 answering a POST, turn into a GET without a body (as
/// browsers do); 307 and 308 keep the method and body.
pub(crate) fn next_method(method: HttpMethod, status: u16) -> HttpMethod {
    match (status, method) {
        (303, HttpMethod::Head) => HttpMethod::Head,
        (303, _) | (301 | 302, HttpMethod::Post) => HttpMethod::Get,
        _ => method,
    }
}

/// Scheme, host and port: where credentials may go.
pub(crate) type Origin = (String, String, Option<u16>);

/// The origin of `url`.
pub(crate) fn origin_of(url: &Url) -> Origin {
    (
        url.scheme().to_string(),
        url.host_str().unwrap_or_default().to_string(),
        url.port_or_known_default(),
    )
}

/// One request for `url`; credentials only when `url` has `origin`.
pub(crate) fn request(
    client: &Client,
    http: &HttpProbe,
    method: HttpMethod,
    url: &Url,
    origin: &Origin,
) -> RequestBuilder {
    let m = match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Options => Method::OPTIONS,
    };
    let same_origin = origin_of(url) == *origin;
    let mut req = client.request(m, url.clone());
    for line in &http.headers {
        if let Ok((name, value)) = split_header(line) {
            if !same_origin && name.eq_ignore_ascii_case("authorization") {
                continue;
            }
            req = req.header(name, value);
        }
    }
    if same_origin {
        if let Some((user, pass)) = http.basic_auth.as_deref().and_then(|a| a.split_once(':')) {
            req = req.basic_auth(user, Some(pass));
        }
        if let Some(token) = &http.bearer {
            req = req.bearer_auth(token);
        }
    }
    let keeps_body = method == http.method.unwrap_or(HttpMethod::Get);
    if let Some(body) = http.body.as_ref().filter(|_| keeps_body) {
        req = req.body(body.clone());
    }
    req
}

/// The response's headers as text pairs (values that are not text left
/// out).
pub(crate) fn header_pairs(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

/// Time left on the server's leaf certificate; `None` over plain http.
pub(crate) fn cert_left(response: &reqwest::Response) -> Option<Duration> {
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    let not_after = super::x509::not_after(info.peer_certificate()?).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(Duration::from_secs(
        not_after.saturating_sub(now).max(0) as u64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_change_the_method_as_browsers_do() {
        assert_eq!(next_method(HttpMethod::Post, 303), HttpMethod::Get);
        assert_eq!(next_method(HttpMethod::Post, 302), HttpMethod::Get);
        assert_eq!(next_method(HttpMethod::Post, 307), HttpMethod::Post);
        assert_eq!(next_method(HttpMethod::Put, 301), HttpMethod::Put);
        assert_eq!(next_method(HttpMethod::Head, 303), HttpMethod::Head);
    }

    #[test]
    fn a_literal_of_the_other_version_is_refused() {
        let v6 = Url::parse("http://[::1]:80/").expect("url");
        let v4 = Url::parse("http://127.0.0.1/").expect("url");
        assert!(
            check_family(&v6, Some(IpVersion::V4))
                .unwrap_err()
                .contains("::1")
        );
        assert!(check_family(&v4, Some(IpVersion::V4)).is_ok());
        assert!(check_family(&v4, Some(IpVersion::V6)).is_err());
        assert!(check_family(&v6, None).is_ok());
    }
}
