//! The dashboard (`/dashboard`): log in with an API token, see the
//! cluster, and change checks and maintenance windows through forms.
//!
//! A login opens a server-side [`session`] (node-local memory, bounded,
//! idle and absolute expiry) whose 256-bit random id is the only thing in
//! the cookie (`HttpOnly; SameSite=Strict; Path=/dashboard`, `Secure` on
//! a TLS listener). Every POST must come from this host and carry the
//! session's CSRF token ([`csrf`]); a revoked token ends its sessions at
//! their next request; a read token sees the pages and is refused every
//! write. Each write calls the use case `qu` calls ([`crate::api`]) and a
//! refused one shows the form again with the CLI's error text.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header};
use axum::routing::{get, post};

use super::dashboard_page::{self as page, Failed, View};
use super::forms::Form;
use super::session::{self, Gone, Session, Sessions};
use super::{csrf, text};
use crate::api as uc;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::state::Outcome;
use crate::state::api_token::TokenRole;
use crate::state::mutation::now_ms;

/// The prefix of the dashboard's form targets (POST is taken only here
/// and under the JSON API).
pub(crate) const PREFIX: &str = "/dashboard/";
/// The dashboard's stylesheet (after the status page's).
const STYLE: &str = include_str!("dashboard.css");
/// No script at all; forms may post to this origin only.
const CSP: &str = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// How long the login form's one-off token is good for.
const LOGIN_FORM_SECS: u32 = 600;
/// How long a write waits for this node to apply it before redirecting,
/// so the page it redirects to shows the change.
const APPLIED_WITHIN: Duration = Duration::from_secs(5);

/// What the dashboard's handlers share.
#[derive(Clone)]
struct Dash {
    cluster: Cluster,
    sessions: Arc<Mutex<Sessions>>,
    secure: bool,
}

/// Why a request gets no session.
enum NoSession {
    /// No cookie, an unknown or an expired id.
    Gone(Gone),
    /// Its token was revoked.
    Revoked,
}

impl Dash {
    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The request's session, when it has a live one whose token is still
    /// on record (a revoked token's sessions end here).
    fn session(&self, headers: &HeaderMap) -> std::result::Result<Session, NoSession> {
        let id = session::cookie(headers, session::COOKIE).ok_or(NoSession::Gone(Gone::Unknown))?;
        let mut s = self
            .sessions()
            .touch(id, now_ms())
            .map_err(NoSession::Gone)?;
        match self.cluster.state().api_tokens.get(&s.token_id) {
            Some(t) => {
                s.role = t.role;
                Ok(s)
            }
            None => {
                self.sessions().end_token(&s.token_id);
                Err(NoSession::Revoked)
            }
        }
    }

    /// The session of a write, when it passes every check: this origin, a
    /// live session, its CSRF token, a write token.
    fn writer(
        &self,
        headers: &HeaderMap,
        form: &Form,
    ) -> std::result::Result<Session, Box<Response<Body>>> {
        if let Some(why) = csrf::foreign_origin(headers) {
            return Err(Box::new(refusal(
                StatusCode::FORBIDDEN,
                "Refused",
                &format!("{why}; use the dashboard's own forms"),
            )));
        }
        let s = self.session(headers).map_err(|e| {
            Box::new(match e {
                NoSession::Revoked => refusal(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "the API token of this session was revoked: log in with another one",
                ),
                NoSession::Gone(Gone::Expired) => refusal(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "this session expired: log in again",
                ),
                NoSession::Gone(Gone::Unknown) => refusal(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "no valid session (not logged in, or logged out): log in first",
                ),
            })
        })?;
        if !csrf::matches(&s.csrf, form.get(csrf::FIELD)) {
            return Err(Box::new(refusal(
                StatusCode::FORBIDDEN,
                "Refused",
                "the form's CSRF token is missing or wrong (an old page, or another site): \
                 reload the dashboard and send the form again",
            )));
        }
        if !s.role.allows(TokenRole::Write) {
            return Err(Box::new(refusal(
                StatusCode::FORBIDDEN,
                "Refused",
                "this is a read token: changes need a token made with `qu token create --role write`",
            )));
        }
        Ok(s)
    }

    /// A page for session `s`.
    async fn render(
        &self,
        s: &Session,
        notice: Option<&str>,
        failed: Option<&Failed>,
        edit: Option<&str>,
    ) -> Response<Body> {
        let status = self.cluster.status_live().await;
        let state = self.cluster.state();
        let view = View {
            status: &status,
            state: &state,
            who: &s.token_name,
            role: s.role,
            csrf: &s.csrf,
            notice,
            failed,
            now_ms: now_ms(),
        };
        let (code, body) = match edit.map(|k| state.find_check(k)) {
            None => (StatusCode::OK, page::main(&view)),
            Some(Ok(check)) => (StatusCode::OK, page::edit(&view, check)),
            Some(Err(e)) => return refusal(StatusCode::NOT_FOUND, "No such check", &cli_text(&e)),
        };
        let code = failed.map_or(code, |_| StatusCode::UNPROCESSABLE_ENTITY);
        html(code, body)
    }
}

