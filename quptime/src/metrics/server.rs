//! The metrics listener: a deliberately tiny HTTP/1.1 server (GET and HEAD
//! only, one request per connection) for `/metrics`, `/healthz` and
//! `/readyz`.
//!
//! Hand-rolled rather than a web framework: three fixed routes, no bodies
//! to parse, and every bound explicit (request head size, read timeout,
//! connections at once), which is all a scraper and a load balancer need.
//! It serves plain HTTP and is meant for loopback or a private network;
//! nothing it shows is secret, but nothing stops anyone who can reach the
//! port from reading it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::error::{Error, Result};
use crate::transport::budget::{Budget, BudgetLimits};

/// Largest request head read; longer requests are refused.
const MAX_HEAD: usize = 8 * 1024;
/// Time allowed for a client to send its request and read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once, and from one address. A new connection
/// always gets in; the oldest (of its address, when that one is over its
/// share) is closed to make room, so idle sockets held by strangers
/// cannot lock a scraper out. Each has [`IO_TIMEOUT`] in all.
const BUDGET: BudgetLimits = BudgetLimits {
    total: 32,
    per_addr: 8,
};
/// The content type of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the server shows: implemented by the node.
pub trait Source: Send + Sync + 'static {
    /// The OpenMetrics text of the node, sampled now.
    fn metrics(&self) -> String;
    /// `Ok` when the node is a member of a cluster with quorum, else why not.
    fn ready(&self) -> std::result::Result<(), String>;
    /// `Ok` while the node can commit and apply (its Raft runs and its
    /// storage takes writes), else why not, in one line.
    fn health(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// A running metrics listener.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Listen on `addr` (port 0 picks a free port) and serve `source`.
    pub async fn bind(addr: SocketAddr, source: Arc<dyn Source>) -> Result<MetricsServer> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Self::bind_error(addr, e))?;
        Self::from_listener(listener.into_std()?, source)
    }

    /// Serve `source` on an already bound listener (bound early, so a
    /// taken port fails before a node starts anything).
    pub fn from_listener(
        listener: std::net::TcpListener,
        source: Arc<dyn Source>,
    ) -> Result<MetricsServer> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let local_addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, source, stop_rx));
        tracing::info!(addr = %local_addr, "metrics listener ready");
        Ok(MetricsServer {
            local_addr,
            stop,
            task,
        })
    }

    /// The error for a metrics address that cannot be bound.
    pub fn bind_error(addr: SocketAddr, e: std::io::Error) -> Error {
        Error::invalid(format!(
            "cannot listen for metrics on {addr}: {e}; pick another --metrics-addr \
             (or stop what uses that port)"
        ))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop listening and drop open connections.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    source: Arc<dyn Source>,
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
                    tracing::debug!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let mut ticket = budget.admit(addr.ip());
        let source = source.clone();
        conns.spawn(async move {
            tokio::select! {
                _ = tokio::time::timeout(IO_TIMEOUT, serve(stream, source.as_ref())) => {}
                _ = ticket.evicted() => {}
            }
        });
    }
}

/// Answer one request on `stream`.
async fn serve(mut stream: TcpStream, source: &dyn Source) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return respond(
                &mut stream,
                false,
                431,
                "text/plain",
                "request head too large\n",
            )
            .await;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(&mut stream, false, 405, "text/plain", "use GET\n").await;
    }
    match path {
        "/metrics" => {
            let body = source.metrics();
            respond(&mut stream, head_only, 200, CONTENT_TYPE, &body).await
        }
        "/healthz" => match source.health() {
            Ok(()) => respond(&mut stream, head_only, 200, "text/plain", "ok\n").await,
            Err(why) => {
                let body = format!("unhealthy: {}\n", why.replace(['\r', '\n'], " "));
                respond(&mut stream, head_only, 503, "text/plain", &body).await
            }
        },
        "/readyz" => match source.ready() {
            Ok(()) => respond(&mut stream, head_only, 200, "text/plain", "ready\n").await,
            Err(why) => {
                let body = format!("not ready: {why}\n");
                respond(&mut stream, head_only, 503, "text/plain", &body).await
            }
        },
        _ => {
            let body = "not found; try /metrics, /healthz or /readyz\n";
            respond(&mut stream, head_only, 404, "text/plain", body).await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    head_only: bool,
    code: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}
