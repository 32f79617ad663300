//! The verdict of one round under a check's quorum policy, from counts
//! alone (pure, unit-tested in `tests.rs`).
//!
//! `judges` is the number of voters the check selects (all voters without
//! a `nodes` selector). With `need` the failures that make DOWN
//! (`majority`: ⌊judges/2⌋+1, `at-least K`: K, `all`: judges, `any`: 1):
//! - UNKNOWN when no voter is selected, when `need` exceeds the judging
//!   nodes (`at-least 3` with 2 selected: a DOWN could never be reached, so
//!   nothing is claimed; the reason says why), or when fewer fresh results
//!   exist than either verdict needs;
//! - DOWN when failures ≥ `need`;
//! - UP when successes ≥ `up`, the successes that rule a DOWN out:
//!   judges − need + 1 (for `majority` the majority, as in earlier
//!   releases, so a tie in an even cluster still holds the state);
//! - otherwise no verdict: the state holds.
//!
//! A check judged UP (or holding) while some judging nodes fail, fewer
//! than `need`, is **degraded**: still up, but visibly so.

use crate::aggregate::CheckState;
use crate::state::Quorum;

/// One round's judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict, `None` when the results are split (the state holds).
    pub verdict: Option<CheckState>,
    /// Some judging nodes fail, but fewer than a DOWN needs.
    pub degraded: bool,
    /// Why the verdict is UNKNOWN when the policy itself cannot decide.
    pub reason: Option<String>,
}

/// The failures a DOWN needs under `quorum` with `judges` judging nodes.
pub fn down_needs(quorum: Quorum, judges: usize) -> usize {
    match quorum {
        Quorum::Majority => judges / 2 + 1,
        Quorum::AtLeast(k) => k as usize,
        Quorum::All => judges,
        Quorum::Any => 1,
    }
}

/// Judge one round: `failures` of `fresh` fresh results from the
/// `judges` selected voters.
pub fn judge(quorum: Quorum, judges: usize, fresh: usize, failures: usize) -> Judgement {
    let unknown = |reason: Option<String>| Judgement {
        verdict: Some(CheckState::Unknown),
        degraded: false,
        reason,
    };
    if judges == 0 {
        return unknown(Some("no voter matches the check's nodes selector".into()));
    }
    let need = down_needs(quorum, judges);
    if need > judges {
        return unknown(Some(format!(
            "quorum {quorum} needs {need} judging nodes but only {judges} are selected"
        )));
    }
    let up = match quorum {
        Quorum::Majority => need,
        _ => judges - need + 1,
    };
    if fresh < need.min(up) {
        return unknown(None);
    }
    let successes = fresh - failures;
    let verdict = if failures >= need {
        Some(CheckState::Down)
    } else if successes >= up {
        Some(CheckState::Up)
    } else {
        None
    };
    Judgement {
        verdict,
        degraded: failures > 0 && failures < need,
        reason: None,
    }
}
