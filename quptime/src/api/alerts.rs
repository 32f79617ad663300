//! Control methods for alert channels: `qu alert …` and `qu check test`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::{Error, Result};
use crate::state::{AlertChannel, CheckState, Mutation, Outcome};
use crate::transport::Rpc;

method!(/// `qu alert add`.
    AddAlert, "alert.add", AlertSpec, Outcome);
method!(/// `qu alert list` (secrets masked).
    ListAlerts, "alert.list", (), Vec<AlertView>);
method!(/// `qu alert edit`: (id or name, settings to set; an empty value removes one).
    EditAlert, "alert.edit", (String, BTreeMap<String, String>), Outcome);
method!(/// `qu alert enable|disable`: (id or name, enabled).
    SetAlertEnabled, "alert.set_enabled", (String, bool), Outcome);
method!(/// `qu alert default <x> on|off`.
    SetAlertDefault, "alert.set_default", (String, bool), Outcome);
method!(/// `qu alert remove`.
    RemoveAlert, "alert.remove", String, Outcome);
method!(/// `qu alert test`: the receiver's answer, or an error saying what it answered.
    TestAlert, "alert.test", String, TestDelivery);
method!(/// `qu check test`: (check, state) → one result per channel.
    TestCheck, "check.test", (String, CheckState), Vec<TestDelivery>);

/// A new channel as the CLI describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertSpec {
    /// Unique name.
    pub name: String,
    /// `smtp`, `discord` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attach to every check.
    #[serde(default)]
    pub default: bool,
    /// Type-specific settings (see docs/configuration.md).
    pub settings: BTreeMap<String, String>,
}

/// A channel as listed: secrets masked.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attached to every check.
    pub default: bool,
    /// Sends nothing while disabled.
    pub disabled: bool,
    /// Settings with passwords, secrets and webhook paths masked.
    pub settings: BTreeMap<String, String>,
}

impl AlertView {
    /// The masked view of `c`.
    pub fn of(c: &AlertChannel) -> AlertView {
        AlertView {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            default: c.default,
            disabled: c.disabled,
            settings: crate::notify::masked_settings(c),
        }
    }
}

/// The outcome of a test delivery through one channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestDelivery {
    /// The channel.
    pub channel: String,
    /// Delivered?
    pub ok: bool,
    /// The receiver's answer, or the error.
    pub message: String,
    /// Milliseconds the delivery took.
    pub elapsed_ms: u64,
}

use super::new_id;

/// Add the channel `spec` describes, after validating its settings.
pub async fn add_alert(c: &Cluster, spec: AlertSpec) -> Result<Outcome> {
    let alert = AlertChannel {
        id: new_id(),
        name: spec.name,
        kind: spec.kind,
        default: spec.default,
        disabled: false,
        settings: spec.settings,
    };
    alert.validate(crate::notify::validate)?;
    crate::notify::refuse_unsafe(&alert)?;
    c.propose(Mutation::AddAlert { alert }).await
}

/// Remove the channel with this id or name.
pub async fn remove_alert(c: &Cluster, key: &str) -> Result<Outcome> {
    let id = c.state().find_alert(key)?.id.clone();
    c.propose(Mutation::RemoveAlert { alert: id }).await
}

/// The channels, secrets masked.
pub fn list_alerts(c: &Cluster) -> Vec<AlertView> {
    c.state().alerts.values().map(AlertView::of).collect()
}

/// Change the channel `key` with `change`, validate and propose it.
pub(crate) async fn update(
    c: &Cluster,
    key: &str,
    change: impl FnOnce(&mut AlertChannel),
) -> Result<Outcome> {
    let mut alert = c.state().find_alert(key)?.clone();
    let before = alert.settings.clone();
    change(&mut alert);
    alert.validate(crate::notify::validate)?;
    // Enabling, disabling or making a channel default never fails on
    // settings an older release accepted; changing them is checked.
    if alert.settings != before {
        crate::notify::refuse_unsafe(&alert)?;
    }
    c.propose(Mutation::UpdateAlert { alert }).await
}

/// Deliver a test notification of `key` going to state `to` through each
/// of its channels.
async fn test_check(c: &Cluster, key: &str, to: CheckState) -> Result<Vec<TestDelivery>> {
    let results = c.test_check(key, to).await?;
    if results.is_empty() {
        return Err(Error::invalid(format!(
            "check {key} has no alert channels: attach some or make one default"
        ))
        .with_hint(format!("`qu check edit {key} --alerts a,b`")));
    }
    Ok(results
        .into_iter()
        .map(|(channel, r)| match r {
            Ok(d) => TestDelivery {
                channel,
                ok: true,
                message: d.answer,
                elapsed_ms: crate::state::duration::millis(d.elapsed),
            },
            Err(e) => TestDelivery {
                channel,
                ok: false,
                message: e.to_string(),
                elapsed_ms: 0,
            },
        })
        .collect())
}

/// Deliver a test notification through the channel `key`.
async fn test_alert(c: &Cluster, key: &str) -> Result<TestDelivery> {
    let d = c.test_alert(key).await?;
    Ok(TestDelivery {
        channel: d.channel,
        ok: true,
        message: d.answer,
        elapsed_ms: crate::state::duration::millis(d.elapsed),
    })
}

/// Add the alert methods to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    use super::usecase as uc;
    routes!(router, cluster,
        AddAlert => |c, spec| add_alert(&c, spec).await,
        ListAlerts => |c, ()| Ok(list_alerts(&c)),
        EditAlert => |c, (key, settings)| uc::update_alert(&c, &key, settings).await,
        SetAlertEnabled => |c, (key, on)| uc::set_alert_enabled(&c, &key, on).await,
        SetAlertDefault => |c, (key, on)| uc::set_alert_default(&c, &key, on).await,
        RemoveAlert => |c, key| remove_alert(&c, &key).await,
        TestAlert => |c, key| test_alert(&c, &key).await,
        TestCheck => |c, (key, to)| test_check(&c, &key, to).await,
    )
}
