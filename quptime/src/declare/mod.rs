//! Config as code: the declaration file of `qu apply -f` and `qu export`.
//!
//! A declaration lists the cluster's alert channels and checks (and,
//! optionally, the history retention) by name, with the same fields as the
//! CLI. Parsing refuses unknown fields and invalid values naming the line,
//! column and field, so a typo never silently means "default". [`plan`]
//! turns a declaration into the difference from the current state and ONE
//! replicated change ([`DeclaredChange`](crate::state::declared::DeclaredChange)) that applies all of it or nothing;
//! [`render`] writes the current state back in the same format, so
//! `qu export | qu apply -f -` changes nothing.
//!
//! Alert settings are exported with their secrets: the file is meant to be
//! the source of truth kept in version control (or a secret store), so it
//! must hold everything needed to rebuild the cluster. `qu export -o` writes
//! it with mode 0600; the diff printed by `qu apply` masks them.

mod check;
mod original;
mod plan;
mod plan_settings;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use check::CheckDecl;
pub use original::{Original, is_original, parse as original_parse};
pub use plan::{Change, ChangeOp, FieldChange, Plan, plan};

use crate::error::{Error, ErrorKind, Result};
use crate::state::declared::Retention;
use crate::state::{AlertChannel, ClusterState};
use crate::store::expand::{self, Expansion};

/// Largest declaration accepted (bytes), before and after its YAML
/// aliases are expanded ([`MAX_EXPANSION`]).
pub const MAX_FILE: usize = 1 << 20;
/// What a declaration may expand to through YAML aliases: the proposal
/// cap in scalar bytes (the change built from it must fit that anyway),
/// and 200,000 values.
pub const MAX_EXPANSION: Expansion = Expansion {
    bytes: crate::state::mutation::MAX_PROPOSAL as u64,
    nodes: 200_000,
};
/// Deepest nesting of lists and maps (a declaration needs four levels).
pub const MAX_DEPTH: usize = 32;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// History kept per check; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// Cluster-wide DNS resolvers (`[]`: each node's system resolvers);
    /// unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolvers: Option<Vec<String>>,
    /// The canary's reference targets (`qu canary set`; `[]` clears them);
    /// unchanged when absent. `qu export` writes it only when some are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Vec<String>>,
    /// Alert channels.
    #[serde(default)]
    pub alerts: Vec<AlertDecl>,
    /// Checks.
    #[serde(default)]
    pub checks: Vec<CheckDecl>,
}

/// One alert channel, keyed by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertDecl {
    /// Unique name.
    pub name: String,
    /// `smtp`, `discord` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attached to every check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// Sends nothing while disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Type-specific settings (see docs/configuration.md).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// The file as parsed, with where each record starts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpannedFile {
    #[serde(default)]
    retention: Option<Retention>,
    #[serde(default)]
    resolvers: Option<Vec<String>>,
    #[serde(default)]
    canary: Option<Vec<String>>,
    #[serde(default)]
    alerts: Vec<serde_saphyr::Spanned<AlertDecl>>,
    #[serde(default)]
    checks: Vec<serde_saphyr::Spanned<CheckDecl>>,
}

/// A parsed declaration and the line each record starts on (for errors
/// found when the records are checked as a whole).
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The declaration.
    pub decl: Declaration,
    /// Line of each entry of `decl.alerts`.
    pub alert_lines: Vec<u64>,
    /// Line of each entry of `decl.checks`.
    pub check_lines: Vec<u64>,
    /// The input had nothing but blanks and comments (with `--prune`, that
    /// is refused rather than read as "delete everything").
    pub blank: bool,
}

