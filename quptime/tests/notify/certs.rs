//! A private test CA and an end-entity (CA:FALSE) server certificate for
//! 127.0.0.1 that it signs, written as PEM files for the Python SMTP
//! server; the notifiers trust the CA through `with_extra_roots` or a
//! channel's `ca` setting. The HTTPS receiver takes the same material.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;

/// PEM files of a server certificate chain and its key, and the CA root.
pub struct ServerCert {
    /// The CA's certificate (trust it to accept the server).
    pub root: CertificateDer<'static>,
    /// Leaf then CA, PEM.
    pub chain_pem: PathBuf,
    /// The leaf's PKCS#8 key, PEM.
    pub key_pem: PathBuf,
    /// The CA's certificate, PEM (a channel's `ca` setting).
    pub ca_pem: String,
    /// Leaf then CA, DER (for an in-process TLS server).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's PKCS#8 key, DER.
    pub key_der: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// A fresh CA and a leaf for `127.0.0.1` and `localhost`, valid for a day.
pub fn server_cert() -> ServerCert {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "quptime notify test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("leaf params");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    leaf.not_before = epoch + (now - Duration::from_secs(3600));
    leaf.not_after = epoch + (now + Duration::from_secs(86_400));
    let cert = leaf.signed_by(&key, &issuer).expect("leaf cert");

    let dir = tempfile::tempdir().expect("tempdir");
    let chain_pem = dir.path().join("chain.pem");
    let key_pem = dir.path().join("key.pem");
    std::fs::write(&chain_pem, format!("{}{}", cert.pem(), ca_cert.pem())).expect("chain");
    std::fs::write(&key_pem, key.serialize_pem()).expect("key");
    ServerCert {
        root: ca_cert.der().clone(),
        chain_pem,
        key_pem,
        ca_pem: ca_cert.pem(),
        chain: vec![cert.der().clone(), ca_cert.der().clone()],
        key_der: key.serialize_der(),
        _dir: dir,
    }
}
