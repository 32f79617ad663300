//! Escalation (issue #17): "still down after 15 minutes, the second
//! channel is told once".
//!
//! **On the channel, not the check.** Escalation says who is told next
//! when the first people told did not fix it, which is a property of the
//! rota a channel stands for (`qu alert edit ops --escalate-after 15m
//! --escalate-to oncall`), the same for every check that notifies `ops`.
//! Putting it on the channel also keeps the replicated check and channel
//! documents in their shape: the two settings live in the channel's
//! settings map ([`AFTER_KEY`], [`TO_KEY`]), like `events`.
//!
//! **The rule** ([`ClusterState::escalations_due`]), on the replicated
//! state alone: a check that is down with its DOWN announced, not held back
//! (maintenance, a parent down, flapping), whose DOWN went out at least
//! `escalate_after` ago on a channel that routes `down` and escalates, and
//! whose escalation from that channel was not sent in this incident. The
//! master proposes `QueueEscalation`; applying asks the same rule with the
//! proposer's clock, queues one `escalation` entry for the target channel
//! and records the source channel in `CheckRuntime::escalated`. A second
//! proposal (a lost answer, a new master after a failover mid-delay) is
//! refused by the rule, so the target is told once; a recovery before the
//! delay ends the incident and clears the record, so nothing is sent.
//!
//! The escalation goes to the target whatever its own `events` say (it is
//! asked for by name) and is told as STILL DOWN, with the incident key,
//! so paging providers open the incident there.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{AlertChannel, AlertKind, CheckState, ClusterState, OutboxEntry, duration, outbox};
use crate::error::{Error, Result};

/// The channel setting: how long the check stays down before escalating.
pub const AFTER_KEY: &str = "escalate_after";
/// The channel setting: the channel (name or id) told then.
pub const TO_KEY: &str = "escalate_to";
/// Shortest and longest escalation delay.
pub const AFTER_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(7 * 86_400));
/// Longest `escalate_to` value (a channel name).
const MAX_TO_LEN: usize = 128;

/// The escalation of `channel`: its delay and its target (name or id), if
/// it escalates. An unparsable value (only possible outside validation)
/// means no escalation.
pub fn settings(channel: &AlertChannel) -> Option<(Duration, &str)> {
    let after = channel.settings.get(AFTER_KEY)?;
    let to = channel.settings.get(TO_KEY)?;
    let after = duration::parse_within(AFTER_KEY, after, AFTER_RANGE, "15m").ok()?;
    Some((after, to.as_str()))
}

/// Check a channel's escalation settings on their own: both or neither, a
/// delay in range, a target that is not the channel itself. The error
/// names the setting.
pub fn validate(channel: &AlertChannel) -> Result<()> {
    let after = channel.settings.get(AFTER_KEY);
    let to = channel.settings.get(TO_KEY);
    match (after, to) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(Error::invalid_field(
            TO_KEY,
            "missing: escalate_after needs the channel to tell, such as escalate_to=oncall",
        )),
        (None, Some(_)) => Err(Error::invalid_field(
            AFTER_KEY,
            "missing: escalate_to needs a delay, such as escalate_after=15m",
        )),
        (Some(after), Some(to)) => {
            duration::parse_field(AFTER_KEY, after, AFTER_RANGE, "15m")?;
            let to = to.trim();
            if to.is_empty() || to.len() > MAX_TO_LEN {
                return Err(Error::invalid_field(
                    TO_KEY,
                    format!("use the name of another alert channel (1 to {MAX_TO_LEN} characters)"),
                ));
            }
            if to == channel.name || to == channel.id {
                return Err(Error::invalid_field(
                    TO_KEY,
                    "a channel cannot escalate to itself: name another alert channel",
                ));
            }
            Ok(())
        }
    }
}

