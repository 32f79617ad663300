//! Virtual time over several simulated days: exact uptime figures, the
//! same after a snapshot round trip, and on a replica fed the same log.

use super::*;
use crate::aggregate::Evidence;
use crate::identity::NodeId;
use crate::state::maintenance::{MaintenanceWindow, When};
use crate::state::{Check, CheckType, Command, Mutation};

/// 2026-03-02T00:00:00Z, a Monday.
const T0: u64 = 1_772_409_600_000;

fn node() -> NodeId {
    NodeId::new("n1").unwrap()
}

fn at(ms: u64, m: Mutation) -> Command {
    let mut c = Command::new(node(), m);
    c.at_ms = ms;
    c
}

fn check(id: &str) -> Check {
    let mut c = Check::blank(CheckType::Tcp);
    c.id = id.into();
    c.name = id.into();
    c.target = "127.0.0.1:1".into();
    c
}

fn apply(s: &mut ClusterState, ms: u64, m: Mutation) {
    s.apply(&at(ms, m)).expect("applied");
}

fn go(s: &mut ClusterState, ms: u64, id: &str, from: CheckState, to: CheckState) {
    let ev = vec![Evidence {
        node: node(),
        ok: to == CheckState::Up,
        detail: "x".into(),
        latency_ms: 1,
    }];
    apply(
        s,
        ms,
        Mutation::RecordTransition {
            check_id: id.into(),
            from,
            to,
            term: 1,
            evidence: ev,
        },
    );
}

/// Ticks every minute from `from` to `to` (inclusive of `to`).
fn tick_until(s: &mut ClusterState, from: u64, to: u64) {
    let mut t = from;
    while t < to {
        t = (t + TICK_MS).min(to);
        apply(s, t, Mutation::HistoryTick {});
    }
}

const H: u64 = HOUR_MS;
const D: u64 = DAY_MS;

/// The scenario: check `a` up from T0; down 2 h on day 2 (06:00–08:00),
/// down 30 min on day 4 (12:00–12:30), maintenance 1 h on day 5
/// (03:00–04:00, down inside it), and up until the end of day 5.
fn scenario() -> ClusterState {
    let mut s = ClusterState::default();
    apply(&mut s, T0 - 1000, Mutation::AddCheck { check: check("a") });
    // The first tick opens the history; the check is unknown until up.
    apply(&mut s, T0, Mutation::HistoryTick {});
    go(&mut s, T0, "a", CheckState::Unknown, CheckState::Up);
    tick_until(&mut s, T0, D + T0 + 6 * H);
    go(
        &mut s,
        T0 + D + 6 * H,
        "a",
        CheckState::Up,
        CheckState::Down,
    );
    tick_until(&mut s, T0 + D + 6 * H, T0 + D + 8 * H);
    go(
        &mut s,
        T0 + D + 8 * H,
        "a",
        CheckState::Down,
        CheckState::Up,
    );
    tick_until(&mut s, T0 + D + 8 * H, T0 + 3 * D + 12 * H);
    go(
        &mut s,
        T0 + 3 * D + 12 * H,
        "a",
        CheckState::Up,
        CheckState::Down,
    );
    // No tick while down: the recovery alone credits the 30 minutes.
    go(
        &mut s,
        T0 + 3 * D + 12 * H + 30 * 60_000,
        "a",
        CheckState::Down,
        CheckState::Up,
    );
    let window = MaintenanceWindow {
        id: "w1".into(),
        checks: vec!["a".into()],
        when: When::Once {
            start_ms: T0 + 4 * D + 3 * H,
        },
        duration_ms: H,
        reason: "upgrade".into(),
        silence: false,
    };
    apply(&mut s, T0 + 4 * D, Mutation::AddMaintenance { window });
    tick_until(
        &mut s,
        T0 + 3 * D + 12 * H + 30 * 60_000,
        T0 + 4 * D + 3 * H,
    );
    go(
        &mut s,
        T0 + 4 * D + 3 * H,
        "a",
        CheckState::Up,
        CheckState::Down,
    );
    tick_until(&mut s, T0 + 4 * D + 3 * H, T0 + 4 * D + 4 * H);
    go(
        &mut s,
        T0 + 4 * D + 4 * H,
        "a",
        CheckState::Down,
        CheckState::Up,
    );
    // Ticks missed for a while (a new master): one tick covers the gap.
    apply(&mut s, T0 + 5 * D - 1, Mutation::HistoryTick {});
    s
}

fn pct(s: &ClusterState, w: Window) -> f64 {
    s.uptime("a", w).and_then(|b| b.percent()).expect("figure")
}

