//! The words of an alert: a subject line and a plain-text body, the same
//! for every channel (SMTP sends them as they are, Discord puts the body in
//! a code block, the webhook adds them to its JSON), optionally shaped per
//! channel by the `subject_template` and `body_template` settings (see
//! [`PLACEHOLDERS`](super::PLACEHOLDERS)).
//!
//! The default subject is `[quptime] HTTP DOWN — api (https://…)` so that
//! mail filters and phone notifications show type, verdict and check
//! first; the body says what was expected, what was seen, by how many
//! members and who decided.

use crate::state::AlertChannel;

use super::notification::{Notification, NotificationKind};
use super::template;

/// Settings keys of the per-channel templates (any channel type).
pub const SUBJECT_TEMPLATE: &str = "subject_template";
/// See [`SUBJECT_TEMPLATE`].
pub const BODY_TEMPLATE: &str = "body_template";

/// A rendered alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// One line, no line breaks.
    pub subject: String,
    /// Plain text, lines separated by `\n`.
    pub body: String,
}

/// The default rendering of `n`.
pub fn render(n: &Notification) -> Message {
    Message {
        subject: subject(n),
        body: body(n),
    }
}

/// `n` as `channel` says it: its templates if it has valid ones, the
/// default rendering otherwise (an invalid template is logged, never
/// fatal: the alert still goes out).
pub fn render_for(channel: &AlertChannel, n: &Notification) -> Message {
    let default = render(n);
    let apply = |key: &str, fallback: &str| -> String {
        let Some(t) = channel.settings.get(key).filter(|t| !t.is_empty()) else {
            return fallback.to_string();
        };
        match template::render(t, n, &default.subject, &default.body) {
            Ok(text) => text,
            Err(e) => {
                tracing::warn!(
                    channel = %channel.name,
                    setting = key,
                    error = %e,
                    "alert template is invalid; sending the default text instead"
                );
                fallback.to_string()
            }
        }
    };
    Message {
        subject: one_line(&apply(SUBJECT_TEMPLATE, &default.subject)),
        body: apply(BODY_TEMPLATE, &default.body),
    }
}

/// `[quptime] HTTP DOWN — api (https://api.example.com/health)`.
fn subject(n: &Notification) -> String {
    if n.kind == NotificationKind::Test {
        return "[quptime] test alert".to_string();
    }
    if n.kind.is_monitor() {
        return one_line(&format!("[quptime] {}", n.kind.label()));
    }
    let kind = n
        .check_type
        .map(|t| t.as_str().to_ascii_uppercase())
        .unwrap_or_default();
    one_line(&format!(
        "[quptime] {kind} {} — {} ({})",
        n.kind.label(),
        n.check,
        n.target
    ))
}