impl ClusterState {
    /// Refuse an `escalate_to` of `channel` that names no other channel of
    /// this state (asked when a channel is added or edited).
    pub(crate) fn check_escalation_target(&self, channel: &AlertChannel) -> Result<()> {
        let Some(to) = channel.settings.get(TO_KEY) else {
            return Ok(());
        };
        match self.find_alert(to) {
            Ok(t) if t.id != channel.id => Ok(()),
            _ => Err(Error::invalid_field(
                TO_KEY,
                format!(
                    "no other alert channel is called {to:?}: add it first, or name one from `qu alert list`"
                ),
            )),
        }
    }

    /// The escalations of `check_id` due at `now_ms`: (source channel id,
    /// target channel id) for each channel of the check whose delay has
    /// passed and that has not escalated in this incident.
    pub fn escalations_due(&self, check_id: &str, now_ms: u64) -> Vec<(String, String)> {
        let (Some(check), Some(rt)) = (self.checks.get(check_id), self.check_states.get(check_id))
        else {
            return Vec::new();
        };
        let quiet = rt.state != CheckState::Down
            || !rt.alerted_down
            || rt.held
            || rt.flapping
            || check.disabled
            || self.holds_back(check_id, now_ms);
        if quiet {
            return Vec::new();
        }
        let since = self.down_announced_ms(check_id);
        let mut out = Vec::new();
        for source in outbox::channels_for(self, check) {
            let Some(channel) = self.alerts.get(&source) else {
                continue;
            };
            if rt.escalated.contains(&source) || !super::route::routes(channel, "down") {
                continue;
            }
            let Some((after, to)) = settings(channel) else {
                continue;
            };
            let Ok(target) = self.find_alert(to) else {
                continue;
            };
            if target.disabled || target.id == source {
                continue;
            }
            if now_ms.saturating_sub(since) >= duration::millis(after) {
                out.push((source, target.id.clone()));
            }
        }
        out
    }

    /// When the open incident's DOWN was queued: `down_ms`, or for a state
    /// written before level 6, the time of the transition that opened it.
    fn down_announced_ms(&self, check_id: &str) -> u64 {
        let Some(rt) = self.check_states.get(check_id) else {
            return u64::MAX;
        };
        if rt.down_ms != 0 {
            return rt.down_ms;
        }
        self.transitions
            .iter()
            .find(|t| t.seq == rt.incident)
            .and_then(|t| humantime::parse_rfc3339(&t.at).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(u64::MAX, duration::millis)
    }

    /// Apply `QueueEscalation`: refused unless the rule has the escalation
    /// of `check_id` from `channel` due at `now_ms`.
    pub(crate) fn queue_escalation(
        &mut self,
        check_id: &str,
        channel: &str,
        now_ms: u64,
    ) -> Result<()> {
        let Some((_, target)) = self
            .escalations_due(check_id, now_ms)
            .into_iter()
            .find(|(s, _)| s == channel)
        else {
            return Err(Error::invalid(format!(
                "no escalation of check {check_id} from channel {channel} is due"
            )));
        };
        let Some(rt) = self.check_states.get_mut(check_id) else {
            return Err(Error::invalid(format!("check {check_id} has no state yet")));
        };
        rt.escalated.insert(channel.to_string());
        let incident = rt.incident;
        let transition = if incident != 0 {
            incident
        } else {
            self.transitions
                .iter()
                .rev()
                .find(|t| t.check_id == check_id && t.to == CheckState::Down)
                .map_or(0, |t| t.seq)
        };
        self.last_outbox += 1;
        let id = self.last_outbox;
        self.outbox.insert(
            id,
            OutboxEntry {
                id,
                transition,
                kind: AlertKind::Escalation,
                channel: target,
                delivered_at: None,
                failed: None,
                incident: (transition != 0).then_some(transition),
            },
        );
        Ok(())
    }
}

/// The source channels of a runtime that escalated (serde helper).
pub(crate) fn none_escalated(s: &BTreeSet<String>) -> bool {
    s.is_empty()
}

#[cfg(test)]
#[path = "escalate_tests.rs"]
mod tests;
