//! Whole-file configuration changes (`qu apply -f`), the history retention
//! policy and the operator's master preference, as replicated rules.
//!
//! A declaration file becomes ONE [`DeclaredChange`]: applying it is
//! validated as a whole against a copy of the state and swapped in only if
//! every part passes, so a file with one bad check changes nothing. It
//! names the config version it was planned against, so a plan shown to an
//! operator is never applied over changes made since.
//!
//! Retention keeps the replicated history (and so snapshots and disk use)
//! bounded over months: the last N transitions per check and the last M
//! finished notifications per check. It is replicated, not per node,
//! because pruning is part of `apply` and every node must prune alike.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::NodeId;
use crate::state::{AlertChannel, Check, ClusterState, Command, Mutation, SettingsCheck};

/// Default transitions kept per check.
pub const DEFAULT_KEEP_TRANSITIONS: u32 = 100;
/// Default finished (delivered or abandoned) notifications kept per check.
pub const DEFAULT_KEEP_DELIVERED: u32 = 100;
/// Largest accepted value of either retention knob.
pub const MAX_KEEP: u32 = 10_000;

/// How much history the replicated state keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Transitions kept per check (oldest dropped first); default 100.
    #[serde(default = "default_transitions")]
    pub transitions_per_check: u32,
    /// Delivered or abandoned notifications kept per check; default 100.
    #[serde(default = "default_delivered")]
    pub delivered_per_check: u32,
}

fn default_transitions() -> u32 {
    DEFAULT_KEEP_TRANSITIONS
}

fn default_delivered() -> u32 {
    DEFAULT_KEEP_DELIVERED
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            transitions_per_check: DEFAULT_KEEP_TRANSITIONS,
            delivered_per_check: DEFAULT_KEEP_DELIVERED,
        }
    }
}

impl Retention {
    /// Both knobs within 1..=[`MAX_KEEP`].
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("transitions_per_check", self.transitions_per_check),
            ("delivered_per_check", self.delivered_per_check),
        ] {
            if !(1..=MAX_KEEP).contains(&v) {
                return Err(Error::invalid(format!(
                    "retention {field} {v}: use a number from 1 to {MAX_KEEP}"
                )));
            }
        }
        Ok(())
    }
}

/// One declaration applied as a single change. Records are complete (ids
/// assigned, alert names resolved to ids) and matched by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredChange {
    /// The config version the change was planned against; a different
    /// current version rejects it.
    pub base_version: u64,
    /// Alert channels to add or replace.
    #[serde(default)]
    pub alerts: Vec<AlertChannel>,
    /// Checks to add or replace.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Ids of checks to remove.
    #[serde(default)]
    pub remove_checks: Vec<String>,
    /// Ids of alert channels to remove.
    #[serde(default)]
    pub remove_alerts: Vec<String>,
    /// A new retention policy.
    #[serde(default)]
    pub retention: Option<Retention>,
    /// New cluster-wide DNS resolvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_resolvers: Option<Vec<String>>,
    /// New canary reference targets (state level 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_targets: Option<Vec<String>>,
}

impl DeclaredChange {
    /// Whether applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
            && self.checks.is_empty()
            && self.remove_checks.is_empty()
            && self.remove_alerts.is_empty()
            && self.retention.is_none()
            && self.dns_resolvers.is_none()
            && self.canary_targets.is_none()
    }
}

/// The operator's choice of master (`qu leader transfer`), until a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterPin {
    /// The preferred master.
    pub node: NodeId,
    /// Until when (ms since the epoch, the proposer's clock).
    pub until_ms: u64,
}

