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
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use axum::routing::{MethodFilter, MethodRouter};
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
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
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

#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    description = "The node's status, as `qu status --json` prints it.",
    responses((status = 200, description = "The status", body = crate::cluster::Status)))]
pub(super) async fn status(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &c.status_live().await)
}

#[utoipa::path(get, path = "/api/v1/checks", tag = "checks",
    description = "Every check; HTTP credentials masked.",
    responses((status = 200, description = "The checks", body = Vec<super::openapi::CheckDoc>)))]
pub(super) async fn list_checks(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    let list: Vec<Check> = uc::list_checks(&c).into_iter().map(shown).collect();
    json(StatusCode::OK, &list)
}

#[utoipa::path(get, path = "/api/v1/checks/{check}", tag = "checks",
    description = "One check, by name or id.", params(("check" = String, Path, description = "Check name or id")),
    responses((status = 200, description = "The check", body = super::openapi::CheckDoc)))]
pub(super) async fn get_check(
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

#[utoipa::path(post, path = "/api/v1/checks", tag = "checks",
    description = "Add a check (what `qu check add` sends).", request_body = uc::CheckSpec,
    responses((status = 201, description = "Added", body = crate::state::Outcome)))]
pub(super) async fn add_check(State(c): State<Cluster>, h: HeaderMap, b: Bytes) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    match body::<uc::CheckSpec>(&b) {
        Ok(spec) => answer(StatusCode::CREATED, uc::add_check(&c, spec).await),
        Err(e) => error(e),
    }
}

#[utoipa::path(patch, path = "/api/v1/checks/{check}", tag = "checks",
    description = "Change the given fields of a check (what `qu check edit` sends).",
    params(("check" = String, Path, description = "Check name or id")),
    request_body = uc::CheckPatch,
    responses((status = 200, description = "Changed", body = crate::state::Outcome)))]
pub(super) async fn edit_check(
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

#[utoipa::path(delete, path = "/api/v1/checks/{check}", tag = "checks",
    description = "Remove a check.", params(("check" = String, Path, description = "Check name or id")),
    responses((status = 200, description = "Removed", body = crate::state::Outcome)))]
pub(super) async fn remove_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::remove_check(&c, &key).await)
}

#[utoipa::path(post, path = "/api/v1/checks/{check}/enable", tag = "checks",
    description = "Enable a check.", params(("check" = String, Path, description = "Check name or id")),
    responses((status = 200, description = "Enabled", body = crate::state::Outcome)))]
pub(super) async fn enable_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::set_check_enabled(&c, &key, true).await)
}

#[utoipa::path(post, path = "/api/v1/checks/{check}/disable", tag = "checks",
    description = "Disable a check.", params(("check" = String, Path, description = "Check name or id")),
    responses((status = 200, description = "Disabled", body = crate::state::Outcome)))]
pub(super) async fn disable_check(
    State(c): State<Cluster>,
    Path(key): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::set_check_enabled(&c, &key, false).await)
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels",
    description = "Alert channels, secrets masked as in `qu alert list`.",
    responses((status = 200, description = "The channels", body = Vec<uc::AlertView>)))]
pub(super) async fn channels(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &uc::list_alerts(&c))
}

#[utoipa::path(get, path = "/api/v1/transitions", tag = "transitions",
    description = "Committed check transitions, newest last.",
    responses((status = 200, description = "The transitions", body = Vec<super::openapi::TransitionDoc>)))]
pub(super) async fn transitions(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &c.state().transitions)
}

#[utoipa::path(get, path = "/api/v1/maintenance", tag = "maintenance",
    description = "Maintenance windows and silences.",
    responses((status = 200, description = "The windows", body = Vec<super::openapi::WindowDoc>)))]
pub(super) async fn list_maintenance(State(c): State<Cluster>, h: HeaderMap) -> Response<Body> {
    guard!(c, h, TokenRole::Read);
    json(StatusCode::OK, &uc::list_maintenance(&c))
}

#[utoipa::path(post, path = "/api/v1/maintenance", tag = "maintenance",
    description = "Add a maintenance window (what `qu maintenance add` sends).",
    request_body = uc::MaintenanceSpec,
    responses((status = 201, description = "Added", body = crate::state::Outcome)))]
pub(super) async fn add_maintenance(
    State(c): State<Cluster>,
    h: HeaderMap,
    b: Bytes,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    match body::<uc::MaintenanceSpec>(&b) {
        Ok(spec) => answer(StatusCode::CREATED, uc::add_maintenance(&c, spec).await),
        Err(e) => error(e),
    }
}

#[utoipa::path(delete, path = "/api/v1/maintenance/{id}", tag = "maintenance",
    description = "Remove a maintenance window.",
    params(("id" = String, Path, description = "Window id")),
    responses((status = 200, description = "Removed", body = crate::state::Outcome)))]
pub(super) async fn remove_maintenance(
    State(c): State<Cluster>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response<Body> {
    guard!(c, h, TokenRole::Write);
    answer(StatusCode::OK, uc::remove_maintenance(&c, &id).await)
}

/// One endpoint of the table: its method, path and handler, the method
/// given once (the handler is routed for exactly that method).
macro_rules! endpoint {
    ($m:ident, $path:literal, $handler:ident) => {
        (
            Method::$m,
            $path,
            axum::routing::on(MethodFilter::$m, $handler),
        )
    };
}

/// Every `/api/v1/` endpoint: the one list the router is built from and
/// the OpenAPI test walks, so a route cannot be served undocumented.
pub(crate) fn endpoints() -> Vec<(Method, &'static str, MethodRouter<Cluster>)> {
    vec![
        endpoint!(GET, "/api/v1/status", status),
        endpoint!(GET, "/api/v1/checks", list_checks),
        endpoint!(POST, "/api/v1/checks", add_check),
        endpoint!(GET, "/api/v1/checks/{check}", get_check),
        endpoint!(PATCH, "/api/v1/checks/{check}", edit_check),
        endpoint!(DELETE, "/api/v1/checks/{check}", remove_check),
        endpoint!(POST, "/api/v1/checks/{check}/enable", enable_check),
        endpoint!(POST, "/api/v1/checks/{check}/disable", disable_check),
        endpoint!(GET, "/api/v1/channels", channels),
        endpoint!(GET, "/api/v1/transitions", transitions),
        endpoint!(GET, "/api/v1/maintenance", list_maintenance),
        endpoint!(POST, "/api/v1/maintenance", add_maintenance),
        endpoint!(DELETE, "/api/v1/maintenance/{id}", remove_maintenance),
    ]
}

/// The `/api/v1/` routes over `cluster`, and `/api/openapi.json` (no
/// token: it describes the API, it holds no data).
pub(crate) fn routes(cluster: Cluster) -> Router {
    let api = endpoints()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        });
    api.with_state(cluster).route(
        super::openapi::PATH,
        axum::routing::get(|| async {
            super::text(
                StatusCode::OK,
                "application/json",
                super::openapi::document(),
            )
        }),
    )
}
