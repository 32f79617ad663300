//! The control API: one typed method per `qu` command, served by a running
//! node on its control socket ([`crate::control`]).
//!
//! These types are the stable, versioned contract between the daemon and
//! local tools (`qu` is one of them); their JSON forms are what `--json`
//! prints. [`control_router`] answers them from a [`Cluster`].

/// Declare a control method: its wire name, request and response types.
macro_rules! method {
    ($(#[$doc:meta])* $name:ident, $method:literal, $req:ty, $resp:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}
        impl Rpc for $name {
            const METHOD: &'static str = $method;
            type Request = $req;
            type Response = $resp;
        }
    };
}

mod alerts;
mod backup;
mod check;
mod key;
mod ops;
mod settings;

pub use backup::CreateBackup;
pub use check::{CheckEdit, CheckPatch, CheckSpec};
pub use key::RotateKey;
pub use ops::{
    ApplyConfig, ApplyReport, ApplyRequest, ExportConfig, TakeSnapshot, TransferLeader,
    TransferReport, TransferRequest, apply_config, export_config,
};

pub use alerts::{
    AddAlert, AlertSpec, AlertView, EditAlert, ListAlerts, RemoveAlert, SetAlertDefault,
    SetAlertEnabled, TestAlert, TestCheck, TestDelivery, add_alert, remove_alert,
};
pub use settings::{GetResolvers, SetResolvers, set_resolvers};

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, NodePreview, Status};
use crate::control::ControlRouter;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::state::{Check, Enrollment, Mutation, Outcome, duration};
use crate::transport::Rpc;

method!(/// `qu status`.
    GetStatus, "status", (), Status);
method!(/// Who answers at an address (before `node add`).
    PreviewNode, "node.preview", String, NodePreview);
method!(/// `qu node add`.
    AddNode, "node.add", AddNodeRequest, Outcome);
method!(/// `qu node remove`.
    RemoveNode, "node.remove", NodeId, Outcome);
method!(/// `qu check add`.
    AddCheck, "check.add", CheckSpec, Outcome);
method!(/// `qu check list`.
    ListChecks, "check.list", (), Vec<Check>);
method!(/// `qu check edit`.
    EditCheck, "check.edit", CheckEdit, Outcome);
method!(/// `qu check enable|disable`: (id or name, enabled).
    SetCheckEnabled, "check.set_enabled", (String, bool), Outcome);
method!(/// `qu check remove`.
    RemoveCheck, "check.remove", String, Outcome);
method!(/// `qu enroll create`.
    CreateEnrollment, "enroll.create", EnrollSpec, CreatedEnrollment);
method!(/// `qu enroll list`.
    ListEnrollments, "enroll.list", (), Vec<Enrollment>);
method!(/// `qu enroll approve`.
    ApproveEnrollment, "enroll.approve", String, Outcome);
method!(/// `qu enroll revoke`.
    RevokeEnrollment, "enroll.revoke", String, Outcome);
method!(/// `qu trust list`.
    ListTrust, "trust.list", (), Vec<TrustEntry>);
method!(/// `qu trust remove`.
    RemoveTrust, "trust.remove", NodeId, bool);

/// Arguments of `node.add`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddNodeRequest {
    /// `host:port` of the new node.
    pub addr: String,
    /// The key the operator confirmed.
    pub fingerprint: Fingerprint,
}

/// Arguments of `enroll.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollSpec {
    /// Label.
    pub name: Option<String>,
    /// Validity (`1h`).
    pub ttl: String,
    /// Admit without approval.
    pub auto_approve: bool,
}

/// Result of `enroll.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedEnrollment {
    /// The token text to give the new host.
    pub token: String,
    /// The replicated record.
    pub record: Enrollment,
}

/// One trust store entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrustEntry {
    /// The node.
    pub node_id: NodeId,
    /// Its address.
    pub address: String,
    /// Its pinned key.
    pub fingerprint: Fingerprint,
    /// When it was trusted.
    pub added_at: String,
}

/// Add the check `spec` describes: resolve its alert names, validate every
/// field, and propose it. Used by the control socket and the embedding APIs.
pub async fn add_check(c: &Cluster, spec: CheckSpec) -> Result<Outcome> {
    let state = c.state();
    let ids = |names: &[String]| -> Result<Vec<String>> {
        names
            .iter()
            .map(|a| state.find_alert(a).map(|x| x.id.clone()))
            .collect()
    };
    let alert_ids = ids(&spec.alerts)?;
    let suppress = ids(&spec.suppress)?;
    let mut check = spec.into_check(new_id(), alert_ids)?;
    check.suppress_alerts = suppress;
    c.propose(Mutation::AddCheck { check }).await
}

