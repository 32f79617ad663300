//! `qu status` as data: term, master, quorum, config version and the
//! members with their liveness, the same fields on every node.

use serde::{Deserialize, Serialize};

use crate::cluster::Core;
use crate::identity::NodeId;

/// One member as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerStatus {
    /// Its id.
    #[schema(value_type = String)]
    pub node_id: NodeId,
    /// Where it is dialled.
    pub advertise: String,
    /// Reachable from this node right now.
    pub live: bool,
    /// Last successful contact (RFC 3339 UTC), if any.
    pub last_seen: Option<String>,
    /// Whether it votes (learners are still catching up).
    pub voter: bool,
    /// Whether it is the node that answered this status.
    pub this_node: bool,
    /// Its labels (`region=eu`); left out when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub labels: crate::state::Labels,
    /// Why it abstains (its connectivity canary fails: its results are not
    /// counted), if it does: this node's own word, the master's for the
    /// others (learned with the checks' tallies, so only while some check
    /// exists); left out when it votes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abstain: Option<String>,
}

/// One check in a status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckStatus {
    /// Check id.
    pub id: String,
    /// Check name.
    pub name: String,
    /// Probe type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Target.
    pub target: String,
    /// `up`, `down` or `unknown`.
    pub state: String,
    /// Whether the check is disabled.
    pub disabled: bool,
    /// Members whose latest result is a success.
    pub ok: usize,
    /// Members with a fresh result.
    pub total: usize,
    /// Alert channel names; default channels end with `*`.
    pub alerts: Vec<String>,
    /// Short detail of the latest failure, if any.
    pub detail: String,
    /// Each member's fresh result as the master holds it (node, ok,
    /// latency, detail); empty when the master cannot be asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub votes: Vec<crate::state::Evidence>,
    /// When the check entered its state (RFC 3339 UTC), if it ever changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Its most recent committed transition still in the history, with
    /// the evidence that decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub last_transition: Option<crate::state::TransitionRecord>,
    /// Up, but some judging nodes fail (fewer than its quorum); left out
    /// when not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
    /// Why its policy cannot decide (it is unknown), when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// In a maintenance window now (its DOWN, if any, is held back).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub maintenance: bool,
    /// When the window holding it ends (RFC 3339 UTC), while in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_until: Option<String>,
    /// The open incident's key (`quptime-<check id>-<seq>`, the one the
    /// DOWN and its RECOVERED carry) while a DOWN is announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The names of the checks it depends on that are down now (its DOWN,
    /// if any, is held back); left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    /// Its uptime % over 24 h / 7 d / 30 d / 90 d from the replicated
    /// history (the status page's figures); left out before it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<crate::state::history::UptimeFigures>,
}

/// A node's status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Status {
    /// The answering node.
    #[schema(value_type = String)]
    pub node_id: NodeId,
    /// Raft term.
    pub term: u64,
    /// The master, if one is known and holds a quorum.
    #[schema(value_type = Option<String>)]
    pub master: Option<NodeId>,
    /// Whether the cluster has a quorum, as seen from here.
    pub quorum: bool,
    /// Votes needed for a quorum.
    pub need: usize,
    /// Number of applied mutations.
    pub config_version: u64,
    /// Whether this node performs master duties now.
    pub is_master: bool,
    /// The members.
    pub peers: Vec<PeerStatus>,
    /// The checks.
    pub checks: Vec<CheckStatus>,
    /// How old, at most, the evidence behind LIVE and `quorum` is
    /// (milliseconds): one heartbeat plus the longest election timeout.
    #[serde(default)]
    pub live_within_ms: u64,
    /// The master chosen by `qu leader transfer`, while that choice holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_master: Option<PinnedMaster>,
    /// Why this node cannot commit or apply now (its disk is below the
    /// reserve, or its Raft stopped): what `/healthz` answers with 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy: Option<String>,
}

/// A master chosen by hand, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinnedMaster {
    /// The chosen node.
    #[schema(value_type = String)]
    pub node_id: NodeId,
    /// When the choice ends (RFC 3339 UTC).
    pub until: String,
}

impl Core {
    /// Whether `id` takes part in the cluster as seen from here (see
    /// [`super::liveness`] for what counts).
    pub(crate) fn peer_live(&self, id: &NodeId, view: &crate::consensus::RaftView) -> bool {
        use super::liveness::{Relation, judge, live_within};
        let rel = if id == self.me() {
            Relation::Myself
        } else if self.consensus.has_lease() {
            Relation::Follower
        } else if view.leader.as_ref() == Some(id) {
            Relation::Master
        } else {
            Relation::Fellow
        };
        let mut ages = self.liveness.ages(id);
        ages.acked = self.consensus.acked_age(id);
        ages.appended = self.consensus.last_append_from(id).map(|t| t.elapsed());
        judge(rel, ages, live_within(self.consensus.timing()))
    }