fn expect_figures(s: &ClusterState) {
    let day = |i: u64| s.uptime_days("a", 90)[89 - i as usize];
    // Day 5 (today): up except the hour of maintenance.
    let today = day(0);
    assert_eq!(u64::from(today.index), (T0 + 4 * D) / D);
    let today = today.totals();
    assert_eq!(today.maintenance_ms, H);
    assert_eq!(today.down_ms, 0);
    assert_eq!(today.up_ms, D - H - 1);
    assert_eq!(day(1).totals().down_ms, 30 * 60_000);
    assert_eq!(day(1).totals().up_ms, D - 30 * 60_000);
    assert_eq!(day(3).totals().down_ms, 2 * H);
    assert_eq!(day(4).totals().up_ms, D);
    assert_eq!(
        day(5),
        Bucket {
            index: day(5).index,
            ..Bucket::default()
        }
    );
    // 24 h: the hours 00:00..23:59 of day 5, one of them in maintenance.
    let h24 = s.uptime("a", Window::Hours24).unwrap();
    assert_eq!(h24.maintenance_ms, H);
    assert_eq!(h24.up_ms, 23 * H - 1);
    assert_eq!(pct(s, Window::Hours24), 100.0);
    // 7 d: 5 days counted, 2 h 30 min down in 5 days minus 1 h minus 1 ms.
    let judged = 5 * D - H - 1;
    let down = 2 * H + 30 * 60_000;
    let want = (judged - down) as f64 * 100.0 / judged as f64;
    assert_eq!(pct(s, Window::Days7), want);
    assert_eq!(pct(s, Window::Days30), want);
    assert_eq!(pct(s, Window::Days90), want);
    assert_eq!(format!("{:.3}", want), "97.899");
}

#[test]
fn several_simulated_days_give_exact_figures() {
    let s = scenario();
    expect_figures(&s);
    assert_eq!(s.history.at_ms, T0 + 5 * D - 1);
}

#[test]
fn a_state_restored_from_a_snapshot_has_the_same_figures() {
    let s = scenario();
    let json = serde_json::to_string(&s).unwrap();
    let back: ClusterState = serde_json::from_str(&json).unwrap();
    assert!(back == s, "the snapshot round trip changed the state");
    expect_figures(&back);
    // A restored node goes on counting like the others.
    let (mut a, mut b) = (s, back);
    apply(&mut a, T0 + 5 * D + H, Mutation::HistoryTick {});
    apply(&mut b, T0 + 5 * D + H, Mutation::HistoryTick {});
    assert!(
        a.history == b.history,
        "the restored node counts differently"
    );
    // 01:00 on day 6: day 5 from 02:00 (one hour of it maintenance) and
    // the first hour of day 6.
    assert_eq!(a.uptime("a", Window::Hours24).unwrap().up_ms, 22 * H);
}

#[test]
fn a_replica_fed_the_same_log_agrees_and_old_clocks_change_nothing() {
    let (a, mut b) = (scenario(), scenario());
    assert_eq!(a.history, b.history);
    let before = b.history.clone();
    // A tick from a master whose clock is behind counts nothing.
    apply(&mut b, T0 + D, Mutation::HistoryTick {});
    assert_eq!(b.history, before);
}

#[test]
fn history_is_off_and_absent_until_the_first_tick() {
    let mut s = ClusterState::default();
    apply(&mut s, T0, Mutation::AddCheck { check: check("a") });
    go(&mut s, T0, "a", CheckState::Unknown, CheckState::Up);
    assert!(s.history.is_empty());
    let json = serde_json::to_value(&s).unwrap();
    assert!(json.get("history").is_none(), "{json}");
    assert!(s.uptime("a", Window::Days7).is_none());
    assert_eq!(s.level, 1);
    apply(&mut s, T0 + 1, Mutation::HistoryTick {});
    assert_eq!(s.level, 5);
    // The tick is runtime, not configuration.
    assert_eq!(s.version, 1);
}

#[test]
fn a_removed_check_loses_its_history_and_buckets_are_bounded() {
    let mut s = ClusterState::default();
    apply(&mut s, T0, Mutation::AddCheck { check: check("a") });
    apply(&mut s, T0, Mutation::AddCheck { check: check("b") });
    apply(&mut s, T0, Mutation::HistoryTick {});
    go(&mut s, T0, "a", CheckState::Unknown, CheckState::Up);
    // 120 days of one tick a day.
    for day in 1..=120 {
        apply(&mut s, T0 + day * D, Mutation::HistoryTick {});
    }
    let h = &s.history.checks["a"];
    // The last tick is at midnight: today has no time yet, so 89 days
    // and the last 23 hours of yesterday are within reach.
    assert_eq!(h.days.len(), DAYS_KEPT as usize - 1);
    assert_eq!(h.hours.len(), HOURS_KEPT as usize - 1);
    assert_eq!(s.uptime("a", Window::Days90).unwrap().up_ms, 89 * D);
    assert_eq!(
        s.uptime("b", Window::Days90).unwrap().unknown_ms,
        89 * D,
        "a check never judged is unknown"
    );
    apply(
        &mut s,
        T0 + 121 * D,
        Mutation::RemoveCheck { check: "b".into() },
    );
    assert!(!s.history.checks.contains_key("b"));
}

#[test]
fn the_history_of_1000_checks_is_small() {
    let mut s = ClusterState::default();
    for i in 0..1000 {
        s.checks
            .insert(format!("c{i:04}"), check(&format!("c{i:04}")));
    }
    apply(&mut s, T0, Mutation::HistoryTick {});
    for day in 1..=u64::from(DAYS_KEPT) {
        apply(&mut s, T0 + day * D - H, Mutation::HistoryTick {});
    }
    apply(
        &mut s,
        T0 + u64::from(DAYS_KEPT) * D,
        Mutation::HistoryTick {},
    );
    let json = serde_json::to_vec(&s.history).unwrap().len();
    let heap = s.history.heap_bytes();
    // Figures for docs/status-page.md (printed, not asserted on speed).
    println!("history of 1000 checks x 90 days: {heap} bytes in memory, {json} bytes as JSON");
    assert!(heap < 8 << 20, "{heap}");
    assert!(s.history.checks.values().all(|h| h.days.len() <= 90));
}
