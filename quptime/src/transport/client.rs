//! The dialling side: connect to a node, pin its key, and make concurrent
//! calls over one connection.
//!
//! A [`Connection`] is a cheap-clone handle. Each call gets a fresh id and
//! waits for its own response with a timeout, so a slow call never blocks a
//! fast one. When the connection breaks every pending call fails at once
//! with a transport error, and later calls fail fast; callers reconnect.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsConnector;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, Identity};
use crate::transport::frame::{read_frame, write_frame};
use crate::transport::message::{Body, Envelope, PROTOCOL_VERSION, Rpc};
use crate::transport::{Limits, tls};
use crate::trust::PinnedServerVerifier;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<serde_json::Value>>>>>;

/// Opens connections to other nodes with this node's identity.
#[derive(Debug, Clone)]
pub struct Dialer {
    identity: Identity,
    limits: Limits,
}

impl Dialer {
    /// A dialer presenting `identity`.
    pub fn new(identity: &Identity, limits: Limits) -> Dialer {
        Dialer {
            identity: identity.clone(),
            limits,
        }
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
        let (mut reader, mut writer) = tokio::io::split(stream);

        let pending: Pending = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
        let max_frame = limits.max_frame;
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write_frame(&mut writer, &frame, max_frame).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let reader_task = {
            let pending = pending.clone();
            let closed = closed.clone();
            let limits = limits.clone();
            let addr = addr.to_string();
            tokio::spawn(async move {
                let reason = loop {
                    // Idle waits are bounded by the calls' own timeouts; the
                    // server closes idle connections itself.
                    let frame = read_frame(
                        &mut reader,
                        limits.max_frame,
                        std::time::Duration::from_secs(365 * 24 * 3600),
                        limits.read_timeout,
                    )
                    .await;
                    let bytes = match frame {
                        Ok(Some(b)) => b,
                        Ok(None) => break format!("{addr} closed the connection"),
                        Err(e) => break format!("connection to {addr} broke: {e}"),
                    };
                    let Ok(Envelope {
                        id,
                        body: Body::Response { result, error },
                        ..
                    }) = serde_json::from_slice::<Envelope>(&bytes)
                    else {
                        break format!("{addr} sent an undecodable frame");
                    };
                    let outcome = match (result, error) {
                        (_, Some(e)) => Err(Error::from(e)),
                        (Some(v), None) => Ok(v),
                        (None, None) => Ok(serde_json::Value::Null),
                    };
                    let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id));
                    if let Some(w) = waiter {
                        let _ = w.send(outcome);
                    }
                };
                closed.store(true, Ordering::SeqCst);
                let waiters: Vec<_> = pending
                    .lock()
                    .map(|mut p| p.drain().collect())
                    .unwrap_or_default();
                for (_, w) in waiters {
                    let _ = w.send(Err(Error::new(ErrorKind::Transport, reason.clone())));
                }
            })
        };
        Ok(Connection {
            inner: Arc::new(Inner {
                addr: addr.to_string(),
                tx,
                pending,
                closed,
                next_id: AtomicU64::new(1),
                fingerprint,
                cert: cert.into_owned(),
                limits: limits.clone(),
                reader_task,
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
    tx: mpsc::Sender<Vec<u8>>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    next_id: AtomicU64,
    fingerprint: Fingerprint,
    cert: CertificateDer<'static>,
    limits: Limits,
    reader_task: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.reader_task.abort();
    }
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
        let inner = &self.inner;
        if self.is_closed() {
            return Err(Error::new(
                ErrorKind::Transport,
                format!("connection to {} is closed", inner.addr),
            ));
        }
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let params = serde_json::to_value(request)
            .map_err(|e| Error::internal(format!("encode {} request: {e}", R::METHOD)))?;
        let frame = serde_json::to_vec(&Envelope {
            v: PROTOCOL_VERSION,
            id,
            body: Body::Request {
                method: R::METHOD.to_string(),
                params,
            },
        })
        .map_err(|e| Error::internal(format!("encode {} request: {e}", R::METHOD)))?;
        if frame.len() > inner.limits.max_frame {
            return Err(Error::invalid(format!(
                "{} request of {} bytes exceeds the frame cap of {} bytes",
                R::METHOD,
                frame.len(),
                inner.limits.max_frame
            )));
        }
        let (done_tx, done_rx) = oneshot::channel();
        if let Ok(mut p) = inner.pending.lock() {
            p.insert(id, done_tx);
        }
        let forget = || {
            if let Ok(mut p) = inner.pending.lock() {
                p.remove(&id);
            }
        };
        if inner.tx.send(frame).await.is_err() {
            forget();
            return Err(Error::new(
                ErrorKind::Transport,
                format!("connection to {} is closed", inner.addr),
            ));
        }
        let value = match tokio::time::timeout(timeout, done_rx).await {
            Ok(Ok(outcome)) => outcome?,
            Ok(Err(_)) => {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!("connection to {} closed during {}", inner.addr, R::METHOD),
                ));
            }
            Err(_) => {
                forget();
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{} to {}: no answer within {}",
                        R::METHOD,
                        inner.addr,
                        humantime::format_duration(timeout)
                    ),
                ));
            }
        };
        serde_json::from_value(value).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("{} sent a bad {} response: {e}", inner.addr, R::METHOD),
            )
        })
    }

    /// Whether the connection is known to be broken.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst) || self.inner.tx.is_closed()
    }

    /// The fingerprint of the key the remote node proved.
    pub fn peer_fingerprint(&self) -> &Fingerprint {
        &self.inner.fingerprint
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
