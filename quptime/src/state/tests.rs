//! Unit tests of the pure state machine.

use std::time::Duration;

use super::*;
use crate::identity::Fingerprint;

fn node(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

fn cmd(m: Mutation) -> Command {
    Command::new(node("a"), m)
}

fn check(id: &str, name: &str) -> Check {
    Check {
        id: id.into(),
        name: name.into(),
        target: "db.internal:5432".into(),
        interval: Duration::from_secs(15),
        timeout: Duration::from_secs(5),
        ..Check::blank(CheckType::Tcp)
    }
}

fn peer(id: &str, fp: &str) -> PeerRecord {
    PeerRecord {
        node_id: node(id),
        advertise: "127.0.0.1:9901".into(),
        fingerprint: Fingerprint::of_spki(fp.as_bytes()),
        cert_pem: String::new(),
        added_at: String::new(),
    }
}

#[test]
fn version_counts_applied_mutations_only() {
    let mut s = ClusterState::default();
    let ok = s.apply(&cmd(Mutation::AddCheck {
        check: check("c1", "db"),
    }));
    assert_eq!(ok.expect("added").version, 1);
    let dup = s.apply(&cmd(Mutation::AddCheck {
        check: check("c2", "db"),
    }));
    assert_eq!(dup.expect_err("duplicate name").kind, "already_exists");
    assert_eq!(s.version, 1);
    assert_eq!(s.checks.len(), 1);
}

#[test]
fn a_retried_request_is_answered_not_reapplied() {
    let mut s = ClusterState::default();
    let c = cmd(Mutation::AddCheck {
        check: check("c1", "db"),
    });
    let first = s.apply(&c);
    let again = s.apply(&c);
    assert_eq!(first, again);
    assert_eq!(s.version, 1);
}

#[test]
fn invalid_mutations_change_nothing() {
    let mut s = ClusterState::default();
    let mut bad = check("c1", "db");
    bad.target = "no-port".into();
    let before = s.clone();
    let err = s
        .apply(&cmd(Mutation::AddCheck { check: bad }))
        .expect_err("invalid");
    assert_eq!(err.kind, "invalid_input");
    assert!(err.message.contains("tcp target"), "{}", err.message);
    assert_eq!(s.version, before.version);
    assert_eq!(s.checks, before.checks);
    // A reference to a missing alert channel is refused too.
    let mut c = check("c1", "db");
    c.alerts = vec!["nope".into()];
    assert_eq!(
        s.apply(&cmd(Mutation::AddCheck { check: c }))
            .expect_err("ref")
            .kind,
        "not_found"
    );
}

#[test]
fn removed_peers_cannot_come_back_and_keys_are_unique() {
    let mut s = ClusterState::default();
    s.apply(&cmd(Mutation::AddPeer {
        peer: peer("b", "kb"),
    }))
    .expect("add");
    let clash = s.apply(&cmd(Mutation::AddPeer {
        peer: peer("c", "kb"),
    }));
    assert_eq!(clash.expect_err("same key").kind, "already_exists");
    s.apply(&cmd(Mutation::RemovePeer { node_id: node("b") }))
        .expect("remove");
    assert!(s.peers.is_empty());
    let back = s.apply(&cmd(Mutation::AddPeer {
        peer: peer("b", "kb2"),
    }));
    assert!(
        back.expect_err("tombstone")
            .message
            .contains("cannot rejoin")
    );
}

#[test]
fn removing_an_alert_detaches_it_from_checks() {
    let mut s = ClusterState::default();
    let alert = AlertChannel {
        id: "a1".into(),
        name: "ops".into(),
        kind: "webhook".into(),
        default: false,
        disabled: false,
        settings: [("url".to_string(), "http://127.0.0.1:9/x".to_string())]
            .into_iter()
            .collect(),
    };
    s.apply(&cmd(Mutation::AddAlert { alert })).expect("alert");
    let mut c = check("c1", "db");
    c.alerts = vec!["a1".into()];
    s.apply(&cmd(Mutation::AddCheck { check: c }))
        .expect("check");
    s.apply(&cmd(Mutation::RemoveAlert {
        alert: "ops".into(),
    }))
    .expect("remove by name");
    assert!(s.checks["c1"].alerts.is_empty());
    assert!(s.find_check("db").is_ok());
    assert_eq!(
        s.find_check("nope").expect_err("missing").kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn transitions_are_ordered_checked_against_the_agreed_state_and_not_config_changes() {
    let mut s = ClusterState::default();
    s.apply(&cmd(Mutation::AddCheck {
        check: check("c1", "db"),
    }))
    .expect("add");
    let t = |from, to| {
        cmd(Mutation::RecordTransition {
            check_id: "c1".into(),
            from,
            to,
            term: 3,
            evidence: vec![],
        })
    };
    s.apply(&t(CheckState::Unknown, CheckState::Up))
        .expect("unknown -> up");
    s.apply(&t(CheckState::Up, CheckState::Down))
        .expect("up -> down");
    // A deposed master proposing from an old view is rejected.
    let stale = s.apply(&t(CheckState::Up, CheckState::Down));
    assert!(
        stale
            .expect_err("stale")
            .message
            .contains("stale transition")
    );
    assert_eq!(s.version, 1, "transitions are not configuration changes");
    assert_eq!(s.check_states["c1"].state, CheckState::Down);
    let seqs: Vec<u64> = s.transitions.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![1, 2]);
    assert_eq!(s.transitions[1].master, node("a"));
    // Removing the check forgets its state.
    s.apply(&cmd(Mutation::RemoveCheck { check: "db".into() }))
        .expect("remove");
    assert!(!s.check_states.contains_key("c1"));
}

#[test]
fn down_and_recovered_queue_one_alert_per_channel_and_deliveries_are_recorded() {
    let mut s = ClusterState::default();
    let alert = |id: &str, default: bool, disabled: bool| AlertChannel {
        id: id.into(),
        name: format!("n-{id}"),
        kind: "webhook".into(),
        default,
        disabled,
        settings: [("url".to_string(), "http://127.0.0.1:9/x".to_string())]
            .into_iter()
            .collect(),
    };
    for a in [
        alert("own", false, false),
        alert("dflt", true, false),
        alert("off", true, true),
        alert("muted", true, false),
    ] {
        s.apply(&cmd(Mutation::AddAlert { alert: a }))
            .expect("alert");
    }
    let mut c = check("c1", "db");
    c.alerts = vec!["own".into()];
    c.suppress_alerts = vec!["muted".into()];
    s.apply(&cmd(Mutation::AddCheck { check: c }))
        .expect("check");
    let t = |from, to| {
        cmd(Mutation::RecordTransition {
            check_id: "c1".into(),
            from,
            to,
            term: 1,
            evidence: vec![],
        })
    };
    s.apply(&t(CheckState::Unknown, CheckState::Up))
        .expect("silent");
    assert!(s.outbox.is_empty(), "unknown -> up is silent");
    s.apply(&t(CheckState::Up, CheckState::Down)).expect("down");
    let channels: Vec<&str> = s.outbox.values().map(|e| e.channel.as_str()).collect();
    assert_eq!(
        channels,
        vec!["own", "dflt"],
        "own + default, not disabled or suppressed"
    );
    assert!(
        s.outbox
            .values()
            .all(|e| e.kind == AlertKind::Down && e.pending())
    );
    s.apply(&cmd(Mutation::MarkDelivered {
        id: 1,
        failed: None,
    }))
    .expect("delivered");
    assert!(!s.outbox[&1].pending() && s.outbox[&2].pending());
    s.apply(&t(CheckState::Down, CheckState::Up))
        .expect("recovered");
    assert_eq!(
        s.outbox
            .values()
            .filter(|e| e.kind == AlertKind::Recovered)
            .count(),
        2
    );
    assert_eq!(
        s.version, 5,
        "4 alerts + 1 check; deliveries and transitions are not config changes"
    );
}

#[test]
fn a_down_that_went_out_gets_its_recovered_whatever_the_path() {
    let mut s = ClusterState::default();
    let a = AlertChannel {
        id: "a".into(),
        name: "a".into(),
        kind: "webhook".into(),
        default: true,
        disabled: false,
        settings: [("url".to_string(), "http://127.0.0.1:9/x".to_string())]
            .into_iter()
            .collect(),
    };
    s.apply(&cmd(Mutation::AddAlert { alert: a }))
        .expect("alert");
    s.apply(&cmd(Mutation::AddCheck {
        check: check("c1", "db"),
    }))
    .expect("check");
    let mut go = |from, to| {
        s.apply(&cmd(Mutation::RecordTransition {
            check_id: "c1".into(),
            from,
            to,
            term: 1,
            evidence: vec![],
        }))
        .expect("transition");
    };
    use CheckState::*;
    go(Unknown, Up);
    go(Up, Down);
    go(Down, Unknown);
    go(Unknown, Down); // still the same outage: no second DOWN
    go(Down, Unknown);
    go(Unknown, Up); // back: RECOVERED
    go(Up, Unknown);
    go(Unknown, Up); // nothing was down: silent
    let kinds: Vec<AlertKind> = s.outbox.values().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![AlertKind::Down, AlertKind::Recovered]);
    // The RECOVERED belongs to the incident the DOWN (seq 2) opened, not
    // to the second `→ down` of the same outage (seq 4).
    let incidents: Vec<(u64, Option<u64>)> = s
        .outbox
        .values()
        .map(|e| (e.transition, e.incident))
        .collect();
    assert_eq!(incidents, vec![(2, Some(2)), (6, Some(2))]);
    assert_eq!(s.check_states["c1"].incident, 0, "the incident is over");
    // The next outage is a new incident.
    let mut go = |from, to| {
        s.apply(&cmd(Mutation::RecordTransition {
            check_id: "c1".into(),
            from,
            to,
            term: 1,
            evidence: vec![],
        }))
        .expect("transition");
    };
    go(Up, Down);
    go(Down, Up);
    let last: Vec<(u64, Option<u64>)> = s
        .outbox
        .values()
        .skip(2)
        .map(|e| (e.transition, e.incident))
        .collect();
    assert_eq!(last, vec![(9, Some(9)), (10, Some(9))]);
}

#[test]
fn reminders_repeat_a_down_only_when_due() {
    let mut s = ClusterState::default();
    let a = AlertChannel {
        id: "a".into(),
        name: "a".into(),
        kind: "webhook".into(),
        default: true,
        disabled: false,
        settings: [("url".to_string(), "http://127.0.0.1:9/x".to_string())]
            .into_iter()
            .collect(),
    };
    s.apply(&cmd(Mutation::AddAlert { alert: a }))
        .expect("alert");
    let mut c = check("c1", "db");
    c.remind = Some(Duration::from_secs(3600));
    s.apply(&cmd(Mutation::AddCheck { check: c }))
        .expect("check");
    let at = |ms: u64, m: Mutation| Command {
        at_ms: ms,
        ..cmd(m)
    };
    let t = |from, to| Mutation::RecordTransition {
        check_id: "c1".into(),
        from,
        to,
        term: 1,
        evidence: vec![],
    };
    let remind = || Mutation::QueueReminder {
        check_id: "c1".into(),
    };
    let hour = 3_600_000;
    s.apply(&at(1000, t(CheckState::Unknown, CheckState::Down)))
        .expect("down");
    assert!(
        s.apply(&at(1000 + hour / 2, remind())).is_err(),
        "not due yet"
    );
    s.apply(&at(1000 + hour, remind()))
        .expect("due after an hour");
    assert!(
        s.apply(&at(1000 + hour + 5, remind())).is_err(),
        "once per interval"
    );
    s.apply(&at(1000 + 2 * hour, remind())).expect("and again");
    s.apply(&at(
        1000 + 2 * hour + 1,
        t(CheckState::Down, CheckState::Up),
    ))
    .expect("up");
    assert!(
        s.apply(&at(1000 + 4 * hour, remind())).is_err(),
        "no reminders once up"
    );
    let kinds: Vec<AlertKind> = s.outbox.values().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AlertKind::Down,
            AlertKind::Reminder,
            AlertKind::Reminder,
            AlertKind::Recovered
        ]
    );
}

