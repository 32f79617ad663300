//! The use cases every front end shares: one `pub async fn` per operation
//! on a running [`Cluster`], with all of its parsing and validation.
//!
//! `qu` reaches these through the control socket ([`super::control_router`]
//! routes each method to one of them in one line), the C ABI and the Python
//! module through [`crate::blocking::Node`]. Nothing here knows which front
//! end called: errors name the input field ([`Error::field`]) and keep `qu`
//! hints apart ([`Error::hint`]), so each front end words them its own way.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cluster::{Cluster, NodePreview};
use crate::error::{Error, Result};
use crate::identity::NodeId;
use crate::state::{Check, ClusterState, Enrollment, Mutation, Outcome, duration};

use super::{
    AddNodeRequest, CheckPatch, CreatedEnrollment, EnrollSpec, MaintenanceSpec, NodeLabelRequest,
};
use crate::state::maintenance::MaintenanceWindow;

/// The longest an enrollment token may stay valid.
pub const MAX_ENROLLMENT_TTL: Duration = Duration::from_secs(30 * 86_400);

/// The checks, in id order.
pub fn list_checks(c: &Cluster) -> Vec<Check> {
    c.state().checks.values().cloned().collect()
}

/// The ids of the alert channels `names` (names or ids) in `state`.
fn alert_ids(state: &ClusterState, names: &[String]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|a| state.find_alert(a).map(|x| x.id.clone()))
        .collect()
}

/// Change the check with id or name `key` as `patch` says (resolving alert
/// names and validating the result) and propose it.
pub async fn edit_check(c: &Cluster, key: &str, patch: CheckPatch) -> Result<Outcome> {
    let state = c.state();
    let mut check = state.find_check(key)?.clone();
    let alerts = match &patch.alerts {
        Some(names) => Some(alert_ids(&state, names)?),
        None => None,
    };
    if let Some(names) = &patch.suppress {
        check.suppress_alerts = alert_ids(&state, names)?;
    }
    if let Some(names) = &patch.depends_on {
        check.depends_on = super::check_ids(&state, names)?;
    }
    patch.apply(&mut check, alerts)?;
    c.propose(Mutation::UpdateCheck { check }).await
}

/// Enable (probe and alert again) or disable the check with id or name
/// `key`.
pub async fn set_check_enabled(c: &Cluster, key: &str, enabled: bool) -> Result<Outcome> {
    let mut check = c.state().find_check(key)?.clone();
    check.disabled = !enabled;
    c.propose(Mutation::UpdateCheck { check }).await
}

/// The validity of an enrollment token from its `ttl` text (`1h`), within
/// 1s to 30 days; the error names the field `ttl`.
pub fn enrollment_ttl(text: &str) -> Result<Duration> {
    let ttl = duration::parse(text).map_err(|e| e.with_field("ttl"))?;
    if ttl < Duration::from_secs(1) || ttl > MAX_ENROLLMENT_TTL {
        return Err(Error::invalid_field(
            "ttl",
            format!(
                "{} is out of range: use a duration from 1s to {}, such as 1h",
                duration::format(ttl),
                duration::format(MAX_ENROLLMENT_TTL)
            ),
        ));
    }
    Ok(ttl)
}

/// Create an enrollment token as `spec` describes (its ttl parsed here).
pub async fn create_enrollment(c: &Cluster, spec: EnrollSpec) -> Result<CreatedEnrollment> {
    let ttl = enrollment_ttl(&spec.ttl)?;
    let (token, record) = c
        .create_enrollment(spec.name, ttl, spec.auto_approve)
        .await?;
    Ok(CreatedEnrollment {
        token: token.encode(),
        record,
    })
}

/// The enrollment tokens on record.
pub fn list_enrollments(c: &Cluster) -> Vec<Enrollment> {
    c.state().enrollments.values().cloned().collect()
}

/// Admit the node that presented enrollment token `id`.
pub async fn approve_enrollment(c: &Cluster, id: &str) -> Result<Outcome> {
    c.approve_enrollment(id).await
}

/// Revoke enrollment token `id`.
pub async fn revoke_enrollment(c: &Cluster, id: &str) -> Result<Outcome> {
    c.revoke_enrollment(id).await
}

/// Who answers at `addr` (`host:port`), before [`add_node`].
pub async fn preview_node(c: &Cluster, addr: &str) -> Result<NodePreview> {
    crate::addr::check_host_port(addr)?;
    c.preview_node(addr).await
}

/// Add the node at `req.addr` whose key has `req.fingerprint`.
pub async fn add_node(c: &Cluster, req: AddNodeRequest) -> Result<Outcome> {
    crate::addr::check_host_port(&req.addr)?;
    c.add_node(&req.addr, &req.fingerprint).await
}