/// Parse a declaration. Errors name the line, column and field.
pub fn parse(text: &str) -> Result<Parsed> {
    if text.len() > MAX_FILE {
        return Err(Error::invalid(format!(
            "the declaration is {} bytes, over the limit of {MAX_FILE}: split the \
             configuration or remove what it does not need",
            text.len()
        )));
    }
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---");
    if blank {
        return Ok(Parsed {
            blank,
            ..Parsed::default()
        });
    }
    expand::check(text, "the declaration", MAX_EXPANSION)?;
    if is_original(text) {
        // The original Go qu's cluster.yaml, as it is.
        return Ok(original::parse(text)?.to_parsed());
    }
    let file: SpannedFile =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| yaml_error(&e))?;
    Ok(Parsed {
        alert_lines: file.alerts.iter().map(|a| a.referenced.line()).collect(),
        check_lines: file.checks.iter().map(|c| c.referenced.line()).collect(),
        blank: false,
        decl: Declaration {
            retention: file.retention,
            resolvers: file.resolvers,
            canary: file.canary,
            alerts: file.alerts.into_iter().map(|a| a.value).collect(),
            checks: file.checks.into_iter().map(|c| c.value).collect(),
        },
    })
}

/// A YAML error as `line L column C: what`, the first line of it.
/// The parser's budgets for a declaration (depth, nodes, scalar bytes,
/// replayed alias events), on top of the expansion check made first.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_EXPANSION.nodes as usize,
            max_total_scalar_bytes: MAX_FILE,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_EXPANSION.nodes as usize,
        },
    }
}

fn yaml_error(e: &serde_saphyr::Error) -> Error {
    let msg = e.to_string();
    let first = msg.lines().next().unwrap_or("invalid YAML");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let at = match e.location() {
        Some(l) if !first.starts_with("line ") => {
            format!("line {} column {}: ", l.line(), l.column())
        }
        _ => String::new(),
    };
    Error::new(ErrorKind::Config, format!("{at}{first}"))
}

/// The current state as a declaration (alerts and checks by name, sorted
/// by name; retention and resolvers always written).
pub fn export(state: &ClusterState) -> Declaration {
    let name_of = |id: &String| {
        state
            .alerts
            .get(id)
            .map_or_else(|| id.clone(), |a| a.name.clone())
    };
    let check_name = |id: &String| {
        state
            .checks
            .get(id)
            .map_or_else(|| id.clone(), |c| c.name.clone())
    };
    let mut alerts: Vec<AlertDecl> = state.alerts.values().map(AlertDecl::of).collect();
    alerts.sort_by(|a, b| a.name.cmp(&b.name));
    let mut checks: Vec<CheckDecl> = state
        .checks
        .values()
        .map(|c| CheckDecl::of(c, &name_of, &check_name))
        .collect();
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    Declaration {
        retention: Some(state.retention),
        resolvers: Some(state.dns_resolvers.clone()),
        canary: (!state.canary_targets.is_empty()).then(|| state.canary_targets.clone()),
        alerts,
        checks,
    }
}

/// The declaration as YAML, with a header comment.
pub fn render(decl: &Declaration) -> Result<String> {
    let body = serde_saphyr::to_string(decl)
        .map_err(|e| Error::internal(format!("render the declaration: {e}")))?;
    Ok(format!(
        "# quptime declaration: apply with `qu apply -f <file>` (add --prune to delete what it\n\
         # does not list). Alert settings include secrets: keep this file private.\n{body}"
    ))
}

impl AlertDecl {
    fn of(a: &AlertChannel) -> AlertDecl {
        AlertDecl {
            name: a.name.clone(),
            kind: a.kind.clone(),
            default: a.default,
            disabled: a.disabled,
            settings: a.settings.clone(),
        }
    }

    /// The channel this declares, with id `id`.
    pub fn to_channel(&self, id: String) -> AlertChannel {
        AlertChannel {
            id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            default: self.default,
            disabled: self.disabled,
            settings: self.settings.clone(),
        }
    }
}

/// Convenience for the planner's result.
impl Plan {
    /// The replicated change, or `None` when nothing differs.
    pub fn mutation(&self) -> Option<crate::state::Mutation> {
        (!self.change.is_empty()).then(|| crate::state::Mutation::ApplyDeclaration {
            change: self.change.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
