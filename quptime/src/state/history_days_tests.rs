//! The retention setting (`SetHistoryDays`, level 6): bounded, validated
//! before anything changes, honoured by compaction at once and on every
//! tick after, not written while it is the default; and the size the
//! history adds per check per day (the figure docs/configuration.md gives).

use super::*;
use crate::identity::NodeId;
use crate::state::{Check, CheckType, Command, Mutation};

/// 2026-03-02T00:00:00Z.
const T0: u64 = 1_772_409_600_000;

fn apply(s: &mut ClusterState, ms: u64, m: Mutation) -> Result<(), crate::state::Rejected> {
    let mut c = Command::new(NodeId::new("n1").expect("id"), m);
    c.at_ms = ms;
    s.apply(&c).map(|_| ())
}

/// `n` checks up from T0, ticked every hour for `days` days.
fn state(n: usize, days: u64) -> ClusterState {
    let mut s = ClusterState::default();
    for i in 0..n {
        let mut c = Check::blank(CheckType::Tcp);
        c.id = format!("c{i:04}");
        c.name = c.id.clone();
        c.target = "127.0.0.1:1".into();
        apply(&mut s, T0 - 1000, Mutation::AddCheck { check: c }).expect("add");
    }
    tick(&mut s, T0, T0 + days * DAY_MS);
    s
}

fn tick(s: &mut ClusterState, from: u64, to: u64) {
    let mut t = from;
    while t <= to {
        apply(s, t, Mutation::HistoryTick {}).expect("tick");
        t += HOUR_MS;
    }
}

#[test]
fn the_setting_is_bounded_and_a_refusal_changes_nothing() {
    let mut s = state(1, 2);
    let before = (
        serde_json::to_string(&s.history).expect("json"),
        s.version,
        s.level,
    );
    for bad in [0, 401, u32::MAX] {
        let e = apply(
            &mut s,
            T0 + 3 * DAY_MS,
            Mutation::SetHistoryDays { days: bad },
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("history_days"), "{bad}");
        assert!(e.message.contains("from 1 to 400"), "{}", e.message);
    }
    let after = (
        serde_json::to_string(&s.history).expect("json"),
        s.version,
        s.level,
    );
    assert_eq!(after, before);
    assert_eq!(Mutation::SetHistoryDays { days: 30 }.required_level(), 6);
}

#[test]
fn compaction_honours_the_setting_at_once_and_after() {
    let mut s = state(2, 40);
    assert_eq!(s.history.days(), DAYS_KEPT);
    assert_eq!(s.history.checks["c0000"].days.len(), 40);
    let now = s.history.at_ms;
    apply(&mut s, now, Mutation::SetHistoryDays { days: 30 }).expect("set");
    assert_eq!(s.history.days(), 30);
    assert_eq!(s.level, 6);
    // The 30 days end today, which has no bucket yet (it is 00:00).
    for h in s.history.checks.values() {
        assert_eq!(h.days.len(), 29);
    }
    tick(&mut s, now + HOUR_MS, now + 5 * DAY_MS + 6 * HOUR_MS);
    for h in s.history.checks.values() {
        assert_eq!(h.days.len(), 30);
    }
    // Seven days kept: the 30-day figure counts only those.
    let now = s.history.at_ms;
    apply(&mut s, now, Mutation::SetHistoryDays { days: 7 }).expect("set");
    let u = s.uptime("c0000", Window::Days30).expect("uptime");
    assert!(u.unknown_ms + u.up_ms <= 7 * DAY_MS, "{u:?}");
    // Back to the default: not written, as a state that never set it.
    apply(&mut s, now, Mutation::SetHistoryDays { days: DAYS_KEPT }).expect("set");
    assert_eq!(s.history.days_kept, None);
    let json = serde_json::to_string(&s.history).expect("json");
    assert!(!json.contains("days_kept"), "{json}");
}

#[test]
fn a_check_costs_a_few_dozen_bytes_per_day_kept() {
    let size = |days| {
        let s = state(100, days);
        serde_json::to_vec(&s.history).expect("json").len()
    };
    let (ten, forty) = (size(10), size(40));
    let per_check_day = (forty - ten) as f64 / (100.0 * 30.0);
    println!("history: {per_check_day:.1} bytes per check per day kept");
    assert!(
        (10.0..=64.0).contains(&per_check_day),
        "{per_check_day} bytes per check per day"
    );
}

#[test]
fn the_shared_figures_are_the_page_s_cut_to_three_decimals() {
    let mut s = state(1, 0);
    let t = s.history.at_ms;
    // Up for 10 days less 1 ms in every 10,000 (99.99 %), via transitions.
    let go = |s: &mut ClusterState, ms: u64, from: CheckState, to: CheckState| {
        apply(
            s,
            ms,
            Mutation::RecordTransition {
                check_id: "c0000".into(),
                from,
                to,
                term: 1,
                evidence: vec![crate::aggregate::Evidence {
                    node: NodeId::new("n1").expect("id"),
                    ok: to == CheckState::Up,
                    detail: "x".into(),
                    latency_ms: 1,
                }],
            },
        )
        .expect("transition");
    };
    go(&mut s, t, CheckState::Unknown, CheckState::Up);
    go(&mut s, t + 3 * DAY_MS, CheckState::Up, CheckState::Down);
    go(
        &mut s,
        t + 3 * DAY_MS + 86_400,
        CheckState::Down,
        CheckState::Up,
    );
    tick(&mut s, t + HOUR_MS, t + 10 * DAY_MS);
    let f = s.uptime_figures("c0000").expect("figures");
    // 10 days judged, 86.4 s of them down: 99.99 % exactly.
    assert_eq!(f.d30, Some(99.99));
    assert_eq!(f.d90, f.d30);
    assert_eq!(f.d7, Some(100.0));
    assert_eq!(f.h24, Some(100.0));
    let json = serde_json::to_value(f).expect("json");
    assert_eq!(json["30d"], 99.99);
    assert_eq!(json["24h"], 100.0);
    assert_eq!(s.uptime_figures("nope"), None);
}
