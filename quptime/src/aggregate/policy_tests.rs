//! The per-check policy, round by round, on a virtual clock: rounds each
//! way, quorum kinds, judging subsets and the degraded flag.

use super::*;
use crate::state::Quorum;

const FRESH: Duration = Duration::from_secs(30);

fn id(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

fn set(names: &[&str]) -> BTreeSet<NodeId> {
    names.iter().map(|n| id(n)).collect()
}

fn policy(quorum: Quorum) -> Policy {
    Policy {
        quorum,
        ..Policy::default()
    }
}

/// The reports of `results` at `now`, then one round judged by `judges`.
fn round(
    agg: &mut Aggregator,
    judges: &BTreeSet<NodeId>,
    p: &Policy,
    results: &[(&str, bool)],
    now: Instant,
) -> (Option<Change>, Judgement) {
    for (n, ok) in results {
        let detail = if *ok { "ok" } else { "refused" };
        agg.record(
            "c",
            id(n),
            Report {
                ok: *ok,
                latency: Duration::from_millis(3),
                detail: detail.into(),
                at: now,
                abstain: None,
            },
        );
    }
    agg.evaluate_with("c", judges, p, FRESH, now)
}

/// Rounds of the same results from `t0` every 10 s until the state
/// changes; the round (1-based) that changed it, or `None` within 30.
fn rounds_until_change(
    agg: &mut Aggregator,
    judges: &BTreeSet<NodeId>,
    p: &Policy,
    results: &[(&str, bool)],
    t0: Instant,
) -> Option<u64> {
    (1..=30).find(|i| {
        let now = t0 + Duration::from_secs(i * 10);
        round(agg, judges, p, results, now).0.is_some()
    })
}

const ALL_FAIL: &[(&str, bool)] = &[("a", false), ("b", false), ("c", false)];
const ALL_OK: &[(&str, bool)] = &[("a", true), ("b", true), ("c", true)];

#[test]
fn fail_after_3_needs_3_rounds_and_recover_after_1_needs_one() {
    let t0 = Instant::now();
    let abc = set(&["a", "b", "c"]);
    let p = Policy {
        fail_after: Some(3),
        recover_after: Some(1),
        ..Policy::default()
    };
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    assert_eq!(
        rounds_until_change(&mut agg, &abc, &p, ALL_FAIL, t0),
        Some(3)
    );
    assert_eq!(agg.state("c"), CheckState::Down);
    let t1 = t0 + Duration::from_secs(1000);
    assert_eq!(rounds_until_change(&mut agg, &abc, &p, ALL_OK, t1), Some(1));
    assert_eq!(agg.state("c"), CheckState::Up);
    // The default policy keeps the rule of earlier releases: 2 rounds.
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let d = Policy::default();
    assert_eq!(
        rounds_until_change(&mut agg, &abc, &d, ALL_FAIL, t0),
        Some(2)
    );
}

#[test]
fn at_least_1_of_3_failing_is_down_and_majority_is_not() {
    let t0 = Instant::now();
    let abc = set(&["a", "b", "c"]);
    let one_fails = &[("a", true), ("b", true), ("c", false)];
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let p = policy(Quorum::AtLeast(1));
    assert_eq!(
        rounds_until_change(&mut agg, &abc, &p, one_fails, t0),
        Some(2)
    );
    assert_eq!(agg.state("c"), CheckState::Down);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let p = policy(Quorum::Majority);
    assert_eq!(rounds_until_change(&mut agg, &abc, &p, one_fails, t0), None);
    assert_eq!(agg.state("c"), CheckState::Up);
}

#[test]
fn all_is_down_only_when_every_judging_node_fails() {
    let t0 = Instant::now();
    let abc = set(&["a", "b", "c"]);
    let p = policy(Quorum::All);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let two_fail = &[("a", false), ("b", false), ("c", true)];
    assert_eq!(rounds_until_change(&mut agg, &abc, &p, two_fail, t0), None);
    assert_eq!(agg.state("c"), CheckState::Up);
    let t1 = t0 + Duration::from_secs(1000);
    assert_eq!(
        rounds_until_change(&mut agg, &abc, &p, ALL_FAIL, t1),
        Some(2)
    );
    assert_eq!(agg.state("c"), CheckState::Down);
    // One success is enough to come back.
    let t2 = t1 + Duration::from_secs(1000);
    assert_eq!(
        rounds_until_change(&mut agg, &abc, &p, two_fail, t2),
        Some(2)
    );
    assert_eq!(agg.state("c"), CheckState::Up);
}

#[test]
fn any_is_down_on_one_failure_and_up_only_when_all_succeed() {
    let t0 = Instant::now();
    let abc = set(&["a", "b", "c"]);
    let p = policy(Quorum::Any);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let one_fails = &[("a", false), ("b", true), ("c", true)];
    assert_eq!(
        rounds_until_change(&mut agg, &abc, &p, one_fails, t0),
        Some(2)
    );
    assert_eq!(agg.state("c"), CheckState::Down);
    let t1 = t0 + Duration::from_secs(1000);
    assert_eq!(rounds_until_change(&mut agg, &abc, &p, ALL_OK, t1), Some(2));
    assert_eq!(agg.state("c"), CheckState::Up);
}

#[test]
fn a_label_subset_ignores_the_failures_of_nodes_outside_it() {
    let t0 = Instant::now();
    // a and b are in the EU; c is not, and fails.
    let eu = set(&["a", "b"]);
    let p = policy(Quorum::Majority);
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let c_fails = &[("a", true), ("b", true), ("c", false)];
    assert_eq!(rounds_until_change(&mut agg, &eu, &p, c_fails, t0), None);
    let (_, j) = round(&mut agg, &eu, &p, c_fails, t0 + Duration::from_secs(400));
    assert!(!j.degraded, "a node outside the subset does not degrade it");
    let evidence = agg.votes("c", &eu, FRESH, t0 + Duration::from_secs(400));
    assert_eq!(
        evidence.len(),
        2,
        "only the judging nodes vote: {evidence:?}"
    );
    // Both EU nodes failing is DOWN, even with c fine.
    let t1 = t0 + Duration::from_secs(1000);
    let eu_fails = &[("a", false), ("b", false), ("c", true)];
    assert_eq!(
        rounds_until_change(&mut agg, &eu, &p, eu_fails, t1),
        Some(2)
    );
    assert_eq!(agg.state("c"), CheckState::Down);
}

#[test]
fn degraded_is_set_while_a_minority_fails_and_cleared_after() {
    let t0 = Instant::now();
    let abc = set(&["a", "b", "c"]);
    let p = Policy::default();
    let mut agg = Aggregator::new(2);
    agg.seed("c", CheckState::Up);
    let (_, j) = round(&mut agg, &abc, &p, ALL_OK, t0);
    assert!(!j.degraded);
    let one_fails = &[("a", true), ("b", true), ("c", false)];
    let (change, j) = round(&mut agg, &abc, &p, one_fails, t0 + Duration::from_secs(10));
    assert_eq!((change, j.verdict), (None, Some(CheckState::Up)));
    assert!(j.degraded, "one of three failing degrades");
    let (_, j) = round(&mut agg, &abc, &p, ALL_OK, t0 + Duration::from_secs(20));
    assert!(!j.degraded, "cleared when it recovers");
    // A majority failing is not degraded: it is going down.
    let two_fail = &[("a", false), ("b", false), ("c", true)];
    let (_, j) = round(&mut agg, &abc, &p, two_fail, t0 + Duration::from_secs(30));
    assert_eq!((j.verdict, j.degraded), (Some(CheckState::Down), false));
}

#[test]
fn a_quorum_larger_than_the_judging_nodes_is_unknown_with_a_reason() {
    let j = rule::judge(Quorum::AtLeast(3), 2, 2, 2);
    assert_eq!(j.verdict, Some(CheckState::Unknown));
    let reason = j.reason.expect("a reason");
    assert!(
        reason.contains("at-least 3") && reason.contains("only 2"),
        "{reason}"
    );
    let j = rule::judge(Quorum::Majority, 0, 0, 0);
    assert_eq!(j.verdict, Some(CheckState::Unknown));
    assert!(j.reason.expect("reason").contains("nodes selector"));
    // Too few fresh results is unknown without a policy reason.
    let j = rule::judge(Quorum::Majority, 3, 1, 0);
    assert_eq!((j.verdict, j.reason), (Some(CheckState::Unknown), None));
    // A tie in an even cluster still holds the state under majority.
    assert_eq!(rule::judge(Quorum::Majority, 4, 4, 2).verdict, None);
    // at-least 2 of 4: up needs 3 successes.
    assert_eq!(
        rule::judge(Quorum::AtLeast(2), 4, 4, 1).verdict,
        Some(CheckState::Up)
    );
    assert_eq!(
        rule::judge(Quorum::AtLeast(2), 4, 4, 2).verdict,
        Some(CheckState::Down)
    );
    assert_eq!(rule::judge(Quorum::AtLeast(2), 4, 2, 0).verdict, None);
}
