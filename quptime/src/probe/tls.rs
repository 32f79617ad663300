//! The tls prober: a TLS handshake with `host[:port]` (default 443), the
//! chain verified against the system's roots (and any extra ones), then the
//! leaf certificate's expiry. Down when the handshake or verification fails,
//! when the certificate has expired, or when it expires within `warn_days`
//! (default 14): `cert expires in 6d`. Up reads `cert valid 89d`. Days are
//! whole days left, rounded down.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsConnector;

use super::tls_config::{TlsConfigs, tls_detail};
use super::{Probe, ProbeResult, io_detail, target, x509};
use crate::state::{Check, CheckType};

/// The expiry warning when a check sets none.
pub(crate) const DEFAULT_WARN_DAYS: u32 = 14;
const DEFAULT_PORT: u16 = 443;
const DAY: i64 = 86_400;

/// Holds the verified TLS configuration shared by every tls probe.
pub(crate) struct TlsProber {
    connector: TlsConnector,
}

impl std::fmt::Debug for TlsProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsProber").finish_non_exhaustive()
    }
}

impl TlsProber {
    pub(crate) fn new(configs: &TlsConfigs) -> TlsProber {
        let config: Arc<ClientConfig> = configs.tls_verified.clone();
        TlsProber {
            connector: TlsConnector::from(config),
        }
    }
}

impl Probe for TlsProber {
    const KIND: CheckType = CheckType::Tls;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let (host, port) = match target::split_host_port(&check.target, Some(DEFAULT_PORT)) {
            Ok(hp) => hp,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let settings = check.tls().cloned().unwrap_or_default();
        let name = settings.sni.clone().unwrap_or_else(|| host.clone());
        let server_name = match ServerName::try_from(name) {
            Ok(n) => n,
            Err(e) => {
                return ProbeResult::down(start.elapsed(), format!("tls: bad server name: {e}"));
            }
        };
        let addrs = match target::resolve(&host, port).await {
            Ok(a) => a,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let tcp = match target::connect(&addrs).await {
            Ok(s) => s,
            Err(e) => {
                return ProbeResult::down(start.elapsed(), format!("connect: {}", io_detail(&e)));
            }
        };
        let mut stream = match self.connector.connect(server_name, tcp).await {
            Ok(s) => s,
            Err(e) => return ProbeResult::down(start.elapsed(), handshake_detail(&e)),
        };
        let latency = start.elapsed();
        let leaf = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| x509::not_after(c.as_ref()));
        // Say goodbye politely; the verdict does not depend on it.
        let _ = stream.shutdown().await;
        let not_after = match leaf {
            Some(Ok(t)) => t,
            Some(Err(e)) => return ProbeResult::down(latency, format!("tls: certificate: {e}")),
            None => return ProbeResult::down(latency, "tls: server sent no certificate"),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let (ok, detail) = expiry_verdict(
            now,
            not_after,
            settings.warn_days.unwrap_or(DEFAULT_WARN_DAYS),
        );
        ProbeResult {
            ok,
            latency,
            detail,
        }
    }
}

/// Up or down for a certificate valid until `not_after`, seen at `now`
/// (both in seconds since the epoch).
fn expiry_verdict(now: i64, not_after: i64, warn_days: u32) -> (bool, String) {
    let left = not_after - now;
    if left <= 0 {
        (false, format!("cert expired {}d ago", -left / DAY))
    } else if left <= i64::from(warn_days) * DAY {
        (false, format!("cert expires in {}d", left / DAY))
    } else {
        (true, format!("cert valid {}d", left / DAY))
    }
}

/// A failed handshake as a probe detail: the rustls reason when there is
/// one (`cert expired 2d ago`, `tls: handshake failed: invalid peer
/// certificate: UnknownIssuer`), else the I/O error.
pub(super) fn handshake_detail(err: &std::io::Error) -> String {
    match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => tls_detail(tls),
        None => format!("tls: handshake failed: {}", io_detail(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_verdicts() {
        let now = 1_000 * DAY;
        assert_eq!(
            expiry_verdict(now, now + 89 * DAY + 5, 14),
            (true, "cert valid 89d".into())
        );
        assert_eq!(
            expiry_verdict(now, now + 6 * DAY + 100, 14),
            (false, "cert expires in 6d".into())
        );
        assert_eq!(
            expiry_verdict(now, now + 14 * DAY, 14),
            (false, "cert expires in 14d".into())
        );
        assert_eq!(
            expiry_verdict(now, now + 14 * DAY + 1, 14),
            (true, "cert valid 14d".into())
        );
        assert_eq!(
            expiry_verdict(now, now + 3 * DAY, 0),
            (true, "cert valid 3d".into())
        );
        assert_eq!(
            expiry_verdict(now, now - 2 * DAY - 7, 14),
            (false, "cert expired 2d ago".into())
        );
    }

    #[test]
    fn handshake_errors_keep_the_rustls_reason() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(
            handshake_detail(&e),
            "tls: handshake failed: invalid peer certificate: UnknownIssuer"
        );
        let e = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(
            handshake_detail(&e),
            "tls: handshake failed: unexpected end of file"
        );
    }
}
