//! Unit tests of the evaluation engine, with virtual time: every voter
//! probes once per interval (its verdict chosen by the test as a function
//! of the time), the engine ticks every 200 ms as the driver does, and
//! every proposal is applied at once to the replicated state by the real
//! `apply`, so a second engine can take over from that state alone.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::evaluate::{Action, Evaluator, HYSTERESIS, Heard, WARM_UP_MARGIN};
use crate::identity::NodeId;
use crate::probe::ProbeResult;
use crate::state::{Check, CheckState, CheckType, ClusterState, Command, Mutation};

/// The driver's tick.
const TICK: Duration = Duration::from_millis(200);
/// The check's interval.
const EVERY: Duration = Duration::from_secs(5);
const CHECK: &str = "db";

/// A voter's verdict at a time since the start of the run.
type Probe = Box<dyn Fn(&NodeId, Duration) -> bool>;

/// A transition as committed: when (since the start), from, to, term.
type Committed = (Duration, CheckState, CheckState, u64);

fn node(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

fn nodes(ids: &[&str]) -> BTreeSet<NodeId> {
    ids.iter().map(|s| node(s)).collect()
}

fn check() -> Check {
    Check {
        id: CHECK.into(),
        name: CHECK.into(),
        target: "db.internal:5432".into(),
        interval: EVERY,
        ..Check::blank(CheckType::Tcp)
    }
}

fn result(ok: bool) -> ProbeResult {
    ProbeResult {
        ok,
        latency: Duration::from_millis(3),
        detail: if ok {
            "connected"
        } else {
            "connection refused"
        }
        .into(),
    }
}

fn all_ok() -> Probe {
    Box::new(|_, _| true)
}

/// `failing` fail from `from` on; everyone else succeeds.
fn failing_from(failing: &'static [&'static str], from: Duration) -> Probe {
    Box::new(move |n, at| !(at >= from && failing.contains(&n.as_str())))
}

struct Sim {
    state: ClusterState,
    engine: Evaluator,
    term: u64,
    voters: BTreeSet<NodeId>,
    t0: Instant,
    elapsed: Duration,
    probe: Probe,
    /// The voters probe when the time since the start, modulo the
    /// interval, is this.
    phase: Duration,
    /// Proposals still to lose (a commit that failed) before the next
    /// one applies.
    lose: usize,
    committed: Vec<Committed>,
    /// `SetDegraded` proposals, when and which way.
    flags: Vec<(Duration, bool)>,
}

