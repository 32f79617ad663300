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
mod key;
mod ops;
mod router;
mod settings;
mod usecase;

use std::time::Duration;

pub use backup::CreateBackup;
pub use key::RotateKey;
pub use ops::{
    ApplyConfig, ApplyReport, ApplyRequest, ExportConfig, TakeSnapshot, TransferLeader,
    TransferReport, TransferRequest, apply_config, export_config, transfer_leader,
};

pub use alerts::{
    AddAlert, AlertSpec, AlertView, EditAlert, ListAlerts, RemoveAlert, SetAlertDefault,
    SetAlertEnabled, TestAlert, TestCheck, TestDelivery, add_alert, list_alerts, remove_alert,
};
pub use router::control_router;
pub use settings::{GetResolvers, SetResolvers, set_resolvers};
pub use usecase::{
    MAX_ENROLLMENT_TTL, add_node, approve_enrollment, create_enrollment, edit_check,
    enrollment_ttl, get_resolvers, list_checks, list_enrollments, preview_node, remove_node,
    revoke_enrollment, set_alert_default, set_alert_enabled, set_check_enabled, update_alert,
    wait_applied,
};

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, NodePreview, Status};
use crate::error::Result;
use crate::identity::{Fingerprint, NodeId};
use crate::state::model::{DnsRecord, StatusSpec};
use crate::state::{Check, CheckType, Enrollment, Mutation, Outcome, duration};
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

/// A check as the CLI describes it; the daemon assigns the id and resolves
/// alert names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckSpec {
    /// Unique name.
    pub name: String,
    /// Probe type.
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// What to probe.
    pub target: String,
    /// Probe interval (`30s`).
    pub interval: Option<String>,
    /// Probe timeout (`10s`).
    pub timeout: Option<String>,
    /// Accepted HTTP statuses (`200`, `2xx`, `200,204`).
    pub expect_status: Option<String>,
    /// Substring the body must contain.
    pub body_match: Option<String>,
    /// Accept any TLS certificate (http).
    #[serde(default)]
    pub insecure: bool,
    /// Redirects to follow (http).
    pub max_redirects: Option<u8>,
    /// Reuse connections between probes (http).
    #[serde(default)]
    pub keep_alive: bool,
    /// Expiry warning in days (tls).
    pub warn_days: Option<u32>,
    /// Server name to send (tls).
    pub sni: Option<String>,
    /// Record type (dns): a, aaaa, cname, mx, txt, ns.
    pub record: Option<String>,
    /// Resolver address (dns).
    pub resolver: Option<String>,
    /// Substring an answer must contain (dns).
    pub expect_answer: Option<String>,
    /// Alert channel names or ids.
    #[serde(default)]
    pub alerts: Vec<String>,
    /// Default channels (names or ids) this check must not notify.
    #[serde(default)]
    pub suppress: Vec<String>,
    /// Repeat the alert this often while the check stays down (`1h`).
    #[serde(default)]
    pub remind: Option<String>,
}

impl CheckSpec {
    /// A spec with every optional field unset (the daemon's defaults).
    pub fn new(name: impl Into<String>, kind: CheckType, target: impl Into<String>) -> CheckSpec {
        CheckSpec {
            name: name.into(),
            kind,
            target: target.into(),
            interval: None,
            timeout: None,
            expect_status: None,
            body_match: None,
            insecure: false,
            max_redirects: None,
            keep_alive: false,
            warn_days: None,
            sni: None,
            record: None,
            resolver: None,
            expect_answer: None,
            alerts: Vec::new(),
            suppress: Vec::new(),
            remind: None,
        }
    }

    /// Turn the spec into a check with id `id`, validating every field.
    pub fn into_check(self, id: String, alert_ids: Vec<String>) -> Result<Check> {
        let dur = |field: &str, v: Option<String>, default: Duration| -> Result<Duration> {
            match v {
                Some(text) => check_duration(field, &text),
                None => Ok(default),
            }
        };
        let check = Check {
            id,
            name: self.name,
            kind: self.kind,
            target: self.target,
            interval: dur(
                "interval",
                self.interval,
                crate::state::model::DEFAULT_INTERVAL,
            )?,
            timeout: dur(
                "timeout",
                self.timeout,
                crate::state::model::DEFAULT_TIMEOUT,
            )?,
            expect_status: self
                .expect_status
                .as_deref()
                .map(StatusSpec::parse)
                .transpose()?,
            body_match: self.body_match,
            insecure: self.insecure,
            max_redirects: self.max_redirects,
            keep_alive: self.keep_alive,
            warn_days: self.warn_days,
            sni: self.sni,
            record: self.record.as_deref().map(DnsRecord::parse).transpose()?,
            resolver: self.resolver,
            expect_answer: self.expect_answer,
            alerts: alert_ids,
            suppress_alerts: Vec::new(),
            remind: match self.remind {
                Some(text) => Some(dur("remind", Some(text), Duration::ZERO)?),
                None => None,
            },
            disabled: false,
        };
        check.validate()?;
        Ok(check)
    }
}

