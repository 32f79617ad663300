//! The store on a real file: rows come back in order, the budget holds,
//! a reopened store keeps its rows, and the disk a check takes per day.

use super::*;

fn row(at_ms: u64, ok: bool, latency_ms: u32) -> RawResult {
    RawResult {
        at_ms,
        ok,
        latency_ms,
    }
}

#[test]
fn results_come_back_newest_last_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE);
    let first = ResultStore::open(&path, DEFAULT_MAX_BYTES).unwrap();
    {
        let s = &first;
        let batch: Vec<_> = (0..10)
            .map(|i| ("web".to_string(), row(1000 + i, i % 3 != 0, i as u32)))
            .chain([("db".to_string(), row(5, true, 7))])
            .collect();
        s.write(&batch).unwrap();
        let last = s.recent("web", 3).unwrap();
        assert_eq!(
            last,
            vec![row(1007, true, 7), row(1008, true, 8), row(1009, false, 9)]
        );
        assert_eq!(s.recent("nope", 3).unwrap(), vec![]);
    }
    // Closed while a handle lingers: the file opens again.
    first.close();
    assert_eq!(first.recent("web", 3).unwrap(), vec![]);
    let s = ResultStore::open(&path, DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(s.rows().unwrap(), 11);
    assert_eq!(s.recent("db", 10).unwrap(), vec![row(5, true, 7)]);
}

#[test]
fn the_budget_is_shared_between_checks_and_the_oldest_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let s = ResultStore::open(&dir.path().join(FILE), MIN_MAX_BYTES).unwrap();
    let max = MIN_MAX_BYTES / ROW_BYTES;
    for round in 0..3u64 {
        let batch: Vec<_> = (0..max / 2)
            .flat_map(|i| {
                let at = round * max + i;
                [
                    ("a".to_string(), row(at, true, 1)),
                    ("b".to_string(), row(at, true, 2)),
                ]
            })
            .collect();
        s.write(&batch).unwrap();
    }
    assert!(
        s.rows().unwrap() <= max,
        "{} rows over {max}",
        s.rows().unwrap()
    );
    let a = s.recent("a", usize::MAX).unwrap();
    assert_eq!(a.len() as u64, max / 2);
    assert_eq!(
        a.last().map(|r| r.at_ms),
        Some(2 * max + max / 2 - 1),
        "the newest stays"
    );
}

#[test]
fn a_budget_under_the_minimum_is_refused_and_the_file_waits_for_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let e = ResultStore::open(&dir.path().join(FILE), 1000).unwrap_err();
    // No file until the first result.
    let p = dir.path().join("later.redb");
    let st = ResultStore::open(&p, DEFAULT_MAX_BYTES).unwrap();
    assert!(!p.exists());
    assert_eq!(st.rows().unwrap(), 0);
    st.write(&[("a".into(), row(1, true, 1))]).unwrap();
    assert!(p.exists());
    assert_eq!(st.rows().unwrap(), 1);
    assert_eq!(e.field(), Some("results_max_bytes"), "{e}");
    assert!(e.message().contains("give at least 1MiB"), "{e}");
}

#[test]
fn disk_per_check_per_day() {
    // 20 checks probed every 30 s for a day, written in 2 s batches as the
    // reporter does.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE);
    let s = ResultStore::open(&path, 256 << 20).unwrap();
    let (checks, per_day) = (20u64, 2880u64);
    let t0 = 1_772_409_600_000u64;
    for step in 0..per_day / 4 {
        let batch: Vec<_> = (0..4)
            .flat_map(|k| {
                let at = t0 + (step * 4 + k) * 30_000;
                (0..checks).map(move |c| (format!("{c:08x}"), row(at, true, 20 + k as u32)))
            })
            .collect();
        s.write(&batch).unwrap();
    }
    assert_eq!(s.rows().unwrap(), checks * per_day);
    drop(s);
    let bytes = std::fs::metadata(&path).unwrap().len();
    let per_check = bytes / checks;
    // A figure for docs/status-page.md (printed; the bound only catches
    // a store several times larger than budgeted).
    println!(
        "results store: {bytes} bytes for {checks} checks x {per_day} results = {per_check} bytes \
         per check per day at a 30 s interval ({} bytes per row)",
        bytes / (checks * per_day)
    );
    assert!(bytes / (checks * per_day) <= 2 * ROW_BYTES, "{bytes}");
}

#[test]
fn sizes_parse_with_their_units_and_bad_ones_say_what_to_give() {
    assert_eq!(parse_size("--results-max-size", "64MiB").unwrap(), 64 << 20);
    assert_eq!(parse_size("--results-max-size", "2GiB").unwrap(), 2 << 30);
    assert_eq!(
        parse_size("--results-max-size", "1048576").unwrap(),
        1 << 20
    );
    let e = parse_size("--results-max-size", "12 parsecs").unwrap_err();
    assert!(e.message().contains("e.g. 64MiB"), "{e}");
    assert_eq!(e.field(), Some("--results-max-size"));
    let e = parse_size("--results-max-size", "10KiB").unwrap_err();
    assert!(e.message().contains("from 1MiB to 1024GiB"), "{e}");
}