/// Remove member `id` (revoking its trust on every node).
pub async fn remove_node(c: &Cluster, id: &NodeId) -> Result<Outcome> {
    c.remove_node(id).await
}

/// Set and remove labels of member `req.node_id` (a replicated change
/// that needs state level 4 on every member).
pub async fn label_node(c: &Cluster, req: NodeLabelRequest) -> Result<Outcome> {
    let state = c.state();
    let peer = state.peers.get(&req.node_id).ok_or_else(|| {
        crate::Error::new(
            crate::ErrorKind::NotFound,
            format!("node {} is not a member", req.node_id),
        )
        .with_hint("list them with `qu node list`")
    })?;
    let labels = crate::state::policy::relabel(&peer.labels, &req.set, &req.remove)?;
    c.propose(Mutation::SetNodeLabels {
        node_id: req.node_id,
        labels,
    })
    .await
}

/// Change the settings of the alert channel `key`: each value set, an
/// empty value removes the setting.
pub async fn update_alert(
    c: &Cluster,
    key: &str,
    settings: BTreeMap<String, String>,
) -> Result<Outcome> {
    super::alerts::update(c, key, |a| {
        for (k, v) in settings {
            if v.is_empty() {
                a.settings.remove(&k);
            } else {
                a.settings.insert(k, v);
            }
        }
    })
    .await
}

/// Enable or disable the alert channel `key` (a disabled one sends nothing).
pub async fn set_alert_enabled(c: &Cluster, key: &str, enabled: bool) -> Result<Outcome> {
    super::alerts::update(c, key, |a| a.disabled = !enabled).await
}

/// Attach the alert channel `key` to every check (or stop doing so).
pub async fn set_alert_default(c: &Cluster, key: &str, default: bool) -> Result<Outcome> {
    super::alerts::update(c, key, |a| a.default = default).await
}

/// The cluster-wide DNS resolvers.
pub fn get_resolvers(c: &Cluster) -> Vec<String> {
    c.state().dns_resolvers.clone()
}

/// Add the maintenance window `spec` describes (check names resolved,
/// every field validated before proposing; `--start now` is this node's
/// clock).
pub async fn add_maintenance(c: &Cluster, spec: MaintenanceSpec) -> Result<Outcome> {
    let now = crate::state::mutation::now_ms();
    let window = super::window_from_spec(&c.state(), &spec, super::new_id(), now)?;
    c.propose(Mutation::AddMaintenance { window }).await
}

/// The maintenance windows and silences on record.
pub fn list_maintenance(c: &Cluster) -> Vec<MaintenanceWindow> {
    c.state().maintenance.values().cloned().collect()
}

/// Remove the maintenance window `id`.
pub async fn remove_maintenance(c: &Cluster, id: &str) -> Result<Outcome> {
    c.propose(Mutation::RemoveMaintenance { id: id.to_string() })
        .await
}

/// Silence the check `check` (id or name) for `duration` (`30m`) from now:
/// a one-off window for that check alone.
pub async fn silence(c: &Cluster, check: &str, duration: &str) -> Result<Outcome> {
    let spec = MaintenanceSpec {
        checks: vec![check.to_string()],
        start: Some("now".into()),
        duration: duration.to_string(),
        reason: "silenced".into(),
        ..Default::default()
    };
    let now = crate::state::mutation::now_ms();
    let window = MaintenanceWindow {
        silence: true,
        ..super::window_from_spec(&c.state(), &spec, super::new_id(), now)?
    };
    c.propose(Mutation::AddMaintenance { window }).await
}

/// End every silence of the check `check` (id or name).
pub async fn clear_silence(c: &Cluster, check: &str) -> Result<Outcome> {
    let id = c.state().find_check(check)?.id.clone();
    c.propose(Mutation::ClearSilence { check: id }).await
}

/// Wait until this node has applied config version `version` or later (the
/// [`Outcome::version`] a write returned, possibly through another node),
/// for at most `timeout` ([`Cluster::wait_applied`]).
pub async fn wait_applied(c: &Cluster, version: u64, timeout: Duration) -> Result<u64> {
    c.wait_applied(version, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn enrollment_ttl_names_its_field_and_bounds() {
        assert_eq!(enrollment_ttl("1h").expect("1h"), Duration::from_secs(3600));
        for bad in ["0s", "31d", "soon"] {
            let e = enrollment_ttl(bad).expect_err(bad);
            assert_eq!(e.field(), Some("ttl"), "{bad}");
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
        assert!(
            enrollment_ttl("31d")
                .expect_err("31d")
                .message()
                .contains("720h"),
            "the bound is named"
        );
    }
}
