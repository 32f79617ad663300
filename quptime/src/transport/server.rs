//! The mutual-TLS listener.
//!
//! Every stage has a bound: connections whose key is not a member's share a
//! small budget (in all and per address, the oldest evicted to make room,
//! see [`budget`](super::budget)) and must finish the handshake and send a
//! first request within a short deadline; members' connections have their
//! own cap; then an idle timeout between frames, a read timeout within a
//! frame, a frame size cap, and a cap on requests in flight per connection.
//! Requests on one connection run concurrently and answer in completion
//! order, tagged with their ids. A misbehaving client loses its own
//! connection and nothing else, and what it is refused is logged at most
//! once per address and interval ([`refusals`](super::refusals)).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Fingerprint;
use crate::keyring::LiveIdentity;
use crate::transport::budget::{self, Budget, BudgetLimits, Ticket};
use crate::transport::frame::{read_frame, write_frame};
use crate::transport::message::{Body, Envelope, PROTOCOL_VERSION};
use crate::transport::refusals::RefusalLog;
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
    /// Connections not (yet) known to be members'.
    unpinned: Arc<Budget>,
    /// Members' connections.
    pinned: Arc<Semaphore>,
    refusals: RefusalLog<IpAddr>,
}

impl Server {
    /// Listen on `addr` and answer with `router`, authorising callers with
    /// `authorizer`. Fails with a clear message when the port is taken.
    pub async fn bind(
        addr: SocketAddr,
        identity: impl Into<LiveIdentity>,
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
        identity: impl Into<LiveIdentity>,
        authorizer: Arc<dyn Authorizer>,
        router: Router,
        limits: Limits,
    ) -> Result<Server> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            acceptor: TlsAcceptor::from(tls::server_config(&identity.into())?),
            authorizer,
            router,
            unpinned: Budget::new(BudgetLimits {
                total: limits.max_unpinned,
                per_addr: limits.max_unpinned_per_addr,
            }),
            pinned: Arc::new(Semaphore::new(limits.max_connections)),
            refusals: RefusalLog::new("peer", limits.refusal_log_interval),
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
    let mut conns = JoinSet::new();
    let mut flush = tokio::time::interval(shared.limits.refusal_log_interval);
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            _ = flush.tick() => {
                shared.refusals.flush();
                continue;
            }
            a = listener.accept() => a,
        };
        let (tcp, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                debug!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // Every newcomer gets a slot; the oldest unpinned one may go.
        let ticket = shared.unpinned.admit(addr.ip());
        let shared = shared.clone();
        let stop = stop.clone();
        conns.spawn(async move {
            if let Err(e) = serve_connection(tcp, addr, &shared, stop, ticket).await {
                if refused(&e) {
                    shared.refusals.note(addr.ip(), &e);
                } else {
                    debug!(%addr, error = %e, "connection closed");
                }
            }
        });
    }
    conns.shutdown().await;
}

/// Errors worth telling the operator about (rate-limited): the peer sent
/// something wrong or was turned away, as opposed to a connection that
/// merely ended (closed, idle, shut down).
fn refused(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Protocol | ErrorKind::Tls | ErrorKind::NotTrusted | ErrorKind::Incompatible => {
            true
        }
        ErrorKind::Timeout | ErrorKind::Transport => {
            let m = e.message();
            m.starts_with(UNPINNED) || m.starts_with(MEMBERS_CAP) || m.starts_with("peer did not")
        }
        _ => false,
    }
}

/// How the messages of budget refusals start.
const UNPINNED: &str = "unpinned connection";
const MEMBERS_CAP: &str = "members' connection cap";

fn busy(message: String) -> Error {
    Error::new(ErrorKind::Transport, message)
}

async fn serve_connection(
    tcp: TcpStream,
    addr: SocketAddr,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    ticket: Ticket,
) -> Result<()> {
    let _ = tcp.set_nodelay(true);
    let limits = &shared.limits;
    // Handshake plus first request, for a connection not known to be a
    // member's; a member's own handshake is also bounded by it.
    let deadline = tokio::time::Instant::now() + limits.unpinned_deadline;
    let mut ticket = Some(ticket);
    let handshake = tokio::time::timeout(
        limits.handshake_timeout.min(limits.unpinned_deadline),
        shared.acceptor.accept(tcp),
    );
    let tls = tokio::select! {
        r = handshake => r,
        _ = budget::evicted(&mut ticket) => return Err(evicted_error(limits)),
    };
    let tls = tls
        .map_err(|_| {
            Error::new(
                ErrorKind::Timeout,
                "unpinned connection did not finish the TLS handshake in time",
            )
        })?
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
    let mut pinned = None;
    promote(shared, &peer, &mut ticket, &mut pinned)?;
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
    let mut first = true;
    let result = loop {
        let waiting_first = first && ticket.is_some();
        let frame = tokio::select! {
            _ = stop.changed() => break Ok(()),
            _ = budget::evicted(&mut ticket) => break Err(evicted_error(limits)),
            _ = tokio::time::sleep_until(deadline), if waiting_first => {
                break Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "unpinned connection sent no request within {} of connecting",
                        humantime::format_duration(limits.unpinned_deadline)
                    ),
                ));
            }
            f = read_frame(&mut reader, limits.max_frame, limits.idle_timeout, limits.read_timeout) => f,
        };
        first = false;
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => {
                // The client is done sending: let its last requests finish.
                while requests.join_next().await.is_some() {}
                break Ok(());
            }
            Err(e) => break Err(e),
        };
        // A key trusted since the handshake (a join just completed) moves
        // to the members' cap.
        if ticket.is_some()
            && let Err(e) = promote(shared, &peer, &mut ticket, &mut pinned)
        {
            break Err(e);
        }
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
                    .dispatch(shared.authorizer.as_ref(), peer.clone(), &method, params)
                    .await
            };
            if let Err(e) = &outcome
                && matches!(e.kind(), ErrorKind::NotTrusted | ErrorKind::Incompatible)
            {
                shared
                    .refusals
                    .note(peer.addr.ip(), format_args!("{method}: {e}"));
            }
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
    drop(pinned);
    result
}

/// If `peer`'s key is a member's, move the connection from the unpinned
/// budget to the members' cap (refused when that is full).
fn promote(
    shared: &Shared,
    peer: &Peer,
    ticket: &mut Option<Ticket>,
    pinned: &mut Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<()> {
    if shared.authorizer.node_for(&peer.fingerprint).is_none() {
        return Ok(());
    }
    let permit = shared.pinned.clone().try_acquire_owned().map_err(|_| {
        busy(format!(
            "members' connection cap of {} reached; closing a member's new connection",
            shared.limits.max_connections
        ))
    })?;
    *pinned = Some(permit);
    *ticket = None;
    Ok(())
}

fn evicted_error(limits: &Limits) -> Error {
    busy(format!(
        "unpinned connection closed to make room for a newer one (at most {} such \
         connections, {} per address)",
        limits.max_unpinned, limits.max_unpinned_per_addr
    ))
}
