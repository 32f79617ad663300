//! The webhook notifier against the local HTTPS receiver (trusted through
//! the channel's `ca` setting): the version-1 JSON
//! document, method and custom headers, the HMAC signature (verified here
//! independently), templates, and how answers are classified.

use hmac::{Hmac, Mac};
use quptime::notify::{
    Notification, SIGNATURE_HEADER, TIMESTAMP_HEADER, is_retryable, message, retry_after,
};
use serde_json::json;
use sha2::Sha256;

use super::receiver::{Receiver, Reply};
use super::{channel, down, node, notifiers};

#[tokio::test]
async fn webhook_posts_the_documented_json() {
    let r = Receiver::https().await;
    let c = r.channel("webhook", &[("url", &r.url("/hooks/qu?team=ops"))]);
    let n = down("api");
    let d = notifiers().send(&c, &n).await.expect("delivered");
    assert_eq!(d.answer, "204 No Content");
    let req = r.only();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/hooks/qu?team=ops");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert!(
        req.header("user-agent")
            .expect("UA")
            .starts_with("quptime/")
    );
    assert_eq!(
        req.header(SIGNATURE_HEADER),
        None,
        "no secret, no signature"
    );
    assert_eq!(
        req.header(TIMESTAMP_HEADER),
        None,
        "no secret, no timestamp"
    );
    let m = message::render(&n);
    assert_eq!(
        req.json(),
        json!({
            "version": 1,
            "kind": "down",
            "check": {"name": "api", "type": "http", "target": "https://api.test/health"},
            "from": "up",
            "to": "down",
            "evidence": [
                {"node": "a", "ok": true, "detail": "status 200 OK", "latency_ms": 12},
                {"node": "b", "ok": false, "detail": "timeout after 10s", "latency_ms": 10000},
                {"node": "c", "ok": false, "detail": "status 503 Service Unavailable", "latency_ms": 40},
            ],
            "expectation": "status 200",
            "since": null,
            "master": "a",
            "time": "2025-01-02T03:04:05Z",
            "subject": m.subject,
            "text": m.body,
        })
    );
}

#[tokio::test]
async fn webhook_test_alerts_have_no_check() {
    let r = Receiver::https().await;
    let c = r.channel("webhook", &[("url", &r.url("/"))]);
    notifiers()
        .send(&c, &Notification::test(&node("n1")))
        .await
        .expect("delivered");
    let body = r.only().json();
    assert_eq!(body["kind"], "test");
    assert_eq!(body["check"], serde_json::Value::Null);
    assert_eq!(body["from"], serde_json::Value::Null);
    assert_eq!(body["evidence"], json!([]));
    assert_eq!(body["master"], "n1");
    assert_eq!(body["subject"], "[quptime] test alert");
}

#[tokio::test]
async fn webhook_method_and_custom_headers() {
    let r = Receiver::https().await;
    let c = r.channel(
        "webhook",
        &[
            ("url", &r.url("/put-here")),
            ("method", "put"),
            (
                "headers",
                r#"{"Authorization": "Bearer t0ken", "X-Team": "ops", "Content-Type": "application/vnd.qu+json"}"#,
            ),
        ],
    );
    notifiers().send(&c, &down("api")).await.expect("delivered");
    let req = r.only();
    assert_eq!(req.method, "PUT");
    assert_eq!(req.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(req.header("x-team"), Some("ops"));
    assert_eq!(req.header("content-type"), Some("application/vnd.qu+json"));
    assert_eq!(req.json()["kind"], "down");
}

/// What a receiver does (docs/configuration.md): HMAC-SHA256 over
/// `"<timestamp>.<body>"`, compared in constant time, then the timestamp
/// within the replay window of `now`.
fn verify(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: u64,
) -> Result<(), String> {
    let hex = header.strip_prefix("sha256=").ok_or("no sha256= prefix")?;
    if hex.len() != 64 {
        return Err(format!("{} hex digits", hex.len()));
    }
    let tag: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&tag)
        .map_err(|_| "bad signature".to_string())?;
    let ts: u64 = timestamp.parse().map_err(|_| "timestamp not a number")?;
    if now.abs_diff(ts) > 300 {
        return Err(format!("timestamp {ts} outside the replay window of {now}"));
    }
    Ok(())
}

