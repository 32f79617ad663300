//! The difference between a declaration and the current state, and the one
//! replicated change that makes the state match it.
//!
//! Everything is checked here first (names unique in the file, alert names
//! resolvable, every field valid), with the record's line in the message;
//! the state machine checks again when the change applies, on every node.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{AlertDecl, CheckDecl, Parsed};
use crate::error::{Error, ErrorKind, Result};
use crate::state::declared::DeclaredChange;
use crate::state::{Check, ClusterState};

/// What happens to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// Declared, not in the cluster.
    Add,
    /// In both, with different fields.
    Change,
    /// In the cluster, not declared (`--prune`).
    Remove,
}

/// One field that differs (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name (`interval`, `settings.password`).
    pub field: String,
    /// Current value (`None`: unset).
    pub from: Option<String>,
    /// Declared value (`None`: unset).
    pub to: Option<String>,
}

/// One record that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Add, change or remove.
    pub op: ChangeOp,
    /// `alert`, `check`, `retention`, `resolvers` or `canary`.
    pub kind: String,
    /// The record's name.
    pub name: String,
    /// The fields that differ (for changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.op {
            ChangeOp::Add => '+',
            ChangeOp::Change => '~',
            ChangeOp::Remove => '-',
        };
        write!(f, "{sign} {} {}", self.kind, self.name)?;
        for c in &self.fields {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
            match self.op {
                ChangeOp::Add => write!(f, "\n    {}: {}", c.field, show(&c.to))?,
                _ => write!(f, "\n    {}: {} -> {}", c.field, show(&c.from), show(&c.to))?,
            }
        }
        Ok(())
    }
}

/// The difference and the change that removes it.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Per record, in the order they apply.
    pub changes: Vec<Change>,
    /// Names of records not declared and kept (without `--prune`).
    pub unmanaged: Vec<String>,
    /// The replicated change (empty when nothing differs).
    pub change: DeclaredChange,
}

fn at(line: u64, what: &str, name: &str, e: Error) -> Error {
    Error::new(
        if e.kind() == ErrorKind::InvalidInput {
            ErrorKind::Config
        } else {
            e.kind()
        },
        // Display, so a field error keeps its field: `interval: "1ms" is …`.
        format!("line {line}: {what} {name:?}: {e}"),
    )
}

fn new_id(taken: &dyn Fn(&str) -> bool) -> String {
    loop {
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        if !taken(&id) {
            return id;
        }
    }
}