impl ClusterState {
    /// Apply `change` to a copy and keep the copy only if every part passed.
    pub(crate) fn apply_declaration(
        &mut self,
        change: &DeclaredChange,
        cmd: &Command,
        settings: SettingsCheck,
    ) -> Result<Option<String>> {
        if change.base_version != self.version {
            return Err(Error::invalid(format!(
                "the configuration changed while the plan was made (config ver {} now, {} when \
                 planned): run `qu apply` again to see the new difference",
                self.version, change.base_version
            )));
        }
        let mut next = self.clone();
        for id in &change.remove_checks {
            next.mutate(&Mutation::RemoveCheck { check: id.clone() }, cmd, settings)?;
        }
        for alert in &change.alerts {
            let m = if next.alerts.contains_key(&alert.id) {
                Mutation::UpdateAlert {
                    alert: alert.clone(),
                }
            } else {
                Mutation::AddAlert {
                    alert: alert.clone(),
                }
            };
            next.mutate(&m, cmd, settings).map_err(|e| {
                Error::new(e.kind(), format!("alert {}: {}", alert.name, e.message()))
            })?;
        }
        for id in &change.remove_alerts {
            next.mutate(&Mutation::RemoveAlert { alert: id.clone() }, cmd, settings)?;
        }
        for check in &change.checks {
            let m = if next.checks.contains_key(&check.id) {
                Mutation::UpdateCheck {
                    check: check.clone(),
                }
            } else {
                Mutation::AddCheck {
                    check: check.clone(),
                }
            };
            next.mutate(&m, cmd, settings).map_err(|e| {
                let out = Error::new(e.kind(), format!("check {}: {}", check.name, e.message()));
                match e.field() {
                    Some(f) => out.with_field(f),
                    None => out,
                }
            })?;
            next.check_alert_refs(&check.suppress_alerts)?;
        }
        if let Some(r) = change.retention {
            r.validate()?;
            next.retention = r;
        }
        if let Some(list) = &change.dns_resolvers {
            next.dns_resolvers = super::resolvers::validate(list)?;
        }
        if let Some(list) = &change.canary_targets {
            next.set_canary_targets(list)?;
        }
        next.prune_history();
        *self = next;
        Ok(None)
    }

    /// Record the operator's preferred master (or clear it).
    pub(crate) fn pin_master(&mut self, node: &Option<NodeId>, until_ms: u64) -> Result<()> {
        self.master_pin = match node {
            Some(n) => {
                if !self.peers.contains_key(n) {
                    return Err(Error::new(
                        crate::ErrorKind::NotFound,
                        format!("no node {n} in this cluster"),
                    )
                    .with_hint("list them with `qu node list`"));
                }
                Some(MasterPin {
                    node: n.clone(),
                    until_ms,
                })
            }
            None => None,
        };
        Ok(())
    }

    /// The pinned master if the pin is still valid at `now_ms`.
    pub fn pinned_master(&self, now_ms: u64) -> Option<&NodeId> {
        self.master_pin
            .as_ref()
            .filter(|p| p.until_ms > now_ms)
            .map(|p| &p.node)
    }