/// The body: one fact per line, `Name: value`, greppable.
fn body(n: &Notification) -> String {
    if n.kind == NotificationKind::Test {
        return format!(
            "This is a test alert from quptime.\n\
             If you can read it, this alert channel works.\n\
             \n\
             Node: {}\n\
             Time: {}\n",
            n.master, n.time
        );
    }
    if n.kind.is_monitor() {
        return monitor_body(n);
    }
    let kind = n
        .check_type
        .map(|t| t.as_str().to_ascii_uppercase())
        .unwrap_or_default();
    let state = match n.kind {
        NotificationKind::Recovered => "UP again",
        NotificationKind::Reminder => "still DOWN",
        NotificationKind::Flapping => "FLAPPING (alerts paused until it is stable)",
        NotificationKind::Degraded => "DEGRADED: still up, but some nodes see it fail",
        NotificationKind::DegradedCleared => "no longer degraded: every judging node sees it up",
        _ => "DOWN",
    };
    if !n.digest.is_empty() {
        return digest_body(n, state);
    }
    let mut lines = vec![
        format!("The {kind} check {} is {state}.", n.check),
        String::new(),
    ];
    lines.push(format!("Target: {}", n.target));
    if let Some(e) = &n.expectation {
        lines.push(format!("Expected: {e}"));
    }
    let detail = n.detail();
    if !detail.is_empty() {
        lines.push(format!("Detail: {detail}"));
    }
    if let Some(from) = n.from {
        lines.push(format!("Previous state: {from}"));
    }
    if let Some(since) = &n.since {
        lines.push(format!("Down since: {since}"));
    }
    lines.push(format!("Reporters: {}", n.reporters()));
    lines.push(format!("Evidence: {}", n.evidence_summary()));
    lines.push(format!("Master: {}", n.master));
    lines.push(format!("Time: {}", n.time));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// A storm digest's body: one line per check (`engine::digest` bounds
/// their number and length).
fn digest_body(n: &Notification, state: &str) -> String {
    let total = n.digest_total.max(n.digest.len());
    let mut lines = vec![format!("{total} checks are {state}:"), String::new()];
    for item in &n.digest {
        let mut line = format!("- {} ({})", item.check, item.target);
        if !item.detail.is_empty() {
            line.push_str(": ");
            line.push_str(&item.detail);
        }
        lines.push(one_line(&line));
    }
    if total > n.digest.len() {
        lines.push(format!("- and {} more", total - n.digest.len()));
    }
    lines.push(String::new());
    lines.push(format!("Master: {}", n.master));
    lines.push(format!("Time: {}", n.time));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Line breaks and other control characters become spaces: a subject is
/// one header line.
/// The body of a notice about the monitor itself.
fn monitor_body(n: &Notification) -> String {
    let what = if n.kind == NotificationKind::MonitorDegraded {
        "quptime is DEGRADED: too few nodes can vote, their connectivity canaries \
         fail. Checks are UNKNOWN, not DOWN, until they can vote again; no DOWN \
         alert is sent for what the monitor cannot see."
    } else {
        "quptime has RECOVERED: enough nodes can vote again and checks are judged \
         as usual."
    };
    let mut text = format!("{what}\n\n");
    if !n.target.is_empty() {
        text.push_str(&format!("Reason: {}\n", n.target));
    }
    text.push_str(&format!("Master: {}\nTime: {}\n", n.master, n.time));
    text
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::identity::NodeId;
    use crate::state::{CheckState, CheckType, Evidence, TransitionRecord};

    fn down() -> Notification {
        let ev = |node: &str, ok: bool, detail: &str| Evidence {
            node: NodeId::new(node).expect("id"),
            ok,
            detail: detail.into(),
            latency_ms: 7,
        };
        let r = TransitionRecord {
            seq: 4,
            check_id: "c1".into(),
            check_name: "api".into(),
            target: "https://api.test/health".into(),
            from: CheckState::Up,
            to: CheckState::Down,
            at: "2025-01-02T03:04:05Z".into(),
            master: NodeId::new("a").expect("id"),
            term: 2,
            evidence: vec![
                ev("a", true, "status 200 OK"),
                ev("b", false, "timeout after 10s"),
                ev("c", false, "status 503"),
            ],
        };
        Notification::from_transition(&r, CheckType::Http, Some("status 200".into())).expect("down")
    }

    fn channel(settings: &[(&str, &str)]) -> AlertChannel {
        AlertChannel {
            id: "a1".into(),
            name: "ops".into(),
            kind: "webhook".into(),
            default: false,
            disabled: false,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn default_subject_and_body() {
        let m = render(&down());
        assert_eq!(
            m.subject,
            "[quptime] HTTP DOWN — api (https://api.test/health)"
        );
        for line in [
            "The HTTP check api is DOWN.",
            "Target: https://api.test/health",
            "Expected: status 200",
            "Detail: timeout after 10s",
            "Previous state: up",
            "Reporters: 1/3 OK, 2 failing",
            "Evidence: 2/3 failing: b=timeout after 10s, c=status 503",
            "Master: a",
            "Time: 2025-01-02T03:04:05Z",
        ] {
            assert!(m.body.lines().any(|l| l == line), "{line:?} in\n{}", m.body);
        }
    }

    #[test]
    fn recovered_reminder_and_test_subjects() {
        let mut n = down();
        n.kind = NotificationKind::Recovered;
        assert!(
            render(&n)
                .subject
                .starts_with("[quptime] HTTP RECOVERED — api")
        );
        let r = down().reminder("2025-01-02T04:04:05Z");
        assert!(
            render(&r)
                .subject
                .starts_with("[quptime] HTTP STILL DOWN — api")
        );
        assert!(render(&r).body.contains("Down since: 2025-01-02T03:04:05Z"));
        let t = Notification::test(&NodeId::new("n1").expect("id"));
        assert_eq!(render(&t).subject, "[quptime] test alert");
        assert!(render(&t).body.contains("Node: n1"));
    }

    #[test]
    fn templates_fill_every_placeholder() {
        let c = channel(&[
            (
                SUBJECT_TEMPLATE,
                "{kind}: {check} ({type}) {from}->{state} {{ok}}",
            ),
            (
                BODY_TEMPLATE,
                "{target}|{detail}|{evidence}|{reporters}|{expectation}|{master}|{time}",
            ),
        ]);
        let m = render_for(&c, &down());
        assert_eq!(m.subject, "DOWN: api (http) up->down {ok}");
        assert_eq!(
            m.body,
            "https://api.test/health|timeout after 10s|2/3 failing: b=timeout after 10s, \
             c=status 503|1/3 OK, 2 failing|status 200|a|2025-01-02T03:04:05Z"
        );
    }

    #[test]
    fn templates_can_wrap_the_default_text() {
        let c = channel(&[(BODY_TEMPLATE, "On call: see below\n\n{body}")]);
        let m = render_for(&c, &down());
        assert!(
            m.body
                .starts_with("On call: see below\n\nThe HTTP check api")
        );
    }

    #[test]
    fn bad_templates_fall_back_to_the_default() {
        let want = render(&down());
        for bad in ["{nope}", "{check", "oops }", "{check}{"] {
            let c = channel(&[(SUBJECT_TEMPLATE, bad), (BODY_TEMPLATE, bad)]);
            assert_eq!(render_for(&c, &down()), want, "template {bad:?}");
        }
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let c = channel(&[(SUBJECT_TEMPLATE, "{check}\r\nBcc: evil@example.com")]);
        let m = render_for(&c, &down());
        assert!(!m.subject.contains('\n') && !m.subject.contains('\r'));
    }
}
