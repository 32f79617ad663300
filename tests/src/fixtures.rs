//! Records the end-to-end tests share: a webhook channel named `hook` and a
//! fast HTTP check that alerts it.

use std::collections::BTreeMap;
use std::time::Duration;

use quptime::state::{AlertChannel, Check, CheckType};

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
