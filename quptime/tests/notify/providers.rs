//! What each provider's requests must look like, as the provider documents
//! them: the settings that point a channel at the local HTTPS receiver,
//! the secret and where it must travel, and per request the method, the
//! path, the auth header and the required JSON fields with their types,
//! plus the text fields and their length limits. The driver is
//! `conformance.rs`.

use quptime::notify::NotificationKind;
use serde_json::Value;

use super::receiver::Recorded;

/// How a limit counts.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Chars,
    Bytes,
}

/// One provider's contract.
pub struct Case {
    pub kind: &'static str,
    /// The channel's settings, given the receiver's `https://127.0.0.1:port`.
    pub settings: fn(&str) -> Vec<(&'static str, String)>,
    /// The secret the settings hold: never in an error, masked when shown.
    pub secret: &'static str,
    /// Asserts one request announcing an alert of this kind.
    pub check: fn(&Recorded, NotificationKind),
    /// Text fields (JSON pointers) and their limits; the first is the one
    /// a 10 KB evidence must have been cut in.
    pub limits: &'static [(&'static str, usize, Unit)],
    /// Requests a test alert makes (2: open, then close).
    pub test_requests: usize,
}

/// The incident key the DOWN, REMINDER and RECOVERED of the driver carry.
pub const INCIDENT: &str = "quptime-c1-7";

