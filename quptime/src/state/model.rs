//! The records the cluster replicates: peers, checks, alert channels and
//! enrollment tokens, with their validation.
//!
//! Validation lives with the data so that the CLI (before sending) and the
//! state machine (at apply, on every node) run the same rules and report the
//! same message, naming the field and the accepted form.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::state::duration;
use crate::store::node_file::check_host_port;

/// A member of the cluster as every node knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRecord {
    /// The member's id.
    pub node_id: NodeId,
    /// `host:port` peers dial.
    pub advertise: String,
    /// The pinned key fingerprint.
    pub fingerprint: Fingerprint,
    /// Its certificate (PEM), so every node can pin it.
    pub cert_pem: String,
    /// When it joined (RFC 3339 UTC, the proposer's clock).
    pub added_at: String,
}

/// What a check probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckType {
    /// HTTP or HTTPS request.
    Http,
    /// TCP connect.
    Tcp,
    /// ICMP echo.
    Icmp,
    /// TLS handshake and certificate expiry.
    Tls,
    /// DNS lookup.
    Dns,
}

impl CheckType {
    /// The lowercase name used on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckType::Http => "http",
            CheckType::Tcp => "tcp",
            CheckType::Icmp => "icmp",
            CheckType::Tls => "tls",
            CheckType::Dns => "dns",
        }
    }

    /// Parse a type name, with an error listing the accepted ones.
    pub fn parse(s: &str) -> Result<CheckType> {
        match s {
            "http" | "https" => Ok(CheckType::Http),
            "tcp" => Ok(CheckType::Tcp),
            "icmp" | "ping" => Ok(CheckType::Icmp),
            "tls" => Ok(CheckType::Tls),
            "dns" => Ok(CheckType::Dns),
            other => Err(Error::invalid(format!(
                "unknown check type {other:?}: use one of http, tcp, icmp, tls, dns"
            ))),
        }
    }
}

/// One monitored target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable id, assigned when the check is added.
    pub id: String,
    /// Unique human name.
    pub name: String,
    /// What kind of probe.
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// URL (http), `host:port` (tcp, tls), or host (icmp, dns).
    pub target: String,
    /// Time between probes.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Per-probe timeout.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Expected HTTP status (http only); default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// Substring the HTTP body must contain (http only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_match: Option<String>,
    /// Alert channel ids notified for this check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// A disabled check is kept but not probed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// The interval of a check when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// The probe timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Check {
    /// Check every field; the error names the field and the accepted form.
    pub fn validate(&self) -> Result<()> {
        validate_name("check name", &self.name)?;
        match self.kind {
            CheckType::Http => validate_url(&self.target)?,
            CheckType::Tcp => check_host_port(&self.target)
                .map_err(|e| Error::invalid(format!("tcp target: {}", e.message())))?,
            CheckType::Tls => validate_host_opt_port(&self.target)?,
            CheckType::Icmp | CheckType::Dns => validate_host(&self.target)?,
        }
        if self.interval < Duration::from_secs(1) || self.interval > Duration::from_secs(86_400) {
            return Err(Error::invalid(format!(
                "interval {}: use a duration from 1s to 24h, such as 30s or 1m30s",
                duration::format(self.interval)
            )));
        }
        if self.timeout < Duration::from_millis(100) || self.timeout > Duration::from_secs(300) {
            return Err(Error::invalid(format!(
                "timeout {}: use a duration from 100ms to 5m, such as 10s",
                duration::format(self.timeout)
            )));
        }
        if let Some(code) = self.expect_status
            && !(100..=599).contains(&code)
        {
            return Err(Error::invalid(format!(
                "expected status {code}: use an HTTP status code from 100 to 599"
            )));
        }
        if self.kind != CheckType::Http
            && (self.expect_status.is_some() || self.body_match.is_some())
        {
            return Err(Error::invalid(
                "--expect and --body-match apply to http checks only",
            ));
        }
        Ok(())
    }
}

