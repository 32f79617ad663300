//! Who a node is: its [`NodeId`], key pair, self-signed certificate and
//! [`Fingerprint`].
//!
//! There is no CA. A node is known to its peers by the SHA-256 of its public
//! key (`sha256:<hex of SPKI DER>`), pinned in each peer's trust store; the
//! certificate is only the envelope TLS needs to carry that key. New
//! identities use ECDSA P-256 (fast handshakes, small certificates); the
//! original `qu`'s RSA keys in the same PEM layout still load, so an existing
//! node can keep its identity across the migration.
//!
//! On disk (under the data dir): `keys/` 0700, `keys/private.pem` 0600,
//! `keys/public.pem` and `keys/cert.pem` 0644.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::paths::{CERT_FILE, KEYS_DIR, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
use crate::store::{ensure_dir, write_atomic};

/// A node's stable name in the cluster: a UUID v4 unless the operator chose
/// one. Ordering is lexicographic, which is what "lowest NodeID" means.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeId(String);

impl NodeId {
    /// The longest NodeId accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// A fresh random id (UUID v4, lowercase, hyphenated).
    pub fn random() -> NodeId {
        NodeId(uuid::Uuid::new_v4().to_string())
    }

    /// Validate `s` as a NodeId: 1–64 characters of `A-Z a-z 0-9 . _ -`.
    pub fn new(s: impl Into<String>) -> Result<NodeId> {
        let s = s.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.chars().all(ok_char) {
            return Err(Error::invalid(format!(
                "invalid node id {s:?}: use 1 to {} characters from A-Z, a-z, 0-9, '.', '_' and '-' \
                 (or leave it unset to get a random UUID)",
                Self::MAX_LEN
            )));
        }
        Ok(NodeId(s))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 characters, for compact human output.
    pub fn short(&self) -> &str {
        let end = self
            .0
            .char_indices()
            .nth(8)
            .map_or(self.0.len(), |(i, _)| i);
        &self.0[..end]
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NodeId {
    type Err = Error;
    fn from_str(s: &str) -> Result<NodeId> {
        NodeId::new(s)
    }
}

impl TryFrom<String> for NodeId {
    type Error = Error;
    fn try_from(s: String) -> Result<NodeId> {
        NodeId::new(s)
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> String {
        id.0
    }
}

/// `sha256:<64 lowercase hex digits>` of a public key's SPKI DER encoding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    const PREFIX: &'static str = "sha256:";

    /// Fingerprint of a DER-encoded SubjectPublicKeyInfo.
    pub fn of_spki(spki_der: &[u8]) -> Fingerprint {
        let digest = Sha256::digest(spki_der);
        let mut s = String::with_capacity(Self::PREFIX.len() + 64);
        s.push_str(Self::PREFIX);
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        Fingerprint(s)
    }

    /// Fingerprint of the public key inside a DER certificate.
    pub fn of_cert(cert_der: &[u8]) -> Result<Fingerprint> {
        let der = CertificateDer::from(cert_der);
        let parsed = ParsedCertificate::try_from(&der).map_err(|e| {
            Error::new(ErrorKind::Tls, format!("cannot parse certificate: {e}")).with_source(e)
        })?;
        Ok(Fingerprint::of_spki(
            parsed.subject_public_key_info().as_ref(),
        ))
    }

    /// Parse `sha256:<hex>`; uppercase hex is accepted and normalised.
    pub fn parse(s: &str) -> Result<Fingerprint> {
        let hex = s.strip_prefix(Self::PREFIX).ok_or_else(|| {
            Error::invalid(format!(
                "invalid fingerprint {s:?}: expected sha256:<64 hex digits>"
            ))
        })?;
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid(format!(
                "invalid fingerprint {s:?}: expected sha256:<64 hex digits>"
            )));
        }
        Ok(Fingerprint(format!(
            "{}{}",
            Self::PREFIX,
            hex.to_ascii_lowercase()
        )))
    }

    /// The full `sha256:…` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = Error;
    fn try_from(s: String) -> Result<Fingerprint> {
        Fingerprint::parse(&s)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

/// A node's identity: id, certificate and the private key that signs TLS
/// handshakes. Cheap to clone (the key material is shared).
#[derive(Clone)]
pub struct Identity {
    node_id: NodeId,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    fingerprint: Fingerprint,
    certified: Arc<CertifiedKey>,
    /// PEM texts kept so that `save` writes exactly what was generated.
    key_pem: Arc<str>,
    public_pem: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("Identity")
            .field("node_id", &self.node_id)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A new ECDSA P-256 key pair and a self-signed certificate whose common
    /// name is `node_id`.
    pub fn generate(node_id: NodeId) -> Result<Identity> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| Error::internal(format!("generate key pair: {e}")).with_source(e))?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, node_id.as_str());
        let cert = params
            .self_signed(&key)
            .map_err(|e| Error::internal(format!("self-sign certificate: {e}")).with_source(e))?;
        Identity::from_parts(
            node_id,
            cert.pem(),
            key.serialize_pem(),
            Some(key.public_key_pem()),
        )
    }

