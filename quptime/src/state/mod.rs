//! The replicated state machine's data: peers, checks, alert channels and
//! enrollment tokens, and how a [`Command`] changes them.
//!
//! [`ClusterState::apply_with`] validates a mutation against the current state
//! and either applies all of it (bumping `version` by one) or nothing,
//! returning the reason. It is pure: no I/O, no clock (the proposer's time
//! travels in the command), so every node computes the same state from the
//! same log. `cluster.yaml` is a human-readable export of this state, not the
//! replication mechanism.
//!
//! It imports nothing that does I/O and nothing of the layers above it
//! (the tidy test, `quptime/tests/tidy.rs`, holds that): the one rule it
//! cannot know, each alert type's settings, belongs to the notifiers and
//! comes in as a [`SettingsCheck`] (`notify::validate` in a node).

pub mod api_token;
pub mod canary;
pub mod declared;
mod degraded;
pub mod depends;
pub use declared::MasterPin;
pub mod duration;
pub mod escalate;
pub mod fields;
pub mod flap;
pub mod history;
mod import;
mod level;
pub mod maintenance;
pub mod model;
pub mod mutation;
pub mod outbox;
pub mod policy;
pub mod probe;
pub mod probe_condition;
mod probe_dns;
mod probe_entries;
mod probe_fields;
mod probe_http;
pub(crate) mod probe_icmp;
pub mod probe_push;
pub(crate) mod probe_tcp;
mod record;
pub mod redact;
pub mod resolvers;
mod rotate;
pub mod route;
pub mod transition;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
pub use level::{STATE_LEVEL, check_loadable};
pub use model::{
    ALERT_TYPES, AlertChannel, Check, Enrollment, FIRST_ALERT_TYPES, PeerRecord, SettingsCheck,
};
pub use mutation::{Applied, Command, Mutation, Outcome, Rejected};
pub use outbox::{AlertKind, OutboxEntry};
pub use policy::{Labels, Policy, Quorum};
pub use probe::{
    CheckType, DnsProbe, DnsRecord, HttpMethod, HttpProbe, IcmpProbe, IpVersion, Probe,
    ProbeFields, PushProbe, StatusSpec, TcpProbe, TlsProbe,
};
pub use redact::mask_credentials;
pub use transition::{CheckRuntime, CheckState, Evidence, TransitionRecord};

/// Enrollment tokens are forgotten this long (seconds) after they expire.
const FORGET_TOKENS_AFTER: u64 = 7 * 24 * 3600;
/// At most this many enrollment tokens are on record.
pub const MAX_ENROLLMENTS: usize = 1000;

/// How many recent request ids are remembered to answer retries.
const DEDUP_WINDOW: usize = 4096;

