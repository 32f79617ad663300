//! One check of a declaration file: its name, type and target, the common
//! settings, and the probe settings flat beside them.
//!
//! The probe settings are the probe types' own ([`ProbeFields`]), so a
//! setting added to a probe type is declared, exported and planned without
//! a line here. The record is read key by key rather than through serde's
//! flattening, so an unknown key or a bad value is reported at its own
//! line and column, as the rest of the file is.

use std::fmt;
use std::time::Duration;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::state::model::{DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::state::policy::{DEFAULT_ROUNDS, Policy};
use crate::state::{Check, CheckType, ProbeFields, duration};

/// One check, keyed by name; the fields of `qu check add`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckDecl {
    /// Unique name.
    pub name: String,
    /// `http`, `tcp`, `icmp`, `tls`, `dns` or `push`.
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// What to probe (none for a push check).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Time between probes (default 30s).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub interval: Option<Duration>,
    /// Probe timeout (default 10s).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub timeout: Option<Duration>,
    /// The probe settings (`expect_status`, `sni`, `record`, …), flat; only
    /// those of `kind` may be set.
    #[serde(flatten)]
    pub probe: ProbeFields,
    /// Alert channel names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Default channels (names) this check must not notify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress: Vec<String>,
    /// Repeat the alert this often while down.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub remind: Option<Duration>,
    /// Kept but not probed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// `fail_after`, `recover_after`, `quorum`, `nodes` (a map of labels).
    #[serde(flatten)]
    pub policy: Policy,
    /// Changes of state within `flap_window` beyond which it is flapping
    /// (0: off; unset: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_threshold: Option<u32>,
    /// The flap window (unset: the default).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub flap_window: Option<Duration>,
    /// Names of the checks this one depends on (`--depends-on`): while
    /// one is down, this check's DOWN is held back. Absent: an existing
    /// check keeps its dependencies; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
}

/// The keys of a record besides the probe settings.
const COMMON: &[&str] = &[
    "name",
    "type",
    "target",
    "interval",
    "timeout",
    "alerts",
    "suppress",
    "remind",
    "disabled",
    "fail_after",
    "recover_after",
    "quorum",
    "nodes",
    "flap_threshold",
    "flap_window",
    "depends_on",
];

impl CheckDecl {
    /// The declaration of `c`, alert ids shown as `alert_name` gives them.
    pub(super) fn of(
        c: &Check,
        alert_name: &dyn Fn(&String) -> String,
        check_name: &dyn Fn(&String) -> String,
    ) -> CheckDecl {
        CheckDecl {
            name: c.name.clone(),
            kind: c.kind(),
            target: c.target.clone(),
            interval: Some(c.interval).filter(|d| *d != DEFAULT_INTERVAL),
            timeout: Some(c.timeout).filter(|d| *d != DEFAULT_TIMEOUT),
            probe: ProbeFields::of(&c.probe),
            alerts: c.alerts.iter().map(alert_name).collect(),
            suppress: c.suppress_alerts.iter().map(alert_name).collect(),
            remind: c.remind,
            disabled: c.disabled,
            policy: c.policy.clone(),
            flap_threshold: c.flap_threshold,
            flap_window: c.flap_window,
            depends_on: (!c.depends_on.is_empty())
                .then(|| c.depends_on.iter().map(check_name).collect()),
        }
    }

    /// The check this declares, with id `id` and alert names resolved to
    /// `alerts` and `suppress` ids, validated. Its `depends_on` is empty:
    /// the plan resolves the declared names, or keeps an existing check's
    /// when the file does not say (see `plan.rs`).
    pub fn to_check(
        &self,
        id: String,
        alerts: Vec<String>,
        suppress: Vec<String>,
    ) -> Result<Check> {
        let check = Check {
            id,
            name: self.name.clone(),
            probe: self.probe.clone().into_probe(self.kind)?,
            target: self.target.clone(),
            interval: self.interval.unwrap_or(DEFAULT_INTERVAL),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            alerts,
            suppress_alerts: suppress,
            depends_on: Vec::new(),
            flap_threshold: self.flap_threshold,
            flap_window: self.flap_window,
            remind: self.remind,
            disabled: self.disabled,
            policy: Policy {
                fail_after: self.policy.fail_after.filter(|n| *n != DEFAULT_ROUNDS),
                recover_after: self.policy.recover_after.filter(|n| *n != DEFAULT_ROUNDS),
                ..self.policy.clone()
            },
        };
        check.validate()?;
        Ok(check)
    }
}

impl<'de> Deserialize<'de> for CheckDecl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<CheckDecl, D::Error> {
        d.deserialize_map(Record)
    }
}

/// Reads a record key by key (see the module doc).
struct Record;

