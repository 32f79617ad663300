//! Escalation, the master's part, decided without I/O: when to propose
//! `QueueEscalation` (the rule is `state::escalate`, asked again at apply
//! with the proposer's clock).
//!
//! The book only stops a proposal from being repeated every tick: it is
//! proposed again after [`REPROPOSE_AFTER`] if it did not commit. A new
//! master starts with an empty book and the replicated record of which
//! channels escalated (`CheckRuntime::escalated`), so a failover in the
//! middle of the delay neither loses the escalation nor sends it twice.

use std::collections::HashMap;
use std::time::Instant;

use super::deliver::{Now, REPROPOSE_AFTER};
use crate::state::{ClusterState, Mutation};

/// Proposed escalations: (check id, source channel id) → when.
#[derive(Debug, Default)]
pub(crate) struct EscalationBook(HashMap<(String, String), Instant>);

impl EscalationBook {
    /// The `QueueEscalation` proposals due at `now`.
    pub(crate) fn due(&mut self, state: &ClusterState, now: Now) -> Vec<Mutation> {
        let mut due = Vec::new();
        for id in state.checks.keys() {
            for (source, _) in state.escalations_due(id, now.wall_ms) {
                due.push((id.clone(), source));
            }
        }
        self.0.retain(|k, _| due.contains(k));
        let mut out = Vec::new();
        for key in due {
            if self
                .0
                .get(&key)
                .is_some_and(|at| now.at.saturating_duration_since(*at) < REPROPOSE_AFTER)
            {
                continue;
            }
            self.0.insert(key.clone(), now.at);
            out.push(Mutation::QueueEscalation {
                check_id: key.0,
                channel: key.1,
            });
        }
        out
    }
}
