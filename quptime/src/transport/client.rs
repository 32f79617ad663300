//! The dialling side: connect to a node, pin its key, and make concurrent
//! calls over one connection.
//!
//! A [`Connection`] is a cheap-clone handle. Each call gets a fresh id and
//! waits for its own response with a timeout, so a slow call never blocks a
//! fast one. When the connection breaks every pending call fails at once
//! with a transport error, and later calls fail fast; callers reconnect.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Fingerprint;
use crate::keyring::LiveIdentity;
use crate::transport::message::{Body, Envelope, PROTOCOL_VERSION, Rpc};
use crate::transport::mux::{Inbound, Mux, MuxOptions};
use crate::transport::{Limits, tls};
use crate::trust::PinnedServerVerifier;

/// Opens connections to other nodes with this node's identity.
#[derive(Debug, Clone)]
pub struct Dialer {
    identity: LiveIdentity,
    limits: Limits,
}

impl Dialer {
    /// A dialer presenting `identity` (an `&Identity`, or the node's
    /// `LiveIdentity`, whose key a rotation swaps).
    pub fn new(identity: impl Into<LiveIdentity>, limits: Limits) -> Dialer {
        Dialer {
            identity: identity.into(),
            limits,
        }
    }

    /// The fingerprint of the key new connections present.
    pub fn fingerprint(&self) -> Fingerprint {
        self.identity.fingerprint()
    }

    /// Connect to `addr` (`host:port`). With `expected = Some(fp)` the node
    /// must prove the key `fp`; with `None` any key is accepted and reported
    /// by [`Connection::peer_fingerprint`] (trust on first use: show it to a
    /// person before trusting it).
    pub async fn connect(&self, addr: &str, expected: Option<&Fingerprint>) -> Result<Connection> {
        let limits = &self.limits;
        let tcp = tokio::time::timeout(limits.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "connect to {addr}: no answer within {}",
                        humantime::format_duration(limits.connect_timeout)
                    ),
                )
            })?
            .map_err(|e| {
                Error::new(ErrorKind::Transport, format!("connect to {addr}: {e}")).with_source(e)
            })?;
        let _ = tcp.set_nodelay(true);
        let verifier = Arc::new(PinnedServerVerifier::new(
            expected.cloned(),
            tls::provider(),
        ));
        let local = self.identity.fingerprint();
        let connector = TlsConnector::from(tls::client_config(&self.identity, verifier.clone())?);
        let name = ServerName::try_from(tls::SERVER_NAME)
            .map_err(|e| Error::internal(format!("server name: {e}")))?;
        let handshake =
            tokio::time::timeout(limits.handshake_timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        format!("TLS handshake with {addr} timed out"),
                    )
                })?;
        let stream = handshake.map_err(|e| match (verifier.expected(), verifier.presented()) {
            (Some(want), Some(got)) if *want != got => Error::new(
                ErrorKind::NotTrusted,
                format!(
                    "node at {addr} presented key {got}, but {want} is pinned for it: \
                     its identity changed (re-initialised?) or something else answers there; \
                     if the change is expected, remove and re-add the node"
                ),
            ),
            _ => {
                Error::new(ErrorKind::Tls, format!("TLS handshake with {addr}: {e}")).with_source(e)
            }
        })?;
        let cert = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .cloned()
            .ok_or_else(|| {
                Error::new(ErrorKind::Tls, format!("{addr} presented no certificate"))
            })?;
        let fingerprint = Fingerprint::of_cert(&cert)?;
        let (reader, writer) = tokio::io::split(stream);
        let opts = MuxOptions {
            label: addr.to_string(),
            eof_hint: "",
            broken_kind: Some(ErrorKind::Transport),
            max_frame: limits.max_frame,
            read_timeout: limits.read_timeout,
            queue: 64,
        };
        let label = addr.to_string();
        let mux = Mux::start(reader, writer, opts, move |bytes| {
            let Ok(Envelope {
                id,
                body: Body::Response { result, error },
                ..
            }) = serde_json::from_slice::<Envelope>(bytes)
            else {
                return Inbound::Fatal(Error::new(
                    ErrorKind::Transport,
                    format!("{label} sent an undecodable frame"),
                ));
            };
            Inbound::Answer(
                id,
                match (result, error) {
                    (_, Some(e)) => Err(Error::from(e)),
                    (Some(v), None) => Ok(v),
                    (None, None) => Ok(serde_json::Value::Null),
                },
            )
        });
        Ok(Connection {
            inner: Arc::new(Inner {
                addr: addr.to_string(),
                mux,
                fingerprint,
                local,
                cert: cert.into_owned(),
                limits: limits.clone(),
            }),
        })
    }
}

/// An open connection to one node. Clone it to share; the connection closes
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    addr: String,
    mux: Mux,
    fingerprint: Fingerprint,
    /// The fingerprint of the key this side presented.
    local: Fingerprint,
    cert: CertificateDer<'static>,
    limits: Limits,
}

impl Connection {
    /// Call method `R` and wait for its result (bounded by the call timeout).
    pub async fn call<R: Rpc>(&self, request: &R::Request) -> Result<R::Response> {
        self.call_with_timeout::<R>(request, self.inner.limits.call_timeout)
            .await
    }

    /// Like [`Connection::call`] with an explicit timeout.
    pub async fn call_with_timeout<R: Rpc>(
        &self,
        request: &R::Request,
        timeout: std::time::Duration,
    ) -> Result<R::Response> {
        let params = serde_json::to_value(request)
            .map_err(|e| Error::internal(format!("encode {} request: {e}", R::METHOD)))?;
        let encode = |id| {
            serde_json::to_vec(&Envelope {
                v: PROTOCOL_VERSION,
                id,
                body: Body::Request {
                    method: R::METHOD.to_string(),
                    params,
                },
            })
            .map_err(|e| Error::internal(format!("encode {} request: {e}", R::METHOD)))
        };
        let value = self.inner.mux.call(R::METHOD, encode, timeout).await?;
        serde_json::from_value(value).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("{} sent a bad {} response: {e}", self.inner.addr, R::METHOD),
            )
        })
    }

    /// Whether the connection is known to be broken.
    pub fn is_closed(&self) -> bool {
        self.inner.mux.is_closed()
    }

    /// The fingerprint of the key the remote node proved.
    pub fn peer_fingerprint(&self) -> &Fingerprint {
        &self.inner.fingerprint
    }

    /// The fingerprint of the key this side presented (a connection made
    /// before a key rotation still presents the old key).
    pub fn local_fingerprint(&self) -> &Fingerprint {
        &self.inner.local
    }

    /// The remote node's certificate (DER).
    pub fn peer_cert(&self) -> &CertificateDer<'static> {
        &self.inner.cert
    }

    /// The address dialled.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }
}
