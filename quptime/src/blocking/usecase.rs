//! [`Node`]'s methods for the shared use cases: one blocking method per
//! `pub async fn` of [`crate::api`], so C and Python run exactly what the
//! control socket runs for `qu`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Node, parse_document};
use crate::api::{
    AddNodeRequest, ApplyReport, ApplyRequest, CheckPatch, CreatedEnrollment, EnrollSpec,
    MaintenanceSpec, TransferReport, TransferRequest,
};
use crate::cluster::NodePreview;
use crate::error::Result;
use crate::identity::{Fingerprint, NodeId};
use crate::state::maintenance::MaintenanceWindow;
use crate::state::{Enrollment, Outcome};

impl Node {
    /// Change the check with id or name `key` as `patch` says.
    pub fn edit_check(&self, key: &str, patch: CheckPatch) -> Result<Outcome> {
        self.block_on(crate::api::edit_check(&self.cluster, key, patch))?
    }

    /// [`Node::edit_check`] with the patch as a YAML (or JSON) document with
    /// the fields of [`CheckPatch`] (`interval: 1m`, `alerts: [ops]`, …).
    pub fn edit_check_document(&self, key: &str, text: &str) -> Result<Outcome> {
        self.edit_check(key, parse_document(text, "check patch")?)
    }

    /// Enable or disable the check with id or name `key`.
    pub fn set_check_enabled(&self, key: &str, enabled: bool) -> Result<Outcome> {
        self.block_on(crate::api::set_check_enabled(&self.cluster, key, enabled))?
    }

    /// Who answers at `addr` (`host:port`): its id and key fingerprint, to
    /// confirm before [`Node::add_node`].
    pub fn preview_node(&self, addr: &str) -> Result<NodePreview> {
        self.block_on(crate::api::preview_node(&self.cluster, addr))?
    }

    /// Add the node at `addr` (`host:port`) whose key has `fingerprint`
    /// (`sha256:…`, see [`Node::preview_node`]).
    pub fn add_node(&self, addr: &str, fingerprint: &str) -> Result<Outcome> {
        let req = AddNodeRequest {
            addr: addr.to_string(),
            fingerprint: Fingerprint::parse(fingerprint)?,
        };
        self.block_on(crate::api::add_node(&self.cluster, req))?
    }

    /// Remove member `node_id` from the cluster.
    pub fn remove_node(&self, node_id: &str) -> Result<Outcome> {
        let id = NodeId::new(node_id)?;
        self.block_on(crate::api::remove_node(&self.cluster, &id))?
    }

    /// Create an enrollment token as `spec` describes (`ttl` such as `1h`).
    pub fn create_enrollment(&self, spec: EnrollSpec) -> Result<CreatedEnrollment> {
        self.block_on(crate::api::create_enrollment(&self.cluster, spec))?
    }

    /// The enrollment tokens on record.
    pub fn list_enrollments(&self) -> Result<Vec<Enrollment>> {
        self.handle()?;
        Ok(crate::api::list_enrollments(&self.cluster))
    }

    /// Admit the node that presented enrollment token `id`.
    pub fn approve_enrollment(&self, id: &str) -> Result<Outcome> {
        self.block_on(crate::api::approve_enrollment(&self.cluster, id))?
    }

    /// Revoke enrollment token `id`.
    pub fn revoke_enrollment(&self, id: &str) -> Result<Outcome> {
        self.block_on(crate::api::revoke_enrollment(&self.cluster, id))?
    }

    /// Move the master role (or drop an earlier preference) as `req` says.
    pub fn transfer_leader(&self, req: TransferRequest) -> Result<TransferReport> {
        self.block_on(crate::api::transfer_leader(&self.cluster, req))?
    }

    /// Replace the cluster-wide DNS resolvers (an empty list clears them).
    pub fn set_resolvers(&self, resolvers: Vec<String>) -> Result<Outcome> {
        self.block_on(crate::api::set_resolvers(&self.cluster, resolvers))?
    }

    /// The cluster-wide DNS resolvers.
    pub fn resolvers(&self) -> Result<Vec<String>> {
        self.handle()?;
        Ok(crate::api::get_resolvers(&self.cluster))
    }

    /// Replace the canary's reference targets (an empty list clears them).
    pub fn set_canary(&self, targets: Vec<String>) -> Result<Outcome> {
        self.block_on(crate::api::set_canary(&self.cluster, targets))?
    }

    /// The canary as this node sees it (`qu canary show`).
    pub fn canary(&self) -> Result<crate::api::CanaryView> {
        self.handle()?;
        Ok(crate::api::get_canary(&self.cluster))
    }

    /// The current declaration as YAML (secrets included).
    pub fn export_config(&self) -> Result<String> {
        self.handle()?;
        crate::api::export_config(&self.cluster)
    }

    /// Apply a declaration (see [`ApplyRequest`]) as one change.
    pub fn apply_config(&self, req: ApplyRequest) -> Result<ApplyReport> {
        self.block_on(crate::api::apply_config(&self.cluster, req))?
    }

    /// Enable or disable the alert channel `key`.
    pub fn set_alert_enabled(&self, key: &str, enabled: bool) -> Result<Outcome> {
        self.block_on(crate::api::set_alert_enabled(&self.cluster, key, enabled))?
    }

    /// Change the settings of the alert channel `key` (an empty value
    /// removes a setting).
    pub fn update_alert(&self, key: &str, settings: BTreeMap<String, String>) -> Result<Outcome> {
        self.block_on(crate::api::update_alert(&self.cluster, key, settings))?
    }

    /// Add the maintenance window `spec` describes (the id is in the
    /// outcome).
    pub fn add_maintenance(&self, spec: MaintenanceSpec) -> Result<Outcome> {
        self.block_on(crate::api::add_maintenance(&self.cluster, spec))?
    }

    /// The maintenance windows and silences on record.
    pub fn maintenance(&self) -> Result<Vec<MaintenanceWindow>> {
        self.block_on(async { crate::api::list_maintenance(&self.cluster) })
    }

    /// Remove the maintenance window `id`.
    pub fn remove_maintenance(&self, id: &str) -> Result<Outcome> {
        self.block_on(crate::api::remove_maintenance(&self.cluster, id))?
    }

    /// Silence the check `check` for `duration` (`30m`) from now; an empty
    /// `duration` ends its silences instead.
    pub fn silence(&self, check: &str, duration: &str) -> Result<Outcome> {
        if duration.is_empty() {
            return self.block_on(crate::api::clear_silence(&self.cluster, check))?;
        }
        self.block_on(crate::api::silence(&self.cluster, check, duration))?
    }

    /// Wait up to `timeout` until this node has applied config `version`
    /// (the [`Outcome::version`] of a write, possibly made through another
    /// node); returns the version applied.
    pub fn wait_applied(&self, version: u64, timeout: Duration) -> Result<u64> {
        self.block_on(crate::api::wait_applied(&self.cluster, version, timeout))?
    }
}