/// The CLI's words for an error: its message, then its hint in brackets.
fn cli_text(e: &Error) -> String {
    match e.hint() {
        Some(h) => format!("{} ({h})", e.message()),
        None => e.message().to_string(),
    }
}

/// An HTML answer with the dashboard's CSP.
fn html(code: StatusCode, body: String) -> Response<Body> {
    let mut r = text(code, "text/html; charset=utf-8", body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// A refusal page.
fn refusal(code: StatusCode, title: &str, why: &str) -> Response<Body> {
    html(code, page::refused(title, why))
}

/// A 303 to `to`, setting `cookies`.
fn redirect(to: &str, cookies: &[String]) -> Response<Body> {
    let mut r = text(StatusCode::SEE_OTHER, "text/plain", format!("see {to}\n"));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(to) {
        h.insert(header::LOCATION, v);
    }
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

/// What a `?done=` word says (only these words; nothing else is echoed).
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => "Check added.",
        "edited" => "Check changed.",
        "enabled" => "Check enabled.",
        "disabled" => "Check disabled.",
        "silenced" => "Check silenced.",
        "maintenance" => "Maintenance window started.",
        "login" => "Logged in.",
        _ => return None,
    })
}

async fn home(State(d): State<Dash>, uri: Uri, h: HeaderMap) -> Response<Body> {
    let query = Form::parse(uri.query().unwrap_or_default().as_bytes()).unwrap_or_default();
    match d.session(&h) {
        Ok(s) => d.render(&s, notice(query.get("done")), None, None).await,
        Err(_) => redirect("/dashboard/login", &[]),
    }
}

async fn edit_page(State(d): State<Dash>, Path(key): Path<String>, h: HeaderMap) -> Response<Body> {
    match d.session(&h) {
        Ok(s) => d.render(&s, None, None, Some(&key)).await,
        Err(_) => redirect("/dashboard/login", &[]),
    }
}

fn login_form(d: &Dash, code: StatusCode, error: Option<&str>) -> Response<Body> {
    let token = match crate::secret::generate() {
        Ok(t) => t,
        Err(e) => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Error", &cli_text(&e)),
    };
    let secure = if d.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age={LOGIN_FORM_SECS}{secure}",
        csrf::LOGIN_COOKIE
    );
    let mut r = html(code, page::login(&token, error));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(State(d): State<Dash>) -> Response<Body> {
    login_form(&d, StatusCode::OK, None)
}

async fn login(State(d): State<Dash>, h: HeaderMap, b: Bytes) -> Response<Body> {
    if let Some(why) = csrf::foreign_origin(&h) {
        return login_form(
            &d,
            StatusCode::FORBIDDEN,
            Some(&format!("{why}; log in from this page")),
        );
    }
    let form = match Form::parse(&b) {
        Ok(f) => f,
        Err(e) => return login_form(&d, StatusCode::BAD_REQUEST, Some(&cli_text(&e))),
    };
    let expected = session::cookie(&h, csrf::LOGIN_COOKIE).unwrap_or_default();
    if !csrf::matches(expected, form.get(csrf::FIELD)) {
        return login_form(
            &d,
            StatusCode::FORBIDDEN,
            Some("this login form expired or came from another site: log in again from this page"),
        );
    }
    let presented = form.get("token").unwrap_or_default();
    let token = match uc::authorize(&d.cluster, presented, TokenRole::Read) {
        Ok(t) => t,
        Err(_) => {
            return login_form(
                &d,
                StatusCode::UNAUTHORIZED,
                Some("this API token is unknown or revoked: create one with `qu token create`"),
            );
        }
    };
    let (id, csrf_token) = match (crate::secret::generate(), crate::secret::generate()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Error", &cli_text(&e));
        }
    };
    d.sessions().open(
        id.clone(),
        csrf_token,
        &token.id,
        &token.name,
        token.role,
        now_ms(),
    );
    let clear_login = format!("{}=; Path=/dashboard; Max-Age=0", csrf::LOGIN_COOKIE);
    redirect(
        "/dashboard?done=login",
        &[session::set_cookie(&id, d.secure), clear_login],
    )
}

