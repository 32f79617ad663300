//! The documents that add and change a check: [`CheckSpec`] (`check.add`,
//! and the C and Python documents) and [`CheckPatch`] (`check.edit`).
//!
//! Both carry the probe settings flat, next to the name and the target,
//! as the probe types themselves define them ([`ProbeFields`]), so a
//! setting is declared and validated once, in its probe type; durations
//! stay text here (`30s`), parsed with the bounds of the field.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::state::model::{DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::state::policy::{DEFAULT_ROUNDS, Policy, Quorum, parse_labels};
use crate::state::{Check, CheckType, ProbeFields, duration};

/// A check as the CLI describes it; the daemon assigns the id and resolves
/// alert names.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckSpec {
    /// Unique name.
    pub name: String,
    /// Probe type.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "http")]
    pub kind: CheckType,
    /// What to probe.
    pub target: String,
    /// Probe interval (`30s`).
    pub interval: Option<String>,
    /// Probe timeout (`10s`).
    pub timeout: Option<String>,
    /// The probe settings (`expect_status`, `sni`, `record`, …), flat; only
    /// those of `kind` may be set.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub probe: ProbeFields,
    /// Alert channel names or ids.
    #[serde(default)]
    pub alerts: Vec<String>,
    /// Default channels (names or ids) this check must not notify.
    #[serde(default)]
    pub suppress: Vec<String>,
    /// Repeat the alert this often while the check stays down (`1h`).
    #[serde(default)]
    pub remind: Option<String>,
    /// Rounds to go down (1 to 20, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
    /// Rounds to come back (1 to 20, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_after: Option<u32>,
    /// `majority` (default), `all`, `any` or `at-least K`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<String>,
    /// Label selector (`region=eu`, all must match): the judging nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Checks (names or ids) this one depends on: while one is down, its
    /// DOWN is held back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Changes of state within the flap window beyond which it is flapping
    /// (default 5; 0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_threshold: Option<u32>,
    /// The flap window (`10m`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_window: Option<String>,
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
            probe: ProbeFields::default(),
            alerts: Vec::new(),
            suppress: Vec::new(),
            remind: None,
            fail_after: None,
            recover_after: None,
            quorum: None,
            nodes: Vec::new(),
            depends_on: Vec::new(),
            flap_threshold: None,
            flap_window: None,
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
            probe: self.probe.into_probe(self.kind)?,
            target: self.target,
            interval: dur("interval", self.interval, DEFAULT_INTERVAL)?,
            timeout: dur("timeout", self.timeout, DEFAULT_TIMEOUT)?,
            alerts: alert_ids,
            suppress_alerts: Vec::new(),
            depends_on: Vec::new(),
            flap_threshold: self
                .flap_threshold
                .filter(|n| *n != crate::state::flap::DEFAULT_THRESHOLD),
            flap_window: match &self.flap_window {
                Some(text) => Some(check_duration("flap_window", text)?),
                None => None,
            },
            remind: match self.remind {
                Some(text) => Some(dur("remind", Some(text), Duration::ZERO)?),
                None => None,
            },
            disabled: false,
            policy: Policy {
                fail_after: rounds(self.fail_after),
                recover_after: rounds(self.recover_after),
                quorum: match &self.quorum {
                    Some(q) => q.parse()?,
                    None => Quorum::Majority,
                },
                nodes: parse_labels("nodes", &self.nodes)?,
            },
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