    /// Build an identity from PEM texts, checking that the key matches the
    /// certificate. `public_pem` is derived from the certificate when absent.
    fn from_parts(
        node_id: NodeId,
        cert_pem: String,
        key_pem: String,
        public_pem: Option<String>,
    ) -> Result<Identity> {
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| {
            Error::new(ErrorKind::Config, format!("certificate PEM: {e}")).with_source(e)
        })?;
        let key_der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
            Error::new(ErrorKind::Config, format!("private key PEM: {e}")).with_source(e)
        })?;
        let provider = rustls::crypto::ring::default_provider();
        let certified = CertifiedKey::from_der(vec![cert_der.clone()], key_der, &provider)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("the private key does not fit the certificate: {e}"),
                )
                .with_source(e)
            })?;
        let parsed = ParsedCertificate::try_from(&cert_der)
            .map_err(|e| Error::new(ErrorKind::Tls, format!("parse certificate: {e}")))?;
        let spki = parsed.subject_public_key_info();
        let fingerprint = Fingerprint::of_spki(spki.as_ref());
        let public_pem = public_pem.unwrap_or_else(|| pem_encode("PUBLIC KEY", spki.as_ref()));
        Ok(Identity {
            node_id,
            cert_pem,
            cert_der,
            fingerprint,
            certified: Arc::new(certified),
            key_pem: key_pem.into(),
            public_pem,
        })
    }

    /// Whether `dir` already holds an identity (a private key or a certificate).
    pub fn exists(dir: &Path) -> bool {
        key_path(dir, PRIVATE_KEY_FILE).exists() || key_path(dir, CERT_FILE).exists()
    }

    /// Load the identity stored under `dir/keys/` for `node_id`.
    pub fn load(dir: &Path, node_id: NodeId) -> Result<Identity> {
        Identity::load_files(dir, node_id, CURRENT_FILES)
    }

    /// Load the identity in the files `names` (private key, public key,
    /// certificate) under `dir/keys/`.
    pub(crate) fn load_files(dir: &Path, node_id: NodeId, names: [&str; 3]) -> Result<Identity> {
        let [private, public, cert] = names;
        let read = |name: &str| -> Result<String> {
            let path = key_path(dir, name);
            std::fs::read_to_string(&path).map_err(|e| {
                let err = Error::io_at("read", &path, e);
                if err.kind() == ErrorKind::NotFound {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("{err}: this node has no identity yet; run `qu init` first"),
                    )
                } else {
                    err
                }
            })
        };
        let key_pem = read(private)?;
        let cert_pem = read(cert)?;
        let public_pem = read(public).ok();
        Identity::from_parts(node_id, cert_pem, key_pem, public_pem).map_err(|e| {
            Error::new(
                e.kind(),
                format!("load identity from {}: {e}", dir.join(KEYS_DIR).display()),
            )
        })
    }

    /// Write the key pair and certificate under `dir/keys/` with the
    /// canonical modes. Each file is written atomically and durably.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.save_files(dir, CURRENT_FILES)
    }

    /// Write the key pair and certificate to the files `names` (private
    /// key, public key, certificate) under `dir/keys/`.
    pub(crate) fn save_files(&self, dir: &Path, names: [&str; 3]) -> Result<()> {
        let [private, public, cert] = names;
        ensure_dir(&dir.join(KEYS_DIR), 0o700)?;
        write_atomic(&key_path(dir, private), self.key_pem.as_bytes(), 0o600)?;
        write_atomic(&key_path(dir, public), self.public_pem.as_bytes(), 0o644)?;
        write_atomic(&key_path(dir, cert), self.cert_pem.as_bytes(), 0o644)
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    /// The fingerprint peers pin this node by.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The certificate in PEM, as shared with peers that trust this node.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate in DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The certificate and signing key, ready for a rustls config.
    pub(crate) fn certified_key(&self) -> Arc<CertifiedKey> {
        self.certified.clone()
    }
}

