//! The push rule in virtual time: beats keep a check up, silence past
//! period + grace makes it down once, a failure beat at once, a failover
//! never.

use std::time::{Duration, Instant};

use super::*;
use crate::state::{CheckRuntime, CheckType};

fn node(n: &str) -> NodeId {
    NodeId::new(n).expect("node id")
}

fn runtime(state: CheckState) -> CheckRuntime {
    CheckRuntime {
        state,
        since: String::new(),
        alerted_down: false,
        last_alert_ms: 0,
        incident: 0,
        held: false,
        flapping: false,
        degraded: false,
        degraded_votes: Vec::new(),
        down_ms: 0,
        escalated: Default::default(),
    }
}

fn state(period: u64, grace: u64) -> ClusterState {
    let mut s = ClusterState::default();
    let mut c = Check::blank(CheckType::Push);
    c.id = "c1".into();
    c.name = "backup".into();
    c.probe = Probe::Push(PushProbe {
        period: Some(Duration::from_secs(period)),
        grace: Some(Duration::from_secs(grace)),
        token_hash: None,
    });
    s.checks.insert(c.id.clone(), c);
    s
}

/// Apply a proposed transition as the cluster would (the agreed state).
fn agree(s: &mut ClusterState, m: &Mutation) {
    let Mutation::RecordTransition { check_id, to, .. } = m else {
        panic!("not a transition: {m:?}");
    };
    s.check_states.insert(check_id.clone(), runtime(*to));
}

fn to_and_detail(m: &Mutation) -> (CheckState, String) {
    match m {
        Mutation::RecordTransition { to, evidence, .. } => (*to, evidence[0].detail.clone()),
        other => panic!("not a transition: {other:?}"),
    }
}

/// Run rounds every 200 ms from `from` to `until` (seconds after `t0`),
/// beating at each time in `beats`, agreeing on every proposal; the
/// transitions in order.
fn run(
    s: &mut ClusterState,
    clocks: &mut PushClocks,
    t0: Instant,
    from_ms: u64,
    until_ms: u64,
    beats: &[(u64, Beat)],
) -> Vec<(u64, CheckState, String)> {
    let mut out = Vec::new();
    let mut t = from_ms;
    while t <= until_ms {
        let now = t0 + Duration::from_millis(t);
        for (at, beat) in beats {
            if *at == t {
                clocks.on_beat("c1", &node("follower"), beat.clone(), now);
            }
        }
        for m in clocks.on_tick(s, &node("master"), 1, now) {
            agree(s, &m);
            let (to, detail) = to_and_detail(&m);
            out.push((t, to, detail));
        }
        t += 200;
    }
    out
}

#[test]
fn beats_every_second_keep_it_up_and_silence_gives_one_down() {
    let (mut s, mut clocks, t0) = (state(2, 1), PushClocks::default(), Instant::now());
    let beats: Vec<(u64, Beat)> = (0..=5).map(|i| (i * 1000, Beat::Ok)).collect();
    let seen = run(&mut s, &mut clocks, t0, 0, 20_000, &beats);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].1, CheckState::Up);
    assert_eq!(seen[0].0, 0, "up at the first beat");
    // Last beat at 5 s; period 2 s + grace 1 s: down at 8 s, not before.
    assert_eq!(seen[1].0, 8_000, "{seen:?}");
    assert_eq!(seen[1].1, CheckState::Down);
    assert_eq!(seen[1].2, "no beat for 3s (period 2s + grace 1s)");
}

#[test]
fn a_fail_beat_is_down_at_once_and_an_ok_beat_recovers() {
    let (mut s, mut clocks, t0) = (state(60, 0), PushClocks::default(), Instant::now());
    let beats = [
        (0, Beat::Ok),
        (1_000, Beat::Fail("disk full".into())),
        (1_400, Beat::Fail("still full".into())),
        (3_000, Beat::Ok),
    ];
    let seen = run(&mut s, &mut clocks, t0, 0, 4_000, &beats);
    let got: Vec<_> = seen
        .iter()
        .map(|(t, to, d)| (*t, *to, d.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (0, CheckState::Up, "push: beat 0s ago"),
            (1_000, CheckState::Down, "push: fail: disk full"),
            (3_000, CheckState::Up, "push: beat 0s ago"),
        ]
    );
}

