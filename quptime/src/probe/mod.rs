//! Probers: one attempt at a check's target, answered as up or down with a
//! latency and a short human detail.
//!
//! Each kind of check has its prober in its own file, all with the same
//! shape (the `Probe` trait): `http`, `tcp`, `icmp`, `tls`, `dns`. They are
//! registered in one place, [`Probers`], which a node builds once: the HTTP
//! clients, the TLS configurations, the root store and the system resolver
//! are made there and shared, so a probe costs only its own network work.
//! [`Probers::probe`] dispatches by kind and bounds every probe by the
//! check's timeout; a probe never returns an error, only a down result that
//! says why (`connect: connection refused`, `status 503 Service
//! Unavailable`, `cert expires in 6d`, `timeout after 10s`).
//!
//! Probers are direct: they ignore proxy environment variables and never
//! cache DNS answers, because the point is to see what a visitor sees now.

mod dns;
mod http;
mod http_request;
mod icmp;
mod target;
mod tcp;
mod tls;
pub(crate) mod tls_config;
mod x509;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::state::{Check, CheckType, duration};

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The target met the check's expectation.
    pub ok: bool,
    /// How long the probe took: time to the response (HTTP headers and
    /// body), to the connection or handshake (TCP, TLS), the echo round
    /// trip (ICMP) or the answer (DNS). For a failure, the time until it
    /// failed.
    pub latency: Duration,
    /// Short human text: `status 200 OK`, `connected`, `cert valid 89d`,
    /// `connect: connection refused`, `timeout after 10s`.
    pub detail: String,
}

impl ProbeResult {
    /// A success.
    pub(crate) fn up(latency: Duration, detail: impl Into<String>) -> ProbeResult {
        ProbeResult {
            ok: true,
            latency,
            detail: detail.into(),
        }
    }

    /// A failure.
    pub(crate) fn down(latency: Duration, detail: impl Into<String>) -> ProbeResult {
        ProbeResult {
            ok: false,
            latency,
            detail: detail.into(),
        }
    }

    /// The result of a probe that ran out of time.
    pub(crate) fn timeout(latency: Duration, timeout: Duration) -> ProbeResult {
        ProbeResult::down(
            latency,
            format!("timeout after {}", duration::format(timeout)),
        )
    }
}

/// The shape every prober has. A prober is built once per node, is shared by
/// every task that probes, and never fails: whatever goes wrong becomes a
/// down [`ProbeResult`] with the reason. The caller ([`Probers::probe`])
/// enforces the check's timeout, so a prober only has to be cancel-safe.
pub(crate) trait Probe: Send + Sync + fmt::Debug {
    /// The kind of check this prober serves.
    const KIND: CheckType;

    /// Probe `check`'s target once.
    fn probe(&self, check: &Check) -> impl Future<Output = ProbeResult> + Send;
}

/// Every prober a node has, built once and shared: cheap to clone (one
/// `Arc`), safe to call from many tasks at once.
///
/// Build it anywhere; probe from inside a Tokio runtime. The ICMP sockets
/// are opened at the first icmp probe and read by a task on that runtime,
/// so keep one `Probers` per runtime (as a node does).
#[derive(Clone)]
pub struct Probers {
    inner: Arc<Registry>,
}

/// The registry: one prober per kind of check.
#[derive(Debug)]
struct Registry {
    http: http::HttpProber,
    tcp: tcp::TcpProber,
    icmp: icmp::IcmpProber,
    tls: tls::TlsProber,
    dns: dns::DnsProber,
}

impl Probers {
    /// Build the probers with the system's root certificates. Fails only
    /// when a TLS configuration or HTTP client cannot be built; a missing
    /// system root store or resolver configuration makes only the checks
    /// that need them fail, with a detail saying what is missing.
    pub fn new() -> Result<Probers> {
        Probers::with_extra_roots(Vec::new())
    }

    /// Like [`Probers::new`], and also trust `roots` (DER certificates) for
    /// https and tls checks, on top of the system's roots: for targets
    /// whose certificates come from a private CA. A root that cannot be
    /// parsed is an `InvalidInput` error.
    pub fn with_extra_roots(roots: Vec<CertificateDer<'static>>) -> Result<Probers> {
        let tls = tls_config::TlsConfigs::new(roots)?;
        let registry = Registry {
            http: http::HttpProber::new(&tls)?,
            tcp: tcp::TcpProber::new(&tls),
            icmp: icmp::IcmpProber::new(),
            tls: tls::TlsProber::new(&tls),
            dns: dns::DnsProber::new(),
        };
        Ok(Probers {
            inner: Arc::new(registry),
        })
    }

    /// Use `servers` (`ip:port`) for dns checks without a resolver of their
    /// own: the cluster-wide setting. Empty: the system's configuration.
    pub fn set_dns_resolvers(&self, servers: &[String]) {
        self.inner.dns.set_defaults(servers);
    }

    /// Probe `check` once, within `check.timeout`.
    pub async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let r = &self.inner;
        let attempt = async {
            match check.kind() {
                CheckType::Http => run(&r.http, check).await,
                CheckType::Tcp => run(&r.tcp, check).await,
                CheckType::Icmp => run(&r.icmp, check).await,
                CheckType::Tls => run(&r.tls, check).await,
                CheckType::Dns => run(&r.dns, check).await,
                // The scheduler never probes a push check; a caller that
                // asks gets an answer that says so.
                CheckType::Push => ProbeResult::down(
                    Duration::ZERO,
                    "push checks are not probed: they are up while beats arrive",
                ),
            }
        };
        match tokio::time::timeout(check.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => ProbeResult::timeout(start.elapsed(), check.timeout),
        }
    }
}

/// Run one prober, checking that the registry routed the right kind to it.
async fn run<P: Probe>(prober: &P, check: &Check) -> ProbeResult {
    debug_assert_eq!(check.kind(), P::KIND, "check routed to the wrong prober");
    prober.probe(check).await
}

impl fmt::Debug for Probers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probers").finish_non_exhaustive()
    }
}

/// An I/O error as a short phrase: `connection refused`, `no route to
/// host`, without the `(os error 111)` tail.
pub(crate) fn io_detail(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", err.kind()).to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn io_details_are_short() {
        let e = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(io_detail(&e), "connection refused");
        let e = io::Error::other("Broken thing");
        assert_eq!(io_detail(&e), "broken thing");
    }

    #[test]
    fn timeout_detail_uses_go_durations() {
        let r = ProbeResult::timeout(Duration::from_millis(1001), Duration::from_secs(10));
        assert!(!r.ok);
        assert_eq!(r.detail, "timeout after 10s");
        let r = ProbeResult::timeout(Duration::ZERO, Duration::from_millis(500));
        assert_eq!(r.detail, "timeout after 500ms");
    }

    #[test]
    fn probers_are_shareable() {
        fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
        assert_send_sync_clone::<Probers>();
    }
}
