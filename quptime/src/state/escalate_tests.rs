//! The escalation settings and rule on the state alone.

use super::*;
use crate::state::{Check, CheckType, Command, Mutation, NodeId};

fn channel(id: &str, pairs: &[(&str, &str)]) -> AlertChannel {
    AlertChannel {
        id: id.into(),
        name: id.into(),
        kind: "webhook".into(),
        default: id == "ops",
        disabled: false,
        settings: std::iter::once(("url", "http://127.0.0.1:9/x"))
            .chain(pairs.iter().copied())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn cmd(m: Mutation, at_ms: u64) -> Command {
    Command {
        at_ms,
        ..Command::new(NodeId::new("a").expect("id"), m)
    }
}

const T0: u64 = 1_750_000_000_000;

/// ops (default, escalates to oncall after 1m), oncall, check c1 down
/// with its DOWN announced at T0.
fn down() -> ClusterState {
    let mut s = ClusterState::default();
    let oncall = channel("oncall", &[]);
    s.apply(&cmd(Mutation::AddAlert { alert: oncall }, T0))
        .expect("oncall");
    let ops = channel("ops", &[(AFTER_KEY, "1m"), (TO_KEY, "oncall")]);
    s.apply(&cmd(Mutation::AddAlert { alert: ops }, T0))
        .expect("ops");
    let mut c = Check::blank(CheckType::Tcp);
    c.id = "c1".into();
    c.name = "db".into();
    c.target = "db.internal:5432".into();
    s.apply(&cmd(Mutation::AddCheck { check: c }, T0))
        .expect("check");
    for (from, to) in [
        (CheckState::Unknown, CheckState::Up),
        (CheckState::Up, CheckState::Down),
    ] {
        let t = Mutation::RecordTransition {
            check_id: "c1".into(),
            from,
            to,
            term: 1,
            evidence: vec![],
        };
        s.apply(&cmd(t, T0)).expect("transition");
    }
    s
}

#[test]
fn settings_are_both_or_neither_and_name_the_field() {
    assert!(validate(&channel("ops", &[])).is_ok());
    let ok = channel("ops", &[(AFTER_KEY, "15m"), (TO_KEY, "oncall")]);
    assert!(validate(&ok).is_ok());
    assert_eq!(settings(&ok), Some((Duration::from_secs(900), "oncall")));
    for (pairs, field) in [
        (vec![(AFTER_KEY, "15m")], TO_KEY),
        (vec![(TO_KEY, "oncall")], AFTER_KEY),
        (vec![(AFTER_KEY, "fifteen"), (TO_KEY, "oncall")], AFTER_KEY),
        (vec![(AFTER_KEY, "30d"), (TO_KEY, "oncall")], AFTER_KEY),
        (vec![(AFTER_KEY, "15m"), (TO_KEY, "ops")], TO_KEY),
        (vec![(AFTER_KEY, "15m"), (TO_KEY, " ")], TO_KEY),
    ] {
        let e = validate(&channel("ops", &pairs)).unwrap_err();
        assert_eq!(e.field(), Some(field), "{pairs:?}: {e}");
    }
}

#[test]
fn an_unknown_target_is_refused_at_apply() {
    let mut s = ClusterState::default();
    let ops = channel("ops", &[(AFTER_KEY, "15m"), (TO_KEY, "nobody")]);
    let e = s
        .apply(&cmd(Mutation::AddAlert { alert: ops }, T0))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some(TO_KEY), "{e:?}");
    assert!(s.alerts.is_empty());
}

#[test]
fn escalation_needs_level_6() {
    let ops = channel("ops", &[(AFTER_KEY, "15m"), (TO_KEY, "oncall")]);
    assert_eq!(Mutation::AddAlert { alert: ops }.required_level(), 6);
    let m = Mutation::QueueEscalation {
        check_id: "c1".into(),
        channel: "ops".into(),
    };
    assert_eq!(m.required_level(), 6);
}

#[test]
fn due_after_the_delay_once_and_queued_for_the_target() {
    let mut s = down();
    assert_eq!(s.check_states["c1"].down_ms, T0);
    assert!(s.escalations_due("c1", T0 + 59_999).is_empty());
    let due = s.escalations_due("c1", T0 + 60_000);
    assert_eq!(due, vec![("ops".to_string(), "oncall".to_string())]);
    let m = || Mutation::QueueEscalation {
        check_id: "c1".into(),
        channel: "ops".into(),
    };
    assert!(s.apply(&cmd(m(), T0 + 30_000)).is_err(), "not yet due");
    s.apply(&cmd(m(), T0 + 60_000)).expect("queued");
    let e = s.outbox.values().last().expect("entry");
    assert_eq!(
        (e.kind, e.channel.as_str(), e.incident),
        (AlertKind::Escalation, "oncall", Some(2))
    );
    assert!(s.escalations_due("c1", T0 + 120_000).is_empty());
    assert!(s.apply(&cmd(m(), T0 + 120_000)).is_err(), "once");
}

#[test]
fn nothing_is_due_while_flapping_held_or_the_target_is_disabled() {
    let s = down();
    let later = T0 + 3_600_000;
    let mut flapping = s.clone();
    flapping.check_states.get_mut("c1").expect("rt").flapping = true;
    assert!(flapping.escalations_due("c1", later).is_empty());
    let mut held = s.clone();
    held.check_states.get_mut("c1").expect("rt").held = true;
    assert!(held.escalations_due("c1", later).is_empty());
    let mut off = s.clone();
    off.alerts.get_mut("oncall").expect("oncall").disabled = true;
    assert!(off.escalations_due("c1", later).is_empty());
    let mut routed = s;
    routed
        .alerts
        .get_mut("ops")
        .expect("ops")
        .settings
        .insert("events".into(), "recovered".into());
    assert!(
        routed.escalations_due("c1", later).is_empty(),
        "ops never heard the DOWN"
    );
}

#[test]
fn a_default_runtime_serializes_as_before() {
    let s = down();
    let mut rt = s.check_states["c1"].clone();
    rt.down_ms = 0;
    let json = serde_json::to_string(&rt).expect("json");
    assert!(
        !json.contains("down_ms") && !json.contains("escalated"),
        "{json}"
    );
}
