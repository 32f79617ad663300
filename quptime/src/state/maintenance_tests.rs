//! The window rule with fixed instants, DST transitions of the zone
//! included (Europe/Berlin: CET→CEST on 2026-03-29 at 02:00, CEST→CET on
//! 2026-10-25 at 03:00).

use super::*;

fn ms(rfc3339: &str) -> u64 {
    let t = humantime::parse_rfc3339(rfc3339).unwrap();
    crate::state::duration::millis(t.duration_since(std::time::UNIX_EPOCH).unwrap())
}

fn weekly(days: &[&str], at: &str, tz: &str, hours: u64) -> MaintenanceWindow {
    MaintenanceWindow {
        id: "w1".into(),
        checks: vec!["c1".into()],
        when: When::Weekly {
            days: days.iter().map(|d| d.to_string()).collect(),
            at: at.into(),
            tz: tz.into(),
        },
        duration_ms: hours * 3600 * 1000,
        reason: String::new(),
        silence: false,
    }
}

#[test]
fn a_one_off_window_is_open_from_its_start_until_its_end() {
    let w = MaintenanceWindow {
        when: When::Once {
            start_ms: ms("2026-05-01T10:00:00Z"),
        },
        ..weekly(&["mon"], "00:00", "UTC", 2)
    };
    assert_eq!(w.open_at(ms("2026-05-01T09:59:59Z")), None);
    assert_eq!(
        w.open_at(ms("2026-05-01T10:00:00Z")),
        Some(ms("2026-05-01T12:00:00Z"))
    );
    assert_eq!(w.open_at(ms("2026-05-01T12:00:00Z")), None);
    assert!(!w.expired(ms("2026-05-01T11:00:00Z")));
    assert!(w.expired(ms("2026-05-01T12:00:00Z")));
}

#[test]
fn a_weekly_window_opens_on_its_days_at_local_time() {
    // Monday 2026-06-01, Berlin is UTC+2 in summer.
    let w = weekly(&["mon", "wed"], "02:00", "Europe/Berlin", 1);
    assert_eq!(
        w.open_at(ms("2026-06-01T00:00:00Z")),
        Some(ms("2026-06-01T01:00:00Z"))
    );
    assert_eq!(w.open_at(ms("2026-05-31T23:59:59Z")), None);
    assert_eq!(w.open_at(ms("2026-06-01T01:00:00Z")), None);
    // Tuesday: closed; Wednesday: open.
    assert_eq!(w.open_at(ms("2026-06-02T00:30:00Z")), None);
    assert!(w.open_at(ms("2026-06-03T00:30:00Z")).is_some());
    // In winter the same local time is an hour later in UTC.
    assert_eq!(w.open_at(ms("2026-01-05T00:30:00Z")), None);
    assert_eq!(
        w.open_at(ms("2026-01-05T01:30:00Z")),
        Some(ms("2026-01-05T02:00:00Z"))
    );
}

#[test]
fn a_window_across_midnight_belongs_to_the_day_it_opened() {
    // Sunday 23:00 UTC for 3h: open on Monday 01:00, closed Sunday 22:00.
    let w = weekly(&["sun"], "23:00", "UTC", 3);
    assert!(w.open_at(ms("2026-06-08T01:00:00Z")).is_some());
    assert_eq!(w.open_at(ms("2026-06-07T22:00:00Z")), None);
    assert_eq!(w.open_at(ms("2026-06-08T02:00:00Z")), None);
}

#[test]
fn a_weekly_window_on_the_spring_forward_night() {
    // Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    // 01:00 local the week before is 00:00 UTC; on the night itself
    // still 00:00 UTC (CET), and a 2h window then ends at 02:00 UTC
    // (04:00 CEST): it lasts two real hours, not two wall-clock hours.
    let w = weekly(&["sun"], "01:00", "Europe/Berlin", 2);
    assert_eq!(
        w.open_at(ms("2026-03-29T00:00:00Z")),
        Some(ms("2026-03-29T02:00:00Z"))
    );
    assert_eq!(w.open_at(ms("2026-03-29T02:00:00Z")), None);
    // A week later it opens at 01:00 CEST = 23:00 UTC the day before.
    assert!(w.open_at(ms("2026-04-04T23:00:00Z")).is_some());
    assert_eq!(w.open_at(ms("2026-04-04T22:59:59Z")), None);
    // 02:30 does not exist that night: the window opens at 03:00 CEST.
    let gap = weekly(&["sun"], "02:30", "Europe/Berlin", 1);
    assert_eq!(gap.open_at(ms("2026-03-29T00:59:59Z")), None);
    assert_eq!(
        gap.open_at(ms("2026-03-29T01:00:00Z")),
        Some(ms("2026-03-29T02:00:00Z"))
    );
}

#[test]
fn a_weekly_window_on_the_fall_back_night() {
    // Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC);
    // 02:30 happens twice, the window opens at the first (00:30 UTC).
    let w = weekly(&["sun"], "02:30", "Europe/Berlin", 1);
    assert_eq!(w.open_at(ms("2026-10-25T00:29:59Z")), None);
    assert_eq!(
        w.open_at(ms("2026-10-25T00:30:00Z")),
        Some(ms("2026-10-25T01:30:00Z"))
    );
    // The second 02:30 (01:30 UTC) is not a second opening.
    assert_eq!(w.open_at(ms("2026-10-25T01:45:00Z")), None);
}

#[test]
fn validation_names_the_field() {
    let field = |w: MaintenanceWindow| w.validate().unwrap_err().field().map(String::from);
    assert!(
        weekly(&["mon"], "02:00", "Europe/Berlin", 1)
            .validate()
            .is_ok()
    );
    assert_eq!(
        field(weekly(&["mo"], "02:00", "UTC", 1)).as_deref(),
        Some("every")
    );
    assert_eq!(
        field(weekly(&["mon"], "2am", "UTC", 1)).as_deref(),
        Some("at")
    );
    assert_eq!(
        field(weekly(&["mon"], "02:00", "Mars/Base", 1)).as_deref(),
        Some("tz")
    );
    assert_eq!(
        field(weekly(&["mon"], "02:00", "UTC", 24 * 8)).as_deref(),
        Some("for")
    );
    let mut w = weekly(&["mon"], "02:00", "UTC", 1);
    w.when = When::Once { start_ms: 0 };
    w.duration_ms = MAX_WINDOW_MS + 1;
    assert_eq!(field(w.clone()).as_deref(), Some("for"));
    w.duration_ms = 1000;
    w.reason = "x".repeat(MAX_REASON + 1);
    assert_eq!(field(w.clone()).as_deref(), Some("reason"));
    w.reason.clear();
    w.checks.clear();
    assert_eq!(field(w).as_deref(), Some("checks"));
}