/// Remove the check with this id or name.
pub async fn remove_check(c: &Cluster, key: &str) -> Result<Outcome> {
    let id = c.state().find_check(key)?.id.clone();
    c.propose(Mutation::RemoveCheck { check: id }).await
}

/// A short random id for new records.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Answer the control API from `cluster`.
pub fn control_router(cluster: Cluster) -> ControlRouter {
    let c = cluster;
    let router = settings::routes(alerts::routes(ControlRouter::new(), &c), &c);
    let router = backup::routes(router, &c);
    let router = ops::routes(router, &c);
    let router = key::routes(router, &c);
    let (c1, c2, c3, c4, c5, c6, c7) = (
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
    );
    let (c8, c9, c10, c11, c12) = (c.clone(), c.clone(), c.clone(), c.clone(), c.clone());
    router
        .route::<GetStatus, _, _>(move |_, ()| {
            let c = c1.clone();
            async move { Ok(c.status_live().await) }
        })
        .route::<PreviewNode, _, _>(move |_, addr: String| {
            let c = c2.clone();
            async move {
                crate::addr::check_host_port(&addr)?;
                c.preview_node(&addr).await
            }
        })
        .route::<AddNode, _, _>(move |_, req: AddNodeRequest| {
            let c = c3.clone();
            async move { c.add_node(&req.addr, &req.fingerprint).await }
        })
        .route::<RemoveNode, _, _>(move |_, id: NodeId| {
            let c = c4.clone();
            async move { c.remove_node(&id).await }
        })
        .route::<AddCheck, _, _>(move |_, spec: CheckSpec| {
            let c = c5.clone();
            async move { add_check(&c, spec).await }
        })
        .route::<ListChecks, _, _>(move |_, ()| {
            let c = c6.clone();
            async move { Ok(c.state().checks.values().cloned().collect()) }
        })
        .route::<EditCheck, _, _>({
            let c = c.clone();
            move |_, edit: CheckEdit| {
                let c = c.clone();
                async move {
                    let state = c.state();
                    let mut check = state.find_check(&edit.check)?.clone();
                    let alert_ids = match &edit.patch.alerts {
                        Some(names) => Some(
                            names
                                .iter()
                                .map(|a| state.find_alert(a).map(|x| x.id.clone()))
                                .collect::<Result<Vec<_>>>()?,
                        ),
                        None => None,
                    };
                    if let Some(names) = &edit.patch.suppress {
                        check.suppress_alerts = names
                            .iter()
                            .map(|a| state.find_alert(a).map(|x| x.id.clone()))
                            .collect::<Result<Vec<_>>>()?;
                    }
                    edit.patch.apply(&mut check, alert_ids)?;
                    c.propose(Mutation::UpdateCheck { check }).await
                }
            }
        })
        .route::<SetCheckEnabled, _, _>({
            let c = c.clone();
            move |_, (key, enabled): (String, bool)| {
                let c = c.clone();
                async move {
                    let mut check = c.state().find_check(&key)?.clone();
                    check.disabled = !enabled;
                    c.propose(Mutation::UpdateCheck { check }).await
                }
            }
        })
        .route::<RemoveCheck, _, _>(move |_, key: String| {
            let c = c7.clone();
            async move { remove_check(&c, &key).await }
        })
        .route::<CreateEnrollment, _, _>(move |_, spec: EnrollSpec| {
            let c = c8.clone();
            async move {
                let ttl = duration::parse(&spec.ttl).map_err(|e| Error::invalid(format!("--ttl: {}", e.message())))?;
                let (token, record) = c.create_enrollment(spec.name, ttl, spec.auto_approve).await?;
                Ok(CreatedEnrollment { token: token.encode(), record })
            }
        })
        .route::<ListEnrollments, _, _>(move |_, ()| {
            let c = c9.clone();
            async move { Ok(c.state().enrollments.values().cloned().collect()) }
        })
        .route::<ApproveEnrollment, _, _>(move |_, id: String| {
            let c = c10.clone();
            async move { c.approve_enrollment(&id).await }
        })
        .route::<RevokeEnrollment, _, _>(move |_, id: String| {
            let c = c11.clone();
            async move { c.revoke_enrollment(&id).await }
        })
        .route::<ListTrust, _, _>(move |_, ()| {
            let c = c12.clone();
            async move {
                Ok(c.trust()
                    .list()
                    .into_iter()
                    .map(|p| TrustEntry {
                        node_id: p.node_id,
                        address: p.address,
                        fingerprint: p.fingerprint,
                        added_at: p.added_at,
                    })
                    .collect())
            }
        })
        .route::<RemoveTrust, _, _>(move |_, id: NodeId| {
            let c = c.clone();
            async move {
                if c.state().peers.contains_key(&id) {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!("{id} is a cluster member; remove it with `qu node remove {id}` (that revokes its trust on every node)"),
                    ));
                }
                c.trust().remove(&id)
            }
        })
}
