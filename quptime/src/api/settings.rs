//! Control methods for cluster-wide settings: `qu resolvers`, `qu canary`
//! and `qu settings` (the uptime history's retention).

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::Result;
use crate::state::{Mutation, Outcome, resolvers};
use crate::transport::Rpc;
use serde::{Deserialize, Serialize};

method!(/// `qu resolvers` / `qu resolvers list`: the cluster-wide DNS resolvers.
    GetResolvers, "resolvers.get", (), Vec<String>);
method!(/// `qu resolvers set|clear`: replace the cluster-wide DNS resolvers.
    SetResolvers, "resolvers.set", Vec<String>, Outcome);

method!(/// `qu settings`: the cluster-wide settings.
    GetSettings, "settings.get", (), ClusterSettings);
method!(/// `qu settings set`: change the given settings.
    SetSettings, "settings.set", SettingsPatch, Outcome);

/// The cluster-wide settings, as every node holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSettings {
    /// Days of uptime history kept per check (1 to 400, default 90).
    pub history_days: u32,
}

/// Settings to change; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsPatch {
    /// Days of uptime history kept per check (1 to 400).
    #[serde(default)]
    pub history_days: Option<u32>,
}

/// The cluster-wide settings now.
pub fn get_settings(c: &Cluster) -> ClusterSettings {
    ClusterSettings {
        history_days: c.state().history.days(),
    }
}

/// Change the settings `patch` gives (validated before proposing; a patch
/// with nothing in it is an error naming the flag).
pub async fn set_settings(c: &Cluster, patch: SettingsPatch) -> Result<Outcome> {
    let Some(days) = patch.history_days else {
        return Err(crate::error::Error::invalid_field(
            "history_days",
            "nothing to change: give --history-days DAYS",
        ));
    };
    crate::state::history::validate_days(days)?;
    c.propose(Mutation::SetHistoryDays { days }).await
}

method!(/// `qu canary show`: the canary's reference targets and who abstains.
    GetCanary, "canary.get", (), CanaryView);
method!(/// `qu canary set|clear`: replace the canary's reference targets.
    SetCanary, "canary.set", Vec<String>, Outcome);

/// What `qu canary show` says.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CanaryView {
    /// The cluster's reference targets (`qu canary set`).
    pub targets: Vec<String>,
    /// The answering node's own (`qu serve --canary-target`).
    pub node_targets: Vec<String>,
    /// The answering node.
    pub node: crate::identity::NodeId,
    /// Why the answering node abstains, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abstain: Option<String>,
    /// The monitor's health as agreed, once it first changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::state::canary::MonitorHealth>,
}

/// The canary as the node `c` sees it.
pub fn get_canary(c: &Cluster) -> CanaryView {
    let state = c.state();
    CanaryView {
        targets: state.canary_targets.clone(),
        node_targets: c.canary_targets(),
        node: c.node_id().clone(),
        abstain: c.abstaining(),
        monitor: state.monitor.clone(),
    }
}

/// Replace the canary's reference targets (validated before proposing).
pub async fn set_canary(c: &Cluster, list: Vec<String>) -> Result<Outcome> {
    let targets = crate::state::canary::validate("targets", &list)?;
    c.propose(Mutation::SetCanaryTargets { targets }).await
}

/// Replace the cluster-wide DNS resolvers (validated before proposing).
pub async fn set_resolvers(c: &Cluster, list: Vec<String>) -> Result<Outcome> {
    let resolvers = resolvers::validate(&list)?;
    c.propose(Mutation::SetDnsResolvers { resolvers }).await
}

/// Add the settings methods to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    routes!(router, cluster,
        GetResolvers => |c, ()| Ok(super::usecase::get_resolvers(&c)),
        SetResolvers => |c, list| set_resolvers(&c, list).await,
        GetSettings => |c, ()| Ok(get_settings(&c)),
        SetSettings => |c, patch| set_settings(&c, patch).await,
        GetCanary => |c, ()| Ok(get_canary(&c)),
        SetCanary => |c, list| set_canary(&c, list).await,
    )
}
