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
    let (c1, c2) = (cluster.clone(), cluster.clone());
    router
        .route::<GetResolvers, _, _>(move |_, ()| {
            let c = c1.clone();
            async move { Ok(c.state().dns_resolvers.clone()) }
        })
        .route::<SetResolvers, _, _>(move |_, list: Vec<String>| {
            let c = c2.clone();
            async move { set_resolvers(&c, list).await }
        })
}
