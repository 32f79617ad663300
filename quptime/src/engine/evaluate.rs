//! Check evaluation, decided without I/O: which probe results count, when
//! a check is judged, and which state changes to propose.
//!
//! The master's memory of one term: the [`Aggregator`] (each voter's
//! latest result, the hysteresis streaks), when the term's duty began and
//! when each check is next due. Its rules:
//! - **Who counts.** Results of another term are dropped (the sender
//!   reports to a master that is gone, or not yet known); results from a
//!   non-voter (a learner catching up) are heard but never counted.
//! - **Warm-up.** A new master judges a check only once `interval` + 1 s
//!   has passed since its duty began, so every voter had a round to report
//!   to it: a failover never flips checks to unknown on its own.
//! - **Cadence.** Each check is evaluated once per interval, on rounds,
//!   not on message arrivals; a state changes after the check's
//!   `fail_after` / `recover_after` equal verdicts in a row (default
//!   [`HYSTERESIS`]; the quorum and freshness rules are the aggregator's).
//! - **Who judges.** A check with a `nodes` label selector is judged by
//!   the voters whose member labels match it ([`judges`]); the others'
//!   results are not counted for it.
//! - **The agreed state leads.** Before judging, each check is aligned
//!   with `state.check_states` (a commit may have failed, another master
//!   may have decided), so a proposal is always a change of what the
//!   cluster agrees on, and a new master (a fresh engine) starts from the
//!   replicated state alone: no second DOWN for an incident already
//!   recorded, and the RECOVERED still comes.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregator, CheckState, Report, freshness};
use crate::engine::canary::{self, HealthWatch};
use crate::identity::NodeId;
use crate::probe::ProbeResult;
use crate::state::{Check, ClusterState, Evidence, Mutation};

/// Equal verdicts needed before a state changes.
pub(crate) const HYSTERESIS: u32 = 2;
/// Added to a check's interval for the warm-up of a new master.
pub(crate) const WARM_UP_MARGIN: Duration = Duration::from_secs(1);

/// The master's view of one check right now.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Fresh successes.
    pub ok: usize,
    /// Fresh results.
    pub total: usize,
    /// Failing members' details.
    pub detail: String,
    /// Each member's fresh result (older nodes send none).
    #[serde(default)]
    pub votes: Vec<Evidence>,
    /// Some judging nodes fail, fewer than the check's quorum: an UP
    /// check is shown `degraded` (older nodes send none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
    /// Why the policy cannot decide (the check is UNKNOWN), if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The judging nodes that abstain (their connectivity canary fails)
    /// and why; their results are not counted (older nodes send none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abstaining: Vec<(NodeId, String)>,
}

/// The voters among `members` that `check` selects by its `nodes` labels
/// (all of them without a selector; a member without a record matches
/// only an empty selector).
pub(crate) fn judges(
    state: &ClusterState,
    members: &BTreeSet<NodeId>,
    check: &Check,
) -> BTreeSet<NodeId> {
    if check.policy.nodes.is_empty() {
        return members.clone();
    }
    members
        .iter()
        .filter(|n| {
            state
                .peers
                .get(*n)
                .is_some_and(|p| check.policy.selects(&p.labels))
        })
        .cloned()
        .collect()
}

/// Whether to propose `SetDegraded` for `check` (agreed UP, its flag
/// `flagged`) after this round's judgement `j`: once the live flag
/// differed for the check's rounds (`fail_after` to raise it,
/// `recover_after` to clear it; default [`HYSTERESIS`]), and every round
/// after until the cluster agrees (applying the same value is nothing).
/// A round that is not UP or split (going DOWN or UNKNOWN) counts nothing:
/// the transition will clear the flag.
fn degraded_due(
    streaks: &mut HashMap<String, u32>,
    check: &Check,
    flagged: bool,
    j: &crate::aggregate::Judgement,
    votes: impl FnOnce() -> Vec<Evidence>,
) -> Option<Mutation> {
    let live = j.degraded;
    if live == flagged || !matches!(j.verdict, None | Some(CheckState::Up)) {
        streaks.remove(&check.id);
        return None;
    }
    let n = streaks.entry(check.id.clone()).or_insert(0);
    *n += 1;
    let needed = if live {
        check.policy.fail_after
    } else {
        check.policy.recover_after
    }
    .unwrap_or(HYSTERESIS)
    .max(1);
    (*n >= needed).then(|| Mutation::SetDegraded {
        check_id: check.id.clone(),
        degraded: live,
        votes: if live { votes() } else { Vec::new() },
    })
}

/// What the driver is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Propose this mutation (a `RecordTransition` of this engine's term).
    Propose(Mutation),
}

