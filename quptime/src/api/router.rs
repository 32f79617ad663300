//! [`control_router`]: the control socket's methods, each answered by one
//! use case of [`super::usecase`] (or a sibling module) in one line, so
//! `qu` runs exactly the code the C and Python front ends run.

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::{Error, ErrorKind};

use super::usecase as uc;
use super::*;

/// Answer the control API from `cluster`.
pub fn control_router(cluster: Cluster) -> ControlRouter {
    let router = super::alerts::routes(ControlRouter::new(), &cluster);
    let router = super::settings::routes(router, &cluster);
    let router = super::backup::routes(router, &cluster);
    let router = super::ops::routes(router, &cluster);
    let router = super::key::routes(router, &cluster);
    let router = super::maintenance::routes(router, &cluster);
    let router = super::token::routes(router, &cluster);
    let router = super::push::routes(router, &cluster);
    routes!(router, cluster,
        GetStatus => |c, ()| Ok(c.status_live().await),
        PreviewNode => |c, addr| uc::preview_node(&c, &addr).await,
        AddNode => |c, req| uc::add_node(&c, req).await,
        RemoveNode => |c, id| uc::remove_node(&c, &id).await,
        LabelNode => |c, req| uc::label_node(&c, req).await,
        AddCheck => |c, spec| add_check(&c, spec).await,
        ListChecks => |c, ()| Ok(uc::list_checks(&c)),
        EditCheck => |c, edit| uc::edit_check(&c, &edit.check, edit.patch).await,
        SetCheckEnabled => |c, (key, on)| uc::set_check_enabled(&c, &key, on).await,
        RemoveCheck => |c, key| remove_check(&c, &key).await,
        CreateEnrollment => |c, spec| uc::create_enrollment(&c, spec).await,
        ListEnrollments => |c, ()| Ok(uc::list_enrollments(&c)),
        ApproveEnrollment => |c, id| uc::approve_enrollment(&c, &id).await,
        RevokeEnrollment => |c, id| uc::revoke_enrollment(&c, &id).await,
        ListTrust => |c, ()| Ok(list_trust(&c)),
        RemoveTrust => |c, id| remove_trust(&c, &id),
    )
}

/// The trust store's entries.
fn list_trust(c: &Cluster) -> Vec<TrustEntry> {
    c.trust()
        .list()
        .into_iter()
        .map(|p| TrustEntry {
            node_id: p.node_id,
            address: p.address,
            fingerprint: p.fingerprint,
            added_at: p.added_at,
        })
        .collect()
}

/// Forget a non-member's key (a member is removed with `node.remove`).
fn remove_trust(c: &Cluster, id: &NodeId) -> crate::Result<bool> {
    if c.state().peers.contains_key(id) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{id} is a cluster member; remove it from the cluster instead"),
        )
        .with_hint(format!(
            "`qu node remove {id}`, which revokes its trust on every node"
        )));
    }
    c.trust().remove(id)
}
