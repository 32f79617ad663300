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

/// Add routes to a [`ControlRouter`], each answering its method with one
/// expression over a clone of the cluster:
/// `routes!(router, cluster, Method => |c, arg| body, …)`.
macro_rules! routes {
    ($router:expr, $cluster:expr, $($rpc:ty => |$c:ident, $arg:pat_param| $body:expr),* $(,)?) => {{
        let router = $router;
        $(
            let router = {
                let cluster = $cluster.clone();
                router.route::<$rpc, _, _>(move |_, $arg| {
                    let $c = cluster.clone();
                    async move { $body }
                })
            };
        )*
        router
    }};
}

mod alerts;
mod backup;
mod check;
mod key;
mod maintenance;
mod ops;
mod push;
mod router;
mod settings;
mod token;
mod usecase;

pub use backup::CreateBackup;
pub use check::{CheckEdit, CheckPatch, CheckSpec};
pub use key::RotateKey;
pub use maintenance::{
    AddMaintenance, ClearSilence, ListMaintenance, MaintenanceSpec, RemoveMaintenance, Silence,
    SilenceSpec, window_from_spec,
};
pub use ops::{
    ApplyConfig, ApplyReport, ApplyRequest, ExportConfig, TakeSnapshot, TransferLeader,
    TransferReport, TransferRequest, apply_config, export_config, transfer_leader,
};

pub use alerts::{
    AddAlert, AlertSpec, AlertView, EditAlert, ListAlerts, RemoveAlert, SetAlertDefault,
    SetAlertEnabled, TestAlert, TestCheck, TestDelivery, add_alert, list_alerts, remove_alert,
};
pub use push::{GetPushUrl, PushUrl, PushUrlRequest, push_url};
pub use router::control_router;
pub use settings::{
    CanaryView, ClusterSettings, GetCanary, GetResolvers, GetSettings, SetCanary, SetResolvers,
    SetSettings, SettingsPatch, get_canary, get_settings, set_canary, set_resolvers, set_settings,
};
pub use token::{
    CreateToken, CreatedToken, ListTokens, RevokeToken, TokenSpec, TokenView, authorize,
    create_token, list_tokens, revoke_token,
};
pub use usecase::{
    MAX_ENROLLMENT_TTL, add_maintenance, add_node, approve_enrollment, clear_silence,
    create_enrollment, edit_check, enrollment_ttl, get_resolvers, label_node, list_checks,
    list_enrollments, list_maintenance, preview_node, remove_maintenance, remove_node,
    revoke_enrollment, set_alert_default, set_alert_enabled, set_check_enabled, silence,
    update_alert, wait_applied,
};

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, NodePreview, Status};
use crate::error::Result;
use crate::identity::{Fingerprint, NodeId};
use crate::state::{Check, Enrollment, Mutation, Outcome};
use crate::transport::Rpc;

method!(/// `qu status`.
    GetStatus, "status", (), Status);
method!(/// Who answers at an address (before `node add`).
    PreviewNode, "node.preview", String, NodePreview);
method!(/// `qu node add`.
    AddNode, "node.add", AddNodeRequest, Outcome);
method!(/// `qu node remove`.
    RemoveNode, "node.remove", NodeId, Outcome);
method!(/// `qu node label`.
    LabelNode, "node.label", NodeLabelRequest, Outcome);
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

/// Arguments of `node.label`: labels to set (`k=v`) and keys to remove.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeLabelRequest {
    /// The member.
    pub node_id: NodeId,
    /// `k=v` labels to set (replacing a key's value).
    #[serde(default)]
    pub set: Vec<String>,
    /// Keys to remove.
    #[serde(default)]
    pub remove: Vec<String>,
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
    let parents = check_ids(&state, &spec.depends_on)?;
    let mut check = spec.into_check(new_id(), alert_ids)?;
    check.suppress_alerts = suppress;
    check.depends_on = parents;
    c.propose(Mutation::AddCheck { check }).await
}

/// The ids of the checks `names` (names or ids) in `state`.
pub(crate) fn check_ids(
    state: &crate::state::ClusterState,
    names: &[String],
) -> Result<Vec<String>> {
    names
        .iter()
        .map(|n| {
            state
                .find_check(n)
                .map(|c| c.id.clone())
                .map_err(|e| e.with_field("depends_on"))
        })
        .collect()
}

/// Remove the check with this id or name.
pub async fn remove_check(c: &Cluster, key: &str) -> Result<Outcome> {
    let id = c.state().find_check(key)?.id.clone();
    c.propose(Mutation::RemoveCheck { check: id }).await
}

/// A short random id for new records.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}
