//! Control methods for cluster-wide settings: `qu resolvers`, `qu canary`.

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::Result;
use crate::state::{Mutation, Outcome, resolvers};
use crate::transport::Rpc;

method!(/// `qu resolvers` / `qu resolvers list`: the cluster-wide DNS resolvers.
    GetResolvers, "resolvers.get", (), Vec<String>);
method!(/// `qu resolvers set|clear`: replace the cluster-wide DNS resolvers.
    SetResolvers, "resolvers.set", Vec<String>, Outcome);

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
        GetCanary => |c, ()| Ok(get_canary(&c)),
        SetCanary => |c, list| set_canary(&c, list).await,
    )
}
