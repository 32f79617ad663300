//! The shared conformance test: every HTTP provider (Discord and the
//! webhook included) delivers over HTTPS to a local TLS receiver whose
//! certificate comes from a private CA trusted only through the channel's
//! `ca` setting, with the channel's URL pointed at it (no test-only
//! switch). For each: DOWN, RECOVERED, REMINDER and a test alert arrive as
//! the provider documents them (`providers.rs`); a 429 with `Retry-After`
//! is a retryable failure with that delay; a 10 KB evidence is cut to the
//! provider's limits; the secret never shows in errors or masked settings.

use std::time::Duration;

use quptime::notify::{MASK, Notification, NotificationKind, Notifiers, masked_settings};
use quptime::notify::{is_retryable, retry_after};
use quptime::state::{AlertChannel, CheckState, CheckType};

use super::certs::server_cert;
use super::providers::{Case, INCIDENT, cases, length};
use super::receiver::{Receiver, Reply};
use super::{channel, node, transition};

/// DOWN, RECOVERED, REMINDER of incident `quptime-c1-7`, and a test alert.
fn alerts() -> Vec<Notification> {
    let down = Notification::from_transition(
        &transition("api", CheckState::Up, CheckState::Down),
        CheckType::Http,
        Some("status 200".into()),
    )
    .expect("down")
    .with_incident("c1", 7);
    let mut up = transition("api", CheckState::Down, CheckState::Up);
    up.seq = 9;
    let recovered = Notification::from_transition(&up, CheckType::Http, None)
        .expect("recovered")
        .with_incident("c1", 7);
    let reminder = down.reminder("2025-01-02T04:04:05Z");
    vec![down, recovered, reminder, Notification::test(&node("a"))]
}

/// A DOWN whose evidence is 10 KB long.
fn long_down() -> Notification {
    let mut t = transition("api", CheckState::Up, CheckState::Down);
    t.evidence[1].detail = "x".repeat(10 * 1024);
    Notification::from_transition(&t, CheckType::Http, None)
        .expect("down")
        .with_incident("c1", 7)
}

fn provider_channel(case: &Case, r: &Receiver) -> AlertChannel {
    let base = r.url("");
    let mut settings = (case.settings)(&base);
    settings.push(("timeout", "5s".to_string()));
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    r.channel(case.kind, &pairs)
}

#[tokio::test]
async fn conformance_every_http_provider_over_https_with_its_own_ca() {
    let cert = server_cert();
    // No extra roots for the node: the channel's `ca` is the only trust.
    let notifiers = Notifiers::new().expect("notifiers");
    let all = cases();
    assert_eq!(
        all.len(),
        quptime::state::ALERT_TYPES.len() - 1,
        "all but smtp"
    );
    for case in &all {
        let r = Receiver::start_tls(&cert).await;
        let c = provider_channel(case, &r);
        quptime::notify::validate(&c).unwrap_or_else(|e| panic!("{}: {e}", case.kind));
        let shown = masked_settings(&c);
        assert!(
            shown.values().all(|v| !v.contains(case.secret)),
            "{}: {shown:?}",
            case.kind
        );
        assert!(shown.values().any(|v| v.contains(MASK)), "{}", case.kind);

        if case.kind == "ntfy" {
            assert_eq!(shown["topic"], MASK, "the topic is ntfy's password");
        }

        // DOWN, RECOVERED, REMINDER, TEST, each as documented.
        let mut expected = Vec::new();
        for n in alerts() {
            let d = notifiers
                .send(&c, &n)
                .await
                .unwrap_or_else(|e| panic!("{} {}: {e}", case.kind, n.kind));
            assert!(d.answer.starts_with("204"), "{}: {}", case.kind, d.answer);
            let count = if n.kind == NotificationKind::Test {
                case.test_requests
            } else {
                1
            };
            expected.extend(std::iter::repeat_n(n.kind, count));
        }
        let got = r.requests();
        assert_eq!(got.len(), expected.len(), "{}: {got:?}", case.kind);
        for (req, kind) in got.iter().zip(&expected) {
            (case.check)(req, *kind);
        }
        dedup_keys_match(case, &got);

        // 429 + Retry-After: retryable, with that delay; no secret shown.
        r.then(Reply::status(429, "Too Many Requests").header("Retry-After", "3"));
        let err = notifiers.send(&c, &alerts()[0]).await.expect_err("429");
        assert!(is_retryable(&err), "{}: {err}", case.kind);
        assert_eq!(
            retry_after(&err),
            Some(Duration::from_secs(3)),
            "{}",
            case.kind
        );
        assert!(
            err.to_string().starts_with(&format!("{}: 429", case.kind)),
            "{err}"
        );
        r.then(Reply::status(500, "Internal Server Error").body("try later"));
        let err500 = notifiers.send(&c, &alerts()[0]).await.expect_err("500");
        assert!(is_retryable(&err500), "{}: {err500}", case.kind);
        for e in [&err, &err500] {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(case.secret), "{}: {text}", case.kind);
        }

        // A 10 KB evidence is cut to the provider's limits.
        let before = r.requests().len();
        notifiers
            .send(&c, &long_down())
            .await
            .expect("long delivered");
        let long = r.requests()[before].json();
        for (i, (pointer, limit, unit)) in case.limits.iter().enumerate() {
            let text = long
                .pointer(pointer)
                .and_then(|v| v.as_str())
                .unwrap_or_else(|| panic!("{} {pointer}", case.kind));
            let n = length(text, *unit);
            assert!(n <= *limit, "{} {pointer}: {n} > {limit}", case.kind);
            // The evidence shows twice (detail and summary): over 20 KB.
            if i == 0 && *limit >= 20 * 1024 {
                assert!(text.contains(&"x".repeat(10 * 1024)), "{} cut", case.kind);
            } else if i == 0 {
                assert!(
                    text.contains("(truncated)"),
                    "{} {pointer} not cut",
                    case.kind
                );
                assert!(
                    n + 64 > *limit,
                    "{} {pointer}: cut too much ({n})",
                    case.kind
                );
            }
        }
    }
}

