//! Dependencies between checks (`--depends-on gateway`) and the one rule
//! "what holds back this check's DOWN".
//!
//! A check names the checks it depends on (its parents, by id). While a
//! parent is down, the child's DOWN is held back exactly as a maintenance
//! window holds it (`CheckRuntime::held`): the child keeps being probed
//! and judged, shows `blocked by <parent>`, and once no parent is down and
//! no window holds it while it is still down, the master releases that
//! DOWN, once (`Mutation::ReleaseHeld`). A child that recovers first is
//! never announced. Only the direct parents are asked: a grandparent that
//! is down takes its child down with it, which then blocks ours.
//!
//! The references are validated at apply, on every node: each parent
//! exists, a check does not depend on itself, and the graph has no cycle
//! (a cycle would let two checks block each other forever). Removing a
//! check drops it from its children's lists.

use crate::error::{Error, ErrorKind, Result};
use crate::state::{Check, CheckState, ClusterState};

/// Most checks one check depends on.
pub const MAX_DEPENDS: usize = 16;

impl ClusterState {
    /// The parents of `check_id` that are down now, by id, in the order
    /// the check names them.
    pub fn blocked_by(&self, check_id: &str) -> Vec<String> {
        let Some(check) = self.checks.get(check_id) else {
            return Vec::new();
        };
        check
            .depends_on
            .iter()
            .filter(|p| {
                self.check_states
                    .get(*p)
                    .is_some_and(|r| r.state == CheckState::Down)
            })
            .cloned()
            .collect()
    }

    /// Whether the DOWN of `check_id` is held back at `t_ms`: a
    /// maintenance window holds the check, or a parent is down. The one
    /// rule applying a transition, the master's release and applying
    /// `ReleaseHeld` ask.
    pub fn holds_back(&self, check_id: &str, t_ms: u64) -> bool {
        self.in_maintenance(check_id, t_ms).is_some() || !self.blocked_by(check_id).is_empty()
    }

    /// Refuse `check`'s dependencies unless each names an existing other
    /// check and, with `check` in place, no cycle forms.
    pub(crate) fn check_depends(&self, check: &Check) -> Result<()> {
        for p in &check.depends_on {
            if *p == check.id {
                return Err(Error::invalid_field(
                    "depends_on",
                    format!("check {} cannot depend on itself", check.name),
                ));
            }
            if !self.checks.contains_key(p) {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no check {p:?} in this cluster"),
                )
                .with_field("depends_on")
                .with_hint("list them with `qu check list`"));
            }
        }
        // Walk up from `check`'s parents; reaching `check` again is a cycle.
        let parents = |id: &str| -> Vec<String> {
            if id == check.id {
                return check.depends_on.clone();
            }
            self.checks
                .get(id)
                .map_or_else(Vec::new, |c| c.depends_on.clone())
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = check.depends_on.clone();
        while let Some(id) = todo.pop() {
            if id == check.id {
                return Err(Error::invalid_field(
                    "depends_on",
                    format!(
                        "check {} would depend on itself through its dependencies \
                         (a cycle): remove one of the links first",
                        check.name
                    ),
                ));
            }
            if seen.insert(id.clone()) {
                todo.extend(parents(&id));
            }
        }
        Ok(())
    }

    /// The checks that name `id` as a parent forget it (it was removed).
    pub(crate) fn forget_parent(&mut self, id: &str) {
        for c in self.checks.values_mut() {
            c.depends_on.retain(|p| p != id);
        }
    }
}

#[cfg(test)]
#[path = "depends_tests.rs"]
mod tests;
