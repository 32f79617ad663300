//! A target's password never reaches a receiver: the alert that a real
//! webhook receiver, Discord receiver and aiosmtpd server get for a check
//! whose target is `https://monitor:hunter2@…` shows `monitor:***@…`, in
//! the subject, the body, the webhook's JSON and the evidence.

use quptime::notify::Notification;
use quptime::state::{CheckState, CheckType};

use super::receiver::Receiver;
use super::smtp_fixture::{Mode, start};
use super::{channel, notifiers, transition};

const PASSWORD: &str = "hunter2";
const TARGET: &str = "https://monitor:hunter2@api.test/health";
const SHOWN: &str = "https://monitor:***@api.test/health";

/// The DOWN alert of a check whose target carries a password, with a
/// probe detail that quotes the URL.
fn down_with_credentials() -> Notification {
    let mut t = transition("api", CheckState::Up, CheckState::Down);
    t.target = TARGET.into();
    t.evidence[1].detail = format!("error sending request for url ({TARGET})");
    Notification::from_transition(&t, CheckType::Http, Some("status 200".into()))
        .expect("up → down alerts")
}

fn assert_masked(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "{what} leaks the password:\n{text}"
    );
    assert!(
        text.contains(SHOWN),
        "{what} does not show {SHOWN}:\n{text}"
    );
}

#[test]
fn the_notification_itself_holds_no_password() {
    let n = down_with_credentials();
    assert_eq!(n.target, SHOWN);
    assert_masked("evidence", &n.evidence[1].detail);
    assert_masked("reminder", &n.reminder("2025-01-02T04:00:00Z").target);
}

#[tokio::test]
async fn webhook_and_discord_bodies_hold_no_password() {
    let r = Receiver::https().await;
    let hooks = [
        r.channel("webhook", &[("url", &r.url("/hook"))]),
        r.channel(
            "webhook",
            &[
                ("url", &r.url("/templated")),
                ("subject_template", "{check} {target}"),
                ("body_template", "{target} {evidence}"),
            ],
        ),
        r.channel("discord", &[("webhook", &r.url("/api/webhooks/1/tok"))]),
    ];
    let n = down_with_credentials();
    for c in &hooks {
        notifiers().send(c, &n).await.expect("delivered");
    }
    let requests = r.requests();
    assert_eq!(requests.len(), hooks.len());
    for req in requests {
        let body = String::from_utf8(req.body.clone()).expect("utf-8");
        assert_masked(&req.path, &body);
    }
}

#[tokio::test]
async fn smtp_mail_holds_no_password() {
    let server = start(Mode::Plain, None, None).await;
    let mut c = channel(
        "smtp",
        &[
            ("host", "127.0.0.1"),
            ("from", "qu@example.test"),
            ("to", "ops@example.test"),
            ("tls", "none"),
            ("timeout", "10s"),
        ],
    );
    c.settings.insert("port".into(), server.port.to_string());
    notifiers()
        .send(&c, &down_with_credentials())
        .await
        .expect("delivered");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    // The raw message as received (headers, encoded subject, body).
    let raw = m["raw"].as_str().expect("raw");
    assert!(!raw.contains(PASSWORD), "{raw}");
    assert_masked("subject", m["subject"].as_str().expect("subject"));
    assert_masked("body", m["body"].as_str().expect("body"));
}
