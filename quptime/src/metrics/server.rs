//! The metrics listener: `/metrics`, `/healthz` and `/readyz` on the
//! node's web stack ([`crate::web`]), GET and HEAD only, one request per
//! connection, with the stack's bounds (request head size, time per
//! connection, connections at once), which is all a scraper and a load
//! balancer need. It serves plain HTTP and is meant for loopback or a
//! private network; nothing it shows is secret, but nothing stops anyone
//! who can reach the port from reading it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::error::{Error, Result};
use crate::web::{Served, text};

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
    served: Served,
}

impl MetricsServer {
    /// Listen on `addr` (port 0 picks a free port) and serve `source`.
    pub async fn bind(addr: SocketAddr, source: Arc<dyn Source>) -> Result<MetricsServer> {
        let served = Served::bind(addr, routes(source), "metrics", Self::bind_error).await?;
        Ok(MetricsServer { served })
    }

    /// Serve `source` on an already bound listener (bound early, so a
    /// taken port fails before a node starts anything).
    pub fn from_listener(
        listener: std::net::TcpListener,
        source: Arc<dyn Source>,
    ) -> Result<MetricsServer> {
        let served = Served::start(listener, routes(source), "metrics")?;
        Ok(MetricsServer { served })
    }

    /// The error for a metrics address that cannot be bound.
    /// [`MetricsServer::from_listener`], speaking TLS with `tls` when given
    /// (the node's `http_tls`).
    pub(crate) fn from_listener_tls(
        listener: std::net::TcpListener,
        source: Arc<dyn Source>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<MetricsServer> {
        let served = Served::start_with(listener, routes(source), "metrics", tls)?;
        Ok(MetricsServer { served })
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
        self.served.local_addr()
    }

    /// Stop listening and drop open connections.
    pub async fn shutdown(self) {
        self.served.shutdown().await
    }
}

/// The three routes, and a 404 that names them.
fn routes(source: Arc<dyn Source>) -> Router {
    let (s1, s2, s3) = (source.clone(), source.clone(), source);
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let s = s1.clone();
                async move { text(StatusCode::OK, CONTENT_TYPE, s.metrics()) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let s = s2.clone();
                async move {
                    match s.health() {
                        Ok(()) => text(StatusCode::OK, "text/plain", "ok\n".into()),
                        Err(why) => text(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain",
                            format!("unhealthy: {}\n", why.replace(['\r', '\n'], " ")),
                        ),
                    }
                }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let s = s3.clone();
                async move {
                    match s.ready() {
                        Ok(()) => text(StatusCode::OK, "text/plain", "ready\n".into()),
                        Err(why) => text(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain",
                            format!("not ready: {why}\n"),
                        ),
                    }
                }
            }),
        )
        .fallback(|| async {
            text(
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found; try /metrics, /healthz or /readyz\n".into(),
            )
        })
}