#[test]
fn dns_resolvers_are_validated_as_a_whole() {
    let mut s = ClusterState::default();
    let set = |list: &[&str]| {
        cmd(Mutation::SetDnsResolvers {
            resolvers: list.iter().map(|x| x.to_string()).collect(),
        })
    };
    assert!(s.apply(&set(&["9.9.9.9", "[::1]:5353"])).is_ok());
    assert_eq!(s.dns_resolvers, vec!["9.9.9.9:53", "[::1]:5353"]);
    let before = s.clone();
    let refused = s.apply(&set(&["1.1.1.1", "not-an-ip"]));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(s.dns_resolvers, before.dns_resolvers);
    assert_eq!(s.version, before.version);
    assert!(s.apply(&set(&[])).is_ok());
    assert!(s.dns_resolvers.is_empty());
}

#[test]
fn old_enrollment_tokens_are_forgotten_and_their_number_is_bounded() {
    let token = |id: &str, expires_at: u64, used: bool| Enrollment {
        id: id.into(),
        name: None,
        secret_hash: "h".into(),
        expires_at,
        auto_approve: false,
        request: None,
        approved: false,
        used,
    };
    let create = |e: Enrollment| cmd(Mutation::CreateEnrollment { enrollment: e });
    let now = crate::enroll::unix_now();
    let mut s = ClusterState::default();
    s.apply(&create(token("old", now - 8 * 24 * 3600, true)))
        .expect("old");
    s.apply(&create(token("recent", now - 3600, true)))
        .expect("recent");
    s.apply(&create(token("new", now + 3600, false)))
        .expect("new");
    let ids: Vec<&str> = s.enrollments.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        vec!["new", "recent"],
        "a week after expiry a token is gone"
    );

    for i in s.enrollments.len()..MAX_ENROLLMENTS {
        s.apply(&create(token(&format!("t{i:04}"), now + 3600, false)))
            .expect("under the cap");
    }
    let before = s.clone();
    let err = s
        .apply(&create(token("one-too-many", now + 3600, false)))
        .expect_err("over the cap");
    // The fix is named; the `qu` command is a hint the CLI prints, apart
    // from the text an embedded user sees.
    assert!(
        err.message.contains("revoke unused ones"),
        "{}",
        err.message
    );
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("qu enroll revoke")),
        "{err:?}"
    );
    assert!(s.enrollments == before.enrollments && s.version == before.version);
}