/// A destination for alerts. The type-specific settings are refined by the
/// alerting code; secrets among them are never shown unmasked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertChannel {
    /// Stable id, assigned when the channel is added.
    pub id: String,
    /// Unique human name.
    pub name: String,
    /// `smtp`, `discord` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Attached to every check.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// A disabled channel sends nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Type-specific settings (host, port, webhook URL, …).
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
}

impl AlertChannel {
    /// Check the name and type.
    pub fn validate(&self) -> Result<()> {
        validate_name("alert name", &self.name)?;
        match self.kind.as_str() {
            "smtp" | "discord" | "webhook" => Ok(()),
            other => Err(Error::invalid(format!(
                "unknown alert type {other:?}: use one of smtp, discord, webhook"
            ))),
        }
    }
}

/// A single-use join token's record. The secret itself is never stored,
/// only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Token id (public part of the token).
    pub id: String,
    /// Optional label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `sha256:<hex>` of the token secret.
    pub secret_hash: String,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
    /// Admit the joiner without `qu enroll approve`.
    pub auto_approve: bool,
    /// The node that asked to join with this token, once it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<PeerRecord>,
    /// Approved by an operator (or automatically).
    #[serde(default)]
    pub approved: bool,
    /// Consumed: the node was admitted.
    #[serde(default)]
    pub used: bool,
}

/// Names: 1–64 characters of letters, digits, `.`, `_`, `-`.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 64 || !name.chars().all(ok) {
        return Err(Error::invalid(format!(
            "{what} {name:?}: use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'"
        )));
    }
    Ok(())
}

fn validate_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host = rest
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let host_only = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if rest.is_none() || host_only.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!(
            "http target {url:?} is not a URL: use http://host[:port]/path or https://…"
        )));
    }
    if let Some((_, port)) = host_only.rsplit_once(':')
        && !host_only.ends_with(']')
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(Error::invalid(format!(
            "http target {url:?} has a bad port {port:?}: use 1 to 65535"
        )));
    }
    Ok(())
}

fn validate_host(host: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if host.is_empty() || host.len() > 253 || !host.chars().all(ok) {
        return Err(Error::invalid(format!(
            "target {host:?} is not a host name or IP address"
        )));
    }
    Ok(())
}

fn validate_host_opt_port(target: &str) -> Result<()> {
    if check_host_port(target).is_ok() {
        return Ok(());
    }
    validate_host(target).map_err(|_| {
        Error::invalid(format!(
            "tls target {target:?}: use host or host:port (default port 443)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(target: &str) -> Check {
        Check {
            id: "c1".into(),
            name: "web".into(),
            kind: CheckType::Http,
            target: target.into(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            expect_status: None,
            body_match: None,
            alerts: vec![],
            disabled: false,
        }
    }

    #[test]
    fn urls_are_checked() {
        assert!(http("https://example.com/health").validate().is_ok());
        assert!(http("http://127.0.0.1:8080").validate().is_ok());
        for bad in [
            "example.com",
            "ftp://x",
            "http://",
            "http://h:0/",
            "http://h:99999/",
        ] {
            let err = http(bad).validate().expect_err(bad);
            assert!(err.to_string().contains("http target"), "{err}");
        }
    }

    #[test]
    fn types_durations_and_status_are_checked() {
        assert!(CheckType::parse("smtp").is_err());
        let mut c = http("http://x");
        c.interval = Duration::from_millis(10);
        assert!(
            c.validate()
                .expect_err("interval")
                .to_string()
                .contains("interval")
        );
        let mut c = http("http://x");
        c.expect_status = Some(42);
        assert!(c.validate().is_err());
        let mut c = http("db:5432");
        c.kind = CheckType::Tcp;
        assert!(c.validate().is_ok());
        c.target = "db".into();
        assert!(
            c.validate()
                .expect_err("no port")
                .to_string()
                .contains("tcp target")
        );
    }
}
