//! The alert outbox: notifications to send, as replicated records.
//!
//! Applying a DOWN or RECOVERED transition queues one entry per channel of
//! the check, in the same log entry, so "decided" and "to be announced" can
//! never disagree. The master sends pending entries off the request path
//! and commits each delivery; a new master resends only what is not marked
//! delivered, so a failover neither duplicates a delivered DOWN nor loses a
//! RECOVERED. (A master that delivers and dies before committing the mark
//! can cause one duplicate: delivery is at least once.)

use serde::{Deserialize, Serialize};

use crate::aggregate::CheckState;
use crate::state::{Check, CheckRuntime, ClusterState, TransitionRecord, duration};

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    /// up→down or unknown→down.
    Down,
    /// down→up.
    Recovered,
    /// Still down, after the check's reminder interval.
    Reminder,
    /// It changes state too often (level 5): one notice, then quiet until
    /// it is stable (`state::flap`).
    Flapping,
    /// An UP check became degraded (some judging nodes fail, fewer than
    /// its quorum), for channels that route `degraded` (level 6).
    Degraded,
    /// It is no longer degraded (level 6).
    #[serde(rename = "degraded_cleared")]
    DegradedCleared,
    /// Too few nodes can vote, their canaries failing (level 6): one
    /// notice to the default channels, not one DOWN per check.
    #[serde(rename = "monitor_degraded")]
    MonitorDegraded,
    /// The monitor can vote again (level 6).
    #[serde(rename = "monitor_recovered")]
    MonitorRecovered,
    /// Still down after a channel's `escalate_after`: its `escalate_to`
    /// channel is told, once (level 6, `state::escalate`).
    Escalation,
}

impl AlertKind {
    /// About the monitor itself, not a check: `transition` is the
    /// monitor's health `seq` (`state::canary`).
    pub fn is_monitor(self) -> bool {
        matches!(
            self,
            AlertKind::MonitorDegraded | AlertKind::MonitorRecovered
        )
    }

    /// The alert a transition deserves, if any: DOWN on up→down and
    /// unknown→down, RECOVERED on down→up, nothing on →unknown or
    /// unknown→up.
    pub fn for_transition(from: CheckState, to: CheckState) -> Option<AlertKind> {
        match (from, to) {
            (CheckState::Up | CheckState::Unknown, CheckState::Down) => Some(AlertKind::Down),
            (CheckState::Down, CheckState::Up) => Some(AlertKind::Recovered),
            _ => None,
        }
    }
}

/// One notification to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Position in the outbox sequence.
    pub id: u64,
    /// The transition announced.
    pub transition: u64,
    /// DOWN or RECOVERED.
    pub kind: AlertKind,
    /// The channel's id.
    pub channel: String,
    /// Delivery time (RFC 3339 UTC) once delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    /// The last failure, if delivery failed for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The seq of the transition whose DOWN opened the incident this entry
    /// belongs to: its own transition for a DOWN, the DOWN's for its
    /// reminders and its RECOVERED. `None` in entries queued before
    /// level 4 (their DOWN entry's transition is then the best guess).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<u64>,
}

impl OutboxEntry {
    /// Still to be sent.
    pub fn pending(&self) -> bool {
        self.delivered_at.is_none() && self.failed.is_none()
    }
}

/// Whether a reminder of `check` is due at `now_ms` (ms since the epoch):
/// it has a reminder interval, it is down with its DOWN announced, and the
/// last DOWN or reminder was queued at least one interval ago. The one
/// rule: the master asks it before proposing `QueueReminder`, and applying
/// that mutation asks it again with the proposer's time.
pub fn reminder_due(check: &Check, rt: Option<&CheckRuntime>, now_ms: u64) -> bool {
    let (Some(remind), Some(rt)) = (check.remind, rt) else {
        return false;
    };
    rt.state == CheckState::Down
        && rt.alerted_down
        && !rt.flapping
        && now_ms.saturating_sub(rt.last_alert_ms) >= duration::millis(remind)
}

/// The channels a check notifies: its own plus the default ones, minus
/// disabled and suppressed channels.
pub fn channels_for(state: &ClusterState, check: &Check) -> Vec<String> {
    let mut ids: Vec<String> = check.alerts.clone();
    for a in state.alerts.values().filter(|a| a.default) {
        if !ids.contains(&a.id) && !check.suppress_alerts.contains(&a.id) {
            ids.push(a.id.clone());
        }
    }
    ids.retain(|id| state.alerts.get(id).is_some_and(|a| !a.disabled));
    ids
}

impl ClusterState {
    /// Queue the notifications `t` deserves (called when `t` is applied);
    /// `alerted_down` says whether a DOWN is outstanding and `incident`
    /// which transition opened it (0: unknown). Returns the new value of
    /// that flag and of the open incident (0 once it is over).
    pub(crate) fn queue_alerts(
        &mut self,
        t: &TransitionRecord,
        alerted_down: bool,
        incident: u64,
    ) -> (bool, u64) {
        let kind = match (AlertKind::for_transition(t.from, t.to), t.to) {
            (Some(AlertKind::Down), _) if alerted_down => return (true, incident),
            (Some(k), _) => k,
            // down → unknown → up: the DOWN that went out deserves its RECOVERED.
            (None, CheckState::Up) if alerted_down => AlertKind::Recovered,
            _ if alerted_down => return (true, incident),
            _ => return (false, 0),
        };
        let opened = match kind {
            AlertKind::Down => t.seq,
            _ => incident,
        };
        self.queue_for(&t.check_id, t.seq, kind, opened);
        match kind {
            AlertKind::Down => (true, t.seq),
            _ => (false, 0),
        }
    }

    /// Queue a `kind` entry announcing transition `seq` of `check_id` on
    /// every channel of the check, as part of the incident opened by
    /// transition `incident` (0: unknown).
    pub(crate) fn queue_for(&mut self, check_id: &str, seq: u64, kind: AlertKind, incident: u64) {
        let Some(check) = self.checks.get(check_id) else {
            return;
        };
        let event = super::route::event_name(kind);
        for channel in channels_for(self, check) {
            if !self
                .alerts
                .get(&channel)
                .is_some_and(|a| super::route::routes(a, event))
            {
                continue;
            }
            self.last_outbox += 1;
            let id = self.last_outbox;
            self.outbox.insert(
                id,
                OutboxEntry {
                    id,
                    transition: seq,
                    kind,
                    channel,
                    delivered_at: None,
                    failed: None,
                    incident: (incident != 0).then_some(incident),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_rules() {
        use CheckState::*;
        assert_eq!(AlertKind::for_transition(Up, Down), Some(AlertKind::Down));
        assert_eq!(
            AlertKind::for_transition(Unknown, Down),
            Some(AlertKind::Down)
        );
        assert_eq!(
            AlertKind::for_transition(Down, Up),
            Some(AlertKind::Recovered)
        );
        assert_eq!(AlertKind::for_transition(Unknown, Up), None);
        assert_eq!(AlertKind::for_transition(Up, Unknown), None);
        assert_eq!(AlertKind::for_transition(Down, Unknown), None);
    }
}