#[test]
fn an_oversized_proposal_is_refused_with_its_size_and_changes_nothing() {
    let mut s = ClusterState::default();
    let alerts = (0..40)
        .map(|i| AlertChannel {
            id: format!("a{i}"),
            name: format!("hook{i}"),
            kind: "webhook".into(),
            default: false,
            disabled: false,
            settings: [(
                "url".to_string(),
                format!("https://h/{}", "p".repeat(30_000)),
            )]
            .into_iter()
            .collect(),
        })
        .collect();
    let big = cmd(Mutation::ImportConfig {
        checks: Vec::new(),
        alerts,
        dns_resolvers: Vec::new(),
        retention: None,
    });
    assert!(big.encoded_len() > mutation::MAX_PROPOSAL);
    let e = big.check_size().expect_err("over the cap");
    assert!(e.message().contains("over the cap of 1048576 bytes"), "{e}");
    assert!(e.message().contains(&big.encoded_len().to_string()), "{e}");
    let before = s.clone();
    let r = s.apply(&big).expect_err("refused at apply too");
    assert!(r.message.contains("over the cap"), "{}", r.message);
    assert_eq!(s.alerts, before.alerts);
    assert_eq!(s.version, before.version);
    assert!(
        cmd(Mutation::RemoveCheck { check: "x".into() })
            .check_size()
            .is_ok()
    );
}

impl ClusterState {
    /// [`ClusterState::apply_with`] accepting any alert settings: the
    /// state's own tests; the notifiers' rules are tested with the notifiers.
    pub(crate) fn apply(&mut self, cmd: &Command) -> Applied {
        self.apply_with(cmd, |_| Ok(()))
    }
}
