//! The Discord notifier against the local HTTPS receiver (trusted through
//! the channel's `ca` setting): the content format, the 2000-character
//! cap, rate limits, and the refusal of plain `http://` webhook URLs.

use std::time::Duration;

use quptime::ErrorKind;
use quptime::notify::{DISCORD_CONTENT_LIMIT, is_retryable, message, retry_after};
use quptime::state::{CheckState, CheckType, Evidence};

use super::receiver::{Receiver, Reply};
use super::{down, node, notifiers, transition};

fn discord(r: &Receiver) -> quptime::state::AlertChannel {
    r.channel("discord", &[("webhook", &r.url("/api/webhooks/1/tok"))])
}

#[tokio::test]
async fn discord_posts_the_subject_and_the_body_in_a_code_block() {
    let r = Receiver::https().await;
    let c = discord(&r);
    let n = down("api");
    let d = notifiers().send(&c, &n).await.expect("delivered");
    assert_eq!(d.answer, "204 No Content");
    let req = r.only();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/api/webhooks/1/tok");
    assert_eq!(req.header("content-type"), Some("application/json"));
    let json = req.json();
    let m = message::render(&n);
    let want = format!("{}\n```\n{}\n```", m.subject, m.body.trim_end());
    assert_eq!(json["content"], want);
    assert!(
        json["content"]
            .as_str()
            .expect("content")
            .starts_with("[quptime] HTTP DOWN — api (https://api.test/health)\n```\n")
    );
    assert_eq!(json["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[tokio::test]
async fn discord_content_is_capped_at_2000_characters() {
    let r = Receiver::https().await;
    let mut t = transition("api", CheckState::Up, CheckState::Down);
    t.evidence = (0..200)
        .map(|i| Evidence {
            node: node(&format!("node-{i}")),
            ok: false,
            detail: format!("connect: connection refused ({})", "x".repeat(40)),
            latency_ms: 1,
        })
        .collect();
    let n =
        quptime::notify::Notification::from_transition(&t, CheckType::Http, None).expect("down");
    notifiers().send(&discord(&r), &n).await.expect("delivered");
    let content = r.only().json()["content"]
        .as_str()
        .expect("content")
        .to_string();
    let len = content.chars().count();
    assert!(len <= DISCORD_CONTENT_LIMIT, "{len} characters");
    assert!(len > DISCORD_CONTENT_LIMIT - 10, "cut too much: {len}");
    assert!(content.starts_with("[quptime] HTTP DOWN — api"));
    assert!(content.ends_with("… (truncated)\n```"), "{content}");
    assert_eq!(content.matches("```").count(), 2);
}

#[tokio::test]
async fn discord_rate_limits_carry_retry_after() {
    let r = Receiver::https().await;
    r.then(
        Reply::status(429, "Too Many Requests")
            .header("Content-Type", "application/json")
            .header("Retry-After", "3")
            .body(r#"{"message": "You are being rate limited.", "retry_after": 2.5, "global": false}"#),
    );
    r.then(Reply::status(429, "Too Many Requests").header("Retry-After", "2"));
    r.then(Reply::status(429, "Too Many Requests"));
    let n = notifiers();
    let c = discord(&r);

    let err = n.send(&c, &down("api")).await.expect_err("429");
    assert_eq!(
        err.to_string(),
        "discord: 429 rate limited, retry after 2500ms"
    );
    assert!(is_retryable(&err));
    assert_eq!(retry_after(&err), Some(Duration::from_millis(2500)));

    let err = n.send(&c, &down("api")).await.expect_err("429");
    assert_eq!(err.to_string(), "discord: 429 rate limited, retry after 2s");
    assert_eq!(retry_after(&err), Some(Duration::from_secs(2)));

    let err = n.send(&c, &down("api")).await.expect_err("429");
    assert_eq!(err.to_string(), "discord: 429 rate limited");
    assert!(is_retryable(&err));
    assert_eq!(retry_after(&err), None);
    assert_eq!(r.requests().len(), 3);
}

#[tokio::test]
async fn discord_refuses_plain_http() {
    let r = Receiver::start().await;
    let err = notifiers()
        .send(&discord(&r), &down("api"))
        .await
        .expect_err("http refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("https://"), "{err}");
    assert!(!is_retryable(&err));
    assert!(r.requests().is_empty());
}

#[tokio::test]
async fn discord_client_errors_are_permanent_and_quote_the_answer() {
    let r = Receiver::https().await;
    r.then(
        Reply::status(400, "Bad Request")
            .body(r#"{"message": "Cannot send an empty message", "code": 50006}"#),
    );
    let err = notifiers()
        .send(&discord(&r), &down("api"))
        .await
        .expect_err("400");
    assert!(
        err.to_string()
            .starts_with("discord: 400 Bad Request: {\"message\": \"Cannot send"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("/api/webhooks/1/tok"),
        "URL leaked: {err}"
    );
    assert!(!is_retryable(&err));
}
