//! Push check verdicts, decided without I/O: when beats (or their
//! absence) change a push check's state.
//!
//! The master keeps each push check's last beat in memory only; the
//! replicated state changes only on a transition, so a beat every second
//! costs no log entry. The rule, judged on every evaluator round at `now`:
//! - the last beat reported a failure (`?status=fail`): **down** at once,
//!   with `push: fail: <msg>`;
//! - the last beat was ok and came within `period` + `grace`: **up**;
//! - no beat within `period` + `grace` of the clock's start: **down**,
//!   with `no beat for 25h (period 24h + grace 1h)`;
//! - otherwise (no beat yet, not overdue): no opinion, the agreed state
//!   stays.
//!
//! The clock starts at the later of the last beat this master heard and
//! the moment this master first saw the check (its duty start, or the
//! check's creation under it). A new master knows no beat, so after a
//! failover it gives every push check one full `period` + `grace` before
//! a missing beat counts: a failover alone never makes a check DOWN, and a
//! check that is down stays down until the next ok beat. A proposal is
//! made only when the wanted state differs from the agreed one, so a lost
//! commit is proposed again on the next round. A disabled check has no
//! clock: once enabled again, its clock starts then.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::aggregate::{CheckState, Evidence, MAX_DETAIL};
use crate::identity::NodeId;
use crate::state::duration::format;
use crate::state::{Check, ClusterState, Mutation, Probe, PushProbe};

/// Longest failure message a beat carries (`?msg=`); longer is cut.
pub const MAX_MESSAGE: usize = 1024;

/// What a beat says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// The job ran and succeeded.
    Ok,
    /// The job reports a failure, with its message (at most
    /// [`MAX_MESSAGE`] bytes).
    Fail(String),
}

/// The master's memory of one push check.
#[derive(Debug, Clone)]
struct Clock {
    /// When this engine first saw the check.
    seen: Instant,
    /// The last beat: when, what, and the node it reached.
    last: Option<(Instant, Beat, NodeId)>,
}

/// The state a push check should be in at `now`, and why; `None` when
/// there is nothing to say yet. Pure: `engine::push` rule in full.
fn wanted(
    push: &PushProbe,
    clock: &Clock,
    master: &NodeId,
    now: Instant,
) -> Option<(bool, String, NodeId)> {
    let allowed = push.period() + push.grace();
    let start = clock
        .last
        .as_ref()
        .map_or(clock.seen, |(at, ..)| (*at).max(clock.seen));
    let silent = now.saturating_duration_since(start);
    match &clock.last {
        Some((_, Beat::Fail(msg), node)) => {
            Some((false, format!("push: fail: {msg}"), node.clone()))
        }
        _ if silent >= allowed => {
            let since = match &clock.last {
                Some((at, ..)) => now.saturating_duration_since(*at),
                None => silent,
            };
            let what = if clock.last.is_some() {
                "no beat for"
            } else {
                "no beat heard by this master for"
            };
            Some((
                false,
                format!(
                    "{what} {} (period {} + grace {})",
                    format(whole_seconds(since)),
                    format(push.period()),
                    format(push.grace())
                ),
                master.clone(),
            ))
        }
        Some((at, Beat::Ok, node)) => Some((
            true,
            format!(
                "push: beat {} ago",
                format(whole_seconds(now.saturating_duration_since(*at)))
            ),
            node.clone(),
        )),
        None => None,
    }
}

fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// The push clocks of one master term.
#[derive(Debug, Default)]
pub(crate) struct PushClocks {
    clocks: HashMap<String, Clock>,
}

impl PushClocks {
    /// Record a beat for `check_id` that reached node `via`, at `now`.
    /// A beat for a check this engine has not seen yet starts its clock.
    pub(crate) fn on_beat(&mut self, check_id: &str, via: &NodeId, beat: Beat, now: Instant) {
        let beat = match beat {
            Beat::Fail(msg) => Beat::Fail(cut(&msg)),
            ok => ok,
        };
        let clock = self.clocks.entry(check_id.to_string()).or_insert(Clock {
            seen: now,
            last: None,
        });
        clock.last = Some((now, beat, via.clone()));
    }

    /// One round at `now`: the transitions to propose, recorded under
    /// `term`, the evidence naming `master` for a missing beat.
    pub(crate) fn on_tick(
        &mut self,
        state: &ClusterState,
        master: &NodeId,
        term: u64,
        now: Instant,
    ) -> Vec<Mutation> {
        self.clocks.retain(|id, _| {
            state
                .checks
                .get(id)
                .is_some_and(|c| matches!(c.probe, Probe::Push(_)) && !c.disabled)
        });
        let mut out = Vec::new();
        for check in state.checks.values().filter(|c| !c.disabled) {
            let Probe::Push(push) = &check.probe else {
                continue;
            };
            let clock = self.clocks.entry(check.id.clone()).or_insert(Clock {
                seen: now,
                last: None,
            });
            let Some((up, detail, node)) = wanted(push, clock, master, now) else {
                continue;
            };
            let to = if up { CheckState::Up } else { CheckState::Down };
            let agreed = state
                .check_states
                .get(&check.id)
                .map_or(CheckState::Unknown, |r| r.state);
            if agreed == to {
                continue;
            }
            out.push(Mutation::RecordTransition {
                check_id: check.id.clone(),
                from: agreed,
                to,
                term,
                evidence: vec![Evidence {
                    node,
                    ok: up,
                    detail,
                    latency_ms: 0,
                }],
            });
        }
        out
    }

    /// What the status shows for `check` at `now`: `last beat 3s ago`, or
    /// that none came since this master started.
    pub(crate) fn describe(&self, check: &Check, now: Instant) -> String {
        match self.clocks.get(&check.id).and_then(|c| c.last.as_ref()) {
            Some((at, beat, _)) => {
                let ago = format(whole_seconds(now.saturating_duration_since(*at)));
                match beat {
                    Beat::Ok => format!("last beat {ago} ago"),
                    Beat::Fail(msg) => format!("last beat {ago} ago: fail: {msg}"),
                }
            }
            None => "no beat since this master started".to_string(),
        }
    }

    /// Whether the last beat of `check_id` was ok (for the live tally).
    pub(crate) fn last_ok(&self, check_id: &str) -> Option<bool> {
        let (_, beat, _) = self.clocks.get(check_id)?.last.as_ref()?;
        Some(*beat == Beat::Ok)
    }
}

/// `msg` cut to [`MAX_MESSAGE`] bytes (and the evidence's own bound), on a
/// character boundary, without control characters.
fn cut(msg: &str) -> String {
    let limit = MAX_MESSAGE.min(MAX_DETAIL - 32);
    let mut out = String::new();
    for ch in msg.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if out.len() + ch.len_utf8() > limit {
            break;
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