impl<'de> Visitor<'de> for Record {
    type Value = CheckDecl;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a check (name, type, target, …)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<CheckDecl, A::Error> {
        let (mut name, mut kind, mut target) = (None, None, None);
        let (mut interval, mut timeout, mut remind) = (None, None, None);
        let (mut alerts, mut suppress, mut disabled) = (Vec::new(), Vec::new(), false);
        let mut probe = ProbeFields::default();
        let mut policy = Policy::default();
        let (mut flap_threshold, mut flap_window, mut depends_on) = (None, None, None);
        // The key is checked as it is read, so an unknown one is
        // reported at its own place.
        while let Some(key) = map.next_key_seed(Key)? {
            match key.as_str() {
                "name" => name = Some(map.next_value()?),
                "type" => kind = Some(map.next_value()?),
                "target" => target = Some(map.next_value()?),
                "interval" => interval = map.next_value_seed(OptDuration)?,
                "timeout" => timeout = map.next_value_seed(OptDuration)?,
                "remind" => remind = map.next_value_seed(OptDuration)?,
                "alerts" => alerts = map.next_value()?,
                "suppress" => suppress = map.next_value()?,
                "disabled" => disabled = map.next_value()?,
                "fail_after" => policy.fail_after = map.next_value()?,
                "recover_after" => policy.recover_after = map.next_value()?,
                "quorum" => policy.quorum = map.next_value()?,
                "nodes" => policy.nodes = map.next_value()?,
                "flap_threshold" => flap_threshold = map.next_value()?,
                "flap_window" => flap_window = map.next_value_seed(OptDuration)?,
                "depends_on" => depends_on = Some(map.next_value()?),
                other => {
                    if !probe.read_entry(other, &mut map)? {
                        return Err(de::Error::custom(format_args!("unknown field `{other}`")));
                    }
                }
            }
        }
        Ok(CheckDecl {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            kind: kind.ok_or_else(|| de::Error::missing_field("type"))?,
            // A push check has no target: the job calls it.
            target: match target {
                Some(t) => t,
                None if kind == Some(CheckType::Push) => String::new(),
                None => return Err(de::Error::missing_field("target")),
            },
            interval,
            timeout,
            probe,
            alerts,
            suppress,
            remind,
            disabled,
            policy,
            flap_threshold,
            flap_window,
            depends_on,
        })
    }
}

/// A record's key, refused as it is read when it is neither a common key
/// nor a probe setting.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<String, D::Error> {
        let key = String::deserialize(d)?;
        let names = ProbeFields::names();
        if COMMON.contains(&key.as_str()) || names.contains(&key.as_str()) {
            return Ok(key);
        }
        let mut known = COMMON.to_vec();
        known.extend(names);
        Err(de::Error::custom(format_args!(
            "unknown field `{key}`, expected one of {}",
            known.join(", ")
        )))
    }
}

/// An optional duration value (`15s`), read in place.
struct OptDuration;

impl<'de> DeserializeSeed<'de> for OptDuration {
    type Value = Option<Duration>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        duration::opt::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_policy_reads_exports_and_refuses_bad_values() {
        let text = r#"{"name": "db", "type": "tcp", "target": "127.0.0.1:5432",
            "fail_after": 3, "quorum": "any", "nodes": {"region": "eu"}}"#;
        let decl: CheckDecl = serde_json::from_str(text).expect("declaration");
        let check = decl
            .to_check("c1".into(), Vec::new(), Vec::new())
            .expect("valid");
        assert_eq!(check.policy.fail_after, Some(3));
        assert_eq!(check.policy.quorum, crate::state::Quorum::Any);
        assert_eq!(CheckDecl::of(&check, &|a| a.clone(), &|c| c.clone()), decl);
        let bad = r#"{"name": "db", "type": "tcp", "target": "x:1", "quorum": "most"}"#;
        let e = serde_json::from_str::<CheckDecl>(bad).expect_err("bad quorum");
        assert!(e.to_string().contains("at-least K"), "{e}");
    }

    #[test]
    fn a_push_check_is_declared_without_target_or_token() {
        let text = "name: backup\ntype: push\nperiod: 24h\ngrace: 1h\n";
        let decl: CheckDecl = serde_saphyr::from_str(text).expect("declaration");
        let mut check = decl
            .to_check("c1".into(), Vec::new(), Vec::new())
            .expect("valid");
        if let crate::state::Probe::Push(p) = &mut check.probe {
            assert_eq!(p.period, Some(Duration::from_secs(86_400)));
            p.token_hash = Some(format!("sha256:{}", "ab".repeat(32)));
        }
        let exported = CheckDecl::of(&check, &|a| a.clone(), &|c| c.clone());
        assert_eq!(exported, decl, "the export holds no token hash");
        let json = serde_json::to_string(&exported).expect("json");
        assert!(
            !json.contains("token") && !json.contains("target"),
            "{json}"
        );
        let bad = "name: backup\ntype: push\nperiod: 1h\ntoken_hash: x\n";
        let e = serde_saphyr::from_str::<CheckDecl>(bad).expect_err("token in a file");
        assert!(e.to_string().contains("unknown field `token_hash`"), "{e}");
        let e = serde_saphyr::from_str::<CheckDecl>("name: x\ntype: tcp\n").expect_err("tcp");
        assert!(e.to_string().contains("target"), "{e}");
    }
}