/// Everything the cluster agrees on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Number of mutations applied so far (the `config ver` of `qu status`).
    pub version: u64,
    /// When the last mutation was proposed (RFC 3339 UTC).
    #[serde(default)]
    pub updated_at: String,
    /// Which node proposed it.
    #[serde(default)]
    pub updated_by: Option<NodeId>,
    /// Members, by id.
    #[serde(default)]
    pub peers: BTreeMap<NodeId, PeerRecord>,
    /// Ids of removed members; they may never return under the same id.
    #[serde(default)]
    pub removed: BTreeSet<NodeId>,
    /// Checks, by id.
    #[serde(default)]
    pub checks: BTreeMap<String, Check>,
    /// Alert channels, by id.
    #[serde(default)]
    pub alerts: BTreeMap<String, AlertChannel>,
    /// Enrollment tokens, by id.
    #[serde(default)]
    pub enrollments: BTreeMap<String, Enrollment>,
    /// Each check's agreed state.
    #[serde(default)]
    pub check_states: BTreeMap<String, CheckRuntime>,
    /// The most recent transitions, oldest first.
    #[serde(default)]
    pub transitions: VecDeque<TransitionRecord>,
    /// Sequence number of the last transition recorded.
    #[serde(default)]
    pub last_seq: u64,
    /// Notifications to send and their delivery, by id.
    #[serde(default)]
    pub outbox: BTreeMap<u64, OutboxEntry>,
    /// Id of the last outbox entry.
    #[serde(default)]
    pub last_outbox: u64,
    /// Results of recent commands by request id, for retried proposals.
    #[serde(default)]
    pub recent: VecDeque<(String, Applied)>,
    /// Cluster-wide DNS resolvers (`ip:port`) for dns checks without a
    /// resolver of their own; empty: each node's system configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_resolvers: Vec<String>,
    /// The highest state level among the mutations applied so far: a
    /// release with a lower [`STATE_LEVEL`] must not load this state.
    #[serde(default = "level::first")]
    pub level: u32,
    /// How much history is kept (`retention:` in `qu apply` files).
    #[serde(default)]
    pub retention: declared::Retention,
    /// The operator's preferred master (`qu leader transfer`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_pin: Option<declared::MasterPin>,
    /// Maintenance windows and silences, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub maintenance: BTreeMap<String, maintenance::MaintenanceWindow>,
    /// Uptime per check per UTC day (state level 5; absent before the
    /// master's first `HistoryTick`).
    #[serde(default, skip_serializing_if = "history::History::is_empty")]
    pub history: history::History,
    /// API tokens (hash only), by id (state level 5).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub api_tokens: BTreeMap<String, api_token::ApiToken>,
    /// The connectivity canary's reference targets, `qu canary set`
    /// (state level 6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canary_targets: Vec<String>,
    /// The monitor's own health: degraded while too few nodes can vote
    /// (state level 6; absent until it first changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<canary::MonitorHealth>,
}

impl ClusterState {
    /// Apply `cmd`: all of it or nothing (each arm of `mutate` checks before
    /// it writes). A request id seen before returns
    /// the earlier result without applying again.
    ///
    /// `settings` checks each alert channel's type-specific settings (the
    /// notifiers' rules: `notify::validate` in a node).
    pub fn apply_with(&mut self, cmd: &Command, settings: SettingsCheck) -> Applied {
        if let Some((_, earlier)) = self.recent.iter().find(|(id, _)| *id == cmd.request_id) {
            return earlier.clone();
        }
        // `mutate` validates everything before it changes anything, so a
        // rejected mutation leaves the state exactly as it was. The size
        // cap is checked by the proposer already; here it keeps an
        // oversized entry (from a peer that skipped the check) out of the
        // state and its snapshots.
        let checked = cmd
            .check_size()
            .and_then(|()| self.mutate(&cmd.mutation, cmd, settings));
        let result = match checked {
            Ok(id) => {
                self.level = self.level.max(cmd.mutation.required_level());
                // Transitions are runtime state, not configuration: the
                // config version counts configuration changes only.
                if !matches!(
                    cmd.mutation,
                    Mutation::RecordTransition { .. }
                        | Mutation::MarkDelivered { .. }
                        | Mutation::QueueReminder { .. }
                        | Mutation::PinMaster { .. }
                        | Mutation::ReleaseHeld { .. }
                        | Mutation::QueueEscalation { .. }
                        | Mutation::HistoryTick {}
                        | Mutation::TouchApiToken { .. }
                        | Mutation::SetMonitorDegraded { .. }
                        | Mutation::SetDegraded { .. }
                ) {
                    self.version += 1;
                    self.updated_at = rfc3339_ms(cmd.at_ms);
                    self.updated_by = Some(cmd.proposer.clone());
                }
                Ok(Outcome {
                    version: self.version,
                    id,
                })
            }
            Err(e) => Err(Rejected::from(e)),
        };
        self.recent
            .push_back((cmd.request_id.clone(), result.clone()));
        while self.recent.len() > DEDUP_WINDOW {
            self.recent.pop_front();
        }
        result
    }