    pub(crate) fn status(
        &self,
        live: std::collections::HashMap<String, crate::cluster::Summary>,
    ) -> Status {
        let view = self.consensus.view();
        let state = self.state();
        let is_master = self.acting_master();
        let leader_live = view
            .leader
            .as_ref()
            .is_some_and(|l| self.peer_live(l, &view));
        let quorum = if view.leader.as_ref() == Some(self.me()) {
            is_master
        } else {
            leader_live
        };
        let mut ids: Vec<NodeId> = state.peers.keys().cloned().collect();
        for id in view.voters.keys().chain(view.learners.keys()) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids.sort();
        let mut abstaining: std::collections::BTreeMap<NodeId, String> = live
            .values()
            .flat_map(|s| s.abstaining.iter().cloned())
            .collect();
        match self.abstain_reason() {
            Some(why) => abstaining.insert(self.me().clone(), why),
            None => abstaining.remove(self.me()),
        };
        let peers = ids
            .into_iter()
            .map(|id| {
                let (_, seen) = self.liveness.get(&id);
                let live = self.peer_live(&id, &view);
                let advertise = state
                    .peers
                    .get(&id)
                    .map(|p| p.advertise.clone())
                    .or_else(|| {
                        view.voters
                            .get(&id)
                            .or(view.learners.get(&id))
                            .map(|m| m.addr.clone())
                    })
                    .unwrap_or_default();
                PeerStatus {
                    abstain: abstaining.get(&id).cloned(),
                    labels: state
                        .peers
                        .get(&id)
                        .map(|p| p.labels.clone())
                        .unwrap_or_default(),
                    voter: view.voters.contains_key(&id),
                    this_node: id == *self.me(),
                    node_id: id,
                    advertise,
                    live,
                    last_seen: seen.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
                }
            })
            .collect();
        let now_ms = crate::state::mutation::now_ms();
        let checks = state
            .checks
            .values()
            .map(|c| {
                let mut alerts: Vec<String> = c
                    .alerts
                    .iter()
                    .filter_map(|a| state.alerts.get(a).map(|x| x.name.clone()))
                    .collect();
                for d in state.alerts.values().filter(|a| a.default) {
                    alerts.push(format!("{}*", d.name));
                }
                let tally = live.get(&c.id).cloned().unwrap_or_default();
                let until = state.in_maintenance(&c.id, now_ms);
                let rt = state.check_states.get(&c.id);
                let agreed = rt.map_or(crate::state::CheckState::Unknown, |r| r.state);
                CheckStatus {
                    uptime: state.uptime_figures(&c.id),
                    degraded: tally.degraded && agreed == crate::state::CheckState::Up,
                    reason: tally.reason.clone(),
                    maintenance: until.is_some(),
                    maintenance_until: until.map(rfc3339_ms),
                    blocked_by: state
                        .blocked_by(&c.id)
                        .iter()
                        .filter_map(|p| state.checks.get(p).map(|x| x.name.clone()))
                        .collect(),
                    incident: rt
                        .filter(|r| r.alerted_down && r.incident != 0)
                        .map(|r| crate::notify::incident_key(&c.id, r.incident)),
                    id: c.id.clone(),
                    name: c.name.clone(),
                    kind: c.kind().as_str().to_string(),
                    target: crate::state::mask_credentials(&c.target).into_owned(),
                    state: state
                        .check_states
                        .get(&c.id)
                        .map_or("unknown", |r| r.state.as_str())
                        .to_string(),
                    disabled: c.disabled,
                    ok: tally.ok,
                    total: tally.total,
                    alerts,
                    detail: crate::state::mask_credentials(&tally.detail).into_owned(),
                    votes: tally.votes,
                    since: state.check_states.get(&c.id).map(|r| r.since.clone()),
                    last_transition: state
                        .transitions
                        .iter()
                        .rev()
                        .find(|t| t.check_id == c.id)
                        .cloned(),
                }
            })
            .collect();
        let pinned_master = state
            .master_pin
            .as_ref()
            .filter(|p| p.until_ms > now_ms)
            .map(|p| PinnedMaster {
                node_id: p.node.clone(),
                until: rfc3339_ms(p.until_ms),
            });
        Status {
            checks,
            pinned_master,
            unhealthy: self.consensus.health().err(),
            node_id: self.me().clone(),
            term: view.term,
            master: if quorum { view.leader.clone() } else { None },
            quorum,
            need: view.voters.len().max(1) / 2 + 1,
            config_version: state.version,
            live_within_ms: super::liveness::live_within(self.consensus.timing()).as_millis()
                as u64,
            is_master,
            peers,
        }
    }
}

/// `ms` since the epoch as RFC 3339 UTC to the second.
fn rfc3339_ms(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}