    /// Drop history beyond the retention policy: per check, the oldest
    /// transitions beyond `transitions_per_check` and all transitions of
    /// removed checks, except those a pending notification still needs;
    /// then finished notifications whose transition is gone, and per check
    /// the oldest beyond `delivered_per_check`.
    pub(crate) fn prune_history(&mut self) {
        let keep_t = self.retention.transitions_per_check as usize;
        let keep_d = self.retention.delivered_per_check as usize;
        let needed: BTreeSet<u64> = self
            .outbox
            .values()
            .filter(|e| e.pending() && !e.kind.is_monitor())
            .map(|e| e.transition)
            .collect();
        let mut per_check: BTreeMap<&str, usize> = BTreeMap::new();
        let mut keep = BTreeSet::new();
        for t in self.transitions.iter().rev() {
            let n = per_check.entry(t.check_id.as_str()).or_default();
            let live = self.checks.contains_key(&t.check_id);
            if needed.contains(&t.seq) || (live && *n < keep_t) {
                keep.insert(t.seq);
            }
            *n += 1;
        }
        if keep.len() != self.transitions.len() {
            self.transitions.retain(|t| keep.contains(&t.seq));
        }
        let check_of: BTreeMap<u64, &str> = self
            .transitions
            .iter()
            .map(|t| (t.seq, t.check_id.as_str()))
            .collect();
        let mut done_per_check: BTreeMap<&str, usize> = BTreeMap::new();
        let mut drop = Vec::new();
        for e in self.outbox.values().rev().filter(|e| !e.pending()) {
            match check_of.get(&e.transition) {
                Some(check) => {
                    let n = done_per_check.entry(check).or_default();
                    *n += 1;
                    if *n > keep_d {
                        drop.push(e.id);
                    }
                }
                None => drop.push(e.id),
            }
        }
        for id in drop {
            self.outbox.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{CheckState, CheckType};

    fn cmd(m: Mutation) -> Command {
        Command::new(NodeId::new("n1").expect("id"), m)
    }

    fn apply(state: &mut ClusterState, m: Mutation) {
        state.apply(&cmd(m)).expect("applies");
    }

    /// Flip `check` `n` times (unknown → up → down → up …), delivering
    /// every notification queued.
    fn flap(state: &mut ClusterState, check: &str, n: usize) {
        for _ in 0..n {
            let from = state
                .check_states
                .get(check)
                .map_or(CheckState::Unknown, |r| r.state);
            let to = if from == CheckState::Up {
                CheckState::Down
            } else {
                CheckState::Up
            };
            apply(
                state,
                Mutation::RecordTransition {
                    check_id: check.into(),
                    from,
                    to,
                    term: 1,
                    evidence: Vec::new(),
                },
            );
            let pending: Vec<u64> = state
                .outbox
                .values()
                .filter(|e| e.pending())
                .map(|e| e.id)
                .collect();
            for id in pending {
                apply(state, Mutation::MarkDelivered { id, failed: None });
            }
        }
    }

    #[test]
    fn history_is_kept_per_check_and_dropped_with_the_check() {
        let mut state = ClusterState::default();
        let mut alert = AlertChannel {
            id: "h".into(),
            name: "hook".into(),
            kind: "webhook".into(),
            default: true,
            disabled: false,
            settings: Default::default(),
        };
        alert
            .settings
            .insert("url".into(), "http://127.0.0.1:9/hook".into());
        apply(&mut state, Mutation::AddAlert { alert });
        for id in ["a", "b"] {
            let mut c = Check::blank(CheckType::Tcp);
            c.id = id.into();
            c.name = format!("check-{id}");
            c.target = "127.0.0.1:9".into();
            apply(&mut state, Mutation::AddCheck { check: c });
        }
        let change = DeclaredChange {
            base_version: state.version,
            retention: Some(Retention {
                transitions_per_check: 40,
                delivered_per_check: 30,
            }),
            ..DeclaredChange::default()
        };
        apply(&mut state, Mutation::ApplyDeclaration { change });
        flap(&mut state, "a", 300);
        flap(&mut state, "b", 10);
        let count =
            |s: &ClusterState, id: &str| s.transitions.iter().filter(|t| t.check_id == id).count();
        assert_eq!(count(&state, "a"), 40);
        assert_eq!(count(&state, "b"), 10);
        assert_eq!(state.last_seq, 310);
        assert_eq!(state.transitions.back().map(|t| t.seq), Some(310));
        // 300 flips of a queued ~300 alerts; 30 finished ones are kept for a.
        let done_for = |s: &ClusterState, id: &str| {
            s.outbox
                .values()
                .filter(|e| {
                    s.transitions
                        .iter()
                        .any(|t| t.seq == e.transition && t.check_id == id)
                })
                .count()
        };
        assert_eq!(done_for(&state, "a"), 30);
        // b: unknown → up announces nothing, the 9 flips after it do.
        assert_eq!(done_for(&state, "b"), 9, "b's entries are within the bound");
        assert_eq!(state.outbox.len(), 39);
        apply(&mut state, Mutation::RemoveCheck { check: "b".into() });
        assert_eq!(
            count(&state, "b"),
            0,
            "a removed check's history goes with it"
        );
        assert_eq!(state.outbox.len(), 30);
        // A smaller policy applies at once.
        let change = DeclaredChange {
            base_version: state.version,
            retention: Some(Retention {
                transitions_per_check: 1,
                delivered_per_check: 1,
            }),
            ..DeclaredChange::default()
        };
        apply(&mut state, Mutation::ApplyDeclaration { change });
        assert_eq!(count(&state, "a"), 1);
        assert_eq!(state.outbox.len(), 1);
    }
}