/// The files of the identity in use: private key, public key, certificate.
pub(crate) const CURRENT_FILES: [&str; 3] = [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, CERT_FILE];

/// The fingerprint of the key in a PEM certificate.
pub fn fingerprint_of_pem(cert_pem: &str) -> Result<Fingerprint> {
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| Error::invalid(format!("certificate PEM: {e}")))?;
    Fingerprint::of_cert(&der)
}

pub(crate) fn key_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(KEYS_DIR).join(name)
}

/// A DER certificate as PEM text.
pub fn cert_der_to_pem(der: &[u8]) -> String {
    pem_encode("CERTIFICATE", der)
}

/// Minimal PEM encoder (base64, 64-column lines).
fn pem_encode(label: &str, der: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn node_ids_are_validated() {
        assert!(NodeId::new("a7f3-node_1.x").is_ok());
        for bad in ["", "has space", "a/b", &"x".repeat(65)] {
            let err = NodeId::new(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
        }
        assert_eq!(NodeId::random().as_str().len(), 36);
    }

    #[test]
    fn fingerprint_format_and_parse() {
        let f = Fingerprint::of_spki(b"abc");
        assert_eq!(
            f.as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let upper = f
            .as_str()
            .to_ascii_uppercase()
            .replace("SHA256:", "sha256:");
        assert_eq!(Fingerprint::parse(&upper).expect("parse"), f);
        assert!(Fingerprint::parse("md5:abc").is_err());
        assert!(Fingerprint::parse("sha256:abc").is_err());
    }

    #[test]
    fn generated_identity_round_trips_through_disk_with_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = Identity::generate(NodeId::new("node-a").expect("id")).expect("generate");
        assert!(!Identity::exists(dir.path()));
        id.save(dir.path()).expect("save");
        assert!(Identity::exists(dir.path()));
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .expect(p)
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("keys"), 0o700);
        assert_eq!(mode("keys/private.pem"), 0o600);
        assert_eq!(mode("keys/public.pem"), 0o644);
        assert_eq!(mode("keys/cert.pem"), 0o644);

        let loaded = Identity::load(dir.path(), id.node_id().clone()).expect("load");
        assert_eq!(loaded.fingerprint(), id.fingerprint());
        assert_eq!(
            Fingerprint::of_cert(loaded.cert_der()).expect("fp"),
            *id.fingerprint()
        );
        // The public key file matches the certificate's key.
        let public = std::fs::read_to_string(dir.path().join("keys/public.pem")).expect("read");
        let derived = pem_encode(
            "PUBLIC KEY",
            ParsedCertificate::try_from(id.cert_der())
                .expect("parse")
                .subject_public_key_info()
                .as_ref(),
        );
        assert_eq!(public.trim(), derived.trim());
    }

    #[test]
    fn a_key_that_does_not_fit_the_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Identity::generate(NodeId::new("a").expect("id")).expect("gen");
        let b = Identity::generate(NodeId::new("b").expect("id")).expect("gen");
        a.save(dir.path()).expect("save");
        std::fs::write(dir.path().join("keys/cert.pem"), b.cert_pem()).expect("write");
        let err = Identity::load(dir.path(), NodeId::new("a").expect("id")).expect_err("mismatch");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("does not fit"), "{err}");
    }

    #[test]
    fn missing_identity_says_to_run_init() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Identity::load(dir.path(), NodeId::random()).expect_err("missing");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("qu init"), "{err}");
    }
}
