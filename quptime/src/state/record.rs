//! Applying the runtime records the master proposes: a check's
//! transition (with the alerts it queues, or holds back inside a
//! maintenance window) and a reminder.

use super::{
    AlertKind, CheckRuntime, CheckState, ClusterState, Command, Evidence, TransitionRecord,
    not_found, outbox, rfc3339_ms,
};
use crate::error::{Error, ErrorKind, Result};

impl ClusterState {
    pub(super) fn queue_reminder(
        &mut self,
        check_id: &String,
        cmd: &Command,
    ) -> Result<Option<String>> {
        let check = self
            .checks
            .get(check_id)
            .ok_or_else(|| not_found("check", check_id))?;
        if check.remind.is_none() {
            return Err(Error::invalid(format!(
                "check {} has no reminder interval",
                check.name
            )));
        }
        let due = outbox::reminder_due(check, self.check_states.get(check_id), cmd.at_ms)
            && self.in_maintenance(check_id, cmd.at_ms).is_none();
        let seq = self
            .transitions
            .iter()
            .rev()
            .find(|t| t.check_id == *check_id && t.to == CheckState::Down)
            .map(|t| t.seq);
        let (true, Some(seq)) = (due, seq) else {
            return Err(Error::invalid(format!(
                "no reminder due for check {}",
                check.name
            )));
        };
        let incident = self.check_states.get(check_id).map_or(0, |r| r.incident);
        self.queue_for(check_id, seq, AlertKind::Reminder, incident);
        if let Some(r) = self.check_states.get_mut(check_id) {
            r.last_alert_ms = cmd.at_ms;
        }
        Ok(Some(check_id.clone()))
    }

    pub(super) fn record_transition(
        &mut self,
        check_id: &String,
        from: CheckState,
        to: CheckState,
        term: u64,
        evidence: &[Evidence],
        cmd: &Command,
    ) -> Result<Option<String>> {
        let check = self
            .checks
            .get(check_id)
            .ok_or_else(|| not_found("check", check_id))?;
        let current = self
            .check_states
            .get(check_id)
            .map_or(CheckState::Unknown, |r| r.state);
        if current != from || from == to {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "stale transition of check {}: it is {current}, not {from}",
                    check.name
                ),
            ));
        }
        let (check_name, target) = (check.name.clone(), check.target.clone());
        // The time since the check was last counted was spent in `from`.
        self.history_accrue(check_id, cmd.at_ms);
        let at = rfc3339_ms(cmd.at_ms);
        self.last_seq += 1;
        self.transitions.push_back(TransitionRecord {
            seq: self.last_seq,
            check_id: check_id.clone(),
            check_name,
            target,
            from,
            to,
            at: at.clone(),
            master: cmd.proposer.clone(),
            term,
            evidence: evidence.to_vec(),
        });
        let previous_alert_ms = self
            .check_states
            .get(check_id)
            .map_or(0, |r| r.last_alert_ms);
        let was_alerted = self
            .check_states
            .get(check_id)
            .is_some_and(|r| r.alerted_down);
        let was_incident = self.check_states.get(check_id).map_or(0, |r| r.incident);
        let prev = self.check_states.get(check_id).cloned();
        // Inside a window, or while a parent is down, a DOWN not yet
        // announced is held back; a recovery then ends it without a word.
        let maintained = self.holds_back(check_id, cmd.at_ms);
        let held = to == CheckState::Down && !was_alerted && maintained;
        let was_held = self.check_states.get(check_id).is_some_and(|r| r.held);
        // While flapping nothing is announced; what receivers last heard
        // stands until the flapping ends (`state::flap`).
        let flapping = self.check_states.get(check_id).is_some_and(|r| r.flapping);
        let held = held && !flapping;
        let (alerted_down, incident) = match self.transitions.back().cloned() {
            _ if flapping => (was_alerted, was_incident),
            _ if held || was_held => (false, 0),
            Some(record) => self.queue_alerts(&record, was_alerted, was_incident),
            None => (was_alerted, was_incident),
        };
        self.check_states.insert(
            check_id.clone(),
            CheckRuntime {
                state: to,
                since: at,
                alerted_down,
                last_alert_ms: if alerted_down && !was_alerted {
                    cmd.at_ms
                } else {
                    previous_alert_ms
                },
                incident,
                held,
                flapping,
                degraded: false,
                degraded_votes: Vec::new(),
                // The incident goes on: its DOWN time and escalations stay.
                down_ms: match (alerted_down, was_alerted) {
                    (true, true) => prev.as_ref().map_or(0, |r| r.down_ms),
                    (true, false) => cmd.at_ms,
                    (false, _) => 0,
                },
                escalated: match (alerted_down, was_alerted, prev) {
                    (true, true, Some(r)) => r.escalated,
                    _ => Default::default(),
                },
            },
        );
        self.prune_history();
        Ok(Some(self.last_seq.to_string()))
    }
}