/// Arguments of `check.edit`: which check, and the fields to change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckEdit {
    /// Id or name.
    pub check: String,
    /// The changes.
    pub patch: CheckPatch,
}

/// Fields to change in a check; `None` keeps the current value, an empty
/// string clears an optional text field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckPatch {
    /// New name.
    pub name: Option<String>,
    /// New target.
    pub target: Option<String>,
    /// New interval.
    pub interval: Option<String>,
    /// New timeout.
    pub timeout: Option<String>,
    /// New accepted statuses.
    pub expect_status: Option<String>,
    /// New body substring.
    pub body_match: Option<String>,
    /// Accept any certificate.
    pub insecure: Option<bool>,
    /// Redirects to follow.
    pub max_redirects: Option<u8>,
    /// Reuse connections.
    pub keep_alive: Option<bool>,
    /// Expiry warning in days.
    pub warn_days: Option<u32>,
    /// Server name.
    pub sni: Option<String>,
    /// Record type.
    pub record: Option<String>,
    /// Resolver.
    pub resolver: Option<String>,
    /// Expected answer substring.
    pub expect_answer: Option<String>,
    /// Alert channels (names or ids), replacing the current list.
    pub alerts: Option<Vec<String>>,
    /// Default channels not to notify, replacing the current list.
    #[serde(default)]
    pub suppress: Option<Vec<String>>,
    /// Reminder interval while down (empty turns reminders off).
    #[serde(default)]
    pub remind: Option<String>,
}

impl CheckPatch {
    /// Apply to `check` and validate the result.
    pub fn apply(self, check: &mut Check, alert_ids: Option<Vec<String>>) -> Result<()> {
        let text = |v: Option<String>, slot: &mut Option<String>| {
            if let Some(v) = v {
                *slot = if v.is_empty() { None } else { Some(v) };
            }
        };
        let dur = check_duration;
        if let Some(v) = self.name {
            check.name = v;
        }
        if let Some(v) = self.target {
            check.target = v;
        }
        if let Some(v) = &self.interval {
            check.interval = dur("interval", v)?;
        }
        if let Some(v) = &self.timeout {
            check.timeout = dur("timeout", v)?;
        }
        if let Some(v) = self.expect_status {
            check.expect_status = if v.is_empty() {
                None
            } else {
                Some(StatusSpec::parse(&v)?)
            };
        }
        text(self.body_match, &mut check.body_match);
        if let Some(v) = self.insecure {
            check.insecure = v;
        }
        if let Some(v) = self.max_redirects {
            check.max_redirects = Some(v);
        }
        if let Some(v) = self.keep_alive {
            check.keep_alive = v;
        }
        if let Some(v) = self.warn_days {
            check.warn_days = Some(v);
        }
        text(self.sni, &mut check.sni);
        if let Some(v) = self.record {
            check.record = if v.is_empty() {
                None
            } else {
                Some(DnsRecord::parse(&v)?)
            };
        }
        text(self.resolver, &mut check.resolver);
        text(self.expect_answer, &mut check.expect_answer);
        if let Some(ids) = alert_ids {
            check.alerts = ids;
        }
        if let Some(v) = &self.remind {
            check.remind = if v.is_empty() {
                None
            } else {
                Some(dur("remind", v)?)
            };
        }
        check.validate()
    }
}

/// A check's `interval`, `timeout` or `remind` field, within its bounds;
/// the error names the field ([`Error::field`]) and the bounds.
fn check_duration(field: &str, text: &str) -> Result<Duration> {
    use crate::state::model::{INTERVAL_RANGE, REMIND_RANGE, TIMEOUT_RANGE};
    let (range, example) = match field {
        "interval" => (INTERVAL_RANGE, "30s or 1m30s"),
        "timeout" => (TIMEOUT_RANGE, "10s"),
        _ => (REMIND_RANGE, "1h"),
    };
    duration::parse_field(field, text, range, example)
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
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}
