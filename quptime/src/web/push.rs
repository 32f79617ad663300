//! `GET` or `POST /push/<token>`: a push check's beat, on any node's web
//! listener (`qu serve --http`).
//!
//! The token is looked up in this node's replicated state in constant
//! time ([`ClusterState::find_push`](crate::state::ClusterState)); the
//! beat is handed to the master (a follower forwards it over the cluster
//! RPC) and the answer waits for the master to take it, so `200` means the
//! beat counts. `?status=fail&msg=…` reports a failure (the check is down
//! at once); `msg` is at most 1 KiB. Answers: `200` recorded, `404` no such
//! token (nothing is recorded), `400` a bad `status` or `msg`, `429` more
//! than [`PER_SECOND`] beats a second for one check at this node, `503` no
//! master can take it now (retry). The body of a POST is not read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Response, StatusCode};
use axum::routing::get;

use crate::cluster::Cluster;
use crate::cluster::push::PushBeat;
use crate::engine::push::MAX_MESSAGE;
use crate::error::ErrorKind;

/// Beats accepted per check and second at one node; more are refused
/// with 429 (a job that loops by mistake cannot flood the master).
pub(crate) const PER_SECOND: u32 = 10;
/// Longest query string read.
const MAX_QUERY: usize = 4 * MAX_MESSAGE;

/// Beats per check in the current second, at this node.
#[derive(Debug, Default)]
pub(crate) struct RateLimit {
    windows: HashMap<String, (Instant, u32)>,
}

impl RateLimit {
    /// Whether one more beat for `check_id` at `now` is within the limit
    /// (counting it if so).
    pub(crate) fn take(&mut self, check_id: &str, now: Instant) -> bool {
        if self.windows.len() > crate::state::model::MAX_CHECKS {
            self.windows.retain(|_, (start, _)| {
                now.saturating_duration_since(*start) < Duration::from_secs(1)
            });
        }
        let (start, count) = self.windows.entry(check_id.to_string()).or_insert((now, 0));
        if now.saturating_duration_since(*start) >= Duration::from_secs(1) {
            *start = now;
            *count = 0;
        }
        if *count >= PER_SECOND {
            return false;
        }
        *count += 1;
        true
    }
}

#[derive(Clone)]
struct Push {
    cluster: Cluster,
    limit: Arc<Mutex<RateLimit>>,
}

/// The push route over `cluster`.
pub(crate) fn routes(cluster: Cluster) -> Router {
    let push = Push {
        cluster,
        limit: Arc::default(),
    };
    Router::new()
        .route("/push/{token}", get(beat).post(beat))
        .with_state(push)
}

fn plain(code: StatusCode, body: String) -> Response<Body> {
    super::text(code, "text/plain; charset=utf-8", body)
}

async fn beat(
    State(push): State<Push>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Response<Body> {
    let Some((check_id, name)) = push.cluster.find_push(&token) else {
        return plain(
            StatusCode::NOT_FOUND,
            "no push check has this token; `qu check push-url <name>` makes a check's URL\n".into(),
        );
    };
    let (fail, msg) = match parse_query(query.as_deref().unwrap_or("")) {
        Ok(v) => v,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let allowed = match push.limit.lock() {
        Ok(mut l) => l.take(&check_id, Instant::now()),
        Err(_) => false,
    };
    if !allowed {
        return plain(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "more than {PER_SECOND} beats a second for {name}: this one was not recorded\n"
            ),
        );
    }
    let beat = PushBeat {
        check_id,
        fail,
        msg,
    };
    match push.cluster.push_beat(&beat).await {
        Ok(()) if fail => plain(StatusCode::OK, format!("ok: failure recorded for {name}\n")),
        Ok(()) => plain(StatusCode::OK, format!("ok: beat recorded for {name}\n")),
        Err(e) => match e.kind() {
            ErrorKind::NoQuorum
            | ErrorKind::Timeout
            | ErrorKind::Transport
            | ErrorKind::Shutdown => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "no master can take the beat right now ({}); it was not recorded: retry\n",
                    e.message()
                ),
            ),
            ErrorKind::NotFound => plain(StatusCode::NOT_FOUND, format!("{}\n", e.message())),
            ErrorKind::InvalidInput => plain(StatusCode::BAD_REQUEST, format!("{e}\n")),
            _ => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the beat was not recorded: {e}\n"),
            ),
        },
    }
}

/// `status` (`ok`, the default, or `fail`) and `msg` from a query string;
/// the error names the parameter.
pub(crate) fn parse_query(query: &str) -> Result<(bool, String), String> {
    if query.len() > MAX_QUERY {
        return Err(format!(
            "the query is over {MAX_QUERY} bytes: send at most {MAX_MESSAGE} bytes of msg"
        ));
    }
    let (mut fail, mut msg) = (false, String::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value);
        match decode(key).as_str() {
            "status" => {
                fail = match value.as_str() {
                    "ok" | "up" | "" => false,
                    "fail" | "down" | "error" => true,
                    other => {
                        return Err(format!(
                            "status {:?}: use ok or fail",
                            crate::state::fields::excerpt(other)
                        ));
                    }
                }
            }
            "msg" => {
                if value.len() > MAX_MESSAGE {
                    return Err(format!(
                        "msg: {} bytes, at most {MAX_MESSAGE}: shorten it",
                        value.len()
                    ));
                }
                msg = value;
            }
            // Other parameters (a cache buster, a run id) are ignored.
            _ => {}
        }
    }
    Ok((fail, msg))
}

/// Percent-decoding of a query component (`+` is a space); a malformed
/// escape stays as written, bytes that are not UTF-8 become U+FFFD.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|c| (*c as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            (b'+', ..) => out.push(b' '),
            (b, ..) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_what_is_wrong() {
        assert_eq!(parse_query(""), Ok((false, String::new())));
        assert_eq!(
            parse_query("status=fail&msg=disk+full%3A%2Fvar"),
            Ok((true, "disk full:/var".into()))
        );
        assert_eq!(parse_query("status=ok&x=1"), Ok((false, String::new())));
        let e = parse_query("status=maybe").expect_err("bad status");
        assert!(e.contains("status") && e.contains("ok or fail"), "{e}");
        let e = parse_query(&format!("msg={}", "a".repeat(MAX_MESSAGE + 1))).expect_err("long");
        assert!(e.starts_with("msg:"), "{e}");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A9"), "é");
    }

    #[test]
    fn ten_beats_a_second_per_check() {
        let (mut l, t0) = (RateLimit::default(), Instant::now());
        for _ in 0..PER_SECOND {
            assert!(l.take("c1", t0));
        }
        assert!(!l.take("c1", t0 + Duration::from_millis(999)));
        assert!(l.take("c2", t0), "another check has its own count");
        assert!(l.take("c1", t0 + Duration::from_secs(1)));
    }
}