/// What became of a batch of results given to [`Evaluator::on_report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Heard {
    /// Tagged with another term: dropped, and the sender is not heard
    /// from (it reports to another master).
    OtherTerm,
    /// From a member that does not vote (a learner): heard, not counted.
    NotVoter,
    /// Counted in the verdicts.
    Counted,
}

/// The evaluation engine of one master term.
#[derive(Debug)]
pub(crate) struct Evaluator {
    agg: Aggregator,
    /// When this term's duty began (the warm-up counts from here).
    since: Instant,
    /// The term results must carry and transitions are recorded under.
    term: u64,
    /// When each check is next evaluated.
    next_eval: HashMap<String, Instant>,
    /// The push checks' last beats (`engine::push`).
    pub(crate) push: super::push::PushClocks,
    /// Each node's last word on abstaining (its reason, if it abstains)
    /// and when it came.
    abstain: HashMap<NodeId, (Option<String>, Instant)>,
    /// The monitor's health as observed against the agreed one.
    health: HealthWatch,
    /// Rounds in a row each check's live `degraded` differed from its
    /// agreed flag (`SetDegraded` after the check's rounds).
    degraded: HashMap<String, u32>,
}

impl Evaluator {
    /// A fresh engine for `term`, whose duty begins at `now`, starting
    /// from the agreed check states of `state` (nothing else carries over
    /// from an earlier master).
    pub(crate) fn new(state: &ClusterState, term: u64, now: Instant) -> Evaluator {
        let mut agg = Aggregator::new(HYSTERESIS);
        for (id, rt) in &state.check_states {
            agg.seed(id, rt.state);
        }
        Evaluator {
            agg,
            since: now,
            term,
            next_eval: HashMap::new(),
            push: super::push::PushClocks::default(),
            abstain: HashMap::new(),
            health: HealthWatch::default(),
            degraded: HashMap::new(),
        }
    }

    /// `from` sent `results`, tagged with `term`, arriving at `now`, not
    /// abstaining.
    #[cfg(test)]
    pub(crate) fn on_report(
        &mut self,
        from: &NodeId,
        term: u64,
        results: Vec<(String, ProbeResult)>,
        voters: &BTreeSet<NodeId>,
        now: Instant,
    ) -> Heard {
        self.on_batch(from, term, results, None, voters, now)
    }

    /// `from` sent `results`, tagged with `term`, arriving at `now`;
    /// `abstain` says why it abstains, if it does (`engine::canary`).
    /// Only a current voter's results of this engine's term count, and an
    /// abstaining voter's are kept but not counted.
    pub(crate) fn on_batch(
        &mut self,
        from: &NodeId,
        term: u64,
        results: Vec<(String, ProbeResult)>,
        abstain: Option<String>,
        voters: &BTreeSet<NodeId>,
        now: Instant,
    ) -> Heard {
        if term != self.term {
            return Heard::OtherTerm;
        }
        if !voters.contains(from) {
            return Heard::NotVoter;
        }
        let abstain = abstain.map(|a| crate::state::fields::cut(&a, crate::aggregate::MAX_DETAIL));
        self.abstain.insert(from.clone(), (abstain.clone(), now));
        for (check, r) in results {
            self.agg.record(
                &check,
                from.clone(),
                Report {
                    ok: r.ok,
                    latency: r.latency,
                    detail: r.detail,
                    at: now,
                    abstain: abstain.clone(),
                },
            );
        }
        Heard::Counted
    }

    /// One evaluator round at `now`: judge every enabled check that is
    /// due, with `members` (the voters) deciding; the transitions to
    /// propose.
    pub(crate) fn on_tick(
        &mut self,
        state: &ClusterState,
        members: &BTreeSet<NodeId>,
        now: Instant,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.agg.retain(|id| state.checks.contains_key(id));
        self.next_eval.retain(|id, _| state.checks.contains_key(id));
        let probed = |c: &&Check| !c.disabled && !matches!(c.probe, crate::state::Probe::Push(_));
        for check in state.checks.values().filter(probed) {
            // Follow the agreed state (a commit may have failed, or another
            // master may have decided before us).
            let agreed = state
                .check_states
                .get(&check.id)
                .map_or(CheckState::Unknown, |r| r.state);
            self.agg.set_state(&check.id, agreed);
            if now.saturating_duration_since(self.since) < check.interval + WARM_UP_MARGIN {
                continue;
            }
            let due = self.next_eval.entry(check.id.clone()).or_insert(now);
            if now < *due {
                continue;
            }
            *due = now + check.interval;
            let fresh = freshness(check.interval);
            let judges = judges(state, members, check);
            let (change, j) = self
                .agg
                .evaluate_with(&check.id, &judges, &check.policy, fresh, now);
            if change.is_none() && agreed == CheckState::Up {
                let votes = || self.agg.votes(&check.id, &judges, fresh, now);
                let flagged = state
                    .check_states
                    .get(&check.id)
                    .is_some_and(|r| r.degraded);
                if let Some(m) = degraded_due(&mut self.degraded, check, flagged, &j, votes) {
                    out.push(Action::Propose(m));
                }
            } else {
                self.degraded.remove(&check.id);
            }
            if let Some(change) = change {
                out.push(Action::Propose(Mutation::RecordTransition {
                    check_id: check.id.clone(),
                    from: change.from,
                    to: change.to,
                    term: self.term,
                    evidence: change.evidence,
                }));
            }
        }
        out.extend(self.health_due(state, members, now));
        out
    }

