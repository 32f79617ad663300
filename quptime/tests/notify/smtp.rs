//! The SMTP notifier against aiosmtpd: plain, STARTTLS and implicit TLS,
//! with and without AUTH; what arrives (recipients, decoded subject,
//! Date, Message-ID, body), and how refusals and silence are reported.

use std::time::{Duration, Instant};

use quptime::ErrorKind;
use quptime::notify::{Notification, Notifiers, is_retryable};
use serde_json::Value;
use tokio::net::TcpListener;

use super::certs::server_cert;
use super::smtp_fixture::{Mode, start};
use super::{channel, closed_port, down, node, notifiers};

/// An SMTP channel to 127.0.0.1:`port` with `extra` settings.
fn smtp(port: u16, extra: &[(&str, &str)]) -> quptime::state::AlertChannel {
    let mut c = channel(
        "smtp",
        &[
            ("host", "127.0.0.1"),
            ("from", "quptime <qu@example.test>"),
            ("to", "ops@example.test, Dev <dev@example.test>"),
            ("timeout", "10s"),
        ],
    );
    c.settings.insert("port".into(), port.to_string());
    for (k, v) in extra {
        c.settings.insert(k.to_string(), v.to_string());
    }
    c
}

fn only(messages: Vec<Value>) -> Value {
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages.into_iter().next().expect("one")
}

#[tokio::test]
async fn smtp_plain_delivers_one_message_to_all_recipients() {
    let server = start(Mode::Plain, None, None).await;
    let c = smtp(server.port, &[("tls", "none")]);
    let n = down("café —");
    let d = notifiers().send(&c, &n).await.expect("delivered");
    assert_eq!(d.kind, "smtp");
    assert!(d.answer.starts_with("250"), "{d:?}");

    let m = only(server.messages());
    assert_eq!(m["mail_from"], "qu@example.test");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@example.test", "dev@example.test"])
    );
    assert_eq!(
        m["subject"],
        "[quptime] HTTP DOWN — café — (https://api.test/health)"
    );
    let raw = m["raw"].as_str().expect("raw");
    let subject_line = raw
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .expect("Subject header");
    assert!(
        subject_line.is_ascii(),
        "subject not encoded: {subject_line}"
    );
    assert!(subject_line.contains("=?utf-8?"), "{subject_line}");
    let date = m["date"].as_str().expect("Date header");
    assert!(date.ends_with("+0000") || date.contains("GMT"), "{date}");
    let id = m["message_id"].as_str().expect("Message-ID header");
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );
    assert_eq!(m["auto_submitted"], "auto-generated");
    let body = m["body"].as_str().expect("body");
    for line in [
        "The HTTP check café — is DOWN.",
        "Expected: status 200",
        "Detail: timeout after 10s",
        "Previous state: up",
        "Reporters: 1/3 OK, 2 failing",
        "Evidence: 2/3 failing: b=timeout after 10s, c=status 503 Service Unavailable",
        "Master: a",
        "Time: 2025-01-02T03:04:05Z",
    ] {
        assert!(body.contains(line), "{line:?} not in:\n{body}");
    }
    assert_eq!(m["tls"], false);
}

#[tokio::test]
async fn smtp_starttls_with_auth() {
    let cert = server_cert();
    let server = start(Mode::StartTls, Some(&cert), Some(("mailbot", "s3cret pw"))).await;
    let c = smtp(
        server.port,
        &[
            ("tls", "starttls"),
            ("user", "mailbot"),
            ("password", "s3cret pw"),
        ],
    );
    let n = Notifiers::with_extra_roots(vec![cert.root.clone()]).expect("notifiers");
    let d = n
        .send(&c, &Notification::test(&node("n1")))
        .await
        .expect("delivered");
    assert!(d.answer.starts_with("250"), "{d:?}");
    let m = only(server.messages());
    assert_eq!(m["subject"], "[quptime] test alert");
    assert_eq!(m["tls"], true, "STARTTLS was not used");
    assert_eq!(m["login"], "mailbot");
    assert!(m["body"].as_str().expect("body").contains("Node: n1"));
}

#[tokio::test]
async fn smtp_implicit_tls_with_auth() {
    let cert = server_cert();
    let server = start(Mode::Tls, Some(&cert), Some(("mailbot", "pw"))).await;
    let c = smtp(
        server.port,
        &[("tls", "tls"), ("user", "mailbot"), ("password", "pw")],
    );
    let n = Notifiers::with_extra_roots(vec![cert.root.clone()]).expect("notifiers");
    n.send(&c, &down("api")).await.expect("delivered");
    let m = only(server.messages());
    assert_eq!(m["tls"], true);
    assert_eq!(m["login"], "mailbot");
    assert!(
        m["subject"]
            .as_str()
            .expect("subject")
            .contains("HTTP DOWN — api")
    );
}

