//! The history part of the page from a real state built by applying
//! commands with chosen times.

use super::*;
use crate::aggregate::Evidence;
use crate::identity::NodeId;
use crate::state::{Check, CheckType, Command, Mutation};

const T0: u64 = 1_772_409_600_000;
const H: u64 = 3_600_000;

fn at(s: &mut ClusterState, ms: u64, m: Mutation) {
    let mut c = Command::new(NodeId::new("n1").unwrap(), m);
    c.at_ms = ms;
    s.apply(&c).expect("applied");
}

fn go(s: &mut ClusterState, ms: u64, id: &str, from: CheckState, to: CheckState) {
    let evidence = vec![Evidence {
        node: NodeId::new("n1").unwrap(),
        ok: to == CheckState::Up,
        detail: if to == CheckState::Up {
            "200".into()
        } else {
            "status 503".into()
        },
        latency_ms: 3,
    }];
    let m = Mutation::RecordTransition {
        check_id: id.into(),
        from,
        to,
        term: 1,
        evidence,
    };
    at(s, ms, m);
}

/// `n` checks, the first down for 1 h of a 24 h day.
fn state(n: usize) -> ClusterState {
    let mut s = ClusterState::default();
    for i in 0..n {
        let mut c = Check::blank(CheckType::Tcp);
        (c.id, c.name, c.target) = (format!("c{i}"), format!("check-{i}"), "127.0.0.1:9".into());
        at(&mut s, T0, Mutation::AddCheck { check: c });
    }
    at(&mut s, T0, Mutation::HistoryTick {});
    for i in 0..n {
        go(
            &mut s,
            T0,
            &format!("c{i}"),
            CheckState::Unknown,
            CheckState::Up,
        );
    }
    go(&mut s, T0 + 2 * H, "c0", CheckState::Up, CheckState::Down);
    go(&mut s, T0 + 3 * H, "c0", CheckState::Down, CheckState::Up);
    at(&mut s, T0 + 24 * H, Mutation::HistoryTick {});
    s
}

fn page(state: ClusterState) -> PageHistory {
    let results = (0..state.checks.len())
        .map(|i| {
            let rows = (0..120u64)
                .map(|k| crate::results::RawResult {
                    at_ms: T0 + k * 30_000,
                    ok: k != 7,
                    latency_ms: 20 + (k % 9) as u32,
                })
                .collect();
            (format!("c{i}"), rows)
        })
        .collect();
    PageHistory {
        state: std::sync::Arc::new(state),
        node: "n1".into(),
        results,
    }
}

#[test]
fn percentages_are_cut_not_rounded() {
    let u = Uptime {
        up_ms: 999_999,
        down_ms: 1,
        ..Uptime::default()
    };
    assert_eq!(percent_text(Some(u)), "99.999%");
    assert_eq!(
        percent_text(Some(Uptime {
            up_ms: 1,
            ..Uptime::default()
        })),
        "100.000%"
    );
    assert_eq!(
        percent_text(Some(Uptime {
            unknown_ms: 5,
            ..Uptime::default()
        })),
        "–"
    );
    assert_eq!(percent_text(None), "–");
    assert_eq!(duration_text(2 * H + 30 * 60_000), "2h 30m");
    assert_eq!(duration_text(61_000), "1m 1s");
}

#[test]
fn the_section_shows_bars_and_figures_of_the_replicated_history() {
    let s = page(state(2));
    let html = section(&s, &[("c0", "check-0"), ("c1", "check-1")]).into_string();
    let cells: Vec<&str> = html
        .match_indices("data-window=")
        .map(|(i, _)| &html[i..i + 26])
        .collect();
    // Counted up to midnight: 23 h up of 24 that day, and 22 of the 23
    // hours of that day within the last 24.
    let cell = |w: &str, p: &str| format!(r#"<td class="pct" data-window="{w}">{p}</td>"#);
    assert!(html.contains(&cell("24h", "95.652%")), "{cells:?}");
    for w in ["7d", "30d", "90d"] {
        assert!(html.contains(&cell(w, "95.833%")), "{cells:?}");
        assert!(html.contains(&cell(w, "100.000%")), "{cells:?}");
    }
    assert!(html.contains(r#"data-id="c1"><td class="name">check-1</td>"#));
    // Each bar: 88 days without data as one segment, the counted day, and
    // today (nothing yet).
    assert_eq!(html.matches(r#"rx="1""#).count(), 2 * 3, "{html}");
    assert!(html.contains("2025-12-04 – 2026-03-01: no data"), "{html}");
    assert!(
        html.contains(r##"fill="#f9a825" data-day="2026-03-02""##),
        "{html}"
    );
    assert!(html.contains("2026-03-02: 23h 0m up, 1h 0m down"), "{html}");
    // This node's response times: one chart per check, one failure mark.
    assert_eq!(html.matches(r#"<svg class="latency""#).count(), 2, "{html}");
    // 20 + k % 9 ms for k = 0..120 but the failed k = 7: a mean of 23.9.
    let summary = "last 120 results: min 20 ms, avg 23 ms, max 28 ms, 1 failed";
    assert!(html.contains(summary), "{html}");
    assert!(!html.contains("<script"));
}

#[test]
fn incidents_carry_their_evidence_and_duration() {
    let mut s = state(1);
    go(&mut s, T0 + 30 * H, "c0", CheckState::Up, CheckState::Down);
    let list = incidents(&s);
    assert_eq!(list.len(), 2);
    assert!(list[0].end.is_none(), "the newest is still open");
    assert_eq!(list[1].end.map(|e| e.to), Some(CheckState::Up));
    let html = incidents_section(&s).into_string();
    assert!(
        html.contains("for 1h 0m (up at 2026-03-02T03:00:00Z)"),
        "{html}"
    );
    assert!(html.contains("1/1 failing: n1=status 503"), "{html}");
    assert!(
        html.contains(r#"<span class="ongoing">ongoing</span>"#),
        "{html}"
    );
}

#[test]
fn render_time_of_the_history_for_500_checks() {
    let s = page(state(500));
    let named: Vec<(String, String)> = (0..500)
        .map(|i| (format!("c{i}"), format!("check-{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = named
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let start = std::time::Instant::now();
    let html = section(&s, &refs).into_string();
    // A figure for the docs, printed, not asserted on.
    println!(
        "history section for 500 checks: {} bytes rendered in {:?}",
        html.len(),
        start.elapsed()
    );
    assert_eq!(html.matches("<tr class=\"uptime\"").count(), 500);
}
