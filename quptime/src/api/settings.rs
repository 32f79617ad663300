//! Control methods for cluster-wide settings: `qu resolvers`.

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::Result;
use crate::state::{Mutation, Outcome, resolvers};
use crate::transport::Rpc;

method!(/// `qu resolvers` / `qu resolvers list`: the cluster-wide DNS resolvers.
    GetResolvers, "resolvers.get", (), Vec<String>);
method!(/// `qu resolvers set|clear`: replace the cluster-wide DNS resolvers.
    SetResolvers, "resolvers.set", Vec<String>, Outcome);

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
    )
}
