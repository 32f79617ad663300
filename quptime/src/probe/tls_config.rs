//! The rustls client configurations of the http and tls probers, built once
//! per node, and the wording of TLS failures.
//!
//! Certificates are verified by `rustls-platform-verifier` with the ring
//! provider passed in (no process-wide provider is installed). On Linux it
//! reads the system's CA bundle (the `ca-certificates` package) and checks
//! chains with webpki; on macOS and Windows it asks the OS, so enterprise
//! roots the operator installed are honoured there too. Extra roots (for
//! private CAs) are added on top. If the host has no CA bundle and no extra
//! root is given, https and tls checks fail with a detail saying to install
//! one, while every other kind of check keeps working.
//!
//! Session resumption is off: every probe measures a full handshake.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, Error as TlsError};

use crate::error::{Error, ErrorKind, Result};

const DAY: u64 = 86_400;

/// The configurations every TLS-speaking prober uses.
#[derive(Debug, Clone)]
pub(crate) struct TlsConfigs {
    /// Verifies against the system's roots plus the extra ones; offers
    /// `http/1.1` by ALPN.
    pub http_verified: ClientConfig,
    /// Accepts any certificate (checks marked `insecure`); still checks
    /// the handshake signatures.
    pub http_insecure: ClientConfig,
    /// Verified, without ALPN: the tls prober speaks no protocol after the
    /// handshake, and the target may be SMTPS, IMAPS, LDAPS or HTTPS.
    pub tls_verified: Arc<ClientConfig>,
}

impl TlsConfigs {
    /// Build the configurations, trusting `extra_roots` on top of the system's.
    pub(crate) fn new(extra_roots: Vec<CertificateDer<'static>>) -> Result<TlsConfigs> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = system_verifier(&extra_roots, &provider, "https and tls checks")?;
        let build = |verifier: Arc<dyn ServerCertVerifier>, alpn: bool| -> Result<ClientConfig> {
            let mut config = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::new(ErrorKind::Tls, format!("probe TLS config: {e}")))?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth();
            config.resumption = Resumption::disabled();
            if alpn {
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
            }
            Ok(config)
        };
        let insecure = Arc::new(AcceptAny(provider.clone()));
        Ok(TlsConfigs {
            http_verified: build(verifier.clone(), true)?,
            http_insecure: build(insecure, true)?,
            tls_verified: Arc::new(build(verifier, false)?),
        })
    }
}

/// The system's roots plus `extra_roots` (each checked: a root that cannot
/// be parsed is an `InvalidInput` error); on a host without a CA bundle, a
/// verifier that fails every handshake saying what to install, so the
/// node still starts. Shared by the probers and the notifiers; `users`
/// names who will fail, for the warning.
pub(crate) fn system_verifier(
    extra_roots: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
    users: &str,
) -> Result<Arc<dyn ServerCertVerifier>> {
    let mut check = rustls::RootCertStore::empty();
    for (i, root) in extra_roots.iter().enumerate() {
        check.add(root.clone()).map_err(|e| {
            Error::invalid(format!("extra root certificate #{}: {e}", i + 1)).with_source(e)
        })?;
    }
    Ok(
        match rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra_roots.to_vec(),
            provider.clone(),
        ) {
            Ok(v) => Arc::new(v),
            Err(e) => {
                tracing::warn!(error = %e, "no CA certificates: {users} will fail");
                Arc::new(NoRoots::new(&e, provider.clone()))
            }
        },
    )
}

/// A TLS failure as a probe detail. Expiry reads like the tls prober's
/// verdicts (`cert expired 3d ago`); anything else is `tls: handshake
/// failed: <rustls's reason>`.
pub(crate) fn tls_detail(err: &TlsError) -> String {
    match err {
        TlsError::InvalidCertificate(CertificateError::ExpiredContext { time, not_after }) => {
            let ago = time.as_secs().saturating_sub(not_after.as_secs()) / DAY;
            format!("cert expired {ago}d ago")
        }
        TlsError::InvalidCertificate(CertificateError::Expired) => "cert expired".to_string(),
        other => format!("tls: handshake failed: {other}"),
    }
}

/// Verifies nothing about the chain, for `insecure` checks. Signatures are
/// still checked, so the handshake is a real one.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    crate::trust::handshake_signatures!(0);
}

/// Stands in for the platform verifier when the host has no CA bundle:
/// every verified handshake fails, saying what to install.
#[derive(Debug)]
struct NoRoots {
    reason: String,
    provider: Arc<CryptoProvider>,
}

impl NoRoots {
    fn new(err: &TlsError, provider: Arc<CryptoProvider>) -> NoRoots {
        NoRoots {
            reason: format!(
                "cannot verify certificates ({err}): install the system CA bundle \
                 (ca-certificates) or give extra roots"
            ),
            provider,
        }
    }
}

impl ServerCertVerifier for NoRoots {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, TlsError> {
        Err(TlsError::General(self.reason.clone()))
    }

    crate::trust::handshake_signatures!(provider);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_failures_read_like_verdicts() {
        let e = TlsError::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(10 * DAY + 5)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(7 * DAY)),
        });
        assert_eq!(tls_detail(&e), "cert expired 3d ago");
        let e = TlsError::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(tls_detail(&e).starts_with("tls: handshake failed: "));
    }

    #[test]
    fn bad_extra_roots_are_refused() {
        let err =
            TlsConfigs::new(vec![CertificateDer::from(vec![1, 2, 3])]).expect_err("garbage root");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("extra root certificate #1"),
            "{err}"
        );
    }

    #[test]
    fn missing_roots_say_what_to_install() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = NoRoots::new(&TlsError::General("none".into()), provider);
        let err = v
            .verify_server_cert(
                &CertificateDer::from(vec![]),
                &[],
                &ServerName::try_from("example.com").expect("name"),
                &[],
                UnixTime::now(),
            )
            .expect_err("no roots");
        assert!(tls_detail(&err).contains("ca-certificates"));
    }
}
