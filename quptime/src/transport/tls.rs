//! rustls configurations for the node transport: TLS 1.3 only, ring
//! provider, mutual authentication with the pinning verifiers of
//! [`crate::trust`], no session resumption (every connection proves its key).

use std::sync::{Arc, OnceLock};

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ServerConfig};

use crate::error::{Error, ErrorKind, Result};
use crate::keyring::LiveIdentity;
use crate::trust::{AnyClientKeyVerifier, PinnedServerVerifier};

/// The server name sent in the ClientHello. Names are not checked (the key
/// is the identity), but TLS needs one.
pub(crate) const SERVER_NAME: &str = "quptime.node";

/// The process-wide ring provider, built once.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn tls_err(what: &str, e: rustls::Error) -> Error {
    Error::new(ErrorKind::Tls, format!("{what}: {e}")).with_source(e)
}

/// The listener's config: present our key, demand one from the client.
pub(crate) fn server_config(identity: &LiveIdentity) -> Result<Arc<ServerConfig>> {
    let p = provider();
    let mut config = ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err("server TLS config", e))?
        .with_client_cert_verifier(Arc::new(AnyClientKeyVerifier::new(p)))
        .with_cert_resolver(Arc::new(identity.clone()));
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Ok(Arc::new(config))
}

/// A dialler's config for one connection, verifying the server with
/// `verifier`.
pub(crate) fn client_config(
    identity: &LiveIdentity,
    verifier: Arc<PinnedServerVerifier>,
) -> Result<Arc<ClientConfig>> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls_err("client TLS config", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(identity.clone()));
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}
