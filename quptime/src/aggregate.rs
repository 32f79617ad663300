//! Verdicts: from the members' probe results to a check's state.
//!
//! Pure: no I/O, no clock reads (time is passed in), so every rule is
//! unit-tested in microseconds. The master feeds it each member's latest
//! result (stamped with the master's clock at arrival) and evaluates each
//! check once per interval on a timer:
//!
//! - a result counts only if it comes from a current member and is fresh
//!   (arrived within the freshness window);
//! - the verdict follows the check's quorum policy over its judging
//!   nodes ([`rule`]; by default DOWN when failures ≥ a majority of the
//!   members, UP when successes do, UNKNOWN when fewer than a majority
//!   of fresh results exist, otherwise no verdict and the state holds);
//! - the state changes only after the same verdict in `fail_after`
//!   (towards DOWN or UNKNOWN) or `recover_after` (towards UP)
//!   consecutive evaluation rounds (default 2). Rounds are counted, not
//!   message arrivals, and the timer runs even when results stop, so stale
//!   checks go UNKNOWN (both were defects of the original).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::identity::NodeId;
use crate::state::Policy;

pub mod rule;
pub use rule::Judgement;

/// A check's agreed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    /// A majority sees it working.
    Up,
    /// A majority sees it failing.
    Down,
    /// Not enough fresh results to say.
    Unknown,
}

impl CheckState {
    /// `up`, `down`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Up => "up",
            CheckState::Down => "down",
            CheckState::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for CheckState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One member's latest result for one check, as the master received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Whether the probe succeeded.
    pub ok: bool,
    /// Probe latency.
    pub latency: Duration,
    /// Short human detail.
    pub detail: String,
    /// Arrival on the master's clock.
    pub at: Instant,
    /// Why the sender abstains (its connectivity canary fails), if it
    /// does: the result is shown but not counted (`engine::canary`).
    pub abstain: Option<String>,
}

/// What one node saw, kept with a transition as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The member.
    pub node: NodeId,
    /// Its result.
    pub ok: bool,
    /// Its detail, at most [`MAX_DETAIL`] bytes.
    pub detail: String,
    /// Its latency in milliseconds.
    pub latency_ms: u64,
}

/// Longest probe detail kept in a transition's evidence (longer ones are
/// cut), so a transition always fits a proposal whatever a target answers.
pub const MAX_DETAIL: usize = 1024;

/// A state change decided by an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Previous state.
    pub from: CheckState,
    /// New state.
    pub to: CheckState,
    /// The fresh results that decided it.
    pub evidence: Vec<Evidence>,
}

/// The fresh-result tally of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Fresh successes from members.
    pub ok: usize,
    /// Fresh results from members.
    pub total: usize,
}

#[derive(Debug, Default)]
struct PerCheck {
    latest: BTreeMap<NodeId, Report>,
    state: Option<CheckState>,
    streak: Option<(CheckState, u32)>,
}

/// The master's aggregation state for every check.
#[derive(Debug)]
pub struct Aggregator {
    hysteresis: u32,
    checks: HashMap<String, PerCheck>,
}

impl Aggregator {
    /// An aggregator changing state after `hysteresis` equal verdicts (≥ 1).
    pub fn new(hysteresis: u32) -> Aggregator {
        Aggregator {
            hysteresis: hysteresis.max(1),
            checks: HashMap::new(),
        }
    }

    /// Start `check` from a known state (what the replicated state says), so
    /// a new master continues where the old one stopped.
    pub fn seed(&mut self, check: &str, state: CheckState) {
        let c = self.checks.entry(check.to_string()).or_default();
        if c.state.is_none() {
            c.state = Some(state);
        }
    }

    /// Align `check` with the agreed state (after a commit failed, or when
    /// another master decided); a different state restarts the streak.
    pub fn set_state(&mut self, check: &str, state: CheckState) {
        let c = self.checks.entry(check.to_string()).or_default();
        if c.state != Some(state) {
            c.state = Some(state);
            c.streak = None;
        }
    }

    /// Record `node`'s latest result for `check`.
    pub fn record(&mut self, check: &str, node: NodeId, report: Report) {
        self.checks
            .entry(check.to_string())
            .or_default()
            .latest
            .insert(node, report);
    }

