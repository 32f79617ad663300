//! What an alert is about, independent of where it goes: the
//! [`Notification`] that every channel renders and sends.
//!
//! Whether a transition deserves an alert is decided once, by
//! [`AlertKind::for_transition`] and the outbox when the transition is
//! applied (the original `qu`'s rules: `up → down` and `unknown → down`
//! page, `down → up` announces a recovery, `→ unknown` and `unknown → up`
//! page nobody). [`Notification::announcing`] turns an outbox entry's kind
//! into what is said; [`Notification::from_transition`] asks the same rule.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::identity::NodeId;
use crate::state::{
    AlertKind, Check, CheckState, CheckType, Evidence, Probe, TransitionRecord, duration,
    mask_credentials,
};

/// Why an alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// A check went down (`up → down` or `unknown → down`).
    Down,
    /// A check that was down is up again (`down → up`).
    Recovered,
    /// A check is still down (a repeat of an earlier DOWN).
    Reminder,
    /// `qu alert test`: proves the channel works; about no check.
    Test,
    /// A check changes state too often; its alerts pause until it is
    /// stable (`state::flap`).
    Flapping,
    /// An UP check has some judging nodes failing, fewer than its quorum
    /// (for channels that route `degraded`).
    Degraded,
    /// It is no longer degraded.
    DegradedCleared,
    /// Too few nodes can vote (their connectivity canaries fail): checks
    /// are UNKNOWN, not DOWN; one notice for the whole monitor.
    MonitorDegraded,
    /// Enough nodes can vote again.
    MonitorRecovered,
}

impl NotificationKind {
    /// `down`, `recovered`, `reminder`, `test`: the webhook's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Down => "down",
            NotificationKind::Recovered => "recovered",
            NotificationKind::Reminder => "reminder",
            NotificationKind::Test => "test",
            NotificationKind::Flapping => "flapping",
            NotificationKind::Degraded => "degraded",
            NotificationKind::DegradedCleared => "degraded-cleared",
            NotificationKind::MonitorDegraded => "monitor-degraded",
            NotificationKind::MonitorRecovered => "monitor-recovered",
        }
    }

    /// About the monitor itself, not a check.
    pub fn is_monitor(self) -> bool {
        matches!(
            self,
            NotificationKind::MonitorDegraded | NotificationKind::MonitorRecovered
        )
    }

    /// What a subject line says: `DOWN`, `RECOVERED`, `STILL DOWN`, `TEST`.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::Down => "DOWN",
            NotificationKind::Recovered => "RECOVERED",
            NotificationKind::Reminder => "STILL DOWN",
            NotificationKind::Test => "TEST",
            NotificationKind::Flapping => "FLAPPING",
            NotificationKind::Degraded => "DEGRADED",
            NotificationKind::DegradedCleared => "NO LONGER DEGRADED",
            NotificationKind::MonitorDegraded => "MONITOR DEGRADED",
            NotificationKind::MonitorRecovered => "MONITOR RECOVERED",
        }
    }
}

impl std::fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert to send: everything a channel needs to tell a person what
/// happened, where, and who decided it. Built by
/// [`Notification::from_transition`] or [`Notification::test`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// Why it is sent.
    pub kind: NotificationKind,
    /// The check's name (empty for a test alert).
    pub check: String,
    /// The check's type (`None` for a test alert).
    pub check_type: Option<CheckType>,
    /// The check's target (empty for a test alert).
    pub target: String,
    /// The state the check left (`None` for a test alert).
    pub from: Option<CheckState>,
    /// The state the check entered (`None` for a test alert).
    pub to: Option<CheckState>,
    /// What each member saw when the decision was taken.
    pub evidence: Vec<Evidence>,
    /// What the check expects, in words (`status 200`), if known.
    pub expectation: Option<String>,
    /// The master that decided the transition; for a test alert, the node
    /// that sends it.
    pub master: NodeId,
    /// When it happened (RFC 3339, UTC): the transition's time, or the
    /// sending time for tests and reminders.
    pub time: String,
    /// For a reminder: when the check went down.
    pub since: Option<String>,
    /// The incident this alert belongs to: `quptime-<check id>-<seq>`,
    /// where seq is the transition whose DOWN opened it. A DOWN, its
    /// reminders and the RECOVERED that ends it carry the same key
    /// (PagerDuty's dedup key, Opsgenie's alias, Google Chat's thread).
    /// `None` for a test alert or when the outbox entry does not say.
    pub incident: Option<String>,
    /// For a storm digest (`engine::digest`): one line per check it
    /// stands for, in order; empty for any other alert.
    pub digest: Vec<DigestItem>,
    /// For a storm digest: how many checks it stands for (more than
    /// `digest` lists when the list was cut); 0 otherwise.
    pub digest_total: usize,
}

