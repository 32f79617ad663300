//! Flap control through the delivery engine and the real `apply`, with
//! virtual time (the `deliver_tests` simulator).

use std::time::Duration;

use super::deliver::Deliverer;
use super::deliver_tests::{Sim, accept, check};
use crate::notify::NotificationKind;
use crate::state::{Check, CheckState};

fn flappy() -> Sim {
    let c = Check {
        flap_threshold: Some(5),
        flap_window: Some(Duration::from_secs(30)),
        ..check("c1")
    };
    Sim::new(&["hook"], vec![c], accept())
}

/// Alternate c1 every second for `secs` seconds.
fn alternate(sim: &mut Sim, secs: u64) {
    for _ in 0..secs {
        let from = sim.state.check_states["c1"].state;
        let to = if from == CheckState::Up {
            CheckState::Down
        } else {
            CheckState::Up
        };
        sim.transition("c1", from, to);
        sim.run_for(Duration::from_secs(1));
    }
}

fn sent(sim: &Sim) -> Vec<(NotificationKind, u64)> {
    sim.attempts
        .iter()
        .map(|a| (a.kind, a.at.as_secs()))
        .collect()
}

#[test]
fn a_check_alternating_for_a_minute_sends_one_flapping_then_its_state_once_stable() {
    let mut sim = flappy();
    alternate(&mut sim, 60); // ends down (60 flips from up)
    let flapping: Vec<_> = sent(&sim)
        .into_iter()
        .filter(|(k, _)| *k == NotificationKind::Flapping)
        .collect();
    assert_eq!(flapping.len(), 1, "{:?}", sent(&sim));
    // Before it: the changes up to the threshold, announced as usual.
    let before = sent(&sim)
        .into_iter()
        .take_while(|(k, _)| *k != NotificationKind::Flapping);
    assert!(before.count() <= 6);
    let at_flap = sim.attempts.len();
    assert!(sim.state.check_states["c1"].flapping);
    // It ends up, steady: after a stable window, the RECOVERED (if a DOWN
    // was the last thing heard), once.
    let last = sim.state.check_states["c1"].state;
    if last == CheckState::Down {
        sim.transition("c1", CheckState::Down, CheckState::Up);
    }
    sim.run_for(Duration::from_secs(20));
    assert_eq!(sim.attempts.len(), at_flap, "quiet while not yet stable");
    sim.run_for(Duration::from_secs(60));
    assert!(!sim.state.check_states["c1"].flapping);
    let after: Vec<_> = sim.attempts[at_flap..].iter().map(|a| a.kind).collect();
    let heard_down = sim.attempts[..at_flap]
        .iter()
        .rfind(|a| matches!(a.kind, NotificationKind::Down | NotificationKind::Recovered))
        .is_some_and(|a| a.kind == NotificationKind::Down);
    let want = if heard_down {
        vec![NotificationKind::Recovered]
    } else {
        vec![]
    };
    assert_eq!(after, want);
}

#[test]
fn a_master_failover_while_flapping_sends_flapping_once() {
    let mut sim = flappy();
    alternate(&mut sim, 10);
    // New masters every few seconds, each a fresh engine from the state.
    for _ in 0..10 {
        sim.engine = Deliverer::default();
        alternate(&mut sim, 3);
    }
    let n = sim
        .attempts
        .iter()
        .filter(|a| a.kind == NotificationKind::Flapping)
        .count();
    assert_eq!(n, 1, "{:?}", sent(&sim));
}

#[test]
fn flapping_carries_its_own_incident_key() {
    let mut sim = flappy();
    alternate(&mut sim, 10);
    let keys: Vec<_> = sim
        .sent_with_incident()
        .into_iter()
        .filter(|(k, _)| *k == NotificationKind::Flapping)
        .collect();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].1.is_some(), "{keys:?}");
}
