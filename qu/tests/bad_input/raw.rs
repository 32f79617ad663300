//! Raw connections for the bad-input suite: TCP from a chosen loopback
//! source, TLS with a throw-away (unknown) key, frames written by hand.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use quptime::trust::PinnedServerVerifier;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TLS stream to a node, client side.
pub type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// A TCP connection to `addr` from `source` (any 127.x.y.z works on Linux).
pub async fn tcp_from(addr: SocketAddr, source: Ipv4Addr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

/// A TLS handshake over `tcp` with a fresh self-signed key the node does
/// not trust (it accepts any key at the TLS level, then refuses by key).
pub async fn tls_over(tcp: TcpStream) -> std::io::Result<Tls> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::default()
        .self_signed(&key)
        .expect("cert");
    let key = PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
    tls_with(tcp, cert.der().clone(), key).await
}

/// A TLS handshake over `tcp` presenting the key of the node whose data
/// dir is `data` (a member, as far as the other nodes know).
pub async fn tls_as(tcp: TcpStream, data: &std::path::Path) -> std::io::Result<Tls> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let read = |f: &str| std::fs::read(data.join("keys").join(f)).expect("key file");
    let cert = CertificateDer::from_pem_slice(&read("cert.pem")).expect("cert pem");
    let key = PrivateKeyDer::from_pem_slice(&read("private.pem")).expect("key pem");
    tls_with(tcp, cert, key).await
}

async fn tls_with(
    tcp: TcpStream,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> std::io::Result<Tls> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedServerVerifier::new(None, provider.clone()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![cert], key)
        .expect("client auth");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("quptime.node").expect("name"), tcp)
        .await
}

/// TLS with an unknown key to `addr` from 127.0.0.1.
pub async fn stranger(addr: SocketAddr) -> Tls {
    let tcp = TcpStream::connect(addr).await.expect("tcp");
    tls_over(tcp).await.expect("handshake")
}

/// A length-prefixed frame.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A request envelope as the transport and the control socket expect.
pub fn request(id: u64, method: &str, params: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1, "id": id, "t": "request", "method": method, "params": params
    }))
    .expect("json")
}

/// Read one frame (`None` when the peer closed first).
pub async fn read_one<S: AsyncRead + Unpin>(s: &mut S, within: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(within, async {
        let mut header = [0u8; 4];
        s.read_exact(&mut header).await.ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
        s.read_exact(&mut body).await.ok()?;
        Some(body)
    })
    .await
    .expect("the node answered or closed in time")
}

/// Write `bytes`, ignoring a peer that already hung up.
pub async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) {
    let _ = s.write_all(bytes).await;
    let _ = s.flush().await;
}

/// Wait until the node closes `s`, reading (and counting) what it sends.
pub async fn closed<S: AsyncRead + Unpin>(s: &mut S, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the node should have closed the connection");
    got
}

/// The error message of a reply frame (`error.message`), if any.
pub fn error_of(reply: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(reply).ok()?;
    v["error"]["message"].as_str().map(str::to_string)
}
