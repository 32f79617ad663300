//! Shared harness for the workspace integration tests: nodes with real
//! identities on real loopback sockets, and a deliberately unpinned raw TLS
//! client for poking servers with malformed traffic.

pub mod browser;
pub mod cdp;
pub mod cluster;
pub mod fixtures;
pub mod receiver;
pub mod target;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quptime::identity::{Identity, NodeId};
use quptime::transport::{Dialer, Limits, Peer, Ping, Pong, Router, Server};
use quptime::trust::{TrustStore, TrustedPeer, now_rfc3339};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

/// A node for transport tests: identity, trust store, a running server.
#[derive(Debug)]
pub struct TestNode {
    /// The node's identity.
    pub identity: Identity,
    /// Its trust store (in memory).
    pub trust: TrustStore,
    /// Its listener on 127.0.0.1.
    pub server: Server,
}

impl TestNode {
    /// Start a node named `name` answering `router` (plus `ping`) with `limits`.
    pub async fn start(name: &str, router: Router, limits: Limits) -> TestNode {
        let identity = Identity::generate(NodeId::new(name).expect("node id")).expect("identity");
        let trust = TrustStore::in_memory();
        let me = identity.node_id().clone();
        let router = router.route::<Ping, _, _>(move |_peer: Peer, ()| {
            let me = me.clone();
            async move {
                Ok(Pong {
                    node_id: me,
                    version: quptime::VERSION.to_string(),
                    level: quptime::state::STATE_LEVEL,
                    boot: 1,
                })
            }
        });
        let server = Server::bind(
            "127.0.0.1:0".parse().expect("addr"),
            &identity,
            Arc::new(trust.clone()),
            router,
            limits,
        )
        .await
        .expect("bind");
        TestNode {
            identity,
            trust,
            server,
        }
    }

    /// `host:port` of the listener.
    pub fn addr(&self) -> String {
        self.server.local_addr().to_string()
    }

    /// Make this node trust `other`'s identity.
    pub fn trust(&self, other: &Identity, addr: &str) {
        self.trust
            .add(TrustedPeer {
                node_id: other.node_id().clone(),
                address: addr.to_string(),
                fingerprint: other.fingerprint().clone(),
                cert_pem: other.cert_pem().to_string(),
                added_at: now_rfc3339(),
            })
            .expect("trust");
    }

    /// A dialer presenting this node's identity.
    pub fn dialer(&self) -> Dialer {
        Dialer::new(&self.identity, Limits::default())
    }
}

/// Accepts any server certificate: only for tests that talk to a server
/// with malformed traffic, where the server's identity is beside the point.
#[derive(Debug)]
struct AcceptAnyServer(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS connection to `addr` with a throw-away client certificate and no
/// server verification, for sending raw frames.
pub async fn raw_tls(addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    tls_over(tcp).await.expect("handshake")
}

/// A TCP connection to `addr` from the loopback address `source` (any
/// 127.x.y.z works on Linux), as if from another host.
pub async fn tcp_from(addr: SocketAddr, source: std::net::Ipv4Addr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

/// A TLS handshake over `tcp` with a throw-away (unknown) client key.
pub async fn tls_over(
    tcp: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::default()
        .self_signed(&key)
        .expect("cert");
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        .with_client_auth_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).expect("key der"),
        )
        .expect("client auth");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("quptime.node").expect("name"), tcp)
        .await
}

/// Read from `stream` until it closes; fails the test if that takes longer
/// than `within`. Returns how many bytes arrived before the close.
pub async fn expect_closed<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
    within: Duration,
) -> usize {
    use tokio::io::AsyncReadExt;
    let mut total = 0;
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .expect("the server should have closed the connection");
    total
}

/// Limits with short timeouts for tests of the bounds.
pub fn short_limits() -> Limits {
    Limits {
        handshake_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}
