//! The JSON API under `/api/v1/`, behind `Authorization: Bearer <token>`
//! (`qu token create`): a read token reads, a write token also writes.
//!
//! Every handler calls the use case the control socket calls for the same
//! `qu` command ([`crate::api`]), so validation and error texts are the
//! CLI's: a refused write answers 4xx with the use case's error (kind,
//! message, field, hint) and proposes nothing. Bodies are JSON of the
//! control API's request types, bounded by [`super::limits::MAX_BODY`]
//! before a byte is read. `/api/status` (no token) stays the public
//! status page's data.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api as uc;
use crate::cluster::Cluster;
use crate::error::{Error, ErrorKind};
use crate::state::api_token::TokenRole;
use crate::state::{Check, Rejected};

/// The prefix of the authenticated routes (writes are allowed only here).
pub(crate) const PREFIX: &str = "/api/v1/";

/// A JSON answer.
fn json<T: Serialize>(code: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string_pretty(value) {
        Ok(body) => super::text(code, "application/json", body + "\n"),
        Err(e) => error(Error::internal(format!("cannot encode the answer: {e}"))),
    }
}

/// The HTTP status for a library error.
pub(super) fn code_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::Config => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::Incompatible => StatusCode::CONFLICT,
        ErrorKind::NoQuorum | ErrorKind::Timeout | ErrorKind::Transport | ErrorKind::Shutdown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `{"error": {kind, message, field, hint}}`: the use case's error as is.
#[derive(Serialize)]
struct ErrorBody {
    error: Rejected,
}

fn error(e: Error) -> Response<Body> {
    let code = code_of(e.kind());
    json(
        code,
        &ErrorBody {
            error: Rejected::from(e),
        },
    )
}

/// A refusal before any use case runs (401, 403, 400).
fn refused(code: StatusCode, kind: &str, message: &str) -> Response<Body> {
    let mut r = json(
        code,
        &ErrorBody {
            error: Rejected {
                kind: kind.into(),
                message: message.into(),
                field: None,
                hint: None,
            },
        },
    );
    if code == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"quptime\""),
        );
    }
    r
}

/// Check the bearer token for `needed`; the refusal to answer otherwise.
fn authorize(c: &Cluster, headers: &HeaderMap, needed: TokenRole) -> Option<Response<Body>> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Some(refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with a token from `qu token create`",
        ));
    };
    match uc::authorize(c, presented, needed) {
        Ok(_) => None,
        Err(false) => Some(refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this API token is unknown or revoked: create one with `qu token create`",
        )),
        Err(true) => Some(refused(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this is a read token: changes need a token made with `qu token create --role write`",
        )),
    }
}

/// Parse a JSON body of `T`, naming what is wrong with it.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(format!(
            "the request body is not valid JSON for this endpoint: {e}; see docs/api.md"
        ))
    })
}

/// A check as the API shows it: credentials of http checks masked.
fn shown(mut check: Check) -> Check {
    if let Some(h) = check.http_mut() {
        *h = h.masked();
    }
    check
}

/// The answer of a use case: `ok` with its value, or its error.
fn answer<T: Serialize>(ok: StatusCode, r: crate::Result<T>) -> Response<Body> {
    match r {
        Ok(v) => json(ok, &v),
        Err(e) => error(e),
    }
}

macro_rules! guard {
    ($c:expr, $h:expr, $role:expr) => {
        if let Some(r) = authorize(&$c, &$h, $role) {
            return r;
        }
    };
}

async fn status(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &c.status_live().await)
}

async fn list_checks(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    let list: Vec<Check> = uc::list_checks(&c).into_iter().map(shown).collect();
    json(StatusCode::OK, &list)
}

async fn get_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    answer(
        StatusCode::OK,
        c.state().find_check(&key).cloned().map(shown),
    )
}

async fn add_check(State(c): State<Cluster>, h: HeaderMap, b: Bytes) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    match body::<uc::CheckSpec>(&b) {
        Ok(spec) => answer(StatusCode::CREATED, uc::add_check(&c, spec).await),
        Err(e) => error(e),
    }
}

async fn edit_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    match body::<uc::CheckPatch>(&b) {
        Ok(patch) => answer(StatusCode::OK, uc::edit_check(&c, &key, patch).await),
        Err(e) => error(e),
    }
}

async fn remove_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::remove_check(&c, &key).await)
}

async fn enable_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::set_check_enabled(&c, &key, true).await)
}

async fn disable_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::set_check_enabled(&c, &key, false).await)
}

async fn channels(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &uc::list_alerts(&c))
}

async fn transitions(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &c.state().transitions)
}

async fn list_maintenance(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &uc::list_maintenance(&c))
}

async fn add_maintenance(State(c): State<Cluster>, h: HeaderMap, b: Bytes) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    match body::<uc::MaintenanceSpec>(&b) {
        Ok(spec) => answer(StatusCode::CREATED, uc::add_maintenance(&c, spec).await),
        Err(e) => error(e),
    }
}

async fn remove_maintenance(
    State(c): State<Cluster>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::remove_maintenance(&c, &id).await)
}

/// The `/api/v1/` routes over `cluster`.
pub(crate) fn routes(cluster: Cluster) -> Router {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/checks", get(list_checks).post(add_check))
        .route(
            "/api/v1/checks/{check}",
            get(get_check).patch(edit_check).delete(remove_check),
        )
        .route("/api/v1/checks/{check}/enable", post(enable_check))
        .route("/api/v1/checks/{check}/disable", post(disable_check))
        .route("/api/v1/channels", get(channels))
        .route("/api/v1/transitions", get(transitions))
        .route(
            "/api/v1/maintenance",
            get(list_maintenance).post(add_maintenance),
        )
        .route(
            "/api/v1/maintenance/{id}",
            axum::routing::delete(remove_maintenance),
        )
        .with_state(cluster)
}
