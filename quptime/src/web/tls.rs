//! TLS for the node's HTTP listeners (`qu serve --http-tls-cert FILE
//! --http-tls-key FILE`, [`crate::cluster::NodeOptions::http_tls`]): the
//! operator's certificate chain and key, both PEM, loaded and checked
//! before the node starts anything, so a wrong file is a clear error at
//! start-up and never a listener that fails every handshake.
//!
//! rustls with the ring provider the transport already uses, TLS 1.2 and
//! 1.3 (browsers and scrapers), ALPN `http/1.1` (the listener speaks
//! HTTP/1.1 only). The handshake runs inside the listener's time bound
//! per connection, so a client that stalls it is dropped like any other.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// Largest certificate or key file read (a chain of a few certificates is
/// a few KiB).
const MAX_FILE: u64 = 1024 * 1024;

/// The certificate chain and key files of the HTTP listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTls {
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of that certificate.
    pub key: PathBuf,
}

impl HttpTls {
    /// Both files or neither: `--http-tls-cert` without `--http-tls-key`
    /// (or the other way round) is an error naming the missing flag.
    pub fn from_flags(cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<HttpTls>> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(HttpTls { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(Error::invalid_field(
                "http_tls_key",
                "--http-tls-cert needs --http-tls-key: give the certificate's private key too \
                 (or neither, for plain HTTP)",
            )),
            (None, Some(_)) => Err(Error::invalid_field(
                "http_tls_cert",
                "--http-tls-key needs --http-tls-cert: give the certificate chain too (or \
                 neither, for plain HTTP)",
            )),
        }
    }

    /// The server configuration of these files, checked: both readable
    /// PEM, at least one certificate, and a key that matches it.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>> {
        let cert_pem = read("http_tls_cert", &self.cert)?;
        let key_pem = read("http_tls_key", &self.key)?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                bad(
                    "http_tls_cert",
                    &self.cert,
                    &format!("not PEM certificates: {e}"),
                )
            })?;
        if chain.is_empty() {
            return Err(bad(
                "http_tls_cert",
                &self.cert,
                "holds no `BEGIN CERTIFICATE` block",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            bad(
                "http_tls_key",
                &self.key,
                &format!("not a PEM private key: {e}"),
            )
        })?;
        let mut config = ServerConfig::builder_with_provider(crate::transport::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::internal(format!("HTTP TLS versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                bad(
                    "http_tls_key",
                    &self.key,
                    &format!(
                        "does not go with the certificate in {}: {e}",
                        self.cert.display()
                    ),
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn bad(field: &str, path: &Path, what: &str) -> Error {
    Error::invalid_field(
        field,
        format!(
            "{} {what}; give a PEM file (`--{}`)",
            path.display(),
            field.replace('_', "-")
        ),
    )
}

fn read(field: &str, path: &Path) -> Result<Vec<u8>> {
    let too_big = std::fs::metadata(path).map(|m| m.len() > MAX_FILE);
    match too_big {
        Ok(true) => return Err(bad(field, path, "is larger than 1 MiB")),
        Ok(false) => {}
        Err(e) => return Err(bad(field, path, &format!("cannot be read: {e}"))),
    }
    std::fs::read(path).map_err(|e| bad(field, path, &format!("cannot be read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_or_neither() {
        assert_eq!(HttpTls::from_flags(None, None).expect("plain"), None);
        let e = HttpTls::from_flags(Some("c.pem".into()), None).unwrap_err();
        assert_eq!(e.field(), Some("http_tls_key"));
        assert!(e.message().contains("--http-tls-key"), "{}", e.message());
        let e = HttpTls::from_flags(None, Some("k.pem".into())).unwrap_err();
        assert_eq!(e.field(), Some("http_tls_cert"));
    }

    #[test]
    fn unreadable_junk_and_mismatched_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert a");
        let b = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert b");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            p
        };
        let cert = write("a.crt", &a.cert.pem());
        let key = write("a.key", &a.signing_key.serialize_pem());
        let other_key = write("b.key", &b.signing_key.serialize_pem());
        let junk = write("junk", "hello");
        let tls = |c: &PathBuf, k: &PathBuf| HttpTls {
            cert: c.clone(),
            key: k.clone(),
        };
        tls(&cert, &key).server_config().expect("a matching pair");

        let missing = dir.path().join("missing.pem");
        let e = tls(&missing, &key).server_config().unwrap_err();
        assert_eq!(e.field(), Some("http_tls_cert"));
        assert!(e.message().contains("cannot be read"), "{}", e.message());
        let e = tls(&junk, &key).server_config().unwrap_err();
        assert!(
            e.message().contains("no `BEGIN CERTIFICATE`"),
            "{}",
            e.message()
        );
        let e = tls(&cert, &junk).server_config().unwrap_err();
        assert_eq!(e.field(), Some("http_tls_key"));
        let e = tls(&cert, &other_key).server_config().unwrap_err();
        assert_eq!(e.field(), Some("http_tls_key"));
        assert!(e.message().contains("does not go with"), "{}", e.message());
    }
}