/// One check listed in a storm digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestItem {
    /// The check's name.
    pub check: String,
    /// Its target (credentials masked).
    pub target: String,
    /// What most members saw (cut to a line).
    pub detail: String,
    /// Its incident key, if the entry says.
    pub incident: Option<String>,
}

impl Notification {
    /// The alert a committed transition calls for, or `None` when it calls
    /// for none (`→ unknown`, `unknown → up`). `check_type` and
    /// `expectation` come from the check's current definition (see
    /// [`expectation`]).
    pub fn from_transition(
        record: &TransitionRecord,
        check_type: CheckType,
        expectation: Option<String>,
    ) -> Option<Notification> {
        let kind = AlertKind::for_transition(record.from, record.to)?;
        Some(Notification::announcing(
            kind,
            record,
            check_type,
            expectation,
            &record.at,
        ))
    }

    /// The alert an outbox entry of `kind` announcing `record` says: the
    /// kind alone decides (the outbox decided it when the transition was
    /// applied). A DOWN says the states the transition went between; a
    /// RECOVERED says `down → up`, whatever path the check took back
    /// (`down → unknown → up` too); a REMINDER repeats the DOWN, dated
    /// `sent_at` (RFC 3339 UTC).
    pub fn announcing(
        kind: AlertKind,
        record: &TransitionRecord,
        check_type: CheckType,
        expectation: Option<String>,
        sent_at: &str,
    ) -> Notification {
        let (from, to) = match kind {
            AlertKind::Down | AlertKind::Reminder | AlertKind::Escalation => {
                (record.from, CheckState::Down)
            }
            AlertKind::Recovered => (CheckState::Down, CheckState::Up),
            AlertKind::Degraded | AlertKind::DegradedCleared => (CheckState::Up, CheckState::Up),
            AlertKind::Flapping | AlertKind::MonitorDegraded | AlertKind::MonitorRecovered => {
                (record.from, record.to)
            }
        };
        let n = Notification {
            kind: match kind {
                AlertKind::Recovered => NotificationKind::Recovered,
                AlertKind::Down | AlertKind::Reminder | AlertKind::Escalation => {
                    NotificationKind::Down
                }
                AlertKind::Flapping => NotificationKind::Flapping,
                AlertKind::Degraded => NotificationKind::Degraded,
                AlertKind::DegradedCleared => NotificationKind::DegradedCleared,
                AlertKind::MonitorDegraded => NotificationKind::MonitorDegraded,
                AlertKind::MonitorRecovered => NotificationKind::MonitorRecovered,
            },
            check: record.check_name.clone(),
            check_type: Some(check_type),
            // Alerts never carry a target's password (`user:***@host`).
            target: mask_credentials(&record.target).into_owned(),
            from: Some(from),
            to: Some(to),
            evidence: record
                .evidence
                .iter()
                .map(|e| Evidence {
                    detail: mask_credentials(&e.detail).into_owned(),
                    ..e.clone()
                })
                .collect(),
            expectation,
            master: record.master.clone(),
            time: record.at.clone(),
            since: None,
            incident: None,
            digest: Vec::new(),
            digest_total: 0,
        };
        match kind {
            // An escalation tells its channel the check is still down.
            AlertKind::Reminder | AlertKind::Escalation => n.reminder(sent_at),
            _ => n,
        }
    }

    /// The test alert `node` sends for `qu alert test`, dated now.
    pub fn test(node: &NodeId) -> Notification {
        Notification {
            kind: NotificationKind::Test,
            check: String::new(),
            check_type: None,
            target: String::new(),
            from: None,
            to: None,
            evidence: Vec::new(),
            expectation: None,
            master: node.clone(),
            time: now_rfc3339(),
            since: None,
            incident: None,
            digest: Vec::new(),
            digest_total: 0,
        }
    }

    /// This alert with `evidence` (credentials masked) instead of its
    /// transition's: a DEGRADED notice says what the nodes saw then.
    pub fn with_evidence(mut self, evidence: Vec<Evidence>) -> Notification {
        self.evidence = evidence
            .into_iter()
            .map(|e| Evidence {
                detail: mask_credentials(&e.detail).into_owned(),
                ..e
            })
            .collect();
        self
    }

