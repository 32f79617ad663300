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
        "now",
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
}

#[test]
fn a_state_that_is_not_known_gets_no_class_of_its_own() {
    let html = render(&status(vec![check("c1", "x", "\"><b>")], true), "now");
    assert!(html.contains(r#"class="state state-unknown""#), "{html}");
    assert!(!html.contains("<b>"), "{html}");
}

#[test]
fn no_quorum_shows_a_notice() {
    let html = render(&status(vec![check("c1", "web", "up")], false), "now");
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
    let html = render(&status(vec![c], true), "now");
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
    let html = render(&status(vec![check("c1", "web", "up")], true), "now");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
}