/// PagerDuty and Opsgenie: the DOWN and the RECOVERED carry the same key,
/// and the RECOVERED resolves (closes) what the DOWN triggered (created).
fn dedup_keys_match(case: &Case, got: &[super::receiver::Recorded]) {
    match case.kind {
        "pagerduty" => {
            let (open, close) = (got[0].json(), got[1].json());
            assert_eq!(open["event_action"], "trigger");
            assert_eq!(close["event_action"], "resolve");
            assert_eq!(open["dedup_key"], INCIDENT);
            assert_eq!(open["dedup_key"], close["dedup_key"]);
            // The test alert opens and resolves its own key.
            let (t1, t2) = (got[3].json(), got[4].json());
            assert_eq!(
                (t1["event_action"].as_str(), t2["event_action"].as_str()),
                (Some("trigger"), Some("resolve"))
            );
            assert_eq!(t1["dedup_key"], t2["dedup_key"]);
            assert_ne!(t1["dedup_key"], INCIDENT);
        }
        "opsgenie" => {
            assert_eq!(got[0].json()["alias"], INCIDENT);
            assert!(
                got[1]
                    .path
                    .starts_with(&format!("/v2/alerts/{INCIDENT}/close"))
            );
            let alias = got[3].json()["alias"]
                .as_str()
                .expect("test alias")
                .to_string();
            assert!(
                got[4]
                    .path
                    .starts_with(&format!("/v2/alerts/{alias}/close")),
                "{}",
                got[4].path
            );
        }
        "matrix" => {
            // One transaction per alert: a retry of one would reuse its id.
            let mut ids: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
            ids.dedup();
            assert_eq!(ids.len(), got.len(), "{ids:?}");
        }
        _ => {}
    }
}

/// Without the channel's `ca` the receiver's certificate is refused, for
/// good (a certificate does not fix itself in a minute).
#[tokio::test]
async fn without_its_ca_a_channel_refuses_the_receiver() {
    let cert = server_cert();
    let r = Receiver::start_tls(&cert).await;
    let c = channel(
        "slack",
        &[("url", &r.url("/services/T/B/X")), ("timeout", "5s")],
    );
    let err = Notifiers::new()
        .expect("notifiers")
        .send(&c, &alerts()[0])
        .await
        .expect_err("untrusted");
    assert!(err.to_string().starts_with("slack: tls:"), "{err}");
    assert!(!is_retryable(&err), "{err}");
    assert!(r.requests().is_empty());
}

/// A channel type, its settings, and what the error must say.
type Bad = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// Required settings are named with the accepted form; `http://` is
/// refused for SaaS providers.
#[test]
fn missing_and_malformed_settings_name_the_setting_and_the_form() {
    let cases: [Bad; 9] = [
        (
            "slack",
            &[],
            "slack setting url: missing: set it to an https:// URL",
        ),
        (
            "slack",
            &[("url", "http://hooks.slack.test/x")],
            "http:// URLs are refused",
        ),
        (
            "telegram",
            &[("chat_id", "1")],
            "telegram setting token: missing",
        ),
        (
            "telegram",
            &[("token", "1:a"), ("chat_id", "me")],
            "telegram setting chat_id",
        ),
        ("ntfy", &[("topic", "a/b")], "ntfy setting topic"),
        (
            "gotify",
            &[("token", "t")],
            "gotify setting base_url: missing",
        ),
        (
            "pushover",
            &[("token", "t")],
            "pushover setting user: missing",
        ),
        ("pagerduty", &[], "pagerduty setting routing_key: missing"),
        (
            "matrix",
            &[("access_token", "t"), ("room_id", "#alias:x")],
            "matrix setting room_id",
        ),
    ];
    for (kind, settings, want) in cases {
        let err = quptime::notify::validate(&channel(kind, settings)).expect_err(kind);
        assert!(err.to_string().contains(want), "{kind}: {err}");
    }
    let bad_ca = channel("slack", &[("url", "https://h.test/x"), ("ca", "not a pem")]);
    let err = quptime::notify::validate(&bad_ca).expect_err("ca");
    assert!(err.to_string().starts_with("slack setting ca:"), "{err}");
}
