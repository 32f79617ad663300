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
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;

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
        let verifier = crate::probe::tls_config::system_verifier(
            &extra_roots,
            &provider,
            "https alert deliveries",
        )?;
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

    /// The extra roots trusted on top of the system's.
    pub(crate) fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
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
