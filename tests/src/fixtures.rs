//! Records the end-to-end tests share: a webhook channel named `hook`, a
//! fast HTTP check that alerts it, and the steps to set them up.

use std::collections::BTreeMap;
use std::time::Duration;

use quptime::Cluster;
use quptime::state::{AlertChannel, Check, CheckType, Mutation};

use crate::cluster::wait_for;

/// A webhook channel `hook` posting to `url`.
pub fn webhook(url: &str) -> AlertChannel {
    let mut settings = BTreeMap::new();
    settings.insert("url".to_string(), url.to_string());
    AlertChannel {
        id: "hook".into(),
        name: "hook".into(),
        kind: "webhook".into(),
        default: false,
        disabled: false,
        settings,
    }
}

/// An HTTP check `web` (with id `id`) of `url` every second, alerting `hook`.
pub fn web_check(id: &str, url: &str) -> Check {
    Check {
        id: id.into(),
        name: "web".into(),
        target: url.into(),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(800),
        alerts: vec!["hook".into()],
        ..Check::blank(CheckType::Http)
    }
}

/// Add the `hook` channel posting to `hook_url`, then `check`, through `node`.
pub async fn add_hook_and_check(node: &Cluster, hook_url: &str, check: Check) {
    node.propose(Mutation::AddAlert {
        alert: webhook(hook_url),
    })
    .await
    .expect("add alert");
    node.propose(Mutation::AddCheck { check })
        .await
        .expect("add check");
}

/// Wait (at most 15 s) until `node` holds check `id` as agreed `up`.
pub async fn wait_up(node: &Cluster, id: &str) {
    wait_for("the check to be up", Duration::from_secs(15), || {
        node.state()
            .check_states
            .get(id)
            .is_some_and(|s| s.state.as_str() == "up")
    })
    .await;
}
