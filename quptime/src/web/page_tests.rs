//! The page rendered from fixed statuses: states, escaping, the quorum
//! notice, disabled checks left out, no URL of another host.

use super::*;
use crate::cluster::CheckStatus;
use crate::identity::NodeId;
use crate::state::Evidence;

fn check(id: &str, name: &str, state: &str) -> CheckStatus {
    CheckStatus {
        id: id.into(),
        name: name.into(),
        kind: "http".into(),
        target: "http://10.0.0.1/secret-path".into(),
        state: state.into(),
        disabled: false,
        ok: 2,
        total: 3,
        alerts: vec![],
        detail: String::new(),
        votes: vec![],
        since: Some("2026-12-03T10:00:00Z".into()),
        last_transition: None,
        degraded: false,
        reason: None,
        maintenance: false,
        maintenance_until: None,
        incident: None,
        blocked_by: vec![],
        uptime: None,
    }
}

fn status(checks: Vec<CheckStatus>, quorum: bool) -> Status {
    let alpha = NodeId::new("alpha").expect("id");
    Status {
        node_id: alpha.clone(),
        term: 4,
        master: quorum.then_some(alpha),
        quorum,
        need: 2,
        config_version: 9,
        is_master: quorum,
        peers: vec![],
        checks,
        live_within_ms: 1000,
        pinned_master: None,
        unhealthy: None,
    }
}

#[test]
fn every_enabled_check_shows_with_its_state_and_since() {
    let mut off = check("c3", "paused", "up");
    off.disabled = true;
    let html = render(
        &status(
            vec![check("c1", "web", "up"), check("c2", "db", "down"), off],
            true,
        ),
        None,
        "2026-12-03T11:00:00Z",
    );
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains(
            r#"<tr class="check" data-id="c1" data-state="up"><td class="name">web</td>"#
        ),
        "{html}"
    );
    assert!(html.contains(r#"data-id="c2" data-state="down""#), "{html}");
    assert!(html.contains(r#"<span class="state state-down">DOWN</span>"#));
    assert!(html.contains("2026-12-03T10:00:00Z"));
    assert!(
        !html.contains("paused"),
        "a disabled check is shown: {html}"
    );
    assert!(html.contains("1 of 2 checks down, 0 unknown."), "{html}");
    assert!(!html.contains("no-quorum"));
    assert!(
        !html.contains("10.0.0.1"),
        "the page shows a target: {html}"
    );
}

#[test]
fn a_name_is_text_not_markup() {
    let html = render(
        &status(vec![check("c1", "<script>alert(1)</script>", "up")], true),
        None,
        "now",
    );
    // The node's own live.js is the page's only script.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(
        html.contains(r#"<script src="/live.js" defer></script>"#),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
}

#[test]
fn a_state_that_is_not_known_gets_no_class_of_its_own() {
    let html = render(&status(vec![check("c1", "x", "\"><b>")], true), None, "now");
    assert!(html.contains(r#"class="state state-unknown""#), "{html}");
    assert!(!html.contains("<b>"), "{html}");
}

#[test]
fn no_quorum_shows_a_notice() {
    let html = render(&status(vec![check("c1", "web", "up")], false), None, "now");
    assert!(html.contains(r#"id="no-quorum""#), "{html}");
    assert!(html.contains("no quorum"), "{html}");
    assert!(html.contains("master: none"), "{html}");
}

#[test]
fn votes_show_per_node_with_the_failure_detail() {
    let mut c = check("c1", "web", "down");
    c.votes = vec![
        Evidence {
            node: NodeId::new("alpha").expect("id"),
            ok: true,
            detail: String::new(),
            latency_ms: 12,
        },
        Evidence {
            node: NodeId::new("bravo").expect("id"),
            ok: false,
            detail: "connection refused <eof>".into(),
            latency_ms: 1,
        },
    ];
    let html = render(&status(vec![c], true), None, "now");
    assert!(
        html.contains(r#"<li class="vote-ok">alpha: ok, 12 ms</li>"#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<li class="vote-fail">bravo: failed: connection refused &lt;eof&gt;</li>"#
        ),
        "{html}"
    );
}

#[test]
fn the_page_names_no_other_host() {
    let html = render(&status(vec![check("c1", "web", "up")], true), None, "now");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    // The node's own live.js is the page's only script.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(
        html.contains(r#"<script src="/live.js" defer></script>"#),
        "{html}"
    );
}

/// The whole page for 500 checks with 90 days of history each, every day
/// with an hour down (so no bar segment merges) and 120 raw results each:
/// the render time is printed for docs/status-page.md, not asserted.
#[test]
fn render_time_of_a_page_of_500_checks_with_full_history() {
    use crate::state::history::{Bucket, CheckHistory};
    const DAY: u32 = 86_400_000;
    let today = 20_600u32;
    let mut state = crate::state::ClusterState::default();
    let mut checks = Vec::new();
    let mut results = std::collections::HashMap::new();
    for i in 0..500 {
        let id = format!("c{i}");
        checks.push(check(&id, &format!("check-{i}"), "up"));
        let days = (today - 89..=today)
            .map(|index| Bucket {
                index,
                up_ms: DAY - 3_600_000,
                down_ms: 3_600_000,
                unknown_ms: 0,
                maintenance_ms: 0,
            })
            .collect();
        let h = CheckHistory {
            since_ms: u64::from(today) * u64::from(DAY),
            days,
            hours: Default::default(),
        };
        state.history.checks.insert(id.clone(), h);
        let rows = (0..120u64)
            .map(|k| crate::results::RawResult {
                at_ms: k,
                ok: k % 50 != 0,
                latency_ms: 10 + (k % 7) as u32,
            })
            .collect();
        results.insert(id, rows);
    }
    state.history.at_ms = u64::from(today) * u64::from(DAY) + 1;
    let history = PageHistory {
        state: std::sync::Arc::new(state),
        node: "alpha".into(),
        results,
    };
    let status = status(checks, true);
    let start = std::time::Instant::now();
    let html = render(&status, Some(&history), "now");
    let took = start.elapsed();
    println!(
        "page of 500 checks, 90 days each: {} bytes in {took:?} (debug build)",
        html.len()
    );
    assert_eq!(html.matches(r#"<tr class="uptime""#).count(), 500);
    assert_eq!(html.matches(r#"<svg class="latency""#).count(), 500);
}
