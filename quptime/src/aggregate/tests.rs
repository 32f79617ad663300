//! The verdict rules, round by round, on a virtual clock.

use super::*;

const FRESH: Duration = Duration::from_secs(30);

fn id(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

fn members(names: &[&str]) -> BTreeSet<NodeId> {
    names.iter().map(|n| id(n)).collect()
}

fn report(ok: bool, at: Instant) -> Report {
    Report {
        ok,
        latency: Duration::from_millis(12),
        detail: if ok {
            "status 200 OK".into()
        } else {
            "status 503 Service Unavailable".into()
        },
        at,
        abstain: None,
    }
}

/// Every member reports, then one evaluation round; returns the change.
fn round(
    agg: &mut Aggregator,
    m: &BTreeSet<NodeId>,
    results: &[(&str, bool)],
    now: Instant,
) -> Option<Change> {
    for (n, ok) in results {
        agg.record("c", id(n), report(*ok, now));
    }
    agg.evaluate("c", m, FRESH, now)
}

fn up_cluster(now: Instant) -> (Aggregator, BTreeSet<NodeId>) {
    let m = members(&["a", "b", "c"]);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let _ = round(&mut agg, &m, &[("a", true), ("b", true), ("c", true)], now);
    (agg, m)
}

#[test]
fn one_of_three_failing_never_flips_the_state() {
    let t0 = Instant::now();
    let (mut agg, m) = up_cluster(t0);
    for i in 1..20 {
        let now = t0 + Duration::from_secs(i * 10);
        let change = round(&mut agg, &m, &[("a", true), ("b", true), ("c", false)], now);
        assert_eq!(change, None, "round {i}");
    }
    assert_eq!(agg.state("c"), CheckState::Up);
}

#[test]
fn two_of_three_failing_flips_after_exactly_two_rounds() {
    let t0 = Instant::now();
    let (mut agg, m) = up_cluster(t0);
    let fail = [("a", true), ("b", false), ("c", false)];
    assert_eq!(
        round(&mut agg, &m, &fail, t0 + Duration::from_secs(10)),
        None
    );
    let change =
        round(&mut agg, &m, &fail, t0 + Duration::from_secs(20)).expect("second round flips");
    assert_eq!((change.from, change.to), (CheckState::Up, CheckState::Down));
    assert_eq!(change.evidence.len(), 3);
    assert_eq!(change.evidence.iter().filter(|e| !e.ok).count(), 2);
    // Further failing rounds report nothing new.
    assert_eq!(
        round(&mut agg, &m, &fail, t0 + Duration::from_secs(30)),
        None
    );
    // Recovery also needs two rounds.
    let ok = [("a", true), ("b", true), ("c", false)];
    assert_eq!(round(&mut agg, &m, &ok, t0 + Duration::from_secs(40)), None);
    let back = round(&mut agg, &m, &ok, t0 + Duration::from_secs(50)).expect("recovered");
    assert_eq!((back.from, back.to), (CheckState::Down, CheckState::Up));
}

#[test]
fn an_interrupted_streak_starts_over() {
    let t0 = Instant::now();
    let (mut agg, m) = up_cluster(t0);
    let fail = [("a", false), ("b", false), ("c", false)];
    let ok = [("a", true), ("b", true), ("c", true)];
    assert_eq!(
        round(&mut agg, &m, &fail, t0 + Duration::from_secs(10)),
        None
    );
    assert_eq!(round(&mut agg, &m, &ok, t0 + Duration::from_secs(20)), None);
    assert_eq!(
        round(&mut agg, &m, &fail, t0 + Duration::from_secs(30)),
        None
    );
    assert!(round(&mut agg, &m, &fail, t0 + Duration::from_secs(40)).is_some());
}

#[test]
fn ties_and_missing_reports_hold_the_state() {
    // Four members: 2 failing and 2 ok is a tie (quorum is 3).
    let t0 = Instant::now();
    let m = members(&["a", "b", "c", "d"]);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let tie = [("a", false), ("b", false), ("c", true), ("d", true)];
    for i in 1..6 {
        assert_eq!(
            round(&mut agg, &m, &tie, t0 + Duration::from_secs(i * 10)),
            None
        );
    }
    assert_eq!(agg.state("c"), CheckState::Up);
    // Three members, one silent: one failure and one success decide nothing.
    let m3 = members(&["a", "b", "c"]);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    for i in 1..6 {
        let r = round(
            &mut agg,
            &m3,
            &[("a", false), ("b", true)],
            t0 + Duration::from_secs(i * 10),
        );
        assert_eq!(r, None);
    }
    assert_eq!(agg.state("c"), CheckState::Up);
}

#[test]
fn stale_reports_turn_the_state_unknown_and_unknown_to_up_needs_evidence() {
    let t0 = Instant::now();
    let (mut agg, m) = up_cluster(t0);
    // No new results: the timer keeps evaluating; once everything is stale
    // the verdict is unknown, twice in a row.
    assert_eq!(
        agg.evaluate("c", &m, FRESH, t0 + Duration::from_secs(20)),
        None
    );
    assert_eq!(
        agg.evaluate("c", &m, FRESH, t0 + Duration::from_secs(31)),
        None
    );
    let change = agg
        .evaluate("c", &m, FRESH, t0 + Duration::from_secs(41))
        .expect("unknown");
    assert_eq!(
        (change.from, change.to),
        (CheckState::Up, CheckState::Unknown)
    );
    assert!(change.evidence.is_empty());
}

#[test]
fn removed_nodes_reports_do_not_count() {
    let t0 = Instant::now();
    let (mut agg, _) = up_cluster(t0);
    // c was removed: the cluster is {a, b}, quorum 2.
    let m = members(&["a", "b"]);
    let fail = [("a", true), ("b", true), ("c", false), ("x", false)];
    for i in 1..5 {
        assert_eq!(
            round(&mut agg, &m, &fail, t0 + Duration::from_secs(i * 10)),
            None
        );
    }
    assert_eq!(
        agg.tally("c", &m, FRESH, t0 + Duration::from_secs(40)),
        Tally { ok: 2, total: 2 }
    );
    // A lone failing member of two is not a majority either.
    let one_fails = [("a", false), ("b", true)];
    for i in 5..9 {
        assert_eq!(
            round(&mut agg, &m, &one_fails, t0 + Duration::from_secs(i * 10)),
            None
        );
    }
}

#[test]
fn freshness_is_three_intervals_but_at_least_thirty_seconds() {
    assert_eq!(freshness(Duration::from_secs(1)), Duration::from_secs(30));
    assert_eq!(freshness(Duration::from_secs(60)), Duration::from_secs(180));
}

#[test]
fn votes_are_the_fresh_member_results_with_latency_and_detail() {
    let t0 = Instant::now();
    let m = members(&["a", "b"]);
    let mut agg = Aggregator::new(2);
    assert!(agg.votes("c", &m, FRESH, t0).is_empty(), "no results yet");
    agg.record("c", id("a"), report(true, t0));
    agg.record("c", id("b"), report(false, t0 + Duration::from_secs(20)));
    // A node that is not a member does not vote.
    agg.record("c", id("x"), report(false, t0 + Duration::from_secs(20)));
    let v = agg.votes("c", &m, FRESH, t0 + Duration::from_secs(25));
    let seen: Vec<(String, bool, u64)> = v
        .iter()
        .map(|e| (e.node.to_string(), e.ok, e.latency_ms))
        .collect();
    assert_eq!(
        seen,
        [("a".into(), true, 12), ("b".into(), false, 12)],
        "{v:?}"
    );
    assert_eq!(v[1].detail, "status 503 Service Unavailable");
    // a's result goes stale after the freshness window; b's is still fresh.
    let v = agg.votes("c", &m, FRESH, t0 + Duration::from_secs(45));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].node, id("b"));
}
