//! Flap control, the master's part, decided without I/O: when to propose
//! `SetFlapping` (the rule is `state::flap`, asked again at apply).
//!
//! The book only stops a proposal from being repeated every tick: it is
//! proposed again after [`REPROPOSE_AFTER`] if it did not commit. A new
//! master starts with an empty book and the replicated `flapping` flag, so
//! a failover never sends FLAPPING twice (applying a second start is
//! refused by the rule).

use std::collections::HashMap;
use std::time::Instant;

use super::deliver::{Now, REPROPOSE_AFTER};
use crate::state::{ClusterState, Mutation};

/// Proposed flap changes: check id → (to flapping or not, when).
#[derive(Debug, Default)]
pub(crate) struct FlapBook(HashMap<String, (bool, Instant)>);

impl FlapBook {
    /// The `SetFlapping` proposals due at `now`.
    pub(crate) fn due(&mut self, state: &ClusterState, now: Now) -> Vec<Mutation> {
        self.0.retain(|id, (to, _)| {
            state
                .check_states
                .get(id)
                .is_some_and(|r| r.flapping != *to)
        });
        let mut out = Vec::new();
        for id in state.checks.keys() {
            let Some(flapping) = state.flap_due(id, now.wall_ms) else {
                continue;
            };
            if self.0.get(id).is_some_and(|(to, at)| {
                *to == flapping && now.at.saturating_duration_since(*at) < REPROPOSE_AFTER
            }) {
                continue;
            }
            self.0.insert(id.clone(), (flapping, now.at));
            out.push(Mutation::SetFlapping {
                check_id: id.clone(),
                flapping,
            });
        }
        out
    }
}
