//! rustls verifiers that pin peers by public-key fingerprint instead of
//! checking a CA chain.
//!
//! Both directions prove key possession the normal TLS 1.3 way (the
//! handshake signature is checked against the certificate's key), and
//! neither looks at names or validity dates: the fingerprint *is* the
//! identity. The server side accepts any well-formed client certificate so
//! that a not-yet-trusted node can reach the join/enroll methods; whether a
//! request is allowed is decided per request from the verified fingerprint
//! (see [`crate::transport`]). The client side refuses a server whose key
//! does not match the fingerprint pinned for the address it dialled.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DistinguishedName};

use crate::identity::Fingerprint;

/// The handshake-signature half of a rustls verifier, the same for every
/// verifier in this crate: check the signature with the algorithms of the
/// `CryptoProvider` in field `$provider` of `self`. (Which certificate is
/// acceptable is the other half, and differs.)
macro_rules! handshake_signatures {
    ($provider:tt) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            let algs = &self.$provider.signature_verification_algorithms;
            rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            let algs = &self.$provider.signature_verification_algorithms;
            rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            let algs = &self.$provider.signature_verification_algorithms;
            algs.supported_schemes()
        }
    };
}
pub(crate) use handshake_signatures;

/// Fingerprint of an end-entity certificate, as a rustls error on failure.
fn fingerprint(cert: &CertificateDer<'_>) -> Result<Fingerprint, rustls::Error> {
    let parsed = ParsedCertificate::try_from(cert)?;
    Ok(Fingerprint::of_spki(
        parsed.subject_public_key_info().as_ref(),
    ))
}

/// Client-side verifier: the server must present the pinned key, or any key
/// when nothing is pinned (trust on first use: the caller shows the
/// fingerprint to a person before trusting it).
#[derive(Debug)]
pub struct PinnedServerVerifier {
    expected: Option<Fingerprint>,
    /// What the server actually presented, for error messages and TOFU.
    presented: Mutex<Option<Fingerprint>>,
    provider: Arc<CryptoProvider>,
}

impl PinnedServerVerifier {
    /// A verifier for one connection. `expected = None` accepts any key.
    pub fn new(expected: Option<Fingerprint>, provider: Arc<CryptoProvider>) -> Self {
        PinnedServerVerifier {
            expected,
            presented: Mutex::new(None),
            provider,
        }
    }

    /// The fingerprint the server presented, once the handshake got that far.
    pub fn presented(&self) -> Option<Fingerprint> {
        self.presented.lock().ok().and_then(|g| g.clone())
    }

    /// The fingerprint this verifier requires, if any.
    pub fn expected(&self) -> Option<&Fingerprint> {
        self.expected.as_ref()
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity)?;
        if let Ok(mut slot) = self.presented.lock() {
            *slot = Some(got.clone());
        }
        match &self.expected {
            Some(want) if *want != got => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    handshake_signatures!(provider);
}

/// Server-side verifier: a client certificate is mandatory and must be
/// well-formed with a valid handshake signature; *which* key it is gets
/// decided per request against the trust store.
#[derive(Debug)]
pub struct AnyClientKeyVerifier {
    provider: Arc<CryptoProvider>,
}

impl AnyClientKeyVerifier {
    /// A verifier using `provider`'s signature algorithms.
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        AnyClientKeyVerifier { provider }
    }
}

impl ClientCertVerifier for AnyClientKeyVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        fingerprint(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!(provider);
}
