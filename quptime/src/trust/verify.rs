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

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::identity::Fingerprint;

/// The handshake-signature half of a verifier, the same for both sides:
/// check the signature with `self.provider`'s algorithms. (Which key it is
/// is the other half, and differs.)
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.provider.signature_verification_algorithms;
            verify_tls12_signature(message, cert, dss, algs)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algs = &self.provider.signature_verification_algorithms;
            verify_tls13_signature(message, cert, dss, algs)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            let algs = &self.provider.signature_verification_algorithms;
            algs.supported_schemes()
        }
    };
}

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

    handshake_signatures!();
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

    handshake_signatures!();
}
