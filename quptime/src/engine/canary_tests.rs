//! The canary rule, its hysteresis and the monitor's health, with virtual
//! time.

use super::*;

fn refs(list: &[(&str, bool)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(t, ok)| {
            (
                t.to_string(),
                (!ok).then(|| "connection refused".to_string()),
            )
        })
        .collect()
}

#[test]
fn without_references_the_peers_decide() {
    let r = |peers, reached| Round {
        peers,
        reached,
        refs: vec![],
    };
    assert_eq!(round_fails(&r(0, 0)), None, "a lone node never abstains");
    assert_eq!(round_fails(&r(2, 1)), None, "half is enough");
    assert_eq!(round_fails(&r(2, 2)), None);
    assert_eq!(
        round_fails(&r(2, 0)).as_deref(),
        Some("reaches 0 of its 2 peers")
    );
    assert!(round_fails(&r(4, 1)).is_some());
    assert_eq!(round_fails(&r(4, 2)), None);
}

#[test]
fn with_references_any_answer_passes_and_peers_do_not_matter() {
    let r = |reached, list: &[(&str, bool)]| Round {
        peers: 2,
        reached,
        refs: refs(list),
    };
    assert_eq!(round_fails(&r(0, &[("a:1", false), ("b:2", true)])), None);
    let why = round_fails(&r(2, &[("a:1", false), ("b:2", false)])).expect("fails");
    assert!(why.starts_with("no reference target answers"), "{why}");
    assert!(why.contains("a:1: connection refused"), "{why}");
    assert!(why.contains("b:2"), "{why}");
}

#[test]
fn the_canary_changes_after_two_equal_rounds() {
    let mut c = Canary::default();
    assert_eq!(c.observe(None), None);
    assert_eq!(c.observe(Some("x".into())), None, "one failing round");
    assert_eq!(c.observe(None), None, "the streak restarts");
    assert_eq!(c.observe(Some("x".into())), None);
    assert_eq!(c.observe(Some("y".into())), Some("y"));
    assert_eq!(c.observe(Some("z".into())), Some("z"), "reason follows");
    assert_eq!(c.observe(None), Some("z"), "one passing round");
    assert_eq!(c.observe(Some("w".into())), Some("w"));
    assert_eq!(c.observe(None), Some("w"));
    assert_eq!(c.observe(None), None);
    assert_eq!(c.abstain(), None);
}

#[test]
fn the_monitor_is_degraded_when_fewer_than_a_majority_can_vote() {
    assert!(!monitor_degraded(0, 0));
    assert!(!monitor_degraded(3, 0));
    assert!(
        !monitor_degraded(3, 1),
        "one of three alone changes nothing"
    );
    assert!(monitor_degraded(3, 2));
    assert!(monitor_degraded(3, 3));
    assert!(!monitor_degraded(5, 2));
    assert!(monitor_degraded(5, 3));
    assert!(monitor_degraded(4, 2), "2 of 4 is no majority");
    assert!(monitor_degraded(1, 1));
}

#[test]
fn a_health_change_is_proposed_after_the_hold_and_again_if_not_agreed() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut w = HealthWatch::default();
    assert!(!w.observe(false, false, at(0)));
    assert!(!w.observe(true, false, at(1)));
    assert!(!w.observe(true, false, at(3)), "held 2 s only");
    assert!(w.observe(true, false, at(4)));
    assert!(!w.observe(true, false, at(5)), "proposed already");
    assert!(w.observe(true, false, at(15)), "not agreed: again");
    assert!(!w.observe(true, true, at(16)), "agreed");
    // A blip shorter than the hold proposes nothing.
    assert!(!w.observe(false, true, at(17)));
    assert!(!w.observe(true, true, at(18)));
    assert!(!w.observe(false, true, at(19)));
    assert!(!w.observe(false, true, at(21)));
    assert!(w.observe(false, true, at(22)));
}