    pub(crate) fn mutate(
        &mut self,
        m: &Mutation,
        cmd: &Command,
        settings: SettingsCheck,
    ) -> Result<Option<String>> {
        match m {
            Mutation::AddPeer { peer } => {
                peer.validate()?;
                if self.removed.contains(&peer.node_id) {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "node {} was removed from this cluster; a removed node cannot \
                             rejoin under the same id: re-initialise it (new data dir) and add it again",
                            peer.node_id
                        ),
                    ));
                }
                if let Some(other) = self
                    .peers
                    .values()
                    .find(|p| p.fingerprint == peer.fingerprint && p.node_id != peer.node_id)
                {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "key {} already belongs to member {}",
                            peer.fingerprint, other.node_id
                        ),
                    ));
                }
                self.peers.insert(peer.node_id.clone(), peer.clone());
                Ok(Some(peer.node_id.to_string()))
            }
            Mutation::RemovePeer { node_id } => {
                self.peers
                    .remove(node_id)
                    .ok_or_else(|| not_found("node", node_id.as_str()))?;
                self.removed.insert(node_id.clone());
                Ok(Some(node_id.to_string()))
            }
            Mutation::AddCheck { check } => {
                check.validate()?;
                model::room_for("checks", self.checks.len(), 1, model::MAX_CHECKS)?;
                if self.checks.contains_key(&check.id) {
                    return Err(exists("check id", &check.id));
                }
                if self.checks.values().any(|c| c.name == check.name) {
                    return Err(exists("check", &check.name));
                }
                self.check_alert_refs(&check.alerts)?;
                self.check_depends(check)?;
                self.checks.insert(check.id.clone(), check.clone());
                Ok(Some(check.id.clone()))
            }
            Mutation::UpdateCheck { check } => {
                check.validate()?;
                if !self.checks.contains_key(&check.id) {
                    return Err(not_found("check", &check.id));
                }
                if self
                    .checks
                    .values()
                    .any(|c| c.name == check.name && c.id != check.id)
                {
                    return Err(exists("check", &check.name));
                }
                self.check_alert_refs(&check.alerts)?;
                self.check_depends(check)?;
                self.checks.insert(check.id.clone(), check.clone());
                Ok(Some(check.id.clone()))
            }
            Mutation::RemoveCheck { check } => {
                let id = self.find_check(check)?.id.clone();
                self.checks.remove(&id);
                self.forget_parent(&id);
                self.check_states.remove(&id);
                self.history.checks.remove(&id);
                self.prune_history();
                Ok(Some(id))
            }
            Mutation::QueueReminder { check_id } => self.queue_reminder(check_id, cmd),
            Mutation::MarkDelivered { id, failed } => {
                let at = rfc3339_ms(cmd.at_ms);
                let e = self
                    .outbox
                    .get_mut(id)
                    .ok_or_else(|| not_found("outbox entry", &id.to_string()))?;
                if e.pending() {
                    match failed {
                        None => e.delivered_at = Some(at),
                        Some(why) => e.failed = Some(why.clone()),
                    }
                }
                self.prune_history();
                Ok(Some(id.to_string()))
            }
            Mutation::AddMaintenance { window } => {
                self.add_maintenance(window, cmd.at_ms)?;
                Ok(Some(window.id.clone()))
            }
            Mutation::RemoveMaintenance { id } => {
                // Count the time the window held up to now as maintenance.
                if let Some(w) = self.maintenance.get(id) {
                    for c in w.checks.clone() {
                        self.history_accrue(&c, cmd.at_ms);
                    }
                }
                self.remove_maintenance(id)?;
                Ok(Some(id.clone()))
            }
            Mutation::ClearSilence { check } => Ok(Some(self.clear_silence(check)?.join(","))),
            Mutation::ReleaseHeld { check_id } => {
                self.release_held(check_id, cmd.at_ms)?;
                Ok(Some(check_id.clone()))
            }
            Mutation::QueueEscalation { check_id, channel } => {
                self.queue_escalation(check_id, channel, cmd.at_ms)?;
                Ok(Some(check_id.clone()))
            }
            Mutation::HistoryTick {} => {
                self.history_tick(cmd.at_ms);
                Ok(None)
            }
            Mutation::SetHistoryDays { days } => {
                self.set_history_days(*days)?;
                Ok(None)
            }
            Mutation::SetFlapping { check_id, flapping } => {
                self.set_flapping(check_id, *flapping, cmd.at_ms)?;
                Ok(Some(check_id.clone()))
            }
            Mutation::SetDnsResolvers { resolvers } => {
                self.dns_resolvers = resolvers::validate(resolvers)?;
                Ok(None)
            }
            Mutation::SetDegraded {
                check_id,
                degraded,
                votes,
            } => {
                self.set_degraded(check_id, *degraded, votes)?;
                Ok(Some(check_id.clone()))
            }
            Mutation::SetCanaryTargets { targets } => {
                self.set_canary_targets(targets)?;
                Ok(None)
            }
            Mutation::SetMonitorDegraded {
                degraded,
                reason,
                abstaining,
            } => {
                self.set_monitor_degraded(*degraded, reason, abstaining, cmd)?;
                Ok(None)
            }
            Mutation::ApplyDeclaration { change } => self.apply_declaration(change, cmd, settings),
            Mutation::PinMaster { node, until_ms } => {
                self.pin_master(node, *until_ms)?;
                Ok(node.as_ref().map(|n| n.to_string()))
            }
            Mutation::ImportConfig {
                checks,
                alerts,
                dns_resolvers,
                retention,
            } => self.import_config(checks, alerts, dns_resolvers, retention.as_ref(), settings),
            Mutation::RotateKey {
                node_id,
                fingerprint,
                cert_pem,
            } => self.rotate_key(&cmd.proposer, node_id, fingerprint, cert_pem),
            Mutation::SetNodeLabels { node_id, labels } => self.set_node_labels(node_id, labels),
            Mutation::CreateApiToken { token } => self.add_api_token(token),
            Mutation::RevokeApiToken { token } => self.revoke_api_token(token),
            Mutation::TouchApiToken { id, at_ms } => self.touch_api_token(id, *at_ms),
            Mutation::RecordTransition {
                check_id,
                from,
                to,
                term,
                evidence,
            } => self.record_transition(check_id, *from, *to, *term, evidence, cmd),
            Mutation::AddAlert { alert } => {
                alert.validate(settings)?;
                model::room_for("alert channels", self.alerts.len(), 1, model::MAX_ALERTS)?;
                if self.alerts.contains_key(&alert.id) {
                    return Err(exists("alert id", &alert.id));
                }
                if self.alerts.values().any(|a| a.name == alert.name) {
                    return Err(exists("alert", &alert.name));
                }
                self.check_escalation_target(alert)?;
                self.alerts.insert(alert.id.clone(), alert.clone());
                Ok(Some(alert.id.clone()))
            }
            Mutation::UpdateAlert { alert } => {
                alert.validate(settings)?;
                if !self.alerts.contains_key(&alert.id) {
                    return Err(not_found("alert", &alert.id));
                }
                if self
                    .alerts
                    .values()
                    .any(|a| a.name == alert.name && a.id != alert.id)
                {
                    return Err(exists("alert", &alert.name));
                }
                self.check_escalation_target(alert)?;
                self.alerts.insert(alert.id.clone(), alert.clone());
                Ok(Some(alert.id.clone()))
            }
            Mutation::RemoveAlert { alert } => {
                let id = self.find_alert(alert)?.id.clone();
                self.alerts.remove(&id);
                for check in self.checks.values_mut() {
                    check.alerts.retain(|a| *a != id);
                    check.suppress_alerts.retain(|a| *a != id);
                }
                Ok(Some(id))
            }
            Mutation::CreateEnrollment { enrollment } => {
                enrollment.validate()?;
                if self.enrollments.contains_key(&enrollment.id) {
                    return Err(exists("enrollment", &enrollment.id));
                }
                // Bounded: tokens used or expired a week ago are forgotten
                // (until then `qu enroll list` shows them), and at most
                // MAX_ENROLLMENTS are kept.
                let now = cmd.at_ms / 1000;
                let keep = |e: &Enrollment| e.expires_at.saturating_add(FORGET_TOKENS_AFTER) > now;
                let live = self.enrollments.values().filter(|e| keep(e)).count();
                if live >= MAX_ENROLLMENTS {
                    return Err(Error::invalid(format!(
                        "{live} enrollment tokens are on record, the most this cluster keeps: \
                         revoke unused ones first"
                    ))
                    .with_hint("`qu enroll revoke <id>`, see `qu enroll list`"));
                }
                self.enrollments.retain(|_, e| keep(e));
                self.enrollments
                    .insert(enrollment.id.clone(), enrollment.clone());
                Ok(Some(enrollment.id.clone()))
            }
            Mutation::RequestEnrollment { id, peer } => {
                peer.validate()?;
                let e = self
                    .enrollments
                    .get_mut(id)
                    .ok_or_else(|| not_found("enrollment", id))?;
                if e.used {
                    return Err(Error::invalid(format!(
                        "enrollment token {id} was already used"
                    )));
                }
                match &e.request {
                    Some(r) if r.fingerprint != peer.fingerprint => {
                        return Err(Error::invalid(format!(
                            "enrollment token {id} was already presented by node {}",
                            r.node_id
                        )));
                    }
                    _ => e.request = Some(peer.clone()),
                }
                if e.auto_approve {
                    e.approved = true;
                }
                Ok(Some(id.clone()))
            }
            Mutation::ApproveEnrollment { id } => {
                let e = self
                    .enrollments
                    .get_mut(id)
                    .ok_or_else(|| not_found("enrollment", id))?;
                if e.request.is_none() {
                    return Err(Error::invalid(format!(
                        "enrollment {id} has no join request yet: the new host must present \
                         the token first"
                    ))
                    .with_hint("run `qu enroll join` on the new host"));
                }
                e.approved = true;
                Ok(Some(id.clone()))
            }
            Mutation::RevokeEnrollment { id } => {
                self.enrollments
                    .remove(id)
                    .ok_or_else(|| not_found("enrollment", id))?;
                Ok(Some(id.clone()))
            }
            Mutation::ConsumeEnrollment { id } => {
                let e = self
                    .enrollments
                    .get_mut(id)
                    .ok_or_else(|| not_found("enrollment", id))?;
                e.used = true;
                Ok(Some(id.clone()))
            }
        }
    }

    pub(crate) fn check_alert_refs(&self, alerts: &[String]) -> Result<()> {
        for a in alerts {
            if !self.alerts.contains_key(a) {
                return Err(not_found("alert", a));
            }
        }
        Ok(())
    }

    /// Find a check by id or name.
    pub fn find_check(&self, key: &str) -> Result<&Check> {
        self.checks
            .get(key)
            .or_else(|| self.checks.values().find(|c| c.name == key))
            .ok_or_else(|| not_found("check", key))
    }

    /// Find an alert channel by id or name.
    pub fn find_alert(&self, key: &str) -> Result<&AlertChannel> {
        self.alerts
            .get(key)
            .or_else(|| self.alerts.values().find(|a| a.name == key))
            .ok_or_else(|| not_found("alert", key))
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC (seconds precision).
pub(crate) fn rfc3339_ms(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

pub(crate) fn not_found(what: &str, key: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no {what} {key:?} in this cluster"),
    )
    .with_hint(format!("list them with `qu {} list`", list_cmd(what)))
}

fn exists(what: &str, key: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "{what} {key:?} already exists: pick another name, or edit or remove the existing one"
        ),
    )
}

fn list_cmd(what: &str) -> &str {
    match what {
        "node" => "node",
        "alert" => "alert",
        "enrollment" => "enroll",
        _ => "check",
    }
}

#[cfg(test)]
mod tests;
