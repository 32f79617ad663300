//! Maintenance windows through the delivery engine and the real `apply`,
//! with virtual time (the `deliver_tests` simulator): what the receiver
//! gets when a check fails inside a window.

use std::time::Duration;

use super::deliver_tests::{Sim, accept, check};
use crate::notify::NotificationKind;
use crate::state::CheckState::{Down, Up};
use crate::state::Mutation;
use crate::state::maintenance::{MaintenanceWindow, When};

fn ms(rfc3339: &str) -> u64 {
    let t = humantime::parse_rfc3339(rfc3339).expect("time");
    crate::state::duration::millis(t.duration_since(std::time::UNIX_EPOCH).expect("epoch"))
}

fn once(start_ms: u64, len: Duration) -> MaintenanceWindow {
    MaintenanceWindow {
        id: "w1".into(),
        checks: vec!["c1".into()],
        when: When::Once { start_ms },
        duration_ms: crate::state::duration::millis(len),
        reason: "db upgrade".into(),
        silence: false,
    }
}

/// A sim with check c1 (up) on channel hook and a 60 s window from now.
fn in_window() -> Sim {
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    let start = sim.now().wall_ms;
    let window = once(start, Duration::from_secs(60));
    sim.apply(Mutation::AddMaintenance { window })
        .expect("window");
    sim
}

fn downs(sim: &Sim) -> Vec<u64> {
    sim.attempts
        .iter()
        .filter(|a| a.kind == NotificationKind::Down)
        .map(|a| a.at.as_secs())
        .collect()
}

#[test]
fn down_inside_a_window_sends_no_down() {
    let mut sim = in_window();
    sim.run_for(Duration::from_secs(5));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(50));
    assert!(sim.attempts.is_empty(), "sent {:?}", sim.delivered());
    let rt = &sim.state.check_states["c1"];
    assert!(rt.held && !rt.alerted_down, "{rt:?}");
    assert!(sim.state.outbox.is_empty());
}

#[test]
fn still_down_at_the_end_of_the_window_sends_one_down_then() {
    let mut sim = in_window();
    sim.run_for(Duration::from_secs(5));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(120));
    assert_eq!(downs(&sim), vec![60], "one DOWN, when the window ended");
    assert_eq!(sim.attempts.len(), 1);
    // Its RECOVERED follows with the same incident key.
    sim.transition("c1", Down, Up);
    sim.run_for(Duration::from_secs(2));
    let kinds = sim.sent_with_incident();
    let key = Some("quptime-c1-2".to_string());
    assert_eq!(
        kinds,
        vec![
            (NotificationKind::Down, key.clone()),
            (NotificationKind::Recovered, key)
        ]
    );
}

#[test]
fn recovered_inside_the_window_sends_nothing_at_all() {
    let mut sim = in_window();
    sim.run_for(Duration::from_secs(5));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(10));
    sim.transition("c1", Down, Up);
    sim.run_for(Duration::from_secs(120));
    assert!(sim.attempts.is_empty(), "sent {:?}", sim.delivered());
    assert!(!sim.state.check_states["c1"].held);
}

#[test]
fn no_reminder_inside_a_window_for_a_down_sent_before_it() {
    let mut c = check("c1");
    c.remind = Some(Duration::from_secs(30));
    let mut sim = Sim::new(&["hook"], vec![c], accept());
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(10));
    let start = sim.now().wall_ms;
    let window = once(start, Duration::from_secs(100));
    sim.apply(Mutation::AddMaintenance { window })
        .expect("window");
    sim.run_for(Duration::from_secs(120));
    let got: Vec<_> = sim
        .attempts
        .iter()
        .map(|a| (a.at.as_secs(), a.kind))
        .collect();
    // The DOWN at 0; reminders at 30…90 fall in the window; the first
    // after it ends (at 110) goes out then.
    assert_eq!(
        got,
        vec![
            (0, NotificationKind::Down),
            (110, NotificationKind::Reminder)
        ]
    );
}

