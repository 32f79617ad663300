//! The original Go `qu`'s `cluster.yaml`: its checks and alert channels in
//! its own schema (`alert_ids`, `smtp_host`, Go durations, Go templates),
//! read so that a node migrating from it keeps its configuration and
//! `qu apply -f` accepts the file as it is.
//!
//! Every field the original writes is known here; anything else is refused
//! naming its line, so a typo or a newer original's field never silently
//! means "default". Fields that describe the original's own replication
//! (`version`, `updated_at`, `peers`, pending enrollments) are read and
//! left out: membership is formed again with `qu node add`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{AlertDecl, CheckDecl, Declaration, Parsed};
use crate::error::{Error, ErrorKind, Result};
use crate::state::model::{DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use crate::state::{
    AlertChannel, Check, CheckType, DnsProbe, DnsRecord, HttpProbe, ProbeFields, StatusSpec,
    TlsProbe,
};

/// Whether `text` is in the original's schema: it has the original's
/// top-level `version`/`peers` keys and not our export's `note`.
pub fn is_original(text: &str) -> bool {
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    (top("version:") || top("peers:") || top("updated_at:")) && !top("note:")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the original's bookkeeping: read so it is not "unknown"
struct File {
    #[serde(default)]
    version: Option<IgnoredAny>,
    #[serde(default)]
    updated_at: Option<IgnoredAny>,
    #[serde(default)]
    updated_by: Option<IgnoredAny>,
    #[serde(default)]
    peers: Option<Vec<OrigPeer>>,
    #[serde(default)]
    checks: Option<Vec<serde_saphyr::Spanned<OrigCheck>>>,
    #[serde(default)]
    alerts: Option<Vec<serde_saphyr::Spanned<OrigAlert>>>,
    #[serde(default)]
    pending_enrollments: Option<IgnoredAny>,
    #[serde(default)]
    resolvers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read to refuse unknown fields, not used
struct OrigPeer {
    node_id: String,
    #[serde(default)]
    advertise: String,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    cert_pem: String,
}

/// A Go `time.Duration` as yaml.v3 writes it (`30s`, `1m0s`) or as a
/// number of nanoseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Nanos(u64),
    Text(String),
}

impl GoDuration {
    fn get(&self) -> Result<Duration> {
        match self {
            GoDuration::Nanos(n) => Ok(Duration::from_nanos(*n)),
            GoDuration::Text(t) => crate::state::duration::parse(t),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrigCheck {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    target: String,
    #[serde(default)]
    interval: Option<GoDuration>,
    #[serde(default)]
    timeout: Option<GoDuration>,
    #[serde(default)]
    expect_status: Option<u16>,
    #[serde(default)]
    body_match: Option<String>,
    #[serde(default)]
    tls_warn_days: Option<u32>,
    #[serde(default)]
    tls_server_name: Option<String>,
    #[serde(default)]
    dns_record: Option<String>,
    #[serde(default)]
    dns_resolver: Option<String>,
    #[serde(default)]
    dns_expect: Option<String>,
    #[serde(default)]
    alert_ids: Vec<String>,
    #[serde(default)]
    suppress_alert_ids: Vec<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    resolvers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrigAlert {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    default: bool,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    smtp_host: Option<String>,
    #[serde(default)]
    smtp_port: Option<u16>,
    #[serde(default)]
    smtp_user: Option<String>,
    #[serde(default)]
    smtp_password: Option<String>,
    #[serde(default)]
    smtp_from: Option<String>,
    #[serde(default)]
    smtp_to: Vec<String>,
    #[serde(default)]
    smtp_starttls: bool,
    #[serde(default)]
    discord_webhook: Option<String>,
    #[serde(default)]
    subject_template: Option<String>,
    #[serde(default)]
    body_template: Option<String>,
}

/// The configuration an original `cluster.yaml` holds, in this qu's terms
/// (ids kept, so importing it twice finds what is already there).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Original {
    /// The alert channels.
    pub alerts: Vec<AlertChannel>,
    /// The checks (alert references are channel ids).
    pub checks: Vec<Check>,
    /// Cluster-wide DNS resolvers (empty: the system's).
    pub resolvers: Vec<String>,
    /// Members the file lists (not imported).
    pub peers: usize,
    /// Line of each alert and check, for errors found later.
    pub alert_lines: Vec<u64>,
    /// See `alert_lines`.
    pub check_lines: Vec<u64>,
}

fn at(line: u64, what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("line {line}: {what} (the original qu's cluster.yaml)"),
    )
}

/// Parse an original `cluster.yaml`. Errors name the line.
pub fn parse(text: &str) -> Result<Original> {
    let file: File = serde_saphyr::from_str_with_options(text, super::yaml_options())
        .map_err(|e| super::yaml_error(&e))?;
    let mut out = Original {
        resolvers: file.resolvers.unwrap_or_default(),
        peers: file.peers.map_or(0, |p| p.len()),
        ..Original::default()
    };
    for a in file.alerts.unwrap_or_default() {
        let line = a.referenced.line();
        out.alerts
            .push(alert(a.value).map_err(|e| at(line, e.message()))?);
        out.alert_lines.push(line);
    }
    let resolve = |r: &str| {
        out.alerts
            .iter()
            .find(|a| a.id == r)
            .or_else(|| out.alerts.iter().find(|a| a.name == r))
            .map(|a| a.id.clone())
            .ok_or_else(|| format!("alert {r:?} is not among the file's alerts"))
    };
    let mut checks = Vec::new();
    for c in file.checks.unwrap_or_default() {
        let line = c.referenced.line();
        let check = check(c.value, &resolve).map_err(|e| at(line, e))?;
        checks.push(check);
        out.check_lines.push(line);
    }
    out.checks = checks;
    Ok(out)
}

fn alert(a: OrigAlert) -> Result<AlertChannel> {
    let mut s = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.insert(k.to_string(), v);
        }
    };
    match a.kind.as_str() {
        "smtp" => {
            put("host", a.smtp_host);
            put("port", a.smtp_port.map(|p| p.to_string()));
            put("user", a.smtp_user);
            put("password", a.smtp_password);
            put("from", a.smtp_from);
            put("to", Some(a.smtp_to.join(",")));
            // The original sends in clear unless smtp_starttls is set.
            put(
                "tls",
                Some(if a.smtp_starttls { "starttls" } else { "none" }.into()),
            );
        }
        "discord" => put("webhook", a.discord_webhook),
        other => {
            return Err(Error::invalid(format!(
                "alert {:?} has type {other:?}; the original knows smtp and discord",
                a.name
            )));
        }
    }
    put(
        "subject_template",
        a.subject_template.map(|t| template(&t)).transpose()?,
    );
    put(
        "body_template",
        a.body_template.map(|t| template(&t)).transpose()?,
    );
    let ch = AlertChannel {
        id: a.id,
        name: a.name,
        kind: a.kind,
        default: a.default,
        disabled: a.disabled,
        settings: s,
    };
    ch.validate(crate::notify::validate)?;
    Ok(ch)
}

fn check(
    c: OrigCheck,
    resolve: &dyn Fn(&str) -> std::result::Result<String, String>,
) -> std::result::Result<Check, String> {
    let kind = CheckType::parse(&c.kind).map_err(|e| e.message().to_string())?;
    if !c.resolvers.is_empty() {
        return Err(format!(
            "check {:?} has its own resolvers, which this qu does not support: move them to the \
             cluster-wide `resolvers:` list (or remove them) and start again",
            c.name
        ));
    }
    let dur = |d: Option<GoDuration>, default: Duration| -> std::result::Result<Duration, String> {
        match d {
            None => Ok(default),
            Some(d) => match d.get().map_err(|e| e.message().to_string())? {
                d if d.is_zero() => Ok(default),
                d => Ok(d),
            },
        }
    };
    let ids = |list: &[String]| -> std::result::Result<Vec<String>, String> {
        list.iter().map(|r| resolve(r)).collect()
    };
    let text = |s: Option<String>| s.filter(|s| !s.is_empty());
    let probe = ProbeFields {
        http: HttpProbe {
            expect_status: c
                .expect_status
                .filter(|s| *s != 0)
                .map(|s| StatusSpec::parse(&s.to_string()))
                .transpose()
                .map_err(|e| e.message().to_string())?,
            body_match: text(c.body_match),
            ..HttpProbe::default()
        },
        tls: TlsProbe {
            warn_days: c.tls_warn_days.filter(|d| *d != 0),
            sni: text(c.tls_server_name),
        },
        dns: DnsProbe {
            record: text(c.dns_record)
                .map(|r| DnsRecord::parse(&r))
                .transpose()
                .map_err(|e| e.message().to_string())?,
            resolver: text(c.dns_resolver),
            expect_answer: text(c.dns_expect),
            ..DnsProbe::default()
        },
        tcp: Default::default(),
        icmp: Default::default(),
        push: Default::default(),
    };
    let check = Check {
        id: c.id,
        name: c.name,
        target: c.target,
        interval: dur(c.interval, DEFAULT_INTERVAL)?,
        timeout: dur(c.timeout, DEFAULT_TIMEOUT)?,
        alerts: ids(&c.alert_ids)?,
        suppress_alerts: ids(&c.suppress_alert_ids)?,
        disabled: c.disabled,
        probe: probe
            .into_probe(kind)
            .map_err(|e| e.message().to_string())?,
        ..Check::blank(kind)
    };
    check.validate().map_err(|e| e.message().to_string())?;
    Ok(check)
}

/// A Go `text/template` of the original as one of ours: its fields become
/// our placeholders; anything else (conditionals, functions) is refused.
fn template(go: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = go;
    while let Some(start) = rest.find("{{") {
        push_literal(&mut out, &rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| Error::invalid(format!("template {go:?} has an unclosed {{{{")))?;
        let field = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        let ours = match field {
            ".Check.Name" => "check",
            ".Check.Type" => "type",
            ".Check.Target" => "target",
            ".From" => "from",
            ".To" => "state",
            ".Verb" => "kind",
            ".Snapshot.Detail" => "detail",
            ".NodeID" => "master",
            ".When" => "time",
            other => {
                return Err(Error::invalid(format!(
                    "template {go:?} uses {{{{{other}}}}}, which has no equivalent here: rewrite it \
                     with placeholders such as {{check}}, {{target}}, {{state}}, {{detail}} \
                     (docs/configuration.md)"
                )));
            }
        };
        out.push('{');
        out.push_str(ours);
        out.push('}');
        rest = &after[end + 2..];
    }
    push_literal(&mut out, rest);
    Ok(out)
}

fn push_literal(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => out.push(c),
        }
    }
}

impl Original {
    /// The file as a declaration for `qu apply` (records by name).
    pub fn to_parsed(&self) -> Parsed {
        let name_of = |id: &String| {
            self.alerts
                .iter()
                .find(|a| a.id == *id)
                .map_or_else(|| id.clone(), |a| a.name.clone())
        };
        Parsed {
            decl: Declaration {
                retention: None,
                resolvers: (!self.resolvers.is_empty()).then(|| self.resolvers.clone()),
                canary: None,
                alerts: self.alerts.iter().map(AlertDecl::of).collect(),
                checks: self
                    .checks
                    .iter()
                    .map(|c| CheckDecl::of(c, &name_of, &|id| id.clone()))
                    .collect(),
            },
            alert_lines: self.alert_lines.clone(),
            check_lines: self.check_lines.clone(),
            blank: false,
        }
    }
}

#[cfg(test)]
mod tests;
