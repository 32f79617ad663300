//! The canary's settings and the monitor's health, applied.

use super::*;
use crate::state::{AlertChannel, Command, Mutation};

fn node(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

fn cmd(m: Mutation) -> Command {
    Command::new(node("a"), m)
}

fn channel(id: &str, default: bool, events: Option<&str>) -> AlertChannel {
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("url".to_string(), "http://127.0.0.1:9/".to_string());
    if let Some(e) = events {
        settings.insert("events".to_string(), e.to_string());
    }
    AlertChannel {
        id: id.into(),
        name: id.into(),
        kind: "webhook".into(),
        default,
        disabled: false,
        settings,
    }
}

fn degraded(on: bool) -> Mutation {
    Mutation::SetMonitorDegraded {
        degraded: on,
        reason: "n2, n3 abstain".into(),
        abstaining: vec![node("n2"), node("n3")],
    }
}

#[test]
fn targets_are_host_port_or_http_urls_and_bad_ones_name_the_field() {
    assert_eq!(
        parse_target("t", "1.1.1.1:443").unwrap(),
        Target::Tcp("1.1.1.1:443".into())
    );
    assert_eq!(
        parse_target("t", "[::1]:80").unwrap(),
        Target::Tcp("[::1]:80".into())
    );
    assert_eq!(
        parse_target("t", " https://example.com/health ").unwrap(),
        Target::Http("https://example.com/health".into())
    );
    for (bad, says) in [
        ("", "is empty"),
        ("example.com", "has no port"),
        ("example.com:0", "valid port"),
        ("example.com:http", "valid port"),
        (":80", "has no host"),
        ("ftp://example.com", "scheme"),
        ("http:///x", "has no host"),
        ("a b:80", "spaces"),
    ] {
        let e = parse_target("canary_targets", bad).unwrap_err();
        assert_eq!(e.field(), Some("canary_targets"), "{bad}");
        assert!(e.message().contains(says), "{bad}: {}", e.message());
        assert!(e.message().contains("host:port"), "{}", e.message());
    }
    let long = format!("{}:80", "a".repeat(MAX_TARGET_LEN));
    assert!(parse_target("t", &long).is_err());
}

#[test]
fn a_list_is_bounded_and_has_no_duplicates() {
    let many: Vec<String> = (0..=MAX_TARGETS).map(|i| format!("h{i}:80")).collect();
    assert!(
        validate("t", &many)
            .unwrap_err()
            .message()
            .contains("at most")
    );
    let twice = vec!["h:80".to_string(), " h:80".to_string()];
    assert!(
        validate("t", &twice)
            .unwrap_err()
            .message()
            .contains("twice")
    );
    let mut s = ClusterState::default();
    s.apply(&cmd(Mutation::SetCanaryTargets {
        targets: vec!["h:80".into(), "http://x/".into()],
    }))
    .expect("set");
    assert_eq!(s.canary_targets, vec!["h:80", "http://x/"]);
    assert_eq!(s.level, 6);
    let before = s.clone();
    let bad = s.apply(&cmd(Mutation::SetCanaryTargets {
        targets: vec!["nope".into()],
    }));
    assert!(bad.is_err());
    assert_eq!(s.canary_targets, before.canary_targets, "validated first");
}

#[test]
fn one_notice_per_change_to_default_channels_that_route_it() {
    let mut s = ClusterState::default();
    for c in [
        channel("all", true, None),
        channel("routed", true, Some("down,monitor-degraded")),
        channel("not-routed", true, Some("down")),
        channel("not-default", false, None),
    ] {
        s.apply(&cmd(Mutation::AddAlert { alert: c })).expect("add");
    }
    let version = s.version;
    // Recovered with nothing on record: nothing.
    s.apply(&cmd(degraded(false))).expect("noop");
    assert!(s.outbox.is_empty());
    assert!(s.monitor.is_none());
    s.apply(&cmd(degraded(true))).expect("degraded");
    // Proposed again (a new master): still one notice per channel.
    s.apply(&cmd(degraded(true))).expect("again");
    let mut sent: Vec<(String, AlertKind, u64)> = s
        .outbox
        .values()
        .map(|e| (e.channel.clone(), e.kind, e.transition))
        .collect();
    sent.sort_by_key(|(c, _, seq)| (c.clone(), *seq));
    assert_eq!(
        sent,
        vec![
            ("all".into(), AlertKind::MonitorDegraded, 1),
            ("routed".into(), AlertKind::MonitorDegraded, 1),
        ]
    );
    let m = s.monitor.clone().expect("health");
    assert!(m.degraded);
    assert_eq!(m.abstaining, vec![node("n2"), node("n3")]);
    s.apply(&cmd(degraded(false))).expect("recovered");
    s.apply(&cmd(degraded(false))).expect("again");
    let recovered = s
        .outbox
        .values()
        .filter(|e| e.kind == AlertKind::MonitorRecovered)
        .count();
    assert_eq!(recovered, 2);
    assert_eq!(s.monitor.as_ref().map(|m| m.seq), Some(2));
    assert_eq!(s.version, version, "runtime state, not configuration");
}

#[test]
fn a_state_without_canary_settings_serializes_as_before() {
    let s = ClusterState::default();
    let json = serde_json::to_string(&s).expect("json");
    assert!(!json.contains("canary"), "{json}");
    assert!(!json.contains("monitor"), "{json}");
}

#[test]
fn degraded_notices_go_only_to_channels_that_ask_for_them_once_per_change() {
    use crate::aggregate::CheckState;
    use crate::state::{Check, CheckType};
    let mut s = ClusterState::default();
    for c in [
        channel("all", true, None),
        channel("asks", false, Some("down,degraded")),
        channel("other", false, Some("down")),
    ] {
        s.apply(&cmd(Mutation::AddAlert { alert: c })).expect("add");
    }
    let check = Check {
        id: "web".into(),
        name: "web".into(),
        target: "127.0.0.1:80".into(),
        alerts: vec!["asks".into(), "other".into()],
        ..Check::blank(CheckType::Tcp)
    };
    s.apply(&cmd(Mutation::AddCheck { check })).expect("check");
    let flag = |on: bool| Mutation::SetDegraded {
        check_id: "web".into(),
        degraded: on,
        votes: vec![],
    };
    // Not up yet: nothing.
    s.apply(&cmd(flag(true))).expect("noop");
    assert!(s.outbox.is_empty());
    s.apply(&cmd(Mutation::RecordTransition {
        check_id: "web".into(),
        from: CheckState::Unknown,
        to: CheckState::Up,
        term: 1,
        evidence: vec![],
    }))
    .expect("up");
    s.apply(&cmd(flag(true))).expect("degraded");
    s.apply(&cmd(flag(true))).expect("again");
    s.apply(&cmd(flag(false))).expect("cleared");
    let sent: Vec<(String, AlertKind)> = s
        .outbox
        .values()
        .map(|e| (e.channel.clone(), e.kind))
        .collect();
    assert_eq!(
        sent,
        vec![
            ("asks".into(), AlertKind::Degraded),
            ("asks".into(), AlertKind::DegradedCleared)
        ]
    );
    s.apply(&cmd(flag(true))).expect("degraded");
    s.apply(&cmd(Mutation::RecordTransition {
        check_id: "web".into(),
        from: CheckState::Up,
        to: CheckState::Down,
        term: 1,
        evidence: vec![],
    }))
    .expect("down");
    assert!(!s.check_states["web"].degraded, "a transition clears it");
    assert!(
        s.apply(&cmd(Mutation::SetDegraded {
            check_id: "nope".into(),
            degraded: true,
            votes: vec![]
        }))
        .is_err()
    );
}