#[tokio::test]
async fn webhook_signature_covers_the_timestamp_and_the_exact_body() {
    let r = Receiver::https().await;
    let secret = "shared s3cret";
    let c = r.channel("webhook", &[("url", &r.url("/signed")), ("secret", secret)]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    notifiers().send(&c, &down("api")).await.expect("delivered");
    let req = r.only();
    let header = req.header(SIGNATURE_HEADER).expect("signature header");
    let ts = req.header(TIMESTAMP_HEADER).expect("timestamp header");
    let sent: u64 = ts.parse().expect("unix seconds");
    assert!(sent >= before && sent <= before + 60, "{sent} vs {before}");
    verify(secret, ts, &req.body, header, sent).expect("signature verifies");

    // A tampered timestamp (a replay dressed up as fresh) fails, and so do
    // a tampered body, the wrong secret and a stale request.
    let later = (sent + 3600).to_string();
    let e = verify(secret, &later, &req.body, header, sent + 3600).expect_err("tampered ts");
    assert_eq!(e, "bad signature");
    let mut body = req.body.clone();
    body[0] ^= 1;
    assert!(verify(secret, ts, &body, header, sent).is_err());
    assert!(verify("other", ts, &req.body, header, sent).is_err());
    let e = verify(secret, ts, &req.body, header, sent + 301).expect_err("replayed");
    assert!(e.contains("replay window"), "{e}");
}

#[tokio::test]
async fn webhook_headers_may_not_set_the_signature_or_timestamp() {
    for name in [SIGNATURE_HEADER, TIMESTAMP_HEADER] {
        let headers = format!(r#"{{"{name}": "1"}}"#);
        let c = channel(
            "webhook",
            &[("url", "https://h.test/"), ("headers", &headers)],
        );
        let e = quptime::notify::validate(&c).expect_err(name);
        assert!(e.to_string().contains("set by quptime itself"), "{e}");
    }
}

#[tokio::test]
async fn webhook_templates_shape_subject_and_text() {
    let r = Receiver::https().await;
    let c = r.channel(
        "webhook",
        &[
            ("url", &r.url("/")),
            ("subject_template", "{check} {state} ({reporters})"),
            ("body_template", "{evidence}\nby {master} at {time}"),
        ],
    );
    notifiers().send(&c, &down("api")).await.expect("delivered");
    let body = r.only().json();
    assert_eq!(body["subject"], "api down (1/3 OK, 2 failing)");
    assert_eq!(
        body["text"],
        "2/3 failing: b=timeout after 10s, c=status 503 Service Unavailable\n\
         by a at 2025-01-02T03:04:05Z"
    );
}

#[tokio::test]
async fn webhook_bad_templates_fall_back_and_still_send() {
    let r = Receiver::https().await;
    let c = r.channel(
        "webhook",
        &[("url", &r.url("/")), ("subject_template", "{check")],
    );
    // Validation refuses such a template; one that is stored anyway (by a
    // newer version, say) never holds an alert back.
    assert!(quptime::notify::validate(&c).is_err());
    let n = down("api");
    notifiers().send(&c, &n).await.expect("delivered");
    let body = r.only().json();
    assert_eq!(body["subject"], message::render(&n).subject);
    assert_eq!(body["text"], message::render(&n).body);
}

#[tokio::test]
async fn webhook_answers_are_classified() {
    let r = Receiver::https().await;
    let c = r.channel("webhook", &[("url", &r.url("/"))]);
    let n = notifiers();

    r.then(Reply::status(500, "Internal Server Error"));
    let err = n.send(&c, &down("api")).await.expect_err("500");
    assert_eq!(err.to_string(), "webhook: 500 Internal Server Error");
    assert!(is_retryable(&err));
    assert_eq!(retry_after(&err), None);

    r.then(Reply::status(503, "Service Unavailable").body("down for maintenance"));
    let err = n.send(&c, &down("api")).await.expect_err("503");
    assert_eq!(
        err.to_string(),
        "webhook: 503 Service Unavailable: down for maintenance"
    );
    assert!(is_retryable(&err));

    r.then(Reply::status(429, "Too Many Requests").header("Retry-After", "7"));
    let err = n.send(&c, &down("api")).await.expect_err("429");
    assert!(err.to_string().starts_with("webhook: 429"), "{err}");
    assert!(is_retryable(&err));
    assert_eq!(retry_after(&err), Some(std::time::Duration::from_secs(7)));

    r.then(Reply::status(404, "Not Found"));
    let err = n.send(&c, &down("api")).await.expect_err("404");
    assert_eq!(err.to_string(), "webhook: 404 Not Found");
    assert!(!is_retryable(&err));

    r.then(Reply::status(301, "Moved Permanently").header("Location", "http://elsewhere.test/"));
    let err = n.send(&c, &down("api")).await.expect_err("301");
    assert!(
        err.to_string()
            .starts_with("webhook: 301 Moved Permanently"),
        "{err}"
    );
    assert!(!is_retryable(&err));

    r.then(Reply::status(200, "OK").body("thanks"));
    let d = n.send(&c, &down("api")).await.expect("200");
    assert_eq!(d.answer, "200 OK");
    assert_eq!(r.requests().len(), 6);
}