async fn logout(State(d): State<Dash>, h: HeaderMap, b: Bytes) -> Response<Body> {
    let form = Form::parse(&b).unwrap_or_default();
    if let Some(why) = csrf::foreign_origin(&h) {
        return refusal(StatusCode::FORBIDDEN, "Refused", why);
    }
    if let Ok(s) = d.session(&h) {
        if !csrf::matches(&s.csrf, form.get(csrf::FIELD)) {
            return refusal(
                StatusCode::FORBIDDEN,
                "Refused",
                "the form's CSRF token is missing or wrong: reload the dashboard",
            );
        }
        if let Some(id) = session::cookie(&h, session::COOKIE) {
            d.sessions().close(id);
        }
    }
    redirect("/dashboard/login", &[session::clear_cookie(d.secure)])
}

/// Run the write `op` of form `form_id` (shown again on `edit` when it
/// is the edit page's) if the request may write: 303 to the dashboard
/// with `done` on success, the form again with the error otherwise.
async fn write<F, Fut>(
    d: Dash,
    h: HeaderMap,
    b: Bytes,
    form_id: String,
    edit: Option<String>,
    done: &str,
    op: F,
) -> Response<Body>
where
    F: FnOnce(Cluster, Form) -> Fut,
    Fut: Future<Output = Result<Outcome>>,
{
    let form = match Form::parse(&b) {
        Ok(f) => f,
        Err(e) => return refusal(StatusCode::BAD_REQUEST, "Refused", &cli_text(&e)),
    };
    let s = match d.writer(&h, &form) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match op(d.cluster.clone(), form.clone()).await {
        Ok(outcome) => {
            if let Err(e) = uc::wait_applied(&d.cluster, outcome.version, APPLIED_WITHIN).await {
                tracing::debug!("dashboard write not applied here yet: {e}");
            }
            redirect(&format!("/dashboard?done={done}"), &[])
        }
        Err(e) => {
            let failed = Failed {
                form: form_id,
                field: e.field().map(str::to_string),
                text: cli_text(&e),
                values: form,
            };
            let mut r = d.render(&s, None, Some(&failed), edit.as_deref()).await;
            *r.status_mut() = super::api::code_of(e.kind());
            r
        }
    }
}

async fn add_check(State(d): State<Dash>, h: HeaderMap, b: Bytes) -> Response<Body> {
    write(d, h, b, "add".into(), None, "added", |c, f| async move {
        uc::add_check(&c, f.check_spec()?).await
    })
    .await
}

async fn edit_check(
    State(d): State<Dash>,
    Path(key): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response<Body> {
    let k = key.clone();
    write(
        d,
        h,
        b,
        "edit".into(),
        Some(key),
        "edited",
        |c, f| async move { uc::edit_check(&c, &k, f.check_patch()).await },
    )
    .await
}

async fn enable(
    State(d): State<Dash>,
    Path(key): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response<Body> {
    write(d, h, b, "top".into(), None, "enabled", |c, _| async move {
        uc::set_check_enabled(&c, &key, true).await
    })
    .await
}

async fn disable(
    State(d): State<Dash>,
    Path(key): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response<Body> {
    write(d, h, b, "top".into(), None, "disabled", |c, _| async move {
        uc::set_check_enabled(&c, &key, false).await
    })
    .await
}

async fn silence(
    State(d): State<Dash>,
    Path(key): Path<String>,
    h: HeaderMap,
    b: Bytes,
) -> Response<Body> {
    let form_id = format!("silence-{key}");
    write(d, h, b, form_id, None, "silenced", |c, f| async move {
        uc::silence(&c, &key, f.get("for").unwrap_or_default()).await
    })
    .await
}

async fn add_maintenance(State(d): State<Dash>, h: HeaderMap, b: Bytes) -> Response<Body> {
    write(
        d,
        h,
        b,
        "maintenance".into(),
        None,
        "maintenance",
        |c, f| async move { uc::add_maintenance(&c, f.maintenance_spec()).await },
    )
    .await
}

/// The `/dashboard` routes over `cluster`; `secure`: the listener is TLS,
/// so the cookies get `Secure`.
pub(crate) fn routes(cluster: Cluster, secure: bool) -> Router {
    let dash = Dash {
        cluster,
        sessions: Arc::new(Mutex::new(Sessions::default())),
        secure,
    };
    Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/", get(home))
        .route(
            "/dashboard/style.css",
            get(|| async { text(StatusCode::OK, "text/css; charset=utf-8", STYLE.into()) }),
        )
        .route("/dashboard/login", get(login_page).post(login))
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/checks", post(add_check))
        .route(
            "/dashboard/checks/{check}/edit",
            get(edit_page).post(edit_check),
        )
        .route("/dashboard/checks/{check}/enable", post(enable))
        .route("/dashboard/checks/{check}/disable", post(disable))
        .route("/dashboard/checks/{check}/silence", post(silence))
        .route("/dashboard/maintenance", post(add_maintenance))
        .with_state(dash)
}
