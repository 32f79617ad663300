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
#[derive(Debug, Clone, Serialize, Deserialize)]
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

async fn update(c: &Cluster, key: &str, change: impl FnOnce(&mut AlertChannel)) -> Result<Outcome> {
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

/// Add the alert methods to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    let c = cluster.clone();
    let (c1, c2, c3, c4, c5, c6, c7) = (
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
        c.clone(),
    );
    router
        .route::<AddAlert, _, _>(move |_, spec: AlertSpec| {
            let c = c1.clone();
            async move { add_alert(&c, spec).await }
        })
        .route::<ListAlerts, _, _>(move |_, ()| {
            let c = c2.clone();
            async move { Ok(c.state().alerts.values().map(AlertView::of).collect()) }
        })
        .route::<EditAlert, _, _>(move |_, (key, settings): (String, BTreeMap<String, String>)| {
            let c = c3.clone();
            async move {
                update(&c, &key, |a| {
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
        })
        .route::<SetAlertEnabled, _, _>(move |_, (key, on): (String, bool)| {
            let c = c4.clone();
            async move { update(&c, &key, |a| a.disabled = !on).await }
        })
        .route::<SetAlertDefault, _, _>(move |_, (key, on): (String, bool)| {
            let c = c5.clone();
            async move { update(&c, &key, |a| a.default = on).await }
        })
        .route::<RemoveAlert, _, _>(move |_, key: String| {
            let c = c6.clone();
            async move { remove_alert(&c, &key).await }
        })
        .route::<TestAlert, _, _>(move |_, key: String| {
            let c = c7.clone();
            async move {
                let d = c.test_alert(&key).await?;
                Ok(TestDelivery {
                    channel: d.channel,
                    ok: true,
                    message: d.answer,
                    elapsed_ms: crate::state::duration::millis(d.elapsed),
                })
            }
        })
        .route::<TestCheck, _, _>(move |_, (key, to): (String, CheckState)| {
            let c = c.clone();
            async move {
                let results = c.test_check(&key, to).await?;
                if results.is_empty() {
                    return Err(Error::invalid(format!(
                        "check {key} has no alert channels: attach some with `qu check edit {key} --alerts a,b` or make one default"
                    )));
                }
                Ok(results
                    .into_iter()
                    .map(|(channel, r)| match r {
                        Ok(d) => TestDelivery { channel, ok: true, message: d.answer, elapsed_ms: crate::state::duration::millis(d.elapsed) },
                        Err(e) => TestDelivery { channel, ok: false, message: e.to_string(), elapsed_ms: 0 },
                    })
                    .collect())
            }
        })
}
