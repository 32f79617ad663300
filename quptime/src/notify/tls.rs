//! TLS for the notifiers, set up once per node: the rustls client
//! configuration of the HTTP client (Discord, webhooks) and lettre's TLS
//! parameters per SMTP server, cached.
//!
//! Certificates are verified by `rustls-platform-verifier` against the
//! system's roots plus any extra roots (a private CA, or a test CA), with
//! the ring provider passed explicitly: nothing process-wide is installed.
//! lettre builds its own rustls configuration from a builder; it uses the
//! process's default provider if the embedding program installed one, and
//! ring otherwise. If the host has no CA bundle and no extra root is given,
//! https and TLS deliveries fail with an error saying what to install.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lettre::transport::smtp::client::{Certificate, TlsParameters, TlsParametersBuilder};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error as TlsError};

use crate::error::{Error, ErrorKind, Result};

/// More SMTP servers than this and the cache starts over.
const MAX_CACHED_SERVERS: usize = 64;

/// TLS material shared by all notifiers of a node.
pub(crate) struct NotifyTls {
    /// For the HTTP client: verified, `http/1.1` by ALPN.
    pub http: ClientConfig,
    extra_roots: Vec<CertificateDer<'static>>,
    smtp: Mutex<HashMap<String, TlsParameters>>,
}

impl std::fmt::Debug for NotifyTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyTls")
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl NotifyTls {
    /// Build the configurations, trusting `extra_roots` on top of the
    /// system's. A root that cannot be parsed is an `InvalidInput` error.
    pub(crate) fn new(extra_roots: Vec<CertificateDer<'static>>) -> Result<NotifyTls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut check = rustls::RootCertStore::empty();
        for (i, root) in extra_roots.iter().enumerate() {
            check.add(root.clone()).map_err(|e| {
                Error::invalid(format!("extra root certificate #{}: {e}", i + 1)).with_source(e)
            })?;
        }
        let verifier: Arc<dyn ServerCertVerifier> =
            match rustls_platform_verifier::Verifier::new_with_extra_roots(
                extra_roots.clone(),
                provider.clone(),
            ) {
                Ok(v) => Arc::new(v),
                Err(e) => {
                    tracing::warn!(error = %e, "no CA certificates: https alert deliveries will fail");
                    Arc::new(NoRoots {
                        reason: no_roots_reason(&e.to_string()),
                        provider: provider.clone(),
                    })
                }
            };
        let mut http = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::Tls, format!("notifier TLS config: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        http.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(NotifyTls {
            http,
            extra_roots,
            smtp: Mutex::new(HashMap::new()),
        })
    }

    /// lettre's TLS parameters for the SMTP server `host`, built on first
    /// use and kept (building them reads the system's CA bundle).
    pub(crate) fn smtp(&self, host: &str) -> Result<TlsParameters> {
        let mut cache = self.smtp.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(host) {
            return Ok(p.clone());
        }
        let mut builder = TlsParametersBuilder::new(host.to_string());
        for root in &self.extra_roots {
            let cert = Certificate::from_der(root.to_vec())
                .map_err(|e| Error::new(ErrorKind::Tls, format!("smtp: extra root: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let params = builder.build_rustls().map_err(|e| {
            Error::new(
                ErrorKind::Tls,
                format!("smtp: {}", no_roots_reason(&describe_chain(&e))),
            )
        })?;
        if cache.len() >= MAX_CACHED_SERVERS {
            cache.clear();
        }
        cache.insert(host.to_string(), params.clone());
        Ok(params)
    }
}

fn no_roots_reason(err: &str) -> String {
    format!(
        "cannot verify certificates ({err}): install the system CA bundle \
         (ca-certificates) or give extra roots"
    )
}

/// `err` and its causes, `: `-separated.
pub(crate) fn describe_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut next = err.source();
    let mut depth = 0;
    while let Some(e) = next {
        let text = e.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        depth += 1;
        if depth > 8 {
            break;
        }
        next = e.source();
    }
    s
}

/// Stands in for the platform verifier when the host has no CA bundle:
/// every verified handshake fails, saying what to install.
#[derive(Debug)]
struct NoRoots {
    reason: String,
    provider: Arc<CryptoProvider>,
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

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, TlsError> {
        let algs = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_extra_roots_are_refused() {
        let err = NotifyTls::new(vec![CertificateDer::from(vec![1, 2, 3])]).expect_err("garbage");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("extra root certificate #1"),
            "{err}"
        );
    }
}
