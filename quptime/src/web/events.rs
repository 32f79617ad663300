//! `/events`: the committed check transitions as server-sent events, for
//! the status page's `/live.js` (and anyone with `curl -N`).
//!
//! Each transition is one `event: transition` whose data is a JSON
//! [`LiveEvent`] (no target: the public page never shows one); a comment
//! line every [`KEEPALIVE`] keeps proxies from closing an idle stream. The
//! streams are bounded: at most [`MAX_STREAMS`] at once (503 with
//! `Retry-After` beyond), each at most [`STREAM_FOR`] long (the browser's
//! `EventSource` reconnects by itself, after the `retry:` it was told),
//! and every one ends when the node or the listener stops. They are
//! ordinary connections of the listener otherwise, inside its connection
//! budget, so open streams cannot lock a scraper out.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{StatusSource, text};
use crate::cluster::Subscription;
use crate::state::TransitionRecord;

/// Streams open at once on one listener.
pub(crate) const MAX_STREAMS: usize = 16;
/// A comment is sent this often while nothing happens.
pub(crate) const KEEPALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long; the client reconnects.
pub(crate) const STREAM_FOR: Duration = Duration::from_secs(600);
/// What the client waits before reconnecting (ms), sent first.
const RETRY_MS: u64 = 3000;

/// One transition as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LiveEvent {
    /// Replicated sequence number (the event id).
    pub(crate) seq: u64,
    /// The check.
    pub(crate) check_id: String,
    /// Its name.
    pub(crate) check_name: String,
    /// The state it left.
    pub(crate) from: String,
    /// The state it entered.
    pub(crate) to: String,
    /// When (RFC 3339 UTC).
    pub(crate) at: String,
    /// The votes that decided it, in one line.
    pub(crate) evidence: String,
}

impl LiveEvent {
    pub(crate) fn of(t: &TransitionRecord) -> LiveEvent {
        LiveEvent {
            seq: t.seq,
            check_id: t.check_id.clone(),
            check_name: t.check_name.clone(),
            from: t.from.as_str().into(),
            to: t.to.as_str().into(),
            at: t.at.clone(),
            evidence: t.evidence_summary(),
        }
    }

    /// The event's wire form (pure): `id`, `event` and one `data` line
    /// (JSON has no raw newline, so one line is enough).
    pub(crate) fn frame(&self) -> String {
        let data = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        format!("id: {}\nevent: transition\ndata: {data}\n\n", self.seq)
    }
}

/// The `/events` handler's shared part: the stream slots.
#[derive(Debug, Clone)]
pub(crate) struct Streams(Arc<Semaphore>);

impl Streams {
    pub(crate) fn new() -> Streams {
        Streams(Arc::new(Semaphore::new(MAX_STREAMS)))
    }
}

enum Step {
    Start,
    Live,
}

struct Stream {
    sub: Subscription,
    ends: tokio::time::Instant,
    step: Step,
    _slot: OwnedSemaphorePermit,
}

/// Answer `/events`: a stream, or 503 when every slot is taken or the
/// node gives no transitions.
pub(crate) fn answer(source: &dyn StatusSource, streams: &Streams) -> Response<Body> {
    let Ok(slot) = streams.0.clone().try_acquire_owned() else {
        let mut r = text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!("{MAX_STREAMS} event streams are open already; retry later\n"),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        return r;
    };
    let Some(sub) = source.subscribe() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "this node serves no live events\n".into(),
        );
    };
    let state = Stream {
        sub,
        ends: tokio::time::Instant::now() + STREAM_FOR,
        step: Step::Start,
        _slot: slot,
    };
    let body = futures_util::stream::unfold(state, |mut s| async move {
        let chunk = match s.step {
            Step::Start => {
                s.step = Step::Live;
                format!("retry: {RETRY_MS}\n: quptime live transitions\n\n")
            }
            Step::Live => {
                let wait = KEEPALIVE.min(
                    s.ends
                        .saturating_duration_since(tokio::time::Instant::now()),
                );
                if wait.is_zero() {
                    return None;
                }
                tokio::select! {
                    t = s.sub.next() => LiveEvent::of(&t?).frame(),
                    _ = tokio::time::sleep(wait) => ": keep-alive\n\n".into(),
                }
            }
        };
        Some((Ok::<_, std::convert::Infallible>(Bytes::from(chunk)), s))
    });
    let mut r = Response::new(Body::from_stream(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    r.extensions_mut().insert(super::listener::Streaming);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_data_line_without_the_target() {
        let e = LiveEvent {
            seq: 7,
            check_id: "c1".into(),
            check_name: "web\nsite".into(),
            from: "up".into(),
            to: "down".into(),
            at: "2026-01-01T00:00:00Z".into(),
            evidence: "n1: refused".into(),
        };
        let f = e.frame();
        assert!(f.starts_with("id: 7\nevent: transition\ndata: {"), "{f}");
        assert!(f.ends_with("}\n\n"), "{f}");
        assert_eq!(f.matches('\n').count(), 4, "{f}");
        assert!(f.contains(r#""to":"down""#), "{f}");
        assert!(!f.contains("target"), "{f}");
    }
}
