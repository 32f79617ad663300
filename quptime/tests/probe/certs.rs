//! Test certificates made with rcgen: a private CA, end-entity (CA:FALSE)
//! server certificates it signs with a chosen validity, and an untrusted
//! self-signed one, plus the rustls server configs that present them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub const DAY: Duration = Duration::from_secs(86_400);

/// A private certificate authority.
pub struct TestCa {
    pub cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "quptime test CA");
        let cert = params.self_signed(&key).expect("CA cert");
        TestCa {
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate as PEM.
    pub fn pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.cert.as_ref());
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// A server config presenting a certificate for `names` (host names or
    /// IP addresses) signed by this CA, valid from `not_before_ago` ago
    /// until `until`.
    pub fn server(
        &self,
        names: &[&str],
        not_before_ago: Duration,
        until: Validity,
    ) -> Arc<ServerConfig> {
        let key = KeyPair::generate().expect("leaf key");
        let params = leaf_params(names, not_before_ago, until);
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        server_config(vec![cert.der().clone(), self.cert.clone()], &key)
    }
}

/// When a leaf stops being valid, relative to now.
#[derive(Clone, Copy)]
pub enum Validity {
    /// Valid for this long from now.
    For(Duration),
    /// Expired this long ago.
    ExpiredAgo(Duration),
}

fn leaf_params(names: &[&str], not_before_ago: Duration, until: Validity) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params.is_ca = IsCa::ExplicitNoCa;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + (now - not_before_ago);
    params.not_after = match until {
        Validity::For(d) => epoch + (now + d),
        Validity::ExpiredAgo(d) => epoch + (now - d),
    };
    params
}

/// A self-signed end-entity certificate nobody trusts.
pub fn self_signed(names: &[&str]) -> Arc<ServerConfig> {
    let key = KeyPair::generate().expect("key");
    let cert = leaf_params(names, DAY, Validity::For(30 * DAY))
        .self_signed(&key)
        .expect("self-signed cert");
    server_config(vec![cert.der().clone()], &key)
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
    Arc::new(config)
}
