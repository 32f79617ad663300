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
    /// Accepted HTTP statuses (http only): `200`, `2xx`, `200,204,3xx`;
    /// default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<StatusSpec>,
    /// Substring the HTTP body must contain (http only, first 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_match: Option<String>,
    /// Accept any TLS certificate (http only; for self-signed targets).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Redirects followed (http only); default 10, 0 to not follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redirects: Option<u8>,
    /// Reuse connections between probes (http only). Off by default, so
    /// every probe measures what a new visitor gets (DNS, TCP, TLS).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_alive: bool,
    /// Down when the certificate expires within this many days (tls only);
    /// default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_days: Option<u32>,
    /// Server name sent in the handshake (tls only); default: the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Record type looked up (dns only); default A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<DnsRecord>,
    /// Resolver to ask, `ip` or `ip:port` (dns only); default: the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    /// Substring one answer must contain (dns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_answer: Option<String>,
    /// Alert channel ids notified for this check (besides default channels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// While the check stays down, repeat the alert this often (off when
    /// unset).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub remind: Option<Duration>,
    /// Default channels this check does not notify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress_alerts: Vec<String>,
    /// A disabled check is kept but not probed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// The interval of a check when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// The probe timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Check {
    /// A check of `kind` with every optional field unset and default
    /// interval and timeout (set id, name and target before use).
    pub fn blank(kind: CheckType) -> Check {
        Check {
            id: String::new(),
            name: String::new(),
            kind,
            target: String::new(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            expect_status: None,
            body_match: None,
            insecure: false,
            max_redirects: None,
            keep_alive: false,
            warn_days: None,
            sni: None,
            record: None,
            resolver: None,
            expect_answer: None,
            alerts: Vec::new(),
            suppress_alerts: Vec::new(),
            remind: None,
            disabled: false,
        }
    }

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
        if let Some(r) = self.remind
            && r < Duration::from_secs(1)
        {
            return Err(Error::invalid(format!(
                "remind {}: use a duration of at least 1s, such as 1h",
                duration::format(r)
            )));
        }
        let http_only = self.expect_status.is_some()
            || self.body_match.is_some()
            || self.insecure
            || self.max_redirects.is_some()
            || self.keep_alive;
        if self.kind != CheckType::Http && http_only {
            return Err(Error::invalid(
                "--expect, --body-match, --insecure, --max-redirects and --keep-alive apply to http checks only",
            ));
        }
        if self.kind != CheckType::Tls && (self.warn_days.is_some() || self.sni.is_some()) {
            return Err(Error::invalid(
                "--warn-days and --sni apply to tls checks only",
            ));
        }
        if self.kind != CheckType::Dns
            && (self.record.is_some() || self.resolver.is_some() || self.expect_answer.is_some())
        {
            return Err(Error::invalid(
                "--record, --resolver and --expect-answer apply to dns checks only",
            ));
        }
        if let Some(r) = &self.resolver {
            let ok =
                r.parse::<std::net::IpAddr>().is_ok() || r.parse::<std::net::SocketAddr>().is_ok();
            if !ok {
                return Err(Error::invalid(format!(
                    "resolver {r:?}: use an IP address, optionally with a port (9.9.9.9, [2620:fe::fe]:53)"
                )));
            }
        }
        if let Some(sni) = &self.sni {
            validate_host(sni)
                .map_err(|_| Error::invalid(format!("sni {sni:?}: use a host name")))?;
        }
        Ok(())
    }
}

/// Accepted HTTP statuses: codes and classes, comma-separated
/// (`200`, `2xx`, `200,204,3xx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StatusSpec(String);

impl StatusSpec {
    /// Parse and validate a spec.
    pub fn parse(s: &str) -> Result<StatusSpec> {
        let bad = || {
            Error::invalid(format!(
                "expected status {s:?}: use codes from 100 to 599 and classes like 2xx, \
                 comma-separated (200, 2xx, 200,204,3xx)"
            ))
        };
        if s.trim().is_empty() {
            return Err(bad());
        }
        for part in s.split(',') {
            let p = part.trim().to_ascii_lowercase();
            let ok = match p.strip_suffix("xx") {
                Some(d) => d.len() == 1 && matches!(d.as_bytes()[0], b'1'..=b'5'),
                None => p.parse::<u16>().is_ok_and(|c| (100..=599).contains(&c)),
            };
            if !ok {
                return Err(bad());
            }
        }
        Ok(StatusSpec(s.replace(' ', "").to_ascii_lowercase()))
    }

    /// Whether `code` is accepted.
    pub fn matches(&self, code: u16) -> bool {
        self.0.split(',').any(|p| match p.strip_suffix("xx") {
            Some(d) => d.parse::<u16>().is_ok_and(|d| code / 100 == d),
            None => p.parse::<u16>() == Ok(code),
        })
    }

    /// The spec text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StatusSpec {
    type Error = Error;
    fn try_from(s: String) -> Result<StatusSpec> {
        StatusSpec::parse(&s)
    }
}

impl From<StatusSpec> for String {
    fn from(s: StatusSpec) -> String {
        s.0
    }
}

/// DNS record types a dns check can look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsRecord {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Canonical name.
    Cname,
    /// Mail exchanger.
    Mx,
    /// Text.
    Txt,
    /// Name server.
    Ns,
}

impl DnsRecord {
    /// Parse `a|aaaa|cname|mx|txt|ns` (any case).
    pub fn parse(s: &str) -> Result<DnsRecord> {
        match s.to_ascii_lowercase().as_str() {
            "a" => Ok(DnsRecord::A),
            "aaaa" => Ok(DnsRecord::Aaaa),
            "cname" => Ok(DnsRecord::Cname),
            "mx" => Ok(DnsRecord::Mx),
            "txt" => Ok(DnsRecord::Txt),
            "ns" => Ok(DnsRecord::Ns),
            _ => Err(Error::invalid(format!(
                "record type {s:?}: use one of a, aaaa, cname, mx, txt, ns"
            ))),
        }
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
    /// Check the name, the type and the type's settings.
    pub fn validate(&self) -> Result<()> {
        validate_name("alert name", &self.name)?;
        match self.kind.as_str() {
            "smtp" | "discord" | "webhook" => crate::notify::validate(self),
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
            ..Check::blank(CheckType::Http)
        }
    }

    #[test]
    fn status_specs() {
        let s = StatusSpec::parse("200, 2xx,301").expect("spec");
        assert!(s.matches(200) && s.matches(204) && s.matches(301));
        assert!(!s.matches(302) && !s.matches(500));
        for bad in ["", "99", "600", "6xx", "2x", "abc", "200,"] {
            assert!(StatusSpec::parse(bad).is_err(), "{bad}");
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
        assert!(StatusSpec::parse("42").is_err());
        let mut c = http("db:5432");
        c.kind = CheckType::Tcp;
        c.insecure = true;
        assert!(
            c.validate()
                .expect_err("http-only flag")
                .to_string()
                .contains("http checks only")
        );
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