#[test]
fn a_new_master_gives_a_full_period_and_grace_before_a_missing_beat_counts() {
    let (mut s, t0) = (state(10, 5), Instant::now());
    s.check_states.insert("c1".into(), runtime(CheckState::Up));
    // A fresh engine (a failover) first ticks at 100 s: no beat known.
    let mut clocks = PushClocks::default();
    let seen = run(&mut s, &mut clocks, t0, 100_000, 114_800, &[]);
    assert!(seen.is_empty(), "no DOWN within period + grace: {seen:?}");
    let seen = run(&mut s, &mut clocks, t0, 115_000, 130_000, &[]);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, 115_000);
    assert_eq!(
        seen[0].2,
        "no beat heard by this master for 15s (period 10s + grace 5s)"
    );
}

#[test]
fn a_down_check_stays_down_across_a_failover_until_an_ok_beat() {
    let (mut s, t0) = (state(2, 1), Instant::now());
    s.check_states
        .insert("c1".into(), runtime(CheckState::Down));
    let mut clocks = PushClocks::default();
    assert!(run(&mut s, &mut clocks, t0, 0, 10_000, &[]).is_empty());
    let seen = run(
        &mut s,
        &mut clocks,
        t0,
        10_200,
        11_000,
        &[(10_400, Beat::Ok)],
    );
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].0, seen[0].1), (10_400, CheckState::Up));
}

#[test]
fn a_lost_commit_is_proposed_again_and_nothing_for_other_kinds() {
    let (mut s, t0) = (state(2, 0), Instant::now());
    let mut tcp = Check::blank(CheckType::Tcp);
    tcp.id = "c2".into();
    s.checks.insert(tcp.id.clone(), tcp);
    let mut clocks = PushClocks::default();
    clocks.on_beat("c1", &node("n1"), Beat::Ok, t0);
    let first = clocks.on_tick(&s, &node("m"), 3, t0);
    let again = clocks.on_tick(&s, &node("m"), 3, t0 + Duration::from_millis(200));
    assert_eq!(first.len(), 1);
    assert_eq!(again.len(), 1, "not agreed yet: proposed again");
    let Mutation::RecordTransition {
        check_id,
        from,
        term,
        evidence,
        ..
    } = &first[0]
    else {
        panic!("{first:?}");
    };
    assert_eq!(
        (check_id.as_str(), *from, *term),
        ("c1", CheckState::Unknown, 3)
    );
    assert_eq!(evidence[0].node, node("n1"), "the node the beat reached");
    s.checks.get_mut("c1").expect("c1").disabled = true;
    assert!(clocks.on_tick(&s, &node("m"), 3, t0).is_empty(), "disabled");
    // Enabled again long after: its clock starts now, not at the old beat.
    s.checks.get_mut("c1").expect("c1").disabled = false;
    let later = t0 + Duration::from_secs(60);
    let again = clocks.on_tick(&s, &node("m"), 3, later);
    assert!(again.is_empty(), "{again:?}");
    let due = clocks.on_tick(&s, &node("m"), 3, later + Duration::from_secs(2));
    assert_eq!(due.len(), 1, "down one period + grace after enabling");
}

#[test]
fn status_text_and_message_bounds() {
    let (s, t0) = (state(2, 0), Instant::now());
    let mut clocks = PushClocks::default();
    let check = &s.checks["c1"];
    assert_eq!(
        clocks.describe(check, t0),
        "no beat since this master started"
    );
    clocks.on_beat("c1", &node("n1"), Beat::Ok, t0);
    assert_eq!(
        clocks.describe(check, t0 + Duration::from_millis(3_400)),
        "last beat 3s ago"
    );
    assert_eq!(clocks.last_ok("c1"), Some(true));
    clocks.on_beat("c1", &node("n1"), Beat::Fail("é\n".repeat(2_000)), t0);
    let text = clocks.describe(check, t0);
    assert!(text.len() < MAX_MESSAGE + 64, "{}", text.len());
    assert!(!text.contains('\n'));
    assert_eq!(clocks.last_ok("c1"), Some(false));
}
