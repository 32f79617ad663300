//! Tests of `qu top`'s model, and the sample status the drawing tests
//! share (one check down, one unknown, one up).

use super::*;

/// A status with three members and three checks (one down, one unknown
/// with no votes, one up), as the daemon would answer it.
pub(crate) fn sample() -> Status {
    serde_json::from_str(
        r#"{
        "node_id": "alpha", "term": 7, "master": "alpha", "quorum": true, "need": 2,
        "config_version": 12, "is_master": true, "live_within_ms": 2000,
        "peers": [
            {"node_id": "alpha", "advertise": "127.0.0.1:9901", "live": true, "last_seen": null, "voter": true, "this_node": true},
            {"node_id": "bravo", "advertise": "127.0.0.1:9902", "live": true, "last_seen": null, "voter": true, "this_node": false},
            {"node_id": "charlie", "advertise": "127.0.0.1:9903", "live": false, "last_seen": null, "voter": true, "this_node": false}
        ],
        "checks": [
            {"id": "c1", "name": "homepage", "type": "http", "target": "https://example.com", "state": "up",
             "disabled": false, "ok": 2, "total": 2, "alerts": [], "detail": "",
             "votes": [
                {"node": "alpha", "ok": true, "detail": "200", "latency_ms": 40},
                {"node": "bravo", "ok": true, "detail": "200", "latency_ms": 90}],
             "since": "2026-12-03T12:59:30Z"},
            {"id": "c2", "name": "api", "type": "tcp", "target": "api.example.com:443", "state": "down",
             "disabled": false, "ok": 0, "total": 2, "alerts": [], "detail": "alpha=refused",
             "votes": [
                {"node": "alpha", "ok": false, "detail": "connection refused", "latency_ms": 1},
                {"node": "bravo", "ok": false, "detail": "connection refused", "latency_ms": 2}],
             "since": "2026-12-03T13:01:00Z",
             "last_transition": {"seq": 4, "check_id": "c2", "check_name": "api", "target": "api.example.com:443",
                "from": "up", "to": "down", "at": "2026-12-03T13:01:00Z", "master": "alpha", "term": 7,
                "evidence": [
                    {"node": "alpha", "ok": false, "detail": "connection refused", "latency_ms": 1},
                    {"node": "bravo", "ok": false, "detail": "timed out after 1s", "latency_ms": 1000}]}},
            {"id": "c3", "name": "dns-zone", "type": "dns", "target": "example.com", "state": "unknown",
             "disabled": false, "ok": 0, "total": 0, "alerts": [], "detail": ""}
        ]
    }"#,
    )
    .expect("a valid status")
}

fn names(m: &Model) -> Vec<String> {
    m.visible().iter().map(|c| c.name.clone()).collect()
}

fn model() -> Model {
    let mut m = Model::new(true);
    m.update(sample(), "2026-12-03T13:02:00Z".into());
    m
}

#[test]
fn checks_sort_by_state_then_name_latency_and_back() {
    let mut m = model();
    assert_eq!(names(&m), ["api", "dns-zone", "homepage"]);
    m.key(Key::Char('s'));
    assert_eq!(m.sort, Sort::Name);
    assert_eq!(names(&m), ["api", "dns-zone", "homepage"]);
    m.key(Key::Char('s'));
    assert_eq!(m.sort, Sort::Latency);
    // Median latency: homepage 90 (of 40, 90), api 2, dns-zone none.
    assert_eq!(names(&m), ["homepage", "api", "dns-zone"]);
    m.key(Key::Char('s'));
    assert_eq!(m.sort, Sort::State);
}

#[test]
fn the_selection_follows_its_check_through_sorts_and_updates() {
    let mut m = model();
    m.key(Key::Down);
    m.key(Key::Down);
    assert_eq!(m.selected_check().unwrap().name, "homepage");
    m.key(Key::Down); // stays on the last row
    assert_eq!(m.selected_check().unwrap().name, "homepage");
    m.key(Key::Char('s'));
    m.key(Key::Char('s')); // latency: homepage is first now
    assert_eq!(m.selected, 0);
    assert_eq!(m.selected_check().unwrap().name, "homepage");
    m.update(sample(), "later".into());
    assert_eq!(m.selected_check().unwrap().name, "homepage");
    m.key(Key::Up);
    assert_eq!(m.selected, 0);
}

#[test]
fn the_filter_is_typed_after_slash_and_matches_any_field_in_any_case() {
    let mut m = model();
    m.key(Key::Char('/'));
    assert!(m.editing);
    for c in "HOME".chars() {
        // Keys that mean something else are text while typing.
        assert_eq!(m.key(Key::Char(c)), Action::Continue);
    }
    assert_eq!(names(&m), ["homepage"]);
    m.key(Key::Backspace);
    m.key(Key::Enter);
    assert!(!m.editing);
    assert_eq!(m.filter, "HOM");
    assert_eq!(names(&m), ["homepage"]);
    // `q` typed into a filter does not quit; Esc clears it.
    m.key(Key::Char('/'));
    assert_eq!(m.key(Key::Char('q')), Action::Continue);
    assert!(names(&m).is_empty());
    assert_eq!(m.selected_check().map(|c| c.name.clone()), None);
    m.key(Key::Esc);
    assert!(m.filter.is_empty());
    assert_eq!(names(&m).len(), 3);
    // By type and target too.
    m.key(Key::Char('/'));
    for c in "tcp".chars() {
        m.key(Key::Char(c));
    }
    assert_eq!(names(&m), ["api"]);
}

#[test]
fn the_filter_is_bounded() {
    let mut m = model();
    m.key(Key::Char('/'));
    for _ in 0..1000 {
        m.key(Key::Char('x'));
    }
    assert_eq!(m.filter.chars().count(), 64);
}

#[test]
fn enter_opens_the_selected_checks_evidence_and_esc_goes_back() {
    let mut m = model();
    assert_eq!(m.key(Key::Enter), Action::Continue);
    assert_eq!(m.opened().unwrap().name, "api");
    // Keys of the list do nothing while evidence is open.
    m.key(Key::Char('s'));
    assert_eq!(m.sort, Sort::State);
    assert_eq!(m.key(Key::Esc), Action::Continue);
    assert!(m.opened().is_none());
    assert_eq!(m.key(Key::Esc), Action::Quit);
}

#[test]
fn q_esc_and_ctrl_c_quit() {
    assert_eq!(model().key(Key::Char('q')), Action::Quit);
    assert_eq!(model().key(Key::Esc), Action::Quit);
    let mut m = model();
    m.key(Key::Enter);
    assert_eq!(m.key(Key::Char('q')), Action::Quit);
    let mut m = model();
    m.key(Key::Char('/'));
    assert_eq!(m.key(Key::Interrupt), Action::Quit);
}

#[test]
fn a_failed_poll_keeps_the_last_status() {
    let mut m = model();
    m.failed("cannot connect".into());
    assert_eq!(m.error.as_deref(), Some("cannot connect"));
    assert_eq!(names(&m).len(), 3);
    m.update(sample(), "now".into());
    assert!(m.error.is_none());
}

#[test]
fn colours_are_off_for_no_color_and_dumb_terminals() {
    assert!(colour_wanted(None, Some("xterm-256color")));
    assert!(colour_wanted(None, None));
    assert!(!colour_wanted(Some(""), Some("xterm")));
    assert!(!colour_wanted(Some("1"), None));
    assert!(!colour_wanted(None, Some("dumb")));
}
