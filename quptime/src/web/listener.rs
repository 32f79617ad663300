//! The bounded HTTP/1.1 listener under every HTTP route of a node: hyper
//! serves the protocol, axum routes, and this file keeps the bounds the
//! hand-written metrics listener had (request head size, time per
//! connection, a connection budget), so a stranger who can reach the port
//! can neither hold it nor make the node buffer much.
//!
//! With TLS ([`super::tls`]) the same bounds hold: the handshake is part
//! of the connection's time, and a client that speaks plain HTTP to the
//! TLS port gets no answer, only a closed connection.
//!
//! One request per connection (no keep-alive): scrapers, health checks and
//! a page that reloads itself open a connection each time anyway, and the
//! time bound then covers the whole exchange.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::error::Result;
use crate::transport::budget::{Budget, BudgetLimits};

/// Largest request head read (hyper's smallest read buffer); longer heads
/// are answered with 431.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// Most header lines in a request.
const MAX_HEADERS: usize = 64;
/// Time allowed for a client to send its request and read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// After answering, what is still unread is read and dropped (at most this
/// much, for at most [`LINGER_FOR`]) before the socket closes: closing on
/// unread bytes makes the kernel send a reset, which can destroy the answer
/// (a 431, say) before the client reads it.
const LINGER_BYTES: usize = 64 * 1024;
const LINGER_FOR: Duration = Duration::from_secs(1);
/// Connections served at once, and from one address. A new connection
/// always gets in; the oldest (of its address, when that one is over its
/// share) is closed to make room, so idle sockets held by strangers
/// cannot lock a scraper out. Each has [`IO_TIMEOUT`] in all.
const BUDGET: BudgetLimits = BudgetLimits {
    total: 32,
    per_addr: 8,
};

/// A running listener.
#[derive(Debug)]
pub(crate) struct Served {
    local_addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Served {
    /// Serve `router` on an already bound listener (bound early, so a taken
    /// port fails before a node starts anything); `what` names it in logs.
    pub(crate) fn start(
        listener: std::net::TcpListener,
        router: Router,
        what: &'static str,
    ) -> Result<Served> {
        Served::start_with(listener, router, what, None)
    }

    /// [`Served::start`], speaking TLS with `tls` when given.
    pub(crate) fn start_with(
        listener: std::net::TcpListener,
        router: Router,
        what: &'static str,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    ) -> Result<Served> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let local_addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let is_tls = tls.is_some();
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = tokio::spawn(accept_loop(listener, router, tls, stop_rx));
        tracing::info!(addr = %local_addr, tls = is_tls, "{what} listener ready");
        Ok(Served {
            local_addr,
            tls: is_tls,
            stop,
            task,
        })
    }

    /// Bind `addr` (port 0 picks a free port) and serve `router`; a failed
    /// bind is reported by `bind_error`, which names the listener's flag.
    pub(crate) async fn bind(
        addr: SocketAddr,
        router: Router,
        what: &'static str,
        bind_error: fn(SocketAddr, std::io::Error) -> crate::error::Error,
    ) -> Result<Served> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| bind_error(addr, e))?;
        Served::start(listener.into_std()?, router, what)
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether it speaks TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stop listening and drop open connections.
    pub(crate) async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let budget = Budget::new(BUDGET);
    let mut conns = JoinSet::new();
    loop {
        let (stream, addr) = tokio::select! {
            _ = stop.changed() => return,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let mut ticket = budget.admit(addr.ip());
        let router = router.clone();
        let tls = tls.clone();
        conns.spawn(async move {
            let streaming = Arc::new(AtomicBool::new(false));
            let flag = streaming.clone();
            let exchange = async move {
                match tls {
                    None => connection(stream, router, false, flag).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => connection(s, router, true, flag).await,
                        Err(e) => tracing::debug!(error = %e, "https handshake failed"),
                    },
                }
            };
            tokio::select! {
                _ = bounded(exchange, &streaming) => {}
                _ = ticket.evicted() => {}
            }
        });
    }
}

/// Run `exchange` for [`IO_TIMEOUT`], or, when its answer is a stream
/// (`streaming` set), for as long as a stream may last.
async fn bounded(exchange: impl std::future::Future<Output = ()>, streaming: &AtomicBool) {
    tokio::pin!(exchange);
    if tokio::time::timeout(IO_TIMEOUT, &mut exchange)
        .await
        .is_ok()
    {
        return;
    }
    if streaming.load(Ordering::Relaxed) {
        let _ = tokio::time::timeout(STREAM_BOUND, exchange).await;
    }
}

/// Marks an answer whose body is a long stream (`/events`): its
/// connection is bounded by [`STREAM_BOUND`] instead of [`IO_TIMEOUT`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Streaming;

/// The longest a streaming answer's connection lives (the stream ends
/// itself before).
const STREAM_BOUND: Duration = Duration::from_secs(super::events::STREAM_FOR.as_secs() + 30);

/// One exchange on `stream`, then a bounded linger.
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    router: Router,
    tls: bool,
    streaming: Arc<AtomicBool>,
) {
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(OverTls(tls));
        let streaming = streaming.clone();
        let router = router.clone();
        async move {
            let r = handle(router, req).await;
            if let Ok(resp) = &r
                && resp.extensions().get::<Streaming>().is_some()
            {
                streaming.store(true, Ordering::Relaxed);
            }
            r
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .serve_connection(hyper_util::rt::TokioIo::new(&mut stream), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "http connection ended with an error");
    }
    let _ = stream.shutdown().await;
    let mut buf = [0u8; 4096];
    let mut left = LINGER_BYTES;
    let drain = async {
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_FOR, drain).await;
}

/// Whether the request came over TLS: a request extension every handler
/// can read (`Extension<OverTls>`), so a session cookie can be `Secure`
/// exactly when the listener speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTls(pub bool);

/// Refuse what no route takes (see [`super::limits`]), route the rest,
/// and mark every answer as not to be cached (it is sampled now).
async fn handle(
    router: Router,
    req: Request<Incoming>,
) -> std::result::Result<Response<Body>, Infallible> {
    let mut response = match super::limits::refuse_at(req.uri().path(), req.method(), req.headers())
    {
        Some((code, why)) => super::text(code, "text/plain", why.to_string()),
        None => router.oneshot(req).await?,
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