    /// [`Evaluator::on_tick`] for push checks: `master` (this node) is
    /// named in the evidence of a missing beat.
    pub(crate) fn on_push_tick(
        &mut self,
        state: &ClusterState,
        master: &NodeId,
        now: Instant,
    ) -> Vec<Action> {
        (self.push.on_tick(state, master, self.term, now).into_iter())
            .map(Action::Propose)
            .collect()
    }

    /// The voters among `members` that abstain at `now`, with their
    /// reasons (their last word, if fresh).
    pub(crate) fn abstaining(
        &self,
        members: &BTreeSet<NodeId>,
        now: Instant,
    ) -> Vec<(NodeId, String)> {
        members
            .iter()
            .filter_map(|n| {
                let (why, at) = self.abstain.get(n)?;
                let fresh = now.saturating_duration_since(*at) <= canary::ABSTAIN_FRESH;
                why.clone().filter(|_| fresh).map(|w| (n.clone(), w))
            })
            .collect()
    }

    /// The monitor's health change to propose, if one is due: after the
    /// warm-up, once too few voters can vote (or enough can again) for
    /// the hold.
    fn health_due(
        &mut self,
        state: &ClusterState,
        members: &BTreeSet<NodeId>,
        now: Instant,
    ) -> Option<Action> {
        if now.saturating_duration_since(self.since) < canary::HEALTH_WARM_UP {
            return None;
        }
        let abstaining = self.abstaining(members, now);
        let observed = canary::monitor_degraded(members.len(), abstaining.len());
        let agreed = state.monitor.as_ref().is_some_and(|m| m.degraded);
        if !self.health.observe(observed, agreed, now) {
            return None;
        }
        let reason = if observed {
            let who: Vec<String> = abstaining
                .iter()
                .map(|(n, w)| format!("{n}: {w}"))
                .collect();
            format!(
                "{} of {} nodes abstain, fewer than a majority can vote: {}",
                abstaining.len(),
                members.len(),
                who.join("; ")
            )
        } else {
            format!(
                "{} of {} nodes can vote",
                members.len() - abstaining.len(),
                members.len()
            )
        };
        Some(Action::Propose(Mutation::SetMonitorDegraded {
            degraded: observed,
            reason,
            abstaining: abstaining.into_iter().map(|(n, _)| n).collect(),
        }))
    }

    /// The live tallies of every check at `now`, counting `members`.
    pub(crate) fn summaries(
        &self,
        state: &ClusterState,
        members: &BTreeSet<NodeId>,
        now: Instant,
    ) -> HashMap<String, Summary> {
        state
            .checks
            .values()
            .map(|c| {
                let fresh = freshness(c.interval);
                let judges = judges(state, members, c);
                let t = self.agg.tally(&c.id, &judges, fresh, now);
                let j = self.agg.judgement(&c.id, &judges, &c.policy, fresh, now);
                if matches!(c.probe, crate::state::Probe::Push(_)) {
                    let ok = self.push.last_ok(&c.id);
                    let summary = Summary {
                        ok: usize::from(ok == Some(true)),
                        total: usize::from(ok.is_some()),
                        detail: self.push.describe(c, now),
                        ..Summary::default()
                    };
                    return (c.id.clone(), summary);
                }
                let summary = Summary {
                    ok: t.ok,
                    total: t.total,
                    detail: self.agg.failure_detail(&c.id, &judges, fresh, now),
                    votes: self.agg.votes(&c.id, &judges, fresh, now),
                    degraded: j.degraded,
                    reason: j.reason,
                    abstaining: self.abstaining(&judges, now),
                };
                (c.id.clone(), summary)
            })
            .collect()
    }
}