mod evaluator {
    //! The evaluation engine with abstaining voters, in virtual time.

    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use crate::engine::evaluate::{Action, Evaluator};
    use crate::identity::NodeId;
    use crate::probe::ProbeResult;
    use crate::state::{Check, CheckState, CheckType, ClusterState, Command, Mutation};

    const EVERY: Duration = Duration::from_secs(5);
    const TICK: Duration = Duration::from_millis(200);

    fn node(s: &str) -> NodeId {
        NodeId::new(s).expect("id")
    }

    /// Who fails and abstains from when on.
    struct Run {
        state: ClusterState,
        engine: Evaluator,
        voters: BTreeSet<NodeId>,
        t0: Instant,
        proposed: Vec<Mutation>,
    }

    impl Run {
        fn new() -> Run {
            let mut state = ClusterState::default();
            let check = Check {
                id: "db".into(),
                name: "db".into(),
                target: "db.internal:5432".into(),
                interval: EVERY,
                ..Check::blank(CheckType::Tcp)
            };
            state
                .apply(&Command::new(node("a"), Mutation::AddCheck { check }))
                .expect("add");
            let t0 = Instant::now();
            Run {
                engine: Evaluator::new(&state, 1, t0),
                state,
                voters: ["a", "b", "c"].iter().map(|n| node(n)).collect(),
                t0,
                proposed: Vec::new(),
            }
        }

        /// Run from `from` to `to` (seconds since the start); each probe
        /// round, the voters in `abstaining` fail and abstain, the others
        /// succeed.
        fn run(&mut self, from: u64, to: u64, abstaining: &[&str]) {
            let mut t = Duration::from_secs(from);
            while t < Duration::from_secs(to) {
                let now = self.t0 + t;
                if t.as_millis().is_multiple_of(EVERY.as_millis()) {
                    for n in self.voters.clone() {
                        let out = abstaining.contains(&n.as_str());
                        let r = ProbeResult {
                            ok: !out,
                            latency: Duration::from_millis(2),
                            detail: "x".into(),
                        };
                        let why = out.then(|| "no reference target answers".to_string());
                        self.engine
                            .on_batch(&n, 1, vec![("db".into(), r)], why, &self.voters, now);
                    }
                }
                for Action::Propose(m) in self.engine.on_tick(&self.state, &self.voters, now) {
                    self.state
                        .apply(&Command::new(node("a"), m.clone()))
                        .expect("applies");
                    self.proposed.push(m);
                }
                t += TICK;
            }
        }

        fn check_state(&self) -> CheckState {
            self.state.check_states["db"].state
        }

        fn health(&self) -> Vec<bool> {
            self.proposed
                .iter()
                .filter_map(|m| match m {
                    Mutation::SetMonitorDegraded { degraded, .. } => Some(*degraded),
                    _ => None,
                })
                .collect()
        }

        fn downs(&self) -> usize {
            self.proposed
                .iter()
                .filter(|m| {
                    matches!(
                        m,
                        Mutation::RecordTransition {
                            to: CheckState::Down,
                            ..
                        }
                    )
                })
                .count()
        }
    }

    #[test]
    fn one_abstaining_voter_changes_nothing() {
        let mut r = Run::new();
        r.run(0, 30, &[]);
        assert_eq!(r.check_state(), CheckState::Up);
        r.run(30, 90, &["c"]);
        assert_eq!(r.check_state(), CheckState::Up);
        assert!(r.health().is_empty(), "{:?}", r.proposed);
        let now = r.t0 + Duration::from_secs(90);
        let s = &r.engine.summaries(&r.state, &r.voters, now)["db"];
        assert!(!s.degraded, "an abstainer's failure is no vote");
        assert_eq!((s.ok, s.total), (2, 2));
        assert_eq!(
            s.abstaining,
            vec![(node("c"), "no reference target answers".to_string())]
        );
        assert_eq!(s.votes.len(), 3, "its result is still shown");
    }