/// The plan that makes `state` match `parsed`; with `prune`, records the
/// file does not declare are removed.
pub fn plan(state: &ClusterState, parsed: &Parsed, prune: bool) -> Result<Plan> {
    let decl = &parsed.decl;
    if prune && parsed.blank && !(state.checks.is_empty() && state.alerts.is_empty()) {
        return Err(Error::new(
            ErrorKind::Config,
            "the declaration is empty, and --prune would delete every check and alert channel: \
             check the file (or standard input); to really delete everything, write \
             `checks: []` and `alerts: []`",
        ));
    }
    let line = |lines: &[u64], i: usize| lines.get(i).copied().unwrap_or(0);
    let mut out = Plan {
        change: DeclaredChange {
            base_version: state.version,
            ..DeclaredChange::default()
        },
        ..Plan::default()
    };
    let mut seen = BTreeSet::new();
    for (i, a) in decl.alerts.iter().enumerate() {
        if !seen.insert(a.name.as_str()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "line {}: alert {:?} is declared twice: names are unique",
                    line(&parsed.alert_lines, i),
                    a.name
                ),
            ));
        }
    }
    // Alerts: name → id of every channel that exists after the change.
    let mut alert_ids: BTreeMap<String, String> = BTreeMap::new();
    for (i, a) in decl.alerts.iter().enumerate() {
        let existing = state.alerts.values().find(|x| x.name == a.name);
        let id = existing.map_or_else(
            || new_id(&|id| state.alerts.contains_key(id)),
            |x| x.id.clone(),
        );
        let channel = a.to_channel(id.clone());
        channel
            .validate(crate::notify::validate)
            .map_err(|e| at(line(&parsed.alert_lines, i), "alert", &a.name, e))?;
        if existing.is_none_or(|x| x.settings != channel.settings) {
            crate::notify::refuse_unsafe(&channel)
                .map_err(|e| at(line(&parsed.alert_lines, i), "alert", &a.name, e))?;
        }
        alert_ids.insert(a.name.clone(), id);
        match existing {
            Some(x) if *x == channel => {}
            Some(x) => {
                out.changes.push(Change {
                    op: ChangeOp::Change,
                    kind: "alert".into(),
                    name: a.name.clone(),
                    fields: alert_fields(Some(x), &channel),
                });
                out.change.alerts.push(channel);
            }
            None => {
                out.changes.push(Change {
                    op: ChangeOp::Add,
                    kind: "alert".into(),
                    name: a.name.clone(),
                    fields: alert_fields(None, &channel),
                });
                out.change.alerts.push(channel);
            }
        }
    }
    for x in state.alerts.values() {
        if alert_ids.contains_key(&x.name) {
            continue;
        }
        if prune {
            out.change.remove_alerts.push(x.id.clone());
            out.changes.push(removed("alert", &x.name));
        } else {
            alert_ids.insert(x.name.clone(), x.id.clone());
            out.unmanaged.push(format!("alert {}", x.name));
        }
    }
    // Checks: name → id of every check that exists after the change, so
    // `depends_on` may name a check declared further down.
    let mut check_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut new_ids = BTreeSet::new();
    for c in &decl.checks {
        let id = match state.checks.values().find(|x| x.name == c.name) {
            Some(x) => x.id.clone(),
            None => {
                let id = new_id(&|id| state.checks.contains_key(id) || new_ids.contains(id));
                new_ids.insert(id.clone());
                id
            }
        };
        check_ids.entry(c.name.clone()).or_insert(id);
    }
    if !prune {
        for x in state.checks.values() {
            check_ids
                .entry(x.name.clone())
                .or_insert_with(|| x.id.clone());
        }
    }
    let mut seen = BTreeSet::new();
    for (i, c) in decl.checks.iter().enumerate() {
        let ln = line(&parsed.check_lines, i);
        if !seen.insert(c.name.as_str()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "line {ln}: check {:?} is declared twice: names are unique",
                    c.name
                ),
            ));
        }
        let resolve = |field: &str, names: &[String]| -> Result<Vec<String>> {
            names
                .iter()
                .map(|n| {
                    alert_ids.get(n).cloned().ok_or_else(|| {
                        Error::new(
                            ErrorKind::Config,
                            format!(
                                "line {ln}: check {:?}: {field}: no alert channel {n:?} \
                                 (declare it under `alerts:`{})",
                                c.name,
                                if prune {
                                    "; --prune removes undeclared channels"
                                } else {
                                    ""
                                }
                            ),
                        )
                    })
                })
                .collect()
        };
        let alerts = resolve("alerts", &c.alerts)?;
        let suppress = resolve("suppress", &c.suppress)?;
        let existing = state.checks.values().find(|x| x.name == c.name);
        let id = check_ids[&c.name].clone();
        let mut check = c
            .to_check(id, alerts, suppress)
            .map_err(|e| at(ln, "check", &c.name, e))?;
        // Dependencies a file declares (`depends_on`) replace the check's;
        // a file without the key keeps them, never drops them. With
        // `--prune` a parent the file does not declare is removed, so only
        // declared parents are kept then: nothing dangles.
        if let Some(x) = existing {
            // A push check's token is the cluster's, never in a file:
            // applying keeps it (`state::probe_push`).
            if let (crate::state::Probe::Push(old), crate::state::Probe::Push(new)) =
                (&x.probe, &mut check.probe)
            {
                new.token_hash.clone_from(&old.token_hash);
            }
        }
        if let Some(names) = &c.depends_on {
            check.depends_on = names
                .iter()
                .map(|n| {
                    check_ids.get(n).cloned().ok_or_else(|| {
                        Error::new(
                            ErrorKind::Config,
                            format!(
                                "line {ln}: check {:?}: depends_on: no check {n:?} \
                                 (declare it under `checks:`)",
                                c.name
                            ),
                        )
                        .with_field("depends_on")
                    })
                })
                .collect::<Result<_>>()?;
        } else if let Some(x) = existing {
            check.depends_on =
                x.depends_on
                    .iter()
                    .filter(|p| {
                        state.checks.get(*p).is_some_and(|pc| {
                            !prune || decl.checks.iter().any(|d| d.name == pc.name)
                        })
                    })
                    .cloned()
                    .collect();
        }
        let name_of = |id: &String| {
            alert_ids
                .iter()
                .find(|(_, v)| *v == id)
                .map(|(k, _)| k.clone())
                .or_else(|| state.alerts.get(id).map(|a| a.name.clone()))
                .unwrap_or_else(|| id.clone())
        };
        let check_name = |id: &String| {
            check_ids
                .iter()
                .find(|(_, v)| *v == id)
                .map_or_else(|| id.clone(), |(k, _)| k.clone())
        };
        let want = CheckDecl::of(&check, &name_of, &check_name);
        match existing {
            Some(x) if *x == check => {}
            Some(x) => {
                let have = CheckDecl::of(x, &name_of, &check_name);
                out.changes.push(Change {
                    op: ChangeOp::Change,
                    kind: "check".into(),
                    name: c.name.clone(),
                    fields: fields(&to_map(&have), &to_map(&want)),
                });
                out.change.checks.push(check);
            }
            None => {
                out.changes.push(Change {
                    op: ChangeOp::Add,
                    kind: "check".into(),
                    name: c.name.clone(),
                    fields: fields(&BTreeMap::new(), &to_map(&want)),
                });
                out.change.checks.push(check);
            }
        }
    }
    order_by_dependencies(state, &mut out.change)?;
    for x in state.checks.values() {
        if seen.contains(x.name.as_str()) {
            continue;
        }
        if prune {
            out.change.remove_checks.push(x.id.clone());
            out.changes.push(removed("check", &x.name));
        } else {
            out.unmanaged.push(format!("check {}", x.name));
        }
    }
    super::plan_settings::plan_settings(state, decl, &mut out)?;
    Ok(out)
}

