//! Per-channel degraded alerting (state level 6): an UP check with a
//! minority of its judging nodes failing is shown `degraded` live; once the
//! master saw it so for the check's rounds it proposes `SetDegraded`, and
//! applying it queues one DEGRADED notice per channel of the check that
//! asks for the `degraded` event (opt-in: a channel without an `events`
//! setting hears nothing new), and one "degraded cleared" when it clears.
//! The same value again is nothing, so a new master re-proposing it sends
//! no second notice; any transition of the check clears the flag silently
//! (a DOWN or RECOVERED says more).

use super::{AlertKind, CheckState, ClusterState, OutboxEntry, outbox, route};
use crate::aggregate::{Evidence, MAX_DETAIL};
use crate::error::{Error, ErrorKind, Result};

/// At most this many votes are kept with the flag.
const MAX_VOTES: usize = 256;

impl ClusterState {
    /// Apply `SetDegraded`: validated first; a change of the flag of an UP
    /// check queues its notices.
    pub(crate) fn set_degraded(
        &mut self,
        check_id: &str,
        degraded: bool,
        votes: &[Evidence],
    ) -> Result<()> {
        let check = self
            .checks
            .get(check_id)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no check {check_id}")))?;
        if votes.len() > MAX_VOTES || votes.iter().any(|v| v.detail.len() > MAX_DETAIL) {
            return Err(Error::invalid_field(
                "votes",
                format!("at most {MAX_VOTES} votes of at most {MAX_DETAIL} bytes of detail each"),
            ));
        }
        let Some(rt) = self.check_states.get(check_id) else {
            return Ok(());
        };
        if rt.degraded == degraded || (degraded && rt.state != CheckState::Up) {
            return Ok(());
        }
        let channels: Vec<String> = outbox::channels_for(self, check)
            .into_iter()
            .filter(|c| {
                self.alerts
                    .get(c)
                    .is_some_and(|a| route::routes_explicitly(a, "degraded"))
            })
            .collect();
        // Announced with the check's last transition (its entry into UP):
        // the delivery engine orders it with the check's other notices.
        let seq = self
            .transitions
            .iter()
            .rev()
            .find(|t| t.check_id == check_id)
            .map_or(0, |t| t.seq);
        if let Some(rt) = self.check_states.get_mut(check_id) {
            rt.degraded = degraded;
            rt.degraded_votes = if degraded { votes.to_vec() } else { Vec::new() };
        }
        if seq == 0 {
            return Ok(());
        }
        let kind = if degraded {
            AlertKind::Degraded
        } else {
            AlertKind::DegradedCleared
        };
        for channel in channels {
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
                    incident: None,
                },
            );
        }
        Ok(())
    }
}