    #[test]
    fn two_abstaining_voters_give_unknown_and_one_degraded_then_one_recovered() {
        let mut r = Run::new();
        r.run(0, 30, &[]);
        assert_eq!(r.check_state(), CheckState::Up);
        r.run(30, 90, &["b", "c"]);
        assert_eq!(r.check_state(), CheckState::Unknown);
        assert_eq!(r.downs(), 0);
        assert_eq!(r.health(), vec![true]);
        let m = r.state.monitor.clone().expect("health");
        assert_eq!(m.abstaining, vec![node("b"), node("c")]);
        assert!(m.reason.contains("2 of 3 nodes abstain"), "{}", m.reason);
        let now = r.t0 + Duration::from_secs(90);
        let s = &r.engine.summaries(&r.state, &r.voters, now)["db"];
        assert!(
            s.reason.as_deref().is_some_and(|w| w.contains("abstain")),
            "{:?}",
            s.reason
        );
        // A new master continues from the state: no second notice.
        r.engine = Evaluator::new(&r.state, 1, now);
        r.run(90, 120, &["b", "c"]);
        assert_eq!(r.health(), vec![true]);
        r.run(120, 180, &[]);
        assert_eq!(r.check_state(), CheckState::Up);
        assert_eq!(r.health(), vec![true, false]);
        assert_eq!(r.downs(), 0);
        let kinds: Vec<_> = r.state.outbox.values().map(|e| e.kind).collect();
        assert!(kinds.is_empty(), "no channel: nothing queued ({kinds:?})");
    }
}

mod delivery {
    //! The monitor's notices through the delivery engine.

    use std::time::Instant;

    use crate::engine::deliver::{Action, Deliverer, Now, Outcome};
    use crate::identity::NodeId;
    use crate::notify::NotificationKind;
    use crate::state::{AlertChannel, ClusterState, Command, Mutation};

    fn node(s: &str) -> NodeId {
        NodeId::new(s).expect("id")
    }

    #[test]
    fn a_monitor_notice_is_sent_in_order_and_marked_delivered() {
        let mut state = ClusterState::default();
        let mut settings = std::collections::BTreeMap::new();
        settings.insert("url".to_string(), "http://127.0.0.1:9/".to_string());
        let alert = AlertChannel {
            id: "hook".into(),
            name: "hook".into(),
            kind: "webhook".into(),
            default: true,
            disabled: false,
            settings,
        };
        let apply = |s: &mut ClusterState, m: Mutation| {
            s.apply(&Command::new(node("m"), m)).expect("applies");
        };
        apply(&mut state, Mutation::AddAlert { alert });
        for degraded in [true, false] {
            apply(
                &mut state,
                Mutation::SetMonitorDegraded {
                    degraded,
                    reason: "2 of 3 nodes abstain".into(),
                    abstaining: vec![node("b"), node("c")],
                },
            );
        }
        let now = Now {
            at: Instant::now(),
            wall_ms: 1_700_000_000_000,
        };
        let mut d = Deliverer::default();
        let sends = |actions: Vec<Action>| -> Vec<(u64, NotificationKind, String)> {
            actions
                .into_iter()
                .filter_map(|a| match a {
                    Action::Send {
                        entry_ids,
                        notification,
                        ..
                    } => Some((
                        entry_ids[0],
                        notification.kind,
                        notification.master.to_string(),
                    )),
                    _ => None,
                })
                .collect()
        };
        let first = sends(d.on_tick(&state, now));
        assert_eq!(first.len(), 1, "one at a time per channel: {first:?}");
        assert_eq!(first[0].1, NotificationKind::MonitorDegraded);
        assert_eq!(first[0].2, "m");
        let marks: Vec<Mutation> = d
            .on_delivery(first[0].0, Outcome::Delivered, now)
            .into_iter()
            .filter_map(|a| match a {
                Action::Propose(m) => Some(m),
                _ => None,
            })
            .collect();
        assert!(
            matches!(&marks[..], [Mutation::MarkDelivered { failed: None, .. }]),
            "{marks:?}"
        );
        for m in marks {
            apply(&mut state, m);
        }
        let second = sends(d.on_tick(&state, now));
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].1, NotificationKind::MonitorRecovered);
    }
}