fn removed(kind: &str, name: &str) -> Change {
    Change {
        op: ChangeOp::Remove,
        kind: kind.into(),
        name: name.into(),
        fields: Vec::new(),
    }
}

/// A record's fields as text, by name.
pub(super) fn to_map<T: Serialize>(v: &T) -> BTreeMap<String, String> {
    let value = serde_json::to_value(v).unwrap_or_default();
    let mut out = BTreeMap::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            out.insert(k, text);
        }
    }
    out
}

pub(super) fn fields(
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> Vec<FieldChange> {
    let keys: BTreeSet<&String> = have.keys().chain(want.keys()).collect();
    keys.into_iter()
        .filter(|k| *k != "name" && have.get(*k) != want.get(*k))
        .map(|k| FieldChange {
            field: k.clone(),
            from: have.get(k).cloned(),
            to: want.get(k).cloned(),
        })
        .collect()
}

/// The fields of an alert that differ, with settings compared one by one
/// and shown masked.
fn alert_fields(
    have: Option<&crate::state::AlertChannel>,
    want: &crate::state::AlertChannel,
) -> Vec<FieldChange> {
    let plain = |a: &crate::state::AlertChannel| {
        let mut d = AlertDecl::of(a);
        d.settings.clear();
        to_map(&d)
    };
    let mut out = fields(&have.map(plain).unwrap_or_default(), &plain(want));
    out.retain(|f| f.field != "settings");
    let masked_have = have.map(crate::notify::masked_settings).unwrap_or_default();
    let masked_want = crate::notify::masked_settings(want);
    let empty = BTreeMap::new();
    let raw_have = have.map_or(&empty, |a| &a.settings);
    let keys: BTreeSet<&String> = raw_have.keys().chain(want.settings.keys()).collect();
    for k in keys {
        if raw_have.get(k) != want.settings.get(k) {
            out.push(FieldChange {
                field: format!("settings.{k}"),
                from: masked_have.get(k).cloned(),
                to: masked_want.get(k).cloned(),
            });
        }
    }
    out
}

/// Put the changed checks parents first, so applying them one by one
/// never meets a parent that is not there yet; refuse a cycle (through
/// the file or the checks it leaves alone) naming `depends_on`.
fn order_by_dependencies(state: &ClusterState, change: &mut DeclaredChange) -> Result<()> {
    let mut after = state.clone();
    for check in &change.checks {
        after.checks.insert(check.id.clone(), check.clone());
    }
    for check in &change.checks {
        after
            .check_depends(check)
            .map_err(|e| at_field(&check.name, e))?;
    }
    let mut pending = std::mem::take(&mut change.checks);
    while !pending.is_empty() {
        let waiting: BTreeSet<String> = pending.iter().map(|c| c.id.clone()).collect();
        let (ready, rest): (Vec<Check>, Vec<Check>) = pending.into_iter().partition(|c| {
            c.depends_on
                .iter()
                .all(|p| !waiting.contains(p) || *p == c.id)
        });
        if ready.is_empty() {
            let names: Vec<&str> = rest.iter().map(|c| c.name.as_str()).collect();
            return Err(Error::invalid_field(
                "depends_on",
                format!(
                    "checks {} depend on each other (a cycle): remove one of the links",
                    names.join(", ")
                ),
            ));
        }
        change.checks.extend(ready);
        pending = rest;
    }
    Ok(())
}

fn at_field(name: &str, e: Error) -> Error {
    let mut out = Error::new(
        ErrorKind::Config,
        format!("check {name:?}: {}", e.message()),
    );
    if let Some(f) = e.field() {
        out = out.with_field(f);
    }
    out
}