#[tokio::test]
async fn smtp_wrong_password_is_a_permanent_535() {
    let cert = server_cert();
    let server = start(Mode::StartTls, Some(&cert), Some(("mailbot", "right"))).await;
    let c = smtp(server.port, &[("user", "mailbot"), ("password", "wrong")]);
    let n = Notifiers::with_extra_roots(vec![cert.root.clone()]).expect("notifiers");
    let err = n.send(&c, &down("api")).await.expect_err("refused");
    println!("{err}");
    assert!(err.to_string().starts_with("smtp: 535"), "{err}");
    assert!(!is_retryable(&err), "{err}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn smtp_untrusted_certificate_is_refused() {
    let cert = server_cert();
    let server = start(Mode::StartTls, Some(&cert), None).await;
    let c = smtp(server.port, &[]);
    let err = notifiers()
        .send(&c, &down("api"))
        .await
        .expect_err("untrusted");
    println!("{err}");
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert!(err.to_string().starts_with("smtp: "), "{err}");
    assert!(!is_retryable(&err), "{err}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn smtp_starttls_is_never_skipped() {
    // The channel asks for STARTTLS (the default); the server cannot.
    let server = start(Mode::Plain, None, None).await;
    let c = smtp(server.port, &[]);
    let err = notifiers()
        .send(&c, &down("api"))
        .await
        .expect_err("no STARTTLS");
    println!("{err}");
    assert!(err.to_string().starts_with("smtp: "), "{err}");
    assert!(!is_retryable(&err), "{err}");
    assert!(server.messages().is_empty(), "mail went out in clear text");
}

#[tokio::test]
async fn smtp_unreachable_port_is_retryable() {
    let port = closed_port().await;
    let c = smtp(port, &[("tls", "none")]);
    let err = notifiers()
        .send(&c, &down("api"))
        .await
        .expect_err("closed");
    assert_eq!(
        err.to_string(),
        format!("smtp: connect to 127.0.0.1:{port}: connection refused")
    );
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(is_retryable(&err));
}

#[tokio::test]
async fn smtp_silent_server_times_out() {
    // Accepts the connection and never says a word (no greeting).
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    let c = smtp(port, &[("tls", "none"), ("timeout", "1s")]);
    let start = Instant::now();
    let err = notifiers()
        .send(&c, &down("api"))
        .await
        .expect_err("silent");
    assert_eq!(err.to_string(), "smtp: timeout after 1s");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(is_retryable(&err));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn smtp_auth_over_a_plain_connection_is_refused_unless_allowed() {
    let server = start(Mode::Plain, None, Some(("mailbot", "pl41n pw"))).await;
    let creds = [
        ("tls", "none"),
        ("user", "mailbot"),
        ("password", "pl41n pw"),
    ];
    let c = smtp(server.port, &creds);

    // When the channel is added: a clear error saying what to do.
    let e = quptime::notify::refuse_unsafe(&c).expect_err("plain AUTH");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains(
            "SMTP AUTH over a plain connection sends the password in clear; \
             use --starttls or --tls, or --allow-plain-auth"
        ),
        "{e}"
    );
    // Entries stored by older releases still apply (the notifier refuses).
    quptime::notify::validate(&c).expect("well-formed");

    // The notifier refuses too, before a word reaches the server.
    let err = notifiers()
        .send(&c, &down("api"))
        .await
        .expect_err("plain AUTH");
    assert!(
        err.to_string().starts_with("smtp: SMTP AUTH over a plain"),
        "{err}"
    );
    assert!(!is_retryable(&err), "{err}");
    assert!(server.messages().is_empty(), "mail went out");

    // Allowed: the real server receives the login and the mail.
    let mut allowed = smtp(server.port, &creds);
    allowed
        .settings
        .insert("allow_plain_auth".into(), "true".into());
    quptime::notify::refuse_unsafe(&allowed).expect("allowed");
    let d = notifiers()
        .send(&allowed, &down("api"))
        .await
        .expect("delivered");
    assert!(d.answer.starts_with("250"), "{d:?}");
    let m = only(server.messages());
    assert_eq!(m["login"], "mailbot");
    assert_eq!(m["tls"], false);

    // Without credentials a plain connection needs no permission.
    quptime::notify::refuse_unsafe(&smtp(server.port, &[("tls", "none")])).expect("no AUTH");
    // And the setting is a boolean.
    let mut odd = smtp(server.port, &creds);
    odd.settings
        .insert("allow_plain_auth".into(), "maybe".into());
    let e = quptime::notify::validate(&odd).expect_err("not a bool");
    assert!(
        e.to_string()
            .starts_with("smtp setting allow_plain_auth: \"maybe\": use true or false"),
        "{e}"
    );
}
