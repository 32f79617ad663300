//! The mutual-TLS listener.
//!
//! Every stage has a bound: a cap on concurrent connections (excess ones are
//! closed at once), a handshake timeout, an idle timeout between frames, a
//! read timeout within a frame, a frame size cap, and a cap on requests in
//! flight per connection. Requests on one connection run concurrently and
//! answer in completion order, tagged with their ids. A misbehaving client
//! loses its own connection and nothing else.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, Identity};
use crate::transport::frame::{read_frame, write_frame};
use crate::transport::message::{Body, Envelope, PROTOCOL_VERSION};
use crate::transport::router::{Peer, Router};
use crate::transport::{Limits, tls};
use crate::trust::Authorizer;

/// A running listener. Dropping it without [`Server::shutdown`] also stops it.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct Shared {
    acceptor: TlsAcceptor,
    authorizer: Arc<dyn Authorizer>,
    router: Router,
    limits: Limits,
}

impl Server {
    /// Listen on `addr` and answer with `router`, authorising callers with
    /// `authorizer`. Fails with a clear message when the port is taken.
    pub async fn bind(
        addr: SocketAddr,
        identity: &Identity,
        authorizer: Arc<dyn Authorizer>,
        router: Router,
        limits: Limits,
    ) -> Result<Server> {
        let listener =
            std::net::TcpListener::bind(addr).map_err(|e| Server::bind_error(addr, e))?;
        Server::from_listener(listener, identity, authorizer, router, limits)
    }

    /// Serve on an already bound std listener (bind early, start later).
    pub fn from_listener(
        listener: std::net::TcpListener,
        identity: &Identity,
        authorizer: Arc<dyn Authorizer>,
        router: Router,
        limits: Limits,
    ) -> Result<Server> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            acceptor: TlsAcceptor::from(tls::server_config(identity)?),
            authorizer,
            router,
            limits,
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared, stop_rx));
        Ok(Server {
            local_addr,
            stop,
            task: Some(task),
        })
    }

    /// The error for a failed bind of `addr`, saying what to do.
    pub fn bind_error(addr: SocketAddr, e: std::io::Error) -> Error {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the port is already in use (another qu serve, or another program?): stop that program, or pick another port (bind_port in node.yaml, QUPTIME_BIND_PORT)".to_string(),
            std::io::ErrorKind::PermissionDenied => "ports below 1024 need root or CAP_NET_BIND_SERVICE: pick a port above 1023".to_string(),
            std::io::ErrorKind::AddrNotAvailable => "that address belongs to no interface of this host: fix bind_addr in node.yaml (QUPTIME_BIND_ADDR)".to_string(),
            _ => e.to_string(),
        };
        Error::new(
            ErrorKind::Transport,
            format!("cannot listen on {addr}: {why}"),
        )
        .with_source(e)
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting, close every connection, and wait until done.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            a = listener.accept() => a,
        };
        let (tcp, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            warn!(%addr, max = shared.limits.max_connections, "connection cap reached; closing new connection");
            drop(tcp);
            continue;
        };
        let shared = shared.clone();
        let stop = stop.clone();
        conns.spawn(async move {
            if let Err(e) = serve_connection(tcp, addr, &shared, stop).await {
                debug!(%addr, error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    conns.shutdown().await;
}

async fn serve_connection(
    tcp: TcpStream,
    addr: SocketAddr,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let _ = tcp.set_nodelay(true);
    let limits = &shared.limits;
    let tls = tokio::time::timeout(limits.handshake_timeout, shared.acceptor.accept(tcp))
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, "TLS handshake timed out"))?
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS handshake: {e}")))?;
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .cloned()
        .ok_or_else(|| Error::new(ErrorKind::Tls, "client presented no certificate"))?;
    let peer = Peer {
        fingerprint: Fingerprint::of_cert(&cert)?,
        node_id: None,
        addr,
        cert_der: Arc::new(cert.to_vec()),
    };
    let (mut reader, mut writer) = tokio::io::split(tls);

    // One writer task: responses leave in completion order.
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(limits.max_in_flight);
    let max_frame = limits.max_frame;
    let writer_task = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if write_frame(&mut writer, &frame, max_frame).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });

    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut requests = JoinSet::new();
    let result = loop {
        let frame = tokio::select! {
            _ = stop.changed() => break Ok(()),
            f = read_frame(&mut reader, limits.max_frame, limits.idle_timeout, limits.read_timeout) => f,
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => {
                // The client is done sending: let its last requests finish.
                while requests.join_next().await.is_some() {}
                break Ok(());
            }
            Err(e) => break Err(e),
        };
        let envelope: Envelope = match serde_json::from_slice(&frame) {
            Ok(e) => e,
            Err(e) => {
                break Err(Error::new(
                    ErrorKind::Protocol,
                    format!("undecodable frame: {e}"),
                ));
            }
        };
        let Body::Request { method, params } = envelope.body else {
            break Err(Error::new(
                ErrorKind::Protocol,
                "client sent a response frame",
            ));
        };
        let id = envelope.id;
        // Back-pressure: at most max_in_flight requests run per connection.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break Ok(());
        };
        let shared = shared.clone();
        let peer = peer.clone();
        let tx = tx.clone();
        requests.spawn(async move {
            let outcome = if envelope.v > PROTOCOL_VERSION {
                Err(Error::new(
                    ErrorKind::Incompatible,
                    format!(
                        "peer speaks protocol v{} but this node speaks v{PROTOCOL_VERSION}: \
                         upgrade this node",
                        envelope.v
                    ),
                ))
            } else {
                shared
                    .router
                    .dispatch(shared.authorizer.as_ref(), peer, &method, params)
                    .await
            };
            let body = Body::response(outcome);
            let reply = Envelope {
                v: PROTOCOL_VERSION,
                id,
                body,
            };
            if let Ok(bytes) = serde_json::to_vec(&reply) {
                let _ = tx.send(bytes).await;
            }
            drop(permit);
        });
        // Reap finished requests so the set does not grow.
        while requests.try_join_next().is_some() {}
    };
    requests.shutdown().await;
    drop(tx);
    let _ = writer_task.await;
    result
}