    /// This alert as part of the incident opened by transition `seq` of
    /// check `check_id` (see [`Notification::incident`]).
    pub fn with_incident(mut self, check_id: &str, seq: u64) -> Notification {
        self.incident = Some(incident_key(check_id, seq));
        self
    }

    /// A reminder, sent at `time` (RFC 3339 UTC), that the check this DOWN
    /// alert was about is still down.
    pub fn reminder(&self, time: impl Into<String>) -> Notification {
        Notification {
            kind: NotificationKind::Reminder,
            since: Some(self.since.clone().unwrap_or_else(|| self.time.clone())),
            time: time.into(),
            ..self.clone()
        }
    }

    /// Members whose probe succeeded.
    pub fn ok_count(&self) -> usize {
        self.evidence.iter().filter(|e| e.ok).count()
    }

    /// Members whose probe failed.
    pub fn failing_count(&self) -> usize {
        self.evidence.len() - self.ok_count()
    }

    /// `2/3 failing: b=timeout after 10s, c=status 503` (the same text as
    /// [`TransitionRecord::evidence_summary`]).
    pub fn evidence_summary(&self) -> String {
        let failing: Vec<&Evidence> = self.evidence.iter().filter(|e| !e.ok).collect();
        let mut s = format!("{}/{} failing", failing.len(), self.evidence.len());
        if !failing.is_empty() {
            let list: Vec<String> = failing
                .iter()
                .map(|e| format!("{}={}", e.node, e.detail))
                .collect();
            s.push_str(": ");
            s.push_str(&list.join(", "));
        }
        s
    }

    /// `1/3 OK, 2 failing`.
    pub fn reporters(&self) -> String {
        format!(
            "{}/{} OK, {} failing",
            self.ok_count(),
            self.evidence.len(),
            self.failing_count()
        )
    }

