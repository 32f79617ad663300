//! `ImportConfig`: checks, alert channels and cluster-wide settings (DNS
//! resolvers, history retention) brought into a freshly founded cluster in
//! one replicated mutation.
//!
//! `qu backup restore` and `qu recover --force-new-cluster` found a new
//! single-voter cluster and must carry the old configuration over without a
//! window in which only some of it exists: a half-imported check list would
//! probe with the wrong alert routing. So the whole set is validated first
//! (every channel and check, id and name clashes with what is there and
//! within the set, alert references) and then inserted at once; a rejected
//! import changes nothing.

use std::collections::BTreeSet;

use crate::error::{Error, ErrorKind, Result};
use crate::state::declared::Retention;
use crate::state::{AlertChannel, Check, ClusterState, SettingsCheck};

impl ClusterState {
    /// Validate and insert `checks` and `alerts`, and set the resolvers
    /// (unless empty) and the retention (if given); all or nothing.
    pub(crate) fn import_config(
        &mut self,
        checks: &[Check],
        alerts: &[AlertChannel],
        dns_resolvers: &[String],
        retention: Option<&Retention>,
        settings: SettingsCheck,
    ) -> Result<Option<String>> {
        let resolvers = match dns_resolvers {
            [] => None,
            list => Some(crate::state::resolvers::validate(list)?),
        };
        if let Some(r) = retention {
            r.validate()?;
        }
        super::model::room_for(
            "alert channels",
            self.alerts.len(),
            alerts.len(),
            super::model::MAX_ALERTS,
        )?;
        super::model::room_for(
            "checks",
            self.checks.len(),
            checks.len(),
            super::model::MAX_CHECKS,
        )?;
        let mut alert_ids = BTreeSet::new();
        let mut alert_names = BTreeSet::new();
        for a in alerts {
            a.validate(settings)?;
            if self.alerts.contains_key(&a.id) || !alert_ids.insert(a.id.clone()) {
                return Err(clash("alert id", &a.id));
            }
            if self.alerts.values().any(|x| x.name == a.name) || !alert_names.insert(&a.name) {
                return Err(clash("alert", &a.name));
            }
        }
        let mut check_ids = BTreeSet::new();
        let mut check_names = BTreeSet::new();
        for c in checks {
            c.validate()?;
            if self.checks.contains_key(&c.id) || !check_ids.insert(c.id.clone()) {
                return Err(clash("check id", &c.id));
            }
            if self.checks.values().any(|x| x.name == c.name) || !check_names.insert(&c.name) {
                return Err(clash("check", &c.name));
            }
            for r in c.alerts.iter().chain(&c.suppress_alerts) {
                if !alert_ids.contains(r) && !self.alerts.contains_key(r) {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "import: check {:?} refers to alert channel {r:?}, which the \
                             import does not contain; the backup is inconsistent",
                            c.name
                        ),
                    ));
                }
            }
        }
        for a in alerts {
            self.alerts.insert(a.id.clone(), a.clone());
        }
        for c in checks {
            self.checks.insert(c.id.clone(), c.clone());
        }
        if let Some(list) = resolvers {
            self.dns_resolvers = list;
        }
        if let Some(r) = retention {
            self.retention = *r;
        }
        Ok(Some(format!(
            "imported {} checks and {} alert channels",
            checks.len(),
            alerts.len()
        )))
    }
}

fn clash(what: &str, key: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "import: {what} {key:?} appears twice or already exists; an import goes into a \
             freshly founded cluster only"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NodeId;
    use crate::state::{Command, Mutation};

    fn import(checks: Vec<Check>, alerts: Vec<AlertChannel>) -> Command {
        Command::new(
            NodeId::new("a").expect("id"),
            Mutation::ImportConfig {
                checks,
                alerts,
                dns_resolvers: Vec::new(),
                retention: None,
            },
        )
    }

    fn alert(id: &str, name: &str) -> AlertChannel {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "type": "webhook",
            "settings": {"url": "http://127.0.0.1:9/x"}
        }))
        .expect("alert")
    }

    fn check(id: &str, name: &str, alerts: &[&str]) -> Check {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "type": "tcp", "target": "127.0.0.1:9",
            "interval": "30s", "timeout": "5s", "alerts": alerts,
        }))
        .expect("check")
    }

    #[test]
    fn imports_everything_in_one_mutation() {
        let mut s = ClusterState::default();
        let out = s
            .apply(&import(
                vec![check("c1", "web", &["a1"]), check("c2", "db", &[])],
                vec![alert("a1", "hook")],
            ))
            .expect("import");
        assert_eq!(out.version, 1);
        assert_eq!(s.checks.len(), 2);
        assert_eq!(s.alerts.len(), 1);
        assert_eq!(s.checks["c1"].alerts, vec!["a1".to_string()]);
    }

    #[test]
    fn settings_are_imported_and_a_bad_one_refuses_everything() {
        let retention = Retention {
            transitions_per_check: 7,
            delivered_per_check: 9,
        };
        let with = |resolvers: &[&str], retention: Option<Retention>| {
            Command::new(
                NodeId::new("a").expect("id"),
                Mutation::ImportConfig {
                    checks: vec![check("c1", "web", &[])],
                    alerts: Vec::new(),
                    dns_resolvers: resolvers.iter().map(|r| r.to_string()).collect(),
                    retention,
                },
            )
        };
        let mut s = ClusterState::default();
        let bad = Retention {
            transitions_per_check: 0,
            ..retention
        };
        for cmd in [with(&["not an ip"], None), with(&[], Some(bad))] {
            s.apply(&cmd).expect_err("refused");
            assert!(s.checks.is_empty(), "a refused import added a check");
        }
        s.apply(&with(&["9.9.9.9"], Some(retention)))
            .expect("import");
        assert_eq!(s.dns_resolvers, vec!["9.9.9.9:53".to_string()]);
        assert_eq!(s.retention, retention);
    }

    #[test]
    fn a_bad_import_changes_nothing() {
        let mut s = ClusterState::default();
        s.apply(&import(vec![check("c0", "web", &[])], vec![]))
            .expect("first");
        let before = s.clone();
        for (checks, alerts, want) in [
            (vec![check("c1", "web", &[])], vec![], "check \"web\""),
            (vec![check("c0", "other", &[])], vec![], "check id \"c0\""),
            (vec![check("c1", "x", &["nope"])], vec![], "\"nope\""),
            (
                vec![],
                vec![alert("a1", "h"), alert("a2", "h")],
                "alert \"h\"",
            ),
        ] {
            let err = s.apply(&import(checks, alerts)).expect_err("rejected");
            assert!(err.message.contains(want), "{want}: {}", err.message);
            let mut after = s.clone();
            after.recent.clear();
            let mut b = before.clone();
            b.recent.clear();
            assert_eq!(after, b, "a rejected import changed the state");
        }
    }
}
