//! The status page listener (`qu serve --http`, `NodeOptions::http_addr`):
//! `/` (the page), `/style.css` (its only asset, served here so the page
//! asks no other host), `/badge/<check>/status.svg` and `/api/status` (the
//! data of `qu status --json`). Read-only and without login; what it
//! shows comes from a [`StatusSource`], the node's status as `qu status`
//! sees it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::routing::get;

use super::{Served, badge, page, text};
use crate::cluster::Status;
use crate::error::{Error, Result};
use crate::state::ClusterState;

/// What the page shows: the node's status, with the master's live votes
/// when it can be asked. Implemented by the node; tests may give a fixed one.
pub trait StatusSource: Send + Sync + 'static {
    /// The status now.
    fn status(&self) -> Pin<Box<dyn Future<Output = Status> + Send + '_>>;

    /// The replicated state, for the uptime history and incidents (none:
    /// the page shows states only).
    fn state(&self) -> Option<Arc<ClusterState>> {
        None
    }

    /// This node's last `n` raw results of a check, oldest first, for the
    /// response-time chart (none: no chart).
    fn recent_results(&self, check_id: &str, n: usize) -> Vec<crate::results::RawResult> {
        let _ = (check_id, n);
        Vec::new()
    }

    /// The committed transitions from now on, for `/events` (none: the
    /// node serves no live events, and `/events` answers 503).
    fn subscribe(&self) -> Option<crate::cluster::Subscription> {
        None
    }
}

/// The page's stylesheet.
const STYLE: &str = include_str!("style.css");
/// The page's one script: live updates from `/events` (the page works
/// without it).
const LIVE_JS: &str = include_str!("live.js");
/// Only the node's own script and its own event stream; no frame, nothing
/// from another origin.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A running status page listener.
#[derive(Debug)]
pub struct WebServer {
    served: Served,
}

impl WebServer {
    /// Listen on `addr` (port 0 picks a free port) and serve `source`.
    pub async fn bind(addr: SocketAddr, source: Arc<dyn StatusSource>) -> Result<WebServer> {
        let served = Served::bind(addr, routes(source), "status page", Self::bind_error).await?;
        Ok(WebServer { served })
    }

    /// Serve `source` on an already bound listener.
    pub fn from_listener(
        listener: std::net::TcpListener,
        source: Arc<dyn StatusSource>,
    ) -> Result<WebServer> {
        let served = Served::start(listener, routes(source), "status page")?;
        Ok(WebServer { served })
    }

    /// [`WebServer::from_listener`] plus the token-guarded JSON API
    /// (`/api/v1/`) over `cluster`.
    pub(crate) fn with_api(
        listener: std::net::TcpListener,
        source: Arc<dyn StatusSource>,
        cluster: crate::cluster::Cluster,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<WebServer> {
        let router = routes(source)
            .merge(super::api::routes(cluster.clone()))
            .merge(super::dashboard::routes(cluster.clone(), tls.is_some()))
            .merge(super::push::routes(cluster));
        let served = Served::start_with(listener, router, "status page", tls)?;
        Ok(WebServer { served })
    }

    /// The error for a page address that cannot be bound.
    pub fn bind_error(addr: SocketAddr, e: std::io::Error) -> Error {
        Error::invalid(format!(
            "cannot serve the status page on {addr}: {e}; pick another --http address \
             (or stop what uses that port)"
        ))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.served.local_addr()
    }

    /// Whether it speaks HTTPS (`qu serve --http-tls-cert`), so that
    /// cookies it sets can be `Secure`; a handler sees the same as the
    /// [`super::OverTls`] request extension.
    pub fn is_tls(&self) -> bool {
        self.served.is_tls()
    }

    /// Stop listening and drop open connections.
    pub async fn shutdown(self) {
        self.served.shutdown().await
    }
}

fn routes(source: Arc<dyn StatusSource>) -> Router {
    let (s1, s2, s3, s4) = (
        source.clone(),
        source.clone(),
        source.clone(),
        source.clone(),
    );
    let streams = super::events::Streams::new();
    Router::new()
        .route(
            "/events",
            get(move || {
                let (s, streams) = (source.clone(), streams.clone());
                async move { super::events::answer(&*s, &streams) }
            }),
        )
        .route(
            "/live.js",
            get(|| async {
                text(
                    StatusCode::OK,
                    "text/javascript; charset=utf-8",
                    LIVE_JS.into(),
                )
            }),
        )
        .route(
            "/badge/{check}/uptime/{file}",
            get(move |p| super::uptime_route::badge(s4.clone(), p)),
        )
        .route(
            "/",
            get(move || {
                let s = s1.clone();
                async move {
                    let status = s.status().await;
                    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
                    let mut r = text(
                        StatusCode::OK,
                        "text/html; charset=utf-8",
                        page::render(&status, history(&*s, &status).as_ref(), &now.to_string()),
                    );
                    r.headers_mut().insert(
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_static(CSP),
                    );
                    r
                }
            }),
        )
        .route(
            "/style.css",
            get(|| async { text(StatusCode::OK, "text/css; charset=utf-8", STYLE.into()) }),
        )
        .route(
            "/badge/{check}/status.svg",
            get(move |Path(key): Path<String>| {
                let s = s2.clone();
                async move { badge_response(&s.status().await, &key) }
            }),
        )
        .route(
            "/api/status",
            get(move || {
                let s = s3.clone();
                async move {
                    let status = s.status().await;
                    match serde_json::to_string_pretty(&status) {
                        Ok(json) => text(StatusCode::OK, "application/json", json + "\n"),
                        Err(e) => text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "text/plain",
                            format!("cannot encode the status: {e}\n"),
                        ),
                    }
                }
            }),
        )
        .fallback(|| async {
            text(
                StatusCode::NOT_FOUND,
                "text/plain",
                "not found; try /, /api/status or /badge/<check>/status.svg\n".into(),
            )
        })
}

/// The history part of the page, when the source has a state.
fn history(s: &dyn StatusSource, status: &Status) -> Option<super::uptime::PageHistory> {
    let state = s.state()?;
    let results = (status.checks.iter())
        .map(|c| {
            (
                c.id.clone(),
                s.recent_results(&c.id, super::latency::CHART_POINTS),
            )
        })
        .collect();
    Some(super::uptime::PageHistory {
        state,
        node: status.node_id.to_string(),
        results,
    })
}

fn badge_response(status: &Status, key: &str) -> Response<Body> {
    match badge::find(status, key) {
        Some(check) => text(
            StatusCode::OK,
            "image/svg+xml",
            badge::status_svg(&check.name, badge::shown_state(check)),
        ),
        None => {
            let shown: String = key.chars().take(64).collect();
            text(
                StatusCode::NOT_FOUND,
                "text/plain",
                format!("no check named or with id {shown:?}; /api/status lists the checks\n"),
            )
        }
    }
}
