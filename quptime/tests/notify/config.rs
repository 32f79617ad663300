//! Channel settings: what `validate` accepts and refuses (each error names
//! the setting and the accepted form), and `masked_settings`, which is all
//! any caller may print.

use quptime::ErrorKind;
use quptime::notify::{MASK, masked_settings, validate};

use super::channel;

const SMTP_OK: [(&str, &str); 4] = [
    ("host", "mail.example.test"),
    ("port", "587"),
    ("from", "quptime <qu@example.test>"),
    ("to", "ops@example.test, Dev Team <dev@example.test>"),
];

fn smtp_with(change: &[(&str, &str)], drop: &[&str]) -> quptime::state::AlertChannel {
    let mut c = channel("smtp", &SMTP_OK);
    for key in drop {
        c.settings.remove(*key);
    }
    for (k, v) in change {
        c.settings.insert(k.to_string(), v.to_string());
    }
    c
}

#[track_caller]
fn refused(c: &quptime::state::AlertChannel, needles: &[&str]) {
    let err = validate(c).expect_err("should be refused");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    for n in needles {
        assert!(err.to_string().contains(n), "{n:?} not in: {err}");
    }
}

#[test]
fn smtp_settings_are_checked() {
    validate(&smtp_with(&[], &[])).expect("minimal smtp");
    validate(&smtp_with(
        &[
            ("tls", "tls"),
            ("user", "bot"),
            ("password", " pw "),
            ("timeout", "10s"),
        ],
        &[],
    ))
    .expect("full smtp");
    refused(
        &smtp_with(&[], &["host"]),
        &["smtp setting host", "missing"],
    );
    refused(
        &smtp_with(&[], &["port"]),
        &["smtp setting port", "missing", "587"],
    );
    refused(
        &smtp_with(&[("port", "70000")], &[]),
        &["port", "1 to 65535"],
    );
    refused(
        &smtp_with(&[], &["from"]),
        &["smtp setting from", "missing"],
    );
    refused(&smtp_with(&[], &["to"]), &["smtp setting to", "missing"]);
    refused(
        &smtp_with(&[("to", "ops@example.test, not-an-address")], &[]),
        &["smtp setting to", "not-an-address", "user@example.com"],
    );
    refused(
        &smtp_with(&[("from", "nobody")], &[]),
        &["smtp setting from", "email address"],
    );
    refused(
        &smtp_with(&[("tls", "ssl")], &[]),
        &["smtp setting tls", "starttls, tls or none"],
    );
    refused(&smtp_with(&[("user", "bot")], &[]), &["user and password"]);
    refused(
        &smtp_with(&[("passwrod", "x")], &[]),
        &["no setting \"passwrod\"", "password"],
    );
    refused(&smtp_with(&[("timeout", "soon")], &[]), &["timeout"]);
}

#[test]
fn discord_settings_are_checked() {
    let ok = channel(
        "discord",
        &[("webhook", "https://discord.com/api/webhooks/1/abc")],
    );
    validate(&ok).expect("https webhook");
    refused(
        &channel("discord", &[]),
        &["discord setting webhook", "missing"],
    );
    refused(
        &channel(
            "discord",
            &[("webhook", "http://discord.com/api/webhooks/1/abc")],
        ),
        &["discord setting webhook", "http://", "https://"],
    );
    refused(
        &channel("discord", &[("webhook", "discord")]),
        &["not a URL"],
    );
}

#[test]
fn webhook_settings_are_checked() {
    let url = ("url", "https://hooks.example.test/qu");
    validate(&channel(
        "webhook",
        &[
            url,
            ("method", "put"),
            (
                "headers",
                r#"{"Authorization": "Bearer x", "X-Team": "ops"}"#,
            ),
            ("secret", "s3cret"),
        ],
    ))
    .expect("full webhook");
    validate(&channel("webhook", &[("url", "http://10.0.0.1:8080/hook")])).expect("http ok");
    refused(
        &channel("webhook", &[]),
        &["webhook setting url", "missing"],
    );
    refused(
        &channel("webhook", &[("url", "ftp://x.test/")]),
        &["webhook setting url", "http:// or https://"],
    );
    refused(
        &channel("webhook", &[url, ("method", "DELETE")]),
        &["webhook setting method", "POST, PUT or PATCH"],
    );
    refused(
        &channel("webhook", &[url, ("headers", "Authorization: Bearer x")]),
        &["webhook setting headers", "JSON object"],
    );
    refused(
        &channel("webhook", &[url, ("headers", r#"{"Bad Name": "x"}"#)]),
        &["not a header name"],
    );
    refused(
        &channel("webhook", &[url, ("headers", r#"{"Host": "x"}"#)]),
        &["set by quptime"],
    );
}

#[test]
fn templates_are_checked_when_configured() {
    refused(
        &channel(
            "webhook",
            &[
                ("url", "https://h.test/"),
                ("subject_template", "{check} is {stat}"),
            ],
        ),
        &["subject_template", "unknown placeholder {stat}", "{state}"],
    );
    refused(
        &channel(
            "webhook",
            &[("url", "https://h.test/"), ("body_template", "{check")],
        ),
        &["body_template", "never closed"],
    );
    refused(&channel("pager", &[]), &["unknown alert type"]);
}

#[test]
fn secrets_are_masked() {
    let c = channel(
        "webhook",
        &[
            (
                "url",
                "https://hooks.example.test/services/T0/B0/XyZsecret?sig=abc",
            ),
            ("webhook", "https://discord.com/api/webhooks/123/tokenTOKEN"),
            ("password", "hunter2"),
            ("secret", "s3cret"),
            (
                "headers",
                r#"{"Authorization":"Bearer abc","X-Api-Token":"t","X-Team":"ops"}"#,
            ),
            ("user", "mailbot"),
        ],
    );
    let m = masked_settings(&c);
    assert_eq!(m["url"], "https://hooks.example.test/****");
    assert_eq!(m["webhook"], "https://discord.com/****");
    assert_eq!(m["password"], MASK);
    assert_eq!(m["secret"], MASK);
    assert_eq!(m["user"], "mailbot");
    let headers: serde_json::Value = serde_json::from_str(&m["headers"]).expect("json");
    assert_eq!(headers["Authorization"], MASK);
    assert_eq!(headers["X-Api-Token"], MASK);
    assert_eq!(headers["X-Team"], "ops");
    let shown = format!("{m:?}");
    for secret in ["hunter2", "s3cret", "tokenTOKEN", "XyZsecret", "Bearer abc"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}