    /// The detail most members on the deciding side reported (failures for
    /// DOWN and reminders, successes for RECOVERED); ties go to the first
    /// seen. Empty when there is no evidence.
    pub fn detail(&self) -> String {
        let want_ok = self.to == Some(CheckState::Up);
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (i, e) in self.evidence.iter().enumerate() {
            if e.ok == want_ok {
                counts.entry(e.detail.as_str()).or_insert((0, i)).0 += 1;
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
            .map(|(detail, _)| detail.to_string())
            .unwrap_or_default()
    }
}

/// What `check` expects, in words, for the alert body: `status 200`,
/// `status 2xx, body contains "ok"`, `TCP connect`, `echo reply`,
/// `certificate valid for more than 14 days`, `A answer containing "1.2.3.4"`.
pub fn expectation(check: &Check) -> Option<String> {
    let text = match &check.probe {
        Probe::Http(http) => {
            let status = http.expect_status.as_ref().map_or("200", |s| s.as_str());
            let mut s = format!("status {status}");
            if let Some(needle) = &http.body_match {
                s.push_str(&format!(", body contains {needle:?}"));
            }
            s
        }
        Probe::Tcp(_) => "TCP connect".to_string(),
        Probe::Icmp(_) => "echo reply".to_string(),
        Probe::Tls(tls) => format!(
            "certificate valid for more than {} days",
            tls.warn_days.unwrap_or(14)
        ),
        Probe::Dns(dns) => {
            let record = dns
                .record
                .map(|r| r.as_str().to_ascii_uppercase())
                .unwrap_or_else(|| "A".to_string());
            match &dns.expect_answer {
                Some(want) => format!("{record} answer containing {want:?}"),
                None => format!("{record} answer"),
            }
        }
        Probe::Push(p) => format!(
            "a beat every {} (grace {})",
            crate::state::duration::format(p.period()),
            crate::state::duration::format(p.grace())
        ),
    };
    Some(text)
}

/// `quptime-<check id>-<seq>`: the key of the incident opened by
/// transition `seq` of check `check_id`.
pub fn incident_key(check_id: &str, seq: u64) -> String {
    format!("quptime-{check_id}-{seq}")
}

/// Now, as RFC 3339 UTC to the second.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// `10s`, `1500ms`: durations in the words of the rest of quptime.
pub(crate) fn words(d: std::time::Duration) -> String {
    duration::format(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(from: CheckState, to: CheckState) -> TransitionRecord {
        let ev = |node: &str, ok: bool, detail: &str| Evidence {
            node: NodeId::new(node).expect("id"),
            ok,
            detail: detail.into(),
            latency_ms: 5,
        };
        TransitionRecord {
            seq: 1,
            check_id: "c1".into(),
            check_name: "api".into(),
            target: "https://api.test/health".into(),
            from,
            to,
            at: "2025-01-02T03:04:05Z".into(),
            master: NodeId::new("a").expect("id"),
            term: 3,
            evidence: vec![
                ev("a", true, "status 200 OK"),
                ev("b", false, "timeout after 10s"),
                ev("c", false, "status 503 Service Unavailable"),
            ],
        }
    }

    #[test]
    fn only_the_documented_transitions_alert() {
        use CheckState::*;
        let kind = |f, t| {
            Notification::from_transition(&record(f, t), CheckType::Http, None).map(|n| n.kind)
        };
        assert_eq!(kind(Up, Down), Some(NotificationKind::Down));
        assert_eq!(kind(Unknown, Down), Some(NotificationKind::Down));
        assert_eq!(kind(Down, Up), Some(NotificationKind::Recovered));
        assert_eq!(kind(Up, Unknown), None);
        assert_eq!(kind(Down, Unknown), None);
        assert_eq!(kind(Unknown, Up), None);
    }

    #[test]
    fn evidence_reads_like_the_transition_record() {
        let r = record(CheckState::Up, CheckState::Down);
        let n = Notification::from_transition(&r, CheckType::Http, None).expect("down");
        assert_eq!(n.evidence_summary(), r.evidence_summary());
        assert_eq!(n.reporters(), "1/3 OK, 2 failing");
        assert_eq!(n.detail(), "timeout after 10s");
        let up = Notification::from_transition(
            &record(CheckState::Down, CheckState::Up),
            CheckType::Http,
            None,
        )
        .expect("recovered");
        assert_eq!(up.detail(), "status 200 OK");
    }

    #[test]
    fn reminders_remember_when_it_went_down() {
        let r = record(CheckState::Up, CheckState::Down);
        let n = Notification::from_transition(&r, CheckType::Http, None).expect("down");
        let again = n
            .reminder("2025-01-02T04:04:05Z")
            .reminder("2025-01-02T05:04:05Z");
        assert_eq!(again.kind, NotificationKind::Reminder);
        assert_eq!(again.since.as_deref(), Some("2025-01-02T03:04:05Z"));
        assert_eq!(again.time, "2025-01-02T05:04:05Z");
    }

    #[test]
    fn the_entry_kind_alone_decides_what_is_said() {
        use CheckState::*;
        let said = |kind, r: &TransitionRecord| {
            let n =
                Notification::announcing(kind, r, CheckType::Http, None, "2025-01-02T09:00:00Z");
            (n.kind, n.from, n.to, n.time, n.since)
        };
        let at = "2025-01-02T03:04:05Z".to_string();
        // A RECOVERED queued for the up of down → unknown → up.
        assert_eq!(
            said(AlertKind::Recovered, &record(Unknown, Up)),
            (
                NotificationKind::Recovered,
                Some(Down),
                Some(Up),
                at.clone(),
                None
            )
        );
        assert_eq!(
            said(AlertKind::Down, &record(Unknown, Down)),
            (
                NotificationKind::Down,
                Some(Unknown),
                Some(Down),
                at.clone(),
                None
            )
        );
        // A reminder repeats the DOWN, dated when it is sent.
        assert_eq!(
            said(AlertKind::Reminder, &record(Up, Down)),
            (
                NotificationKind::Reminder,
                Some(Up),
                Some(Down),
                "2025-01-02T09:00:00Z".to_string(),
                Some(at)
            )
        );
    }

    #[test]
    fn expectations_in_words() {
        let mut c = Check::blank(CheckType::Http);
        assert_eq!(expectation(&c).as_deref(), Some("status 200"));
        c.http_mut().expect("http").body_match = Some("ok".into());
        assert_eq!(
            expectation(&c).as_deref(),
            Some("status 200, body contains \"ok\"")
        );
        let mut d = Check::blank(CheckType::Dns);
        d.dns_mut().expect("dns").expect_answer = Some("1.2.3.4".into());
        assert_eq!(
            expectation(&d).as_deref(),
            Some("A answer containing \"1.2.3.4\"")
        );
    }

    #[test]
    fn test_alerts_are_dated_now_in_utc() {
        let n = Notification::test(&NodeId::new("a").expect("id"));
        assert_eq!(n.kind, NotificationKind::Test);
        assert!(humantime::parse_rfc3339(&n.time).is_ok(), "{}", n.time);
        assert!(n.time.ends_with('Z'));
    }
}
