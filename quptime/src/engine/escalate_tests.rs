//! Escalation through the delivery engine and the real `apply`, with
//! virtual time (the `deliver_tests` simulator): channel `ops` escalates to
//! `oncall` after 15 minutes.

use std::time::Duration;

use super::deliver::Deliverer;
use super::deliver_tests::{Sim, accept, channel_with, check};
use crate::notify::NotificationKind;
use crate::state::CheckState::{Down, Up};
use crate::state::Mutation;
use crate::state::maintenance::{MaintenanceWindow, When};

const DELAY: Duration = Duration::from_secs(15 * 60);

/// Check c1 (up) notifying `ops` (default), which escalates to `oncall`
/// (not a default channel: it hears only the escalation).
fn escalating() -> Sim {
    let mut sim = Sim::new(&[], vec![check("c1")], accept());
    let mut oncall = channel_with("oncall", &[("digest_threshold", "0")]);
    oncall.default = false;
    sim.apply(Mutation::AddAlert { alert: oncall })
        .expect("oncall");
    let ops = channel_with(
        "ops",
        &[
            ("digest_threshold", "0"),
            ("escalate_after", "15m"),
            ("escalate_to", "oncall"),
        ],
    );
    sim.apply(Mutation::AddAlert { alert: ops }).expect("ops");
    sim
}

/// What `oncall` got: (seconds since the start, kind, incident key).
fn told(sim: &Sim) -> Vec<(u64, NotificationKind, Option<String>)> {
    sim.attempts
        .iter()
        .filter(|a| a.channel == "oncall")
        .map(|a| (a.at.as_secs(), a.kind, a.incident.clone()))
        .collect()
}

#[test]
fn still_down_after_the_delay_tells_the_second_channel_once() {
    let mut sim = escalating();
    sim.transition("c1", Up, Down);
    sim.run_for(DELAY - Duration::from_secs(1));
    assert!(told(&sim).is_empty(), "early: {:?}", told(&sim));
    assert_eq!(sim.delivered(), vec![("c1".into(), NotificationKind::Down)]);
    sim.run_for(Duration::from_secs(2));
    let key = Some("quptime-c1-2".to_string());
    assert_eq!(
        told(&sim),
        vec![(900, NotificationKind::Reminder, key.clone())],
        "told once, as still down, in the DOWN's incident"
    );
    // An hour more down: nothing more.
    sim.run_for(Duration::from_secs(3600));
    assert_eq!(told(&sim).len(), 1, "{:?}", told(&sim));
    assert!(sim.state.check_states["c1"].escalated.contains("ops"));
    // A second proposal is refused by the rule at apply.
    let again = Mutation::QueueEscalation {
        check_id: "c1".into(),
        channel: "ops".into(),
    };
    assert!(sim.apply(again).is_err());
    // The recovery ends the incident; a new one escalates again.
    sim.transition("c1", Down, Up);
    assert!(sim.state.check_states["c1"].escalated.is_empty());
    sim.run_for(Duration::from_secs(5));
    sim.transition("c1", Up, Down);
    sim.run_for(DELAY + Duration::from_secs(1));
    assert_eq!(told(&sim).len(), 2, "{:?}", told(&sim));
    assert_eq!(told(&sim)[1].2, Some("quptime-c1-4".to_string()));
}

#[test]
fn a_recovery_before_the_delay_tells_nobody_else() {
    let mut sim = escalating();
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(600));
    sim.transition("c1", Down, Up);
    sim.run_for(Duration::from_secs(3600));
    assert!(told(&sim).is_empty(), "{:?}", told(&sim));
    assert_eq!(
        sim.delivered(),
        vec![
            ("c1".into(), NotificationKind::Down),
            ("c1".into(), NotificationKind::Recovered)
        ]
    );
}

#[test]
fn a_failover_in_the_middle_of_the_delay_escalates_once() {
    let mut sim = escalating();
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(600));
    // Master B: a fresh engine, the replicated state alone.
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(400));
    assert_eq!(told(&sim).len(), 1, "{:?}", told(&sim));
    assert_eq!(told(&sim)[0].0, 900, "the delay counts from the DOWN");
    // Master C right after the escalation committed: nothing again.
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(1800));
    assert_eq!(told(&sim).len(), 1, "{:?}", told(&sim));
    assert_eq!(
        sim.attempts
            .iter()
            .filter(|a| a.kind == NotificationKind::Down)
            .count(),
        1,
        "the DOWN went out once"
    );
}

#[test]
fn a_maintenance_window_holds_the_escalation_until_it_ends() {
    let mut sim = escalating();
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(600));
    // A 20-minute window from minute 10 to minute 30.
    let window = MaintenanceWindow {
        id: "w1".into(),
        checks: vec!["c1".into()],
        when: When::Once {
            start_ms: sim.now().wall_ms,
        },
        duration_ms: 20 * 60 * 1000,
        reason: "failover drill".into(),
        silence: false,
    };
    sim.apply(Mutation::AddMaintenance { window })
        .expect("window");
    sim.run_for(Duration::from_secs(1199));
    assert!(told(&sim).is_empty(), "held: {:?}", told(&sim));
    sim.run_for(Duration::from_secs(2));
    assert_eq!(told(&sim).len(), 1, "{:?}", told(&sim));
    assert_eq!(told(&sim)[0].0, 1800, "when the window ended");
}

#[test]
fn a_down_held_back_by_a_window_counts_the_delay_from_its_release() {
    let mut sim = escalating();
    let window = MaintenanceWindow {
        id: "w1".into(),
        checks: vec!["c1".into()],
        when: When::Once {
            start_ms: sim.now().wall_ms,
        },
        duration_ms: 30 * 60 * 1000,
        reason: "upgrade".into(),
        silence: false,
    };
    sim.apply(Mutation::AddMaintenance { window })
        .expect("window");
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(1801));
    assert_eq!(sim.delivered(), vec![("c1".into(), NotificationKind::Down)]);
    assert!(told(&sim).is_empty(), "{:?}", told(&sim));
    sim.run_for(DELAY);
    assert_eq!(told(&sim).len(), 1, "{:?}", told(&sim));
    assert_eq!(told(&sim)[0].0, 1800 + 900);
}
