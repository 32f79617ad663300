//! Flap control: a check that changes state too often sends one FLAPPING
//! notice instead of a DOWN and a RECOVERED each time.
//!
//! The rule, on the replicated history alone (so every node and every
//! master decides the same, and a failover never sends FLAPPING twice):
//! - **Start.** A check whose transitions within its flap window (default
//!   [`DEFAULT_WINDOW`]) number more than its threshold (default
//!   [`DEFAULT_THRESHOLD`]; 0 turns it off) is flapping: the master
//!   proposes `SetFlapping { flapping: true }`, applying it asks this rule
//!   again with the proposer's clock, marks the runtime and queues one
//!   `flapping` entry per channel.
//! - **While flapping** the state and the evidence keep updating (the
//!   transitions are recorded and shown) but none is announced, and no
//!   reminder goes out; maintenance and dependency holds do not apply.
//! - **End.** Once no transition happened for a whole window, the master
//!   proposes `SetFlapping { flapping: false }`. Applying it announces the
//!   current state only if receivers last heard another one: still down
//!   with no DOWN out, a DOWN (a new incident); up with a DOWN out, its
//!   RECOVERED. No separate "stable again" notice: what a receiver keys on
//!   (the last DOWN or RECOVERED it got) is then right again.
//!
//! The count reads the retained transitions (`retention.transitions_per_check`,
//! default 100), so a threshold above what is retained never triggers;
//! the threshold is bounded by [`MAX_THRESHOLD`].

use std::time::Duration;

use crate::error::{Error, Result};
use crate::state::{AlertKind, Check, CheckState, ClusterState, duration};

/// Changes within the window beyond which a check is flapping.
pub const DEFAULT_THRESHOLD: u32 = 5;
/// The flap window when the check sets none.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);
/// Highest threshold.
pub const MAX_THRESHOLD: u32 = 50;
/// Shortest and longest flap window.
pub const WINDOW_RANGE: (Duration, Duration) =
    (Duration::from_secs(5), Duration::from_secs(86_400));

/// Check the flap settings of `c`, naming the field.
pub(crate) fn validate(c: &Check) -> Result<()> {
    if c.flap_threshold.is_some_and(|n| n > MAX_THRESHOLD) {
        return Err(Error::invalid_field(
            "flap_threshold",
            format!("use 0 (off) to {MAX_THRESHOLD} changes"),
        ));
    }
    if let Some(w) = c.flap_window {
        duration::in_range("flap_window", w, WINDOW_RANGE, "10m")
            .map_err(|e| e.with_field("flap_window"))?;
    }
    Ok(())
}

/// The threshold and window of `c`, or `None` when flap control is off.
pub fn settings(c: &Check) -> Option<(u32, Duration)> {
    let n = c.flap_threshold.unwrap_or(DEFAULT_THRESHOLD);
    (n > 0).then(|| (n, c.flap_window.unwrap_or(DEFAULT_WINDOW)))
}

impl ClusterState {
    /// How many transitions of `check_id` happened within `window` before
    /// `now_ms` (as far as the history retains them).
    pub fn changes_within(&self, check_id: &str, window: Duration, now_ms: u64) -> usize {
        let since = now_ms.saturating_sub(duration::millis(window));
        self.transitions
            .iter()
            .filter(|t| t.check_id == check_id)
            .filter(|t| at_ms(&t.at).is_some_and(|at| at >= since))
            .count()
    }

    /// What the flap rule asks of `check_id` at `now_ms`: `Some(true)` to
    /// start flapping, `Some(false)` to end it (stable for a window, or
    /// flap control turned off), `None` to leave it.
    pub fn flap_due(&self, check_id: &str, now_ms: u64) -> Option<bool> {
        let check = self.checks.get(check_id)?;
        let flapping = self.check_states.get(check_id).is_some_and(|r| r.flapping);
        match (settings(check), flapping) {
            (None, true) => Some(false),
            (None, false) => None,
            (Some((n, w)), false) => {
                (self.changes_within(check_id, w, now_ms) > n as usize).then_some(true)
            }
            (Some((_, w)), true) => {
                (self.changes_within(check_id, w, now_ms) == 0).then_some(false)
            }
        }
    }

    /// Apply `SetFlapping`: refused unless the rule asks exactly this at
    /// `now_ms` (a stale or repeated proposal changes nothing).
    pub(crate) fn set_flapping(
        &mut self,
        check_id: &str,
        flapping: bool,
        now_ms: u64,
    ) -> Result<()> {
        if self.flap_due(check_id, now_ms) != Some(flapping) {
            return Err(Error::invalid(format!(
                "check {check_id}: flapping is not to be set to {flapping} now"
            )));
        }
        let last = self
            .transitions
            .iter()
            .rev()
            .find(|t| t.check_id == check_id)
            .map(|t| (t.seq, t.to));
        let Some(rt) = self.check_states.get(check_id).cloned() else {
            return Err(Error::invalid(format!("check {check_id} has no state yet")));
        };
        let mut next = rt.clone();
        next.flapping = flapping;
        match (flapping, last) {
            (true, Some((seq, _))) => {
                next.held = false;
                self.queue_for(check_id, seq, AlertKind::Flapping, rt.incident);
            }
            (false, Some((seq, _))) if rt.state == CheckState::Down && !rt.alerted_down => {
                let opened = self
                    .transitions
                    .iter()
                    .rev()
                    .find(|t| t.check_id == check_id && t.to == CheckState::Down)
                    .map_or(seq, |t| t.seq);
                self.queue_for(check_id, opened, AlertKind::Down, opened);
                next.alerted_down = true;
                next.incident = opened;
                next.last_alert_ms = now_ms;
                next.down_ms = now_ms;
                next.escalated.clear();
            }
            (false, Some((seq, _))) if rt.state == CheckState::Up && rt.alerted_down => {
                self.queue_for(check_id, seq, AlertKind::Recovered, rt.incident);
                next.alerted_down = false;
                next.incident = 0;
                next.down_ms = 0;
                next.escalated.clear();
            }
            _ => {}
        }
        self.check_states.insert(check_id.to_string(), next);
        Ok(())
    }
}

/// An RFC 3339 time as ms since the epoch.
fn at_ms(s: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339(s).ok()?;
    Some(duration::millis(
        t.duration_since(std::time::UNIX_EPOCH).ok()?,
    ))
}

#[cfg(test)]
#[path = "flap_tests.rs"]
mod tests;