impl Sim {
    /// A master of term 1 over voters a, b, c, with the check fresh.
    fn new(probe: Probe) -> Sim {
        let mut state = ClusterState::default();
        let add = Command::new(node("a"), Mutation::AddCheck { check: check() });
        state.apply(&add).expect("check added");
        let t0 = Instant::now();
        Sim {
            engine: Evaluator::new(&state, 1, t0),
            state,
            term: 1,
            voters: nodes(&["a", "b", "c"]),
            t0,
            elapsed: Duration::ZERO,
            probe,
            phase: Duration::ZERO,
            lose: 0,
            committed: Vec::new(),
            flags: Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        self.t0 + self.elapsed
    }

    /// The master fails over: a fresh engine of the next term, built from
    /// the replicated state, its duty starting now.
    fn fail_over(&mut self) {
        self.term += 1;
        self.engine = Evaluator::new(&self.state, self.term, self.now());
    }

    /// `from` reports `ok` for the check, tagged with `term`.
    fn report(&mut self, from: &NodeId, ok: bool, term: u64) -> Heard {
        let results = vec![(CHECK.to_string(), result(ok))];
        self.engine
            .on_report(from, term, results, &self.voters, self.now())
    }

    /// One tick: the voters whose probe is due report, the engine ticks,
    /// its proposals are applied.
    fn step(&mut self) {
        if self.elapsed.as_millis() % EVERY.as_millis() == self.phase.as_millis() {
            for n in self.voters.clone() {
                let ok = (self.probe)(&n, self.elapsed);
                assert_eq!(self.report(&n, ok, self.term), Heard::Counted);
            }
        }
        let actions = self.engine.on_tick(&self.state, &self.voters, self.now());
        for Action::Propose(m) in actions {
            if let Mutation::SetDegraded { degraded, .. } = &m {
                self.flags.push((self.elapsed, *degraded));
                let cmd = Command::new(node("a"), m.clone());
                self.state.apply(&cmd).expect("the flag applies");
                continue;
            }
            let Mutation::RecordTransition { from, to, term, .. } = &m else {
                panic!("the evaluator proposes transitions and flags only: {m:?}");
            };
            if self.lose > 0 {
                self.lose -= 1;
                continue;
            }
            self.committed.push((self.elapsed, *from, *to, *term));
            let cmd = Command::new(node("a"), m.clone());
            self.state.apply(&cmd).expect("the transition applies");
        }
        self.elapsed += TICK;
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.elapsed + d;
        while self.elapsed < end {
            self.step();
        }
    }

    /// Committed transitions as (from, to).
    fn changes(&self) -> Vec<(CheckState, CheckState)> {
        self.committed.iter().map(|c| (c.1, c.2)).collect()
    }

    fn agreed(&self) -> CheckState {
        self.state.check_states[CHECK].state
    }

    /// Run until the check is agreed UP (from its first verdicts).
    fn settle_up(&mut self) {
        self.run_for(EVERY * 4);
        assert_eq!(self.changes(), [(CheckState::Unknown, CheckState::Up)]);
    }
}

use CheckState::{Down, Unknown, Up};

#[test]
fn a_lone_failure_is_out_voted() {
    let mut sim = Sim::new(failing_from(&["c"], EVERY * 4));
    sim.settle_up();
    sim.run_for(EVERY * 20);
    assert_eq!(sim.changes(), [(Unknown, Up)]);
    assert_eq!(sim.agreed(), Up);
    let s = &sim.engine.summaries(&sim.state, &sim.voters, sim.now())[CHECK];
    assert_eq!(
        (s.ok, s.total),
        (2, 3),
        "c's failure is counted, and out-voted"
    );
    assert!(s.detail.contains("connection refused"), "{}", s.detail);
}

#[test]
fn a_failing_majority_gives_one_down_after_the_hysteresis() {
    assert_eq!(HYSTERESIS, 2);
    let start = EVERY * 4;
    let mut sim = Sim::new(failing_from(&["a", "b"], start));
    sim.settle_up();
    // The first evaluation that sees the failures (1 s after the reports)
    // only starts the streak; the second decides.
    sim.run_for(EVERY + WARM_UP_MARGIN);
    assert_eq!(
        sim.changes(),
        [(Unknown, Up)],
        "one failing round is not enough"
    );
    sim.run_for(EVERY);
    assert_eq!(sim.changes(), [(Unknown, Up), (Up, Down)]);
    assert_eq!(sim.committed[1].0, start + EVERY + WARM_UP_MARGIN);
    // The incident goes on: no second DOWN.
    sim.run_for(EVERY * 20);
    assert_eq!(sim.changes(), [(Unknown, Up), (Up, Down)]);
    assert_eq!(sim.agreed(), Down);
}

#[test]
fn flapping_within_the_hysteresis_changes_nothing() {
    // a and b fail every other round: fail, ok, fail, ok…
    let flap: Probe = Box::new(|n, at| {
        let round = at.as_millis() / EVERY.as_millis();
        at < EVERY * 4 || n.as_str() == "c" || round % 2 == 1
    });
    let mut sim = Sim::new(flap);
    sim.settle_up();
    sim.run_for(EVERY * 30);
    assert_eq!(sim.changes(), [(Unknown, Up)]);
}

#[test]
fn a_new_master_waits_one_interval_before_judging() {
    // Everyone fails from the start: with no warm-up the first DOWN would
    // come one interval after the start (two rounds: at 0 and at EVERY).
    let mut sim = Sim::new(failing_from(&["a", "b", "c"], Duration::ZERO));
    sim.run_for(EVERY + WARM_UP_MARGIN);
    assert!(sim.changes().is_empty(), "judged during the warm-up");
    sim.run_for(EVERY * 3);
    assert_eq!(sim.changes(), [(Unknown, Down)]);
    assert_eq!(sim.committed[0].0, EVERY * 2 + WARM_UP_MARGIN);

    // A new master hears nothing until the voters' reporters find it, a
    // little over an interval later. Judging at once it would see two
    // rounds without fresh results and flip the check to unknown; after
    // the warm-up the reports are there.
    let mut sim = Sim::new(all_ok());
    sim.settle_up();
    sim.fail_over();
    let quiet = EVERY + Duration::from_millis(600);
    let took_over = sim.elapsed;
    while sim.elapsed < took_over + quiet {
        let actions = sim.engine.on_tick(&sim.state, &sim.voters, sim.now());
        assert!(actions.is_empty(), "{actions:?}");
        sim.elapsed += TICK;
    }
    sim.phase = Duration::from_millis(600);
    sim.run_for(EVERY * 10);
    assert_eq!(sim.changes(), [(Unknown, Up)]);
    assert_eq!(sim.agreed(), Up);
}

#[test]
fn a_failover_mid_incident_sends_no_second_down_and_keeps_the_recovered() {
    let fail_at = EVERY * 4;
    let mut sim = Sim::new(failing_from(&["a", "b"], fail_at));
    sim.settle_up();
    sim.run_for(EVERY * 3);
    assert_eq!(sim.changes(), [(Unknown, Up), (Up, Down)]);
    assert_eq!(sim.committed[1].3, 1, "recorded in term 1");

    // The master fails over in the middle of the incident; the new one
    // starts from the replicated state alone and hears the same failures.
    sim.fail_over();
    sim.run_for(EVERY * 10);
    assert_eq!(
        sim.changes(),
        [(Unknown, Up), (Up, Down)],
        "no duplicate DOWN"
    );

    // The target recovers: exactly one RECOVERED, from the new term.
    let recover_at = sim.elapsed;
    sim.probe = failing_from(&["a", "b"], Duration::MAX);
    sim.run_for(EVERY * 10);
    assert_eq!(sim.changes(), [(Unknown, Up), (Up, Down), (Down, Up)]);
    let recovered = sim.committed[2];
    assert_eq!(recovered.3, 2, "recorded in term 2");
    assert!(recovered.0 > recover_at && recovered.0 <= recover_at + EVERY * 3);
    let kept: Vec<_> = sim
        .state
        .transitions
        .iter()
        .map(|t| (t.from, t.to))
        .collect();
    assert_eq!(kept, sim.changes(), "the state holds each transition once");
}

#[test]
fn results_of_another_term_are_dropped() {
    let mut sim = Sim::new(all_ok());
    sim.settle_up();
    sim.fail_over();
    sim.run_for(EVERY * 3 + TICK);
    // Stragglers still reporting to the old master (term 1) see it fail,
    // after each regular round and before the evaluation: their results
    // must not count for term 2.
    for _ in 0..10 {
        for n in sim.voters.clone() {
            assert_eq!(sim.report(&n, false, 1), Heard::OtherTerm);
        }
        sim.run_for(EVERY);
    }
    assert_eq!(sim.changes(), [(Unknown, Up)]);
    let s = &sim.engine.summaries(&sim.state, &sim.voters, sim.now())[CHECK];
    assert_eq!((s.ok, s.total), (3, 3));
}

#[test]
fn results_of_non_voters_are_not_counted() {
    let mut sim = Sim::new(failing_from(&["c"], Duration::ZERO));
    sim.settle_up();
    // Two learners report failures while they catch up.
    for l in ["d", "e"] {
        assert_eq!(sim.report(&node(l), false, 1), Heard::NotVoter);
    }
    // They become voters: had their learner results been kept, c, d and e
    // would be a failing majority of five within the freshness window.
    sim.voters = nodes(&["a", "b", "c", "d", "e"]);
    let mut by_tick = HashMap::new();
    for _ in 0..(EVERY * 3).as_millis() / TICK.as_millis() {
        let actions = sim.engine.on_tick(&sim.state, &sim.voters, sim.now());
        // No transition (c failing alone only raises the degraded flag).
        assert!(
            actions
                .iter()
                .all(|Action::Propose(m)| matches!(m, Mutation::SetDegraded { .. })),
            "{actions:?}"
        );
        let s = &sim.engine.summaries(&sim.state, &sim.voters, sim.now())[CHECK];
        by_tick.insert(sim.elapsed, (s.ok, s.total));
        sim.elapsed += TICK;
    }
    assert!(by_tick.values().all(|t| *t == (2, 3)), "{by_tick:?}");
    assert_eq!(sim.changes(), [(Unknown, Up)]);
}

#[test]
fn removed_and_disabled_checks_are_not_judged() {
    let mut sim = Sim::new(failing_from(&["a", "b", "c"], EVERY * 4));
    sim.settle_up();
    let mut disabled = check();
    disabled.disabled = true;
    sim.state.checks.insert(CHECK.into(), disabled);
    sim.run_for(EVERY * 10);
    assert_eq!(sim.changes(), [(Unknown, Up)]);
    sim.state.checks.clear();
    sim.run_for(EVERY * 2);
    assert!(
        sim.engine
            .summaries(&sim.state, &sim.voters, sim.now())
            .is_empty()
    );
}

#[test]
fn a_lost_proposal_is_made_again() {
    let start = EVERY * 4;
    let mut sim = Sim::new(failing_from(&["a", "b"], start));
    sim.settle_up();
    // The DOWN decided at start + interval + 1 s never commits: the engine
    // follows the agreed state (still UP) and decides it again.
    sim.lose = 1;
    sim.run_for(EVERY * 2);
    assert_eq!(sim.lose, 0, "the DOWN was proposed");
    assert_eq!(sim.changes(), [(Unknown, Up)]);
    sim.run_for(EVERY * 3);
    assert_eq!(sim.changes(), [(Unknown, Up), (Up, Down)]);
    assert_eq!(sim.agreed(), Down);
}

/// Voters a and b carry `region=eu`, c `region=us`; the check selects
/// `region=eu` (set straight in the state, as applied mutations would).
fn eu_only(sim: &mut Sim) {
    use crate::state::PeerRecord;
    for (n, region) in [("a", "eu"), ("b", "eu"), ("c", "us")] {
        let peer = PeerRecord {
            node_id: node(n),
            advertise: "127.0.0.1:9901".into(),
            fingerprint: crate::identity::Fingerprint::of_spki(n.as_bytes()),
            cert_pem: String::new(),
            added_at: String::new(),
            labels: [("region".to_string(), region.to_string())].into(),
        };
        sim.state.peers.insert(node(n), peer);
    }
    let c = sim.state.checks.get_mut(CHECK).expect("check");
    c.policy.nodes = [("region".to_string(), "eu".to_string())].into();
}

#[test]
fn a_failing_node_outside_the_label_subset_does_not_count() {
    let mut sim = Sim::new(failing_from(&["c"], Duration::ZERO));
    eu_only(&mut sim);
    sim.settle_up();
    sim.run_for(EVERY * 10);
    assert_eq!(sim.changes(), [(Unknown, Up)]);
    let s = &sim.engine.summaries(&sim.state, &sim.voters, sim.now())[CHECK];
    assert_eq!((s.ok, s.total), (2, 2), "only a and b judge");
    assert!(!s.degraded, "c is not a judging node");
    let voted: Vec<&str> = s.votes.iter().map(|v| v.node.as_str()).collect();
    assert_eq!(voted, ["a", "b"]);
}

#[test]
fn one_failing_judge_of_two_degrades_and_both_go_down() {
    let mut sim = Sim::new(failing_from(&["a"], EVERY * 4));
    eu_only(&mut sim);
    sim.settle_up();
    sim.run_for(EVERY * 2);
    // A majority of two is two: one failing is degraded, still up.
    assert_eq!(sim.agreed(), Up);
    let s = &sim.engine.summaries(&sim.state, &sim.voters, sim.now())[CHECK];
    assert!(s.degraded, "{s:?}");
    let mut sim = Sim::new(failing_from(&["a", "b"], EVERY * 4));
    eu_only(&mut sim);
    sim.settle_up();
    sim.run_for(EVERY * 4);
    assert_eq!(sim.changes(), [(Unknown, Up), (Up, Down)]);
}

#[test]
fn a_minority_failing_raises_the_degraded_flag_once_after_the_rounds_and_clears_it_once() {
    // c fails from 30 s to 60 s; the check stays up throughout.
    let probe: Probe = Box::new(|n, at| {
        !(n.as_str() == "c" && at >= Duration::from_secs(30) && at < Duration::from_secs(60))
    });
    let mut sim = Sim::new(probe);
    sim.run_for(Duration::from_secs(90));
    assert_eq!(sim.changes(), vec![(CheckState::Unknown, CheckState::Up)]);
    let ways: Vec<bool> = sim.flags.iter().map(|f| f.1).collect();
    assert_eq!(ways, vec![true, false], "{:?}", sim.flags);
    // Raised after two rounds of c failing (30 s and 35 s), not at once.
    assert!(sim.flags[0].0 >= Duration::from_secs(35), "{:?}", sim.flags);
    assert!(sim.flags[0].0 < Duration::from_secs(40), "{:?}", sim.flags);
    assert!(sim.flags[1].0 >= Duration::from_secs(65), "{:?}", sim.flags);
    assert!(!sim.state.check_states[CHECK].degraded);
}