fn post(r: &Recorded, path: &str) -> Value {
    assert_eq!(r.method, "POST", "{r:?}");
    assert_eq!(r.path, path);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

fn string(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {v}"))
        .to_string()
}

fn number(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{pointer} is not an integer in {v}"))
}

fn urgent(k: NotificationKind) -> bool {
    matches!(k, NotificationKind::Down | NotificationKind::Reminder)
}

pub fn cases() -> Vec<Case> {
    use NotificationKind::*;
    vec![
        Case {
            kind: "slack",
            settings: |b| vec![("url", format!("{b}/services/T0/B0/SECRETslack"))],
            secret: "SECRETslack",
            check: |r, _| {
                let v = post(r, "/services/T0/B0/SECRETslack");
                string(&v, "/text");
                assert_eq!(string(&v, "/blocks/0/type"), "header");
                assert_eq!(string(&v, "/blocks/0/text/type"), "plain_text");
                assert_eq!(string(&v, "/blocks/1/type"), "section");
                string(&v, "/blocks/1/text/text");
            },
            limits: &[
                ("/blocks/1/text/text", 3000, Unit::Chars),
                ("/text", 3000, Unit::Chars),
                ("/blocks/0/text/text", 150, Unit::Chars),
            ],
            test_requests: 1,
        },
        Case {
            kind: "teams",
            settings: |b| vec![("url", format!("{b}/workflows/w1/invoke?sig=SECRETteams"))],
            secret: "SECRETteams",
            check: |r, _| {
                let v = post(r, "/workflows/w1/invoke?sig=SECRETteams");
                assert_eq!(string(&v, "/type"), "message");
                assert_eq!(
                    string(&v, "/attachments/0/contentType"),
                    "application/vnd.microsoft.card.adaptive"
                );
                assert_eq!(string(&v, "/attachments/0/content/type"), "AdaptiveCard");
                assert_eq!(
                    string(&v, "/attachments/0/content/body/0/type"),
                    "TextBlock"
                );
                string(&v, "/attachments/0/content/body/1/text");
            },
            limits: &[
                ("/attachments/0/content/body/1/text", 20_000, Unit::Bytes),
                ("/attachments/0/content/body/0/text", 1000, Unit::Chars),
            ],
            test_requests: 1,
        },
        Case {
            kind: "telegram",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("token", "123456:SECRETtg".into()),
                    ("chat_id", "-100123".into()),
                ]
            },
            secret: "SECRETtg",
            check: |r, _| {
                let v = post(r, "/bot123456:SECRETtg/sendMessage");
                assert_eq!(number(&v, "/chat_id"), -100123);
                string(&v, "/text");
                assert!(v.get("parse_mode").is_none(), "plain text: {v}");
            },
            limits: &[("/text", 4096, Unit::Chars)],
            test_requests: 1,
        },
        Case {
            kind: "ntfy",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("topic", "ops".into()),
                    ("token", "tk_SECRETntfy".into()),
                ]
            },
            secret: "tk_SECRETntfy",
            check: |r, k| {
                let v = post(r, "/");
                assert_eq!(r.header("authorization"), Some("Bearer tk_SECRETntfy"));
                assert_eq!(string(&v, "/topic"), "ops");
                string(&v, "/title");
                string(&v, "/message");
                assert_eq!(number(&v, "/priority"), if urgent(k) { 5 } else { 3 });
            },
            limits: &[("/message", 4096, Unit::Bytes)],
            test_requests: 1,
        },
        Case {
            kind: "gotify",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("token", "SECRETgotify".into()),
                ]
            },
            secret: "SECRETgotify",
            check: |r, k| {
                let v = post(r, "/message");
                assert_eq!(r.header("x-gotify-key"), Some("SECRETgotify"));
                string(&v, "/title");
                string(&v, "/message");
                assert_eq!(number(&v, "/priority"), if urgent(k) { 8 } else { 4 });
            },
            limits: &[("/message", 16384, Unit::Chars)],
            test_requests: 1,
        },
        Case {
            kind: "pushover",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("token", "aSECRETpushover0000000000000000".into()),
                    ("user", "uQiRzpo4DXghDmr9QzzfQu27cmVRsG".into()),
                ]
            },
            secret: "aSECRETpushover0000000000000000",
            check: |r, k| {
                let v = post(r, "/1/messages.json");
                assert_eq!(string(&v, "/token"), "aSECRETpushover0000000000000000");
                assert_eq!(string(&v, "/user"), "uQiRzpo4DXghDmr9QzzfQu27cmVRsG");
                string(&v, "/title");
                assert_eq!(number(&v, "/priority"), i64::from(urgent(k)));
            },
            limits: &[
                ("/message", 1024, Unit::Chars),
                ("/title", 250, Unit::Chars),
            ],
            test_requests: 1,
        },
        Case {
            kind: "pagerduty",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("routing_key", "SECRETpd0123456789abcdef01234567".into()),
                ]
            },
            secret: "SECRETpd0123456789abcdef01234567",
            check: |r, k| {
                let v = post(r, "/v2/enqueue");
                assert_eq!(
                    string(&v, "/routing_key"),
                    "SECRETpd0123456789abcdef01234567"
                );
                let action = string(&v, "/event_action");
                match k {
                    Down | Reminder | MonitorDegraded => assert_eq!(action, "trigger"),
                    Recovered | MonitorRecovered => assert_eq!(action, "resolve"),
                    Test | Flapping | Degraded | DegradedCleared => {
                        assert!(action == "trigger" || action == "resolve")
                    }
                }
                if k == Test {
                    assert!(string(&v, "/dedup_key").starts_with("quptime-test-"));
                } else {
                    assert_eq!(string(&v, "/dedup_key"), INCIDENT);
                }
                if action == "trigger" {
                    string(&v, "/payload/summary");
                    string(&v, "/payload/source");
                    let severity = string(&v, "/payload/severity");
                    assert_eq!(severity, if k == Test { "info" } else { "critical" });
                }
            },
            limits: &[
                ("/payload/custom_details/body", 16384, Unit::Bytes),
                ("/payload/summary", 1024, Unit::Chars),
            ],
            test_requests: 2,
        },
        Case {
            kind: "opsgenie",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("api_key", "SECRET-0123-4567".into()),
                ]
            },
            secret: "SECRET-0123-4567",
            check: |r, k| {
                assert_eq!(r.header("authorization"), Some("GenieKey SECRET-0123-4567"));
                let close = format!("/v2/alerts/{INCIDENT}/close?identifierType=alias");
                match k {
                    Down | Reminder | MonitorDegraded => {
                        let v = post(r, "/v2/alerts");
                        assert_eq!(string(&v, "/alias"), INCIDENT);
                        string(&v, "/message");
                        assert_eq!(string(&v, "/priority"), "P1");
                    }
                    Recovered | MonitorRecovered => {
                        let v = post(r, &close);
                        assert_eq!(string(&v, "/source"), "quptime");
                    }
                    Test | Flapping | Degraded | DegradedCleared => {
                        assert!(r.path.starts_with("/v2/alerts"), "{}", r.path)
                    }
                }
            },
            limits: &[
                ("/description", 15000, Unit::Chars),
                ("/message", 130, Unit::Chars),
            ],
            test_requests: 2,
        },
        Case {
            kind: "matrix",
            settings: |b| {
                vec![
                    ("base_url", b.to_string()),
                    ("access_token", "syt_SECRETmatrix".into()),
                    ("room_id", "!room:example.org".into()),
                ]
            },
            secret: "syt_SECRETmatrix",
            check: |r, _| {
                assert_eq!(r.method, "PUT");
                let prefix =
                    "/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/qu-";
                assert!(r.path.starts_with(prefix), "{}", r.path);
                assert_eq!(r.header("authorization"), Some("Bearer syt_SECRETmatrix"));
                let v = r.json();
                assert_eq!(string(&v, "/msgtype"), "m.text");
                string(&v, "/body");
            },
            limits: &[("/body", 60_000, Unit::Bytes)],
            test_requests: 1,
        },
        Case {
            kind: "mattermost",
            settings: |b| vec![("url", format!("{b}/hooks/SECRETmm"))],
            secret: "SECRETmm",
            check: |r, _| {
                let v = post(r, "/hooks/SECRETmm");
                string(&v, "/text");
            },
            limits: &[("/text", 16383, Unit::Chars)],
            test_requests: 1,
        },
        Case {
            kind: "googlechat",
            settings: |b| {
                vec![(
                    "url",
                    format!("{b}/v1/spaces/AAA/messages?key=k&token=SECRETgc"),
                )]
            },
            secret: "SECRETgc",
            check: |r, k| {
                let base = "/v1/spaces/AAA/messages?key=k&token=SECRETgc";
                if k == Test {
                    post(r, base);
                } else {
                    let threaded = format!(
                        "{base}&threadKey={INCIDENT}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
                    );
                    let v = post(r, &threaded);
                    string(&v, "/text");
                }
            },
            limits: &[("/text", 4096, Unit::Chars)],
            test_requests: 1,
        },
        Case {
            kind: "discord",
            settings: |b| vec![("webhook", format!("{b}/api/webhooks/1/SECRETdiscord"))],
            secret: "SECRETdiscord",
            check: |r, _| {
                let v = post(r, "/api/webhooks/1/SECRETdiscord");
                string(&v, "/content");
            },
            limits: &[("/content", 2000, Unit::Chars)],
            test_requests: 1,
        },
        Case {
            kind: "webhook",
            settings: |b| {
                vec![
                    ("url", format!("{b}/hook")),
                    ("secret", "SECREThmac".into()),
                ]
            },
            secret: "SECREThmac",
            check: |r, k| {
                let v = post(r, "/hook");
                assert_eq!(string(&v, "/kind"), k.as_str());
                assert!(r.header("x-quptime-signature").is_some());
                if k == Test {
                    assert!(v.get("incident").is_none(), "{v}");
                } else {
                    assert_eq!(string(&v, "/incident"), INCIDENT);
                }
            },
            // The generic webhook sends the whole text (receivers are ours).
            limits: &[],
            test_requests: 1,
        },
    ]
}

/// The length of `text` as `unit` counts it.
pub fn length(text: &str, unit: Unit) -> usize {
    match unit {
        Unit::Chars => text.chars().count(),
        Unit::Bytes => text.len(),
    }
}