    /// Forget checks that no longer exist.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.checks.retain(|id, _| keep(id));
    }

    /// The current state of `check` as this aggregator knows it (the
    /// engine follows `check_states` instead; the tests read it).
    #[cfg(test)]
    pub fn state(&self, check: &str) -> CheckState {
        self.checks
            .get(check)
            .and_then(|c| c.state)
            .unwrap_or(CheckState::Unknown)
    }

    /// Fresh results from members for `check`.
    pub fn tally(
        &self,
        check: &str,
        members: &BTreeSet<NodeId>,
        freshness: Duration,
        now: Instant,
    ) -> Tally {
        let Some(c) = self.checks.get(check) else {
            return Tally::default();
        };
        let fresh = voting(fresh(c, members, freshness, now));
        Tally {
            ok: fresh.iter().filter(|(_, r)| r.ok).count(),
            total: fresh.len(),
        }
    }

    /// The latest failure detail among fresh results, for status output.
    pub fn failure_detail(
        &self,
        check: &str,
        members: &BTreeSet<NodeId>,
        freshness: Duration,
        now: Instant,
    ) -> String {
        let Some(c) = self.checks.get(check) else {
            return String::new();
        };
        fresh(c, members, freshness, now)
            .into_iter()
            .filter(|(_, r)| !r.ok)
            .map(|(n, r)| format!("{}={}", n.short(), r.detail))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The fresh results from members for `check`, one per member (what an
    /// evaluation now would decide on), for status output.
    pub fn votes(
        &self,
        check: &str,
        members: &BTreeSet<NodeId>,
        freshness: Duration,
        now: Instant,
    ) -> Vec<Evidence> {
        self.checks
            .get(check)
            .map(|c| evidence(&fresh(c, members, freshness, now)))
            .unwrap_or_default()
    }

    /// One evaluation round of `check` under the default policy
    /// (majority of `members`, `hysteresis` rounds each way); the engine
    /// evaluates under each check's policy, the tests pin this default.
    #[cfg(test)]
    pub fn evaluate(
        &mut self,
        check: &str,
        members: &BTreeSet<NodeId>,
        freshness: Duration,
        now: Instant,
    ) -> Option<Change> {
        self.evaluate_with(check, members, &Policy::default(), freshness, now)
            .0
    }

    /// What a round now would judge for `check` (no streak is counted).
    pub fn judgement(
        &self,
        check: &str,
        judges: &BTreeSet<NodeId>,
        policy: &Policy,
        freshness: Duration,
        now: Instant,
    ) -> Judgement {
        let (total, failures, abstaining) = self.checks.get(check).map_or((0, 0, 0), |c| {
            let f = fresh(c, judges, freshness, now);
            let abstaining = f.iter().filter(|(_, r)| r.abstain.is_some()).count();
            let v = voting(f);
            (v.len(), v.iter().filter(|(_, r)| !r.ok).count(), abstaining)
        });
        let mut j = rule::judge(policy.quorum, judges.len(), total, failures);
        if abstaining > 0 && j.verdict == Some(CheckState::Unknown) && j.reason.is_none() {
            j.reason = Some(format!(
                "{abstaining} of {} judging nodes abstain (their connectivity canary fails): \
                 too few can vote",
                judges.len()
            ));
        }
        j
    }

    /// One evaluation round of `check`, judged by `judges` (the voters the
    /// check selects) under `policy`: returns a change once the same
    /// verdict held for the policy's rounds (`fail_after` towards DOWN and
    /// UNKNOWN, `recover_after` towards UP; unset, this aggregator's
    /// `hysteresis`), and the round's judgement.
    pub fn evaluate_with(
        &mut self,
        check: &str,
        judges: &BTreeSet<NodeId>,
        policy: &Policy,
        freshness: Duration,
        now: Instant,
    ) -> (Option<Change>, Judgement) {
        let judgement = self.judgement(check, judges, policy, freshness, now);
        let hysteresis = self.hysteresis;
        let c = self.checks.entry(check.to_string()).or_default();
        let current = c.state.unwrap_or(CheckState::Unknown);
        let fresh = voting(fresh(c, judges, freshness, now));
        let evidence = evidence(&fresh);
        let change = match judgement.verdict {
            None => {
                c.streak = None;
                None
            }
            Some(v) if v == current => {
                c.streak = None;
                None
            }
            Some(v) => {
                let count = match c.streak {
                    Some((s, n)) if s == v => n + 1,
                    _ => 1,
                };
                let needed = match v {
                    CheckState::Up => policy.recover_after.unwrap_or(hysteresis),
                    _ => policy.fail_after.unwrap_or(hysteresis),
                };
                if count >= needed.max(1) {
                    c.streak = None;
                    c.state = Some(v);
                    Some(Change {
                        from: current,
                        to: v,
                        evidence,
                    })
                } else {
                    c.streak = Some((v, count));
                    None
                }
            }
        };
        (change, judgement)
    }
}

fn evidence(fresh: &[(&NodeId, &Report)]) -> Vec<Evidence> {
    fresh
        .iter()
        .map(|(n, r)| Evidence {
            node: (*n).clone(),
            ok: r.ok,
            detail: crate::state::fields::cut(&r.detail, MAX_DETAIL),
            latency_ms: crate::state::duration::millis(r.latency),
        })
        .collect()
}

fn fresh<'a>(
    c: &'a PerCheck,
    members: &BTreeSet<NodeId>,
    freshness: Duration,
    now: Instant,
) -> Vec<(&'a NodeId, &'a Report)> {
    c.latest
        .iter()
        .filter(|(n, r)| members.contains(*n) && now.saturating_duration_since(r.at) <= freshness)
        .collect()
}

/// The results that vote: not from an abstaining node.
fn voting<'a>(fresh: Vec<(&'a NodeId, &'a Report)>) -> Vec<(&'a NodeId, &'a Report)> {
    fresh
        .into_iter()
        .filter(|(_, r)| r.abstain.is_none())
        .collect()
}

/// The freshness window for a check probed every `interval`:
/// max(3 × interval, 30 s).
pub fn freshness(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(30))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "aggregate/policy_tests.rs"]
mod policy_tests;