#[test]
fn clearing_a_silence_while_down_sends_the_down_once() {
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    let start = sim.now().wall_ms;
    let window = MaintenanceWindow {
        silence: true,
        ..once(start, Duration::from_secs(1800))
    };
    sim.apply(Mutation::AddMaintenance { window })
        .expect("silence");
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(20));
    assert!(sim.attempts.is_empty());
    sim.apply(Mutation::ClearSilence { check: "c1".into() })
        .expect("clear");
    sim.run_for(Duration::from_secs(60));
    assert_eq!(downs(&sim), vec![20]);
}

#[test]
fn a_recurring_window_on_the_spring_forward_night_ends_after_real_hours() {
    // Sundays 01:00 Europe/Berlin for 2h. On 2026-03-29 01:00 CET is
    // 00:00 UTC and clocks jump from 02:00 to 03:00: the window ends at
    // 02:00 UTC (04:00 CEST), not at 03:00 UTC.
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    sim.wall0 = ms("2026-03-28T23:59:00Z");
    let window = MaintenanceWindow {
        when: When::Weekly {
            days: vec!["sun".into()],
            at: "01:00".into(),
            tz: "Europe/Berlin".into(),
        },
        ..once(0, Duration::from_secs(2 * 3600))
    };
    sim.apply(Mutation::AddMaintenance { window })
        .expect("window");
    // Down at 23:59 UTC, before the window: the DOWN goes out at once.
    // Recover, then fail again inside it.
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(60));
    sim.transition("c1", Down, Up);
    sim.run_for(Duration::from_secs(30 * 60));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(2 * 3600));
    assert_eq!(downs(&sim), vec![0, 7260], "the held DOWN at 02:00 UTC");
}

#[test]
fn a_weekly_window_in_new_york_opens_at_the_right_instant_across_the_dst_change() {
    // Sundays 02:30 America/New_York for 1h. On 2026-03-08 clocks jump from
    // 02:00 EST to 03:00 EDT, so 02:30 does not exist: the window opens at
    // 03:00 EDT = 07:00 UTC (a week before, 02:30 EST was 07:30 UTC).
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    sim.wall0 = ms("2026-03-08T06:59:00Z");
    let window = MaintenanceWindow {
        when: When::Weekly {
            days: vec!["sun".into()],
            at: "02:30".into(),
            tz: "America/New_York".into(),
        },
        ..once(0, Duration::from_secs(3600))
    };
    sim.apply(Mutation::AddMaintenance { window })
        .expect("window");
    assert!(
        sim.state
            .in_maintenance("c1", ms("2026-03-08T06:59:59Z"))
            .is_none()
    );
    assert_eq!(
        sim.state.in_maintenance("c1", ms("2026-03-08T07:00:00Z")),
        Some(ms("2026-03-08T08:00:00Z"))
    );
    assert_eq!(
        sim.state.in_maintenance("c1", ms("2026-03-01T07:30:00Z")),
        Some(ms("2026-03-01T08:30:00Z")),
        "the week before, in EST"
    );
    // Down at 06:59:30, before the window: the DOWN goes out at once.
    sim.run_for(Duration::from_secs(30));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(20));
    sim.transition("c1", Down, Up);
    // Down again at 07:00:10, inside it: held until 08:00:00 UTC.
    sim.run_for(Duration::from_secs(20));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(3630));
    assert_eq!(downs(&sim), vec![30, 3660]);
}

#[test]
fn a_master_failover_in_the_middle_of_a_window_sends_nothing_twice() {
    let mut sim = in_window();
    sim.run_for(Duration::from_secs(5));
    sim.transition("c1", Up, Down);
    sim.run_for(Duration::from_secs(25));
    // A new master mid-window: a fresh engine built from the state alone.
    sim.engine = super::deliver::Deliverer::default();
    sim.run_for(Duration::from_secs(30) + Duration::from_millis(100));
    // And another right after the release committed (at 60 s).
    sim.engine = super::deliver::Deliverer::default();
    sim.run_for(Duration::from_secs(60));
    assert_eq!(downs(&sim), vec![60], "one DOWN, when the window ended");
    assert_eq!(sim.attempts.len(), 1, "{:?}", sim.delivered());
}
