//! The node's HTTP face, on one web stack: axum routes on hyper, behind
//! the bounds of [`listener`] (head size, time per connection, a
//! connection budget) and [`limits`] (read-only methods, body size).
//!
//! Two listeners share it: the metrics listener (`/metrics`, `/healthz`,
//! `/readyz`, see [`crate::metrics::MetricsServer`]) and, when the operator
//! turns it on, the status page ([`WebServer`]: `/`, badges,
//! `/api/status`). They are separate so the public page and the private
//! scrape can sit on different addresses. Every node renders the page
//! from its own replicated state, so any node's page shows the same
//! states and survives the loss of any other node.

mod api;
mod badge;
mod csrf;
mod dashboard;
mod dashboard_page;
mod events;
mod forms;
mod latency;
mod limits;
mod listener;
mod openapi;
mod page;
mod push;
mod routes;
mod session;
mod tls;
mod uptime;
mod uptime_route;

pub use listener::OverTls;
pub(crate) use listener::Served;
pub use routes::{StatusSource, WebServer};
pub use tls::HttpTls;

/// The OpenAPI document of the JSON API, as `/api/openapi.json` serves
/// it (and `docs/openapi.json` holds it).
pub fn openapi_document() -> String {
    openapi::document()
}

/// The method and path of every `/api/v1/` endpoint a node serves
/// (`GET`, `/api/v1/checks/{check}`), from the table its router is built from.
pub fn api_endpoints() -> Vec<(String, String)> {
    api::endpoints()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect()
}

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

/// A response with `body` as `content_type` (exactly that text, as the
/// hand-written listener sent it).
pub(crate) fn text(code: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