/// Fields to change in a check; `None` (or `null`) keeps the current
/// value, an empty string clears an optional text field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckPatch {
    /// New name.
    pub name: Option<String>,
    /// New target.
    pub target: Option<String>,
    /// New interval.
    pub interval: Option<String>,
    /// New timeout.
    pub timeout: Option<String>,
    /// Probe settings to change, by their names in a [`CheckSpec`]
    /// (`"expect_status": "2xx"`, `"body_match": ""` to clear); see
    /// [`ProbeFields::patch`].
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub probe: Map<String, Value>,
    /// Alert channels (names or ids), replacing the current list.
    pub alerts: Option<Vec<String>>,
    /// Default channels not to notify, replacing the current list.
    #[serde(default)]
    pub suppress: Option<Vec<String>>,
    /// Reminder interval while down (empty turns reminders off).
    #[serde(default)]
    pub remind: Option<String>,
    /// Rounds to go down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
    /// Rounds to come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_after: Option<u32>,
    /// The quorum policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<String>,
    /// The label selector, replacing the current one (empty: every voter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<String>>,
    /// The checks (names or ids) it depends on, replacing the current
    /// list (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
    /// The flap threshold (0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_threshold: Option<u32>,
    /// The flap window (empty: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_window: Option<String>,
}

impl CheckPatch {
    /// Apply to `check` and validate the result.
    pub fn apply(self, check: &mut Check, alert_ids: Option<Vec<String>>) -> Result<()> {
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
        check.probe = ProbeFields::patch(&check.probe, &self.probe)?;
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
        if let Some(v) = self.fail_after {
            check.policy.fail_after = rounds(Some(v));
        }
        if let Some(v) = self.recover_after {
            check.policy.recover_after = rounds(Some(v));
        }
        if let Some(q) = &self.quorum {
            check.policy.quorum = q.parse()?;
        }
        if let Some(terms) = &self.nodes {
            check.policy.nodes = parse_labels("nodes", terms)?;
        }
        if let Some(n) = self.flap_threshold {
            check.flap_threshold = Some(n).filter(|n| *n != crate::state::flap::DEFAULT_THRESHOLD);
        }
        if let Some(v) = &self.flap_window {
            check.flap_window = if v.is_empty() {
                None
            } else {
                Some(dur("flap_window", v)?)
            };
        }
        check.validate()
    }
}

/// A round count as stored: the default (2) is left out, so a check
/// that states it needs no newer state level.
fn rounds(v: Option<u32>) -> Option<u32> {
    v.filter(|n| *n != DEFAULT_ROUNDS)
}

