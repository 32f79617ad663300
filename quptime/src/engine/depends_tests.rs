//! Dependencies through the delivery engine and the real `apply`, with
//! virtual time (the `deliver_tests` simulator): what the receiver gets
//! when a child fails while its parent is down.

use std::time::Duration;

use super::deliver::Deliverer;
use super::deliver_tests::{Sim, accept, check};
use crate::notify::NotificationKind;
use crate::state::Check;
use crate::state::CheckState::{Down, Up};

fn child(id: &str, parent: &str) -> Check {
    Check {
        depends_on: vec![parent.into()],
        ..check(id)
    }
}

/// (check, kind, second) of every attempt.
fn sent(sim: &Sim) -> Vec<(String, NotificationKind, u64)> {
    let mut v: Vec<_> = sim
        .attempts
        .iter()
        .map(|a| (a.check.clone(), a.kind, a.at.as_secs()))
        .collect();
    v.sort_by_key(|(c, k, at)| (*at, c.clone(), format!("{k:?}")));
    v
}

fn gateway_then_web() -> Sim {
    Sim::new(&["hook"], vec![check("gw"), child("web", "gw")], accept())
}

#[test]
fn a_child_down_while_its_parent_is_down_alerts_only_when_the_parent_recovers() {
    let mut sim = gateway_then_web();
    sim.transition("gw", Up, Down);
    sim.transition("web", Up, Down);
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sent(&sim), vec![("gw".into(), NotificationKind::Down, 0)]);
    assert_eq!(sim.state.blocked_by("web"), vec!["gw".to_string()]);
    assert!(sim.state.check_states["web"].held);
    sim.transition("gw", Down, Up);
    sim.run_for(Duration::from_secs(30));
    assert_eq!(
        sent(&sim),
        vec![
            ("gw".into(), NotificationKind::Down, 0),
            ("gw".into(), NotificationKind::Recovered, 30),
            ("web".into(), NotificationKind::Down, 30),
        ],
        "the child's DOWN once, when the parent recovered"
    );
    // Its RECOVERED follows, with the incident of the released DOWN.
    sim.transition("web", Down, Up);
    sim.run_for(Duration::from_secs(5));
    let web: Vec<_> = sim
        .attempts
        .iter()
        .filter(|a| a.check == "web")
        .map(|a| (a.kind, a.incident.clone()))
        .collect();
    assert_eq!(web.len(), 2, "{web:?}");
    assert_eq!(web[1].0, NotificationKind::Recovered);
    assert_eq!(web[0].1, web[1].1, "one incident key");
}

#[test]
fn a_child_that_recovers_before_its_parent_is_never_announced() {
    let mut sim = gateway_then_web();
    sim.transition("gw", Up, Down);
    sim.transition("web", Up, Down);
    sim.run_for(Duration::from_secs(10));
    sim.transition("web", Down, Up);
    sim.run_for(Duration::from_secs(10));
    sim.transition("gw", Down, Up);
    sim.run_for(Duration::from_secs(30));
    let web = sim.attempts.iter().filter(|a| a.check == "web").count();
    assert_eq!(web, 0, "sent {:?}", sim.delivered());
    assert!(!sim.state.check_states["web"].held);
}

#[test]
fn a_child_down_before_its_parent_alerts_at_once() {
    // The rule holds back only a DOWN decided while a parent is down.
    let mut sim = gateway_then_web();
    sim.transition("web", Up, Down);
    sim.transition("gw", Up, Down);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(
        sent(&sim),
        vec![
            ("gw".into(), NotificationKind::Down, 0),
            ("web".into(), NotificationKind::Down, 0),
        ]
    );
}

#[test]
fn a_master_failover_while_blocked_sends_the_child_down_once() {
    let mut sim = gateway_then_web();
    sim.transition("gw", Up, Down);
    sim.transition("web", Up, Down);
    sim.run_for(Duration::from_secs(10));
    // A new master: a fresh engine from the replicated state alone.
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(10));
    sim.transition("gw", Down, Up);
    sim.run_for(Duration::from_secs(5));
    // And another one right after the release committed.
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(30));
    let web: Vec<_> = sim
        .attempts
        .iter()
        .filter(|a| a.check == "web")
        .map(|a| (a.kind, a.at.as_secs()))
        .collect();
    assert_eq!(web, vec![(NotificationKind::Down, 20)]);
    let gw = sim.attempts.iter().filter(|a| a.check == "gw").count();
    assert_eq!(gw, 2, "gw: one DOWN, one RECOVERED");
}

#[test]
fn a_chain_releases_top_down() {
    // db depends on app depends on gw; all fail with gw first.
    let mut sim = Sim::new(
        &["hook"],
        vec![check("gw"), child("app", "gw"), child("db", "app")],
        accept(),
    );
    sim.transition("gw", Up, Down);
    sim.transition("app", Up, Down);
    sim.transition("db", Up, Down);
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.attempts.len(), 1, "only gw");
    sim.transition("gw", Down, Up);
    sim.run_for(Duration::from_secs(10));
    // app is released; db stays blocked by app, which is still down.
    assert_eq!(sim.state.blocked_by("db"), vec!["app".to_string()]);
    let db = sim.attempts.iter().filter(|a| a.check == "db").count();
    assert_eq!(db, 0);
    sim.transition("app", Down, Up);
    sim.run_for(Duration::from_secs(10));
    let db: Vec<_> = sim
        .attempts
        .iter()
        .filter(|a| a.check == "db")
        .map(|a| (a.kind, a.at.as_secs()))
        .collect();
    assert_eq!(db, vec![(NotificationKind::Down, 20)]);
}
