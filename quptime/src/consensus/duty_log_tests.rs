//! Unit tests of the duty log: records, the tracker on the controller's
//! tick, and rotation.

use std::time::{Duration, Instant};

use super::*;

fn rec(event: DutyEvent, at_ms: u64, lease: Option<u64>) -> DutyRecord {
    DutyRecord {
        node: "n1".into(),
        event,
        term: 3,
        at_ms,
        lease_until_ms: lease,
    }
}

#[test]
fn a_stop_ends_at_the_earlier_of_notice_and_lease() {
    assert_eq!(rec(DutyEvent::Stop, 5_000, Some(4_200)).ended_ms(), 4_200);
    assert_eq!(rec(DutyEvent::Stop, 5_000, Some(9_000)).ended_ms(), 5_000);
    assert_eq!(rec(DutyEvent::Stop, 5_000, None).ended_ms(), 5_000);
}

#[test]
fn records_are_one_json_line_each_without_an_absent_lease() {
    let line = serde_json::to_string(&rec(DutyEvent::Start, 7, None)).expect("json");
    assert_eq!(line, r#"{"node":"n1","event":"start","term":3,"at_ms":7}"#);
}

#[test]
fn the_tracker_writes_start_and_stop_once_each_with_the_last_lease() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = DutyTracker::new(DutyLog::new(dir.path()), "n1".into());
    let now = Instant::now();
    t.observe(false, 1, None);
    t.observe(true, 2, Some(now + Duration::from_millis(500)));
    t.observe(true, 2, Some(now + Duration::from_millis(900)));
    t.observe(false, 2, None);
    t.observe(false, 2, None);
    let got = read(dir.path());
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].event, DutyEvent::Start);
    assert_eq!(got[1].event, DutyEvent::Stop);
    assert_eq!(got[1].term, 2);
    let lease = got[1].lease_until_ms.expect("a lease on the stop");
    let start_lease = got[0].lease_until_ms.expect("a lease on the start");
    assert!(lease >= start_lease + 350, "{got:?}");
}

#[test]
fn a_new_term_closes_the_old_duty_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = DutyTracker::new(DutyLog::new(dir.path()), "n1".into());
    t.observe(true, 2, None);
    t.observe(true, 4, None);
    t.stop();
    let got: Vec<(DutyEvent, u64)> = read(dir.path()).iter().map(|r| (r.event, r.term)).collect();
    assert_eq!(
        got,
        vec![
            (DutyEvent::Start, 2),
            (DutyEvent::Stop, 2),
            (DutyEvent::Start, 4),
            (DutyEvent::Stop, 4)
        ]
    );
}

#[test]
fn the_log_rotates_past_its_bound_and_keeps_one_generation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = DutyLog::with_limit(dir.path(), 200);
    for i in 0..20 {
        log.append(&rec(DutyEvent::Start, i, None));
    }
    let cur = std::fs::metadata(dir.path().join(FILE))
        .expect("file")
        .len();
    let old = std::fs::metadata(dir.path().join(OLD_FILE))
        .expect("old")
        .len();
    assert!(cur <= 200 && old <= 200, "{cur} {old}");
    let got = read(dir.path());
    assert!(!got.is_empty() && got.len() < 20, "{}", got.len());
    assert_eq!(got.last().map(|r| r.at_ms), Some(19), "the newest is kept");
}