/// A check's `interval`, `timeout` or `remind` field, within its bounds;
/// the error names the field ([`Error::field`]) and the bounds.
fn check_duration(field: &str, text: &str) -> Result<Duration> {
    use crate::state::model::{INTERVAL_RANGE, REMIND_RANGE, TIMEOUT_RANGE};
    let (range, example) = match field {
        "interval" => (INTERVAL_RANGE, "30s or 1m30s"),
        "timeout" => (TIMEOUT_RANGE, "10s"),
        "flap_window" => (crate::state::flap::WINDOW_RANGE, "10m"),
        _ => (REMIND_RANGE, "1h"),
    };
    duration::parse_field(field, text, range, example)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// The document `quptime-py`'s `Cluster.add_check` sends: every key,
    /// the unset ones `null` or `false`.
    fn python(kind: &str, target: &str, expect_status: &str) -> String {
        format!(
            r#"{{"name": "svc", "type": "{kind}", "target": "{target}", "interval": "1s",
            "timeout": null, "expect_status": {expect_status}, "body_match": null,
            "insecure": false, "max_redirects": null, "keep_alive": false, "warn_days": null,
            "sni": null, "record": null, "resolver": null, "expect_answer": null,
            "alerts": [], "suppress": [], "remind": null}}"#
        )
    }

    #[test]
    fn the_python_document_reads_as_before() {
        let spec: CheckSpec =
            serde_json::from_str(&python("tcp", "127.0.0.1:9", "null")).expect("tcp document");
        let check = spec.into_check("c1".into(), Vec::new()).expect("valid");
        assert_eq!(check.kind(), CheckType::Tcp);
        assert_eq!(check.interval, Duration::from_secs(1));
        let spec: CheckSpec =
            serde_json::from_str(&python("http", "http://127.0.0.1:9/", "\"2xx\"")).expect("http");
        let check = spec.into_check("c2".into(), Vec::new()).expect("valid");
        let status = check.http().and_then(|h| h.expect_status.clone());
        assert_eq!(status.map(String::from).as_deref(), Some("2xx"));
        let e = serde_json::from_str::<CheckSpec>(&python("http", "http://x/", "\"7xx\""))
            .expect_err("bad status")
            .to_string();
        assert!(e.contains("7xx") && e.contains("expected status"), "{e}");
        let spec: CheckSpec =
            serde_json::from_str(&python("tcp", "127.0.0.1:9", "\"2xx\"")).expect("parses");
        let e = spec
            .into_check("c3".into(), Vec::new())
            .expect_err("http on tcp");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.message()
                .contains("expect_status applies to http checks only"),
            "{e}"
        );
    }

    #[test]
    fn a_patch_of_an_earlier_qu_keeps_what_it_leaves_null() {
        // `qu` before the probe sum type sent every probe key, null when unset.
        let old = r#"{"name": null, "target": null, "interval": "1m", "timeout": null,
            "expect_status": null, "body_match": "", "insecure": null, "max_redirects": 4,
            "keep_alive": null, "warn_days": null, "sni": null, "record": null,
            "resolver": null, "expect_answer": null, "alerts": null}"#;
        let patch: CheckPatch = serde_json::from_str(old).expect("old patch");
        let mut check = Check {
            name: "web".into(),
            target: "http://127.0.0.1:9/".into(),
            ..Check::blank(CheckType::Http)
        };
        if let Some(h) = check.http_mut() {
            h.body_match = Some("ok".into());
            h.insecure = true;
        }
        patch.apply(&mut check, None).expect("apply");
        let http = check.http().expect("http");
        assert_eq!(check.interval, Duration::from_secs(60));
        assert_eq!(http.body_match, None, "an empty text clears");
        assert!(http.insecure, "null keeps");
        assert_eq!(http.max_redirects, Some(4));
    }

    #[test]
    fn the_policy_fields_are_read_validated_and_patched() {
        let mut spec = CheckSpec::new("db", CheckType::Tcp, "127.0.0.1:5432");
        spec.fail_after = Some(3);
        spec.recover_after = Some(2);
        spec.quorum = Some("at-least 2".into());
        spec.nodes = vec!["region=eu".into()];
        let check = spec
            .clone()
            .into_check("c1".into(), Vec::new())
            .expect("valid");
        assert_eq!(check.policy.fail_after, Some(3));
        assert_eq!(
            check.policy.recover_after, None,
            "the default is stored as unset"
        );
        assert_eq!(check.policy.quorum, Quorum::AtLeast(2));
        assert_eq!(check.policy.nodes["region"], "eu");
        let json = serde_json::to_value(&check).expect("json");
        assert_eq!(json["quorum"], "at-least 2");
        assert_eq!(json["nodes"]["region"], "eu");
        let back: Check = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, check);
        for (bad, field) in [
            (
                CheckSpec {
                    fail_after: Some(0),
                    ..spec.clone()
                },
                "fail_after",
            ),
            (
                CheckSpec {
                    quorum: Some("at-least 0".into()),
                    ..spec.clone()
                },
                "quorum",
            ),
            (
                CheckSpec {
                    nodes: vec!["region".into()],
                    ..spec.clone()
                },
                "nodes",
            ),
        ] {
            let e = bad.into_check("c".into(), Vec::new()).expect_err(field);
            assert!(e.message().contains(field), "{field}: {e}");
        }
        let mut check = check;
        let patch = CheckPatch {
            quorum: Some("all".into()),
            nodes: Some(Vec::new()),
            fail_after: Some(2),
            ..CheckPatch::default()
        };
        patch.apply(&mut check, None).expect("patch");
        assert_eq!(
            check.policy,
            Policy {
                quorum: Quorum::All,
                ..Policy::default()
            }
        );
    }
}
