//! The connectivity canary and the monitor's health, decided without I/O.
//!
//! A node whose own network is broken sees every target fail; counting
//! its failures as DOWN votes pages for checks that are fine (two of three
//! nodes losing their uplink used to turn every check DOWN). So each node
//! runs a canary, and while it fails the node **abstains**: its results
//! carry the reason and the master does not count them at all.
//!
//! **When a canary round fails** ([`round_fails`]):
//! - with reference targets (`qu canary set`, `qu serve --canary-target`):
//!   when none of them answers. The targets decide alone: peers are often
//!   behind the same uplink as the node (one office, one rack), so
//!   reaching them says nothing about the way out, and the operator named
//!   what lies beyond. Any one answering is enough (one reference being
//!   down must not silence a node).
//! - without: when the node reaches fewer than half of its peers (its
//!   other voters; live as `cluster::liveness` says). A node cut off from
//!   most of its cluster is the likeliest to have lost its own network; a
//!   node with no peers never fails.
//!
//! The canary changes after [`ROUNDS`] equal rounds in a row ([`Canary`]),
//! so one lost connect neither silences a node nor lets it vote again.
//!
//! **Abstaining results are not counted, successes included.** A result
//! seen through a broken network is not evidence either way (a captive
//! portal or a proxy answers too), and counting only its successes would
//! make the arithmetic lopsided (a check could go UP on abstainers' word
//! but never DOWN). The abstaining nodes stay judges: under `majority` a
//! check whose non-abstaining nodes are fewer than the quorum is UNKNOWN,
//! not DOWN (`aggregate::rule`).
//!
//! **The monitor's health** ([`monitor_degraded`]): degraded when the
//! voters that can vote (not abstaining) are fewer than a majority of the
//! voters: then the default quorum cannot be met and checks are UNKNOWN.
//! The master proposes the change once it held for [`HEALTH_HOLD`]
//! ([`HealthWatch`]); the state turns it into one notice per default
//! channel (`state::canary`).

use std::time::{Duration, Instant};

/// Equal canary rounds in a row before the canary changes.
pub(crate) const ROUNDS: u32 = 2;
/// A node's word that it abstains (or not) counts this long after its
/// last batch; a node that stops reporting is a liveness matter.
pub(crate) const ABSTAIN_FRESH: Duration = Duration::from_secs(10);
/// A new master judges the monitor's health only after this long, so
/// every node had a batch's time to say whether it abstains.
pub(crate) const HEALTH_WARM_UP: Duration = Duration::from_secs(5);
/// The observed health must differ from the agreed one this long before
/// the master proposes the change.
pub(crate) const HEALTH_HOLD: Duration = Duration::from_secs(3);
/// A proposed change not yet agreed is proposed again after this long.
pub(crate) const HEALTH_REPROPOSE: Duration = Duration::from_secs(10);

/// What one canary round saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Round {
    /// The node's peers (its other voters).
    pub(crate) peers: usize,
    /// Those it reaches.
    pub(crate) reached: usize,
    /// Each reference target and its failure, `None` when it answered.
    pub(crate) refs: Vec<(String, Option<String>)>,
}

/// Why the round fails, or `None` when it passes (the rule above).
pub(crate) fn round_fails(round: &Round) -> Option<String> {
    if !round.refs.is_empty() {
        if round.refs.iter().any(|(_, failed)| failed.is_none()) {
            return None;
        }
        let why: Vec<String> = round
            .refs
            .iter()
            .map(|(t, f)| format!("{t}: {}", f.as_deref().unwrap_or("")))
            .collect();
        return Some(format!(
            "no reference target answers ({})",
            crate::state::fields::cut(&why.join("; "), 400)
        ));
    }
    if round.peers > 0 && round.reached * 2 < round.peers {
        return Some(format!(
            "reaches {} of its {} peers",
            round.reached, round.peers
        ));
    }
    None
}

/// The canary of one node: failing or not, after [`ROUNDS`] equal rounds.
#[derive(Debug, Default)]
pub(crate) struct Canary {
    failing: Option<String>,
    streak: u32,
}

impl Canary {
    /// Count a round (its [`round_fails`]); the reason the node abstains
    /// now, if it does. While failing, the reason follows the last round.
    pub(crate) fn observe(&mut self, round: Option<String>) -> Option<&str> {
        match (self.failing.is_some(), round) {
            (false, None) => self.streak = 0,
            (true, Some(why)) => {
                self.failing = Some(why);
                self.streak = 0;
            }
            (_, next) => {
                self.streak += 1;
                if self.streak >= ROUNDS {
                    self.failing = next;
                    self.streak = 0;
                }
            }
        }
        self.failing.as_deref()
    }

    /// The reason the node abstains, if it does.
    pub(crate) fn abstain(&self) -> Option<&str> {
        self.failing.as_deref()
    }
}

/// Whether the monitor is degraded: of `voters`, fewer than a majority
/// can vote when `abstaining` of them abstain.
pub(crate) fn monitor_degraded(voters: usize, abstaining: usize) -> bool {
    voters > 0 && voters.saturating_sub(abstaining) < voters / 2 + 1
}

/// The master's memory of the monitor's health: when the observed value
/// began to differ from the agreed one, and when a change was proposed.
#[derive(Debug, Default)]
pub(crate) struct HealthWatch {
    differs_since: Option<Instant>,
    proposed: Option<Instant>,
}

impl HealthWatch {
    /// At `now` the health is `observed` and the cluster agrees `agreed`:
    /// whether to propose `observed` now (after [`HEALTH_HOLD`], and again
    /// after [`HEALTH_REPROPOSE`] while it is not agreed).
    pub(crate) fn observe(&mut self, observed: bool, agreed: bool, now: Instant) -> bool {
        if observed == agreed {
            self.differs_since = None;
            self.proposed = None;
            return false;
        }
        let since = *self.differs_since.get_or_insert(now);
        if now.saturating_duration_since(since) < HEALTH_HOLD {
            return false;
        }
        if self
            .proposed
            .is_some_and(|p| now.saturating_duration_since(p) < HEALTH_REPROPOSE)
        {
            return false;
        }
        self.proposed = Some(now);
        true
    }
}

#[cfg(test)]
#[path = "canary_tests.rs"]
mod tests;
