//! The notifiers against real receivers on 127.0.0.1: an aiosmtpd SMTP
//! server (plain, STARTTLS, implicit TLS, with and without AUTH) run as a
//! child process, and an HTTPS (HTTP/1.1 over TLS, private CA given to the
//! channel's `ca` setting) receiver written here that records what Discord,
//! webhook and provider channels send and answers as scripted (204, 429,
//! 500, 404). No mocks, no internet. Channel validation, secret masking
//! and templates are checked here too; every notifier is held to the same
//! contract against a receiver that is not there (the conformance test).

#[path = "notify/certs.rs"]
mod certs;
#[path = "notify/config.rs"]
mod config;
#[path = "notify/conformance.rs"]
mod conformance;
#[path = "notify/discord.rs"]
mod discord;
#[path = "notify/masking.rs"]
mod masking;
#[path = "notify/providers.rs"]
mod providers;
#[path = "notify/receiver.rs"]
mod receiver;
#[path = "notify/smtp.rs"]
mod smtp;
#[path = "notify/smtp_fixture.rs"]
mod smtp_fixture;
#[path = "notify/webhook.rs"]
mod webhook;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use quptime::NodeId;
use quptime::notify::{Notification, Notifiers, is_retryable};
use quptime::state::{AlertChannel, CheckState, CheckType, Evidence, TransitionRecord};
use tokio::net::TcpListener;

/// A node id.
pub fn node(id: &str) -> NodeId {
    NodeId::new(id).expect("node id")
}

/// A committed `from → to` transition of check `name`, seen by a (ok),
/// b (timeout) and c (503).
pub fn transition(name: &str, from: CheckState, to: CheckState) -> TransitionRecord {
    let ev = |n: &str, ok: bool, detail: &str, latency_ms: u64| Evidence {
        node: node(n),
        ok,
        detail: detail.into(),
        latency_ms,
    };
    TransitionRecord {
        seq: 7,
        check_id: "c1".into(),
        check_name: name.into(),
        target: "https://api.test/health".into(),
        from,
        to,
        at: "2025-01-02T03:04:05Z".into(),
        master: node("a"),
        term: 3,
        evidence: vec![
            ev("a", true, "status 200 OK", 12),
            ev("b", false, "timeout after 10s", 10_000),
            ev("c", false, "status 503 Service Unavailable", 40),
        ],
    }
}

/// The DOWN alert for check `name`.
pub fn down(name: &str) -> Notification {
    Notification::from_transition(
        &transition(name, CheckState::Up, CheckState::Down),
        CheckType::Http,
        Some("status 200".into()),
    )
    .expect("up → down alerts")
}

/// A channel of `kind` with `settings`.
pub fn channel(kind: &str, settings: &[(&str, &str)]) -> AlertChannel {
    AlertChannel {
        id: format!("{kind}-1"),
        name: format!("{kind}-test"),
        kind: kind.into(),
        default: false,
        disabled: false,
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The notifiers as a node builds them (system roots only; a test's
/// private CA reaches a channel through its `ca` setting).
pub fn notifiers() -> Notifiers {
    Notifiers::new().expect("notifiers")
}

/// A loopback port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

/// Every notifier, pointed at a receiver that is not there, fails cleanly:
/// a retryable error whose text starts with the channel type and says
/// what went wrong, well within the channel's timeout.
#[tokio::test]
async fn conformance_every_notifier_fails_cleanly_on_absent_receivers() {
    let port = closed_port().await;
    let url = format!("https://127.0.0.1:{port}/hook");
    let p = port.to_string();
    let cases = [
        channel(
            "smtp",
            &[
                ("host", "127.0.0.1"),
                ("port", &p),
                ("from", "qu@example.test"),
                ("to", "ops@example.test"),
                ("tls", "none"),
                ("timeout", "2s"),
            ],
        ),
        channel("discord", &[("webhook", &url), ("timeout", "2s")]),
        channel("webhook", &[("url", &url), ("timeout", "2s")]),
    ];
    let base = format!("https://127.0.0.1:{port}");
    let providers = providers::cases().into_iter().map(|case| {
        let mut settings = (case.settings)(&base);
        settings.push(("timeout", "2s".into()));
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        channel(case.kind, &pairs)
    });
    let cases: Vec<AlertChannel> = cases.into_iter().chain(providers).collect();
    let n = notifiers();
    for c in cases {
        let start = Instant::now();
        let err = n.send(&c, &down("api")).await.expect_err("nobody listens");
        let took = start.elapsed();
        println!("{:<8} -> {err} ({:?})", c.kind, err.kind());
        assert!(
            err.to_string().starts_with(&format!("{}: ", c.kind)),
            "{err}"
        );
        assert!(err.to_string().contains("refused"), "{err}");
        assert!(is_retryable(&err), "{}: {err}", c.kind);
        assert!(took < Duration::from_secs(2), "{} took {took:?}", c.kind);
    }
}

/// An unknown channel type is a permanent error naming the known ones.
#[tokio::test]
async fn unknown_channel_types_are_permanent_errors() {
    let err = notifiers()
        .send(&channel("pager", &[]), &down("api"))
        .await
        .expect_err("no such type");
    assert!(!is_retryable(&err));
    assert!(err.to_string().contains("smtp, discord, webhook"), "{err}");
}

/// A dispatcher spawns sends on a multi-threaded runtime: the future and
/// the registry must be `Send`, the registry `Sync` and cheap to clone.
#[test]
fn sends_can_be_spawned() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Send + Sync + Clone>(_: &T) {}
    let n = Notifiers::new().expect("notifiers");
    sync(&n);
    let c = channel("webhook", &[("url", "http://127.0.0.1:9/")]);
    let note = down("api");
    send(&n.send(&c, &note));
}
