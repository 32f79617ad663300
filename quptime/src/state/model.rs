//! The records the cluster replicates: peers, checks, alert channels and
//! enrollment tokens, with their validation.
//!
//! Validation lives with the data so that the CLI (before sending) and the
//! state machine (at apply, on every node) run the same rules and report the
//! same message, naming the field and the accepted form.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::addr::check_host_port;
use crate::error::{Error, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::state::duration::{self, in_range};
use crate::state::fields::{
    self as limits, excerpt, validate_host, validate_host_opt_port, validate_url,
};

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

/// Longest certificate PEM of a member (ours are under 1 KiB; RSA keys of
/// the original a little more).
pub const MAX_CERT_PEM: usize = 16 << 10;
/// Longest `added_at` timestamp text.
pub const MAX_TIMESTAMP: usize = 64;

impl PeerRecord {
    /// Check the sizes and the address (the key was checked by whoever
    /// proposed the record, from a TLS handshake).
    pub fn validate(&self) -> Result<()> {
        limits::text("member certificate", &self.cert_pem, MAX_CERT_PEM)?;
        limits::text("member added_at", &self.added_at, MAX_TIMESTAMP)?;
        check_host_port(&self.advertise)
            .map_err(|e| Error::invalid(format!("member address: {}", e.message())))
    }
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
                "unknown check type {}: use one of http, tcp, icmp, tls, dns",
                excerpt(other)
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
/// Shortest and longest `interval`.
pub const INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(86_400));
/// Shortest and longest `timeout`.
pub const TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(300));
/// Shortest and longest `remind` (30 days).
pub const REMIND_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(30 * 86_400));
/// Longest `target` (a URL; hosts are also held to [`MAX_HOST`]).
pub const MAX_TARGET: usize = 2048;
pub use super::fields::MAX_HOST;
/// Longest `body_match` and `expect_answer` substring.
pub const MAX_MATCH: usize = 1024;
/// Longest `expect_status` spec (`200,204,3xx`).
pub const MAX_STATUS_SPEC: usize = 128;
/// Most redirects an http check may follow.
pub const MAX_REDIRECTS: u8 = 20;
/// Largest `warn_days` (ten years).
pub const MAX_WARN_DAYS: u32 = 3650;
/// Most alert channels a check names in `alerts`, and in `suppress_alerts`.
pub const MAX_CHECK_ALERTS: usize = 32;
/// Most checks a cluster holds.
pub const MAX_CHECKS: usize = 10_000;
/// Most alert channels a cluster holds.
pub const MAX_ALERTS: usize = 1_000;

/// Refuse adding `adding` records of `what` to `have` when that passes `max`.
pub fn room_for(what: &str, have: usize, adding: usize, max: usize) -> Result<()> {
    if have.saturating_add(adding) > max {
        return Err(Error::invalid(format!(
            "the cluster has {have} {what}; adding {adding} would pass the limit of {max}: \
             remove some first"
        )));
    }
    Ok(())
}

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
        // Sizes first, before any value is parsed.
        limits::text("target", &self.target, MAX_TARGET)?;
        for (what, value, max) in [
            ("body_match", &self.body_match, MAX_MATCH),
            ("expect_answer", &self.expect_answer, MAX_MATCH),
            ("sni", &self.sni, MAX_HOST),
            ("resolver", &self.resolver, MAX_HOST),
        ] {
            if let Some(v) = value {
                limits::text(what, v, max)?;
            }
        }
        limits::count(
            "alert channels in alerts",
            self.alerts.len(),
            MAX_CHECK_ALERTS,
        )?;
        limits::count(
            "alert channels in suppress_alerts",
            self.suppress_alerts.len(),
            MAX_CHECK_ALERTS,
        )?;
        for id in self.alerts.iter().chain(&self.suppress_alerts) {
            limits::text("alert channel reference", id, MAX_NAME)?;
        }
        match self.kind {
            CheckType::Http => validate_url(&self.target)?,
            CheckType::Tcp => check_host_port(&self.target)
                .map_err(|e| Error::invalid(format!("tcp target: {}", e.message())))?,
            CheckType::Tls => validate_host_opt_port(&self.target)?,
            CheckType::Icmp | CheckType::Dns => validate_host(&self.target)?,
        }
        in_range("interval", self.interval, INTERVAL_RANGE, "30s or 1m30s")?;
        in_range("timeout", self.timeout, TIMEOUT_RANGE, "10s")?;
        if let Some(r) = self.remind {
            in_range("remind", r, REMIND_RANGE, "1h")?;
        }
        if self.max_redirects.is_some_and(|n| n > MAX_REDIRECTS) {
            return Err(Error::invalid(format!(
                "max_redirects: use 0 to {MAX_REDIRECTS}"
            )));
        }
        if self.warn_days.is_some_and(|d| d > MAX_WARN_DAYS) {
            return Err(Error::invalid(format!(
                "warn_days: use 0 to {MAX_WARN_DAYS} days"
            )));
        }
        if let Some(spec) = &self.expect_status {
            limits::text("expect_status", spec.as_str(), MAX_STATUS_SPEC)?;
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
            let ok = r.parse::<core::net::IpAddr>().is_ok()
                || r.parse::<core::net::SocketAddr>().is_ok();
            if !ok {
                return Err(Error::invalid(format!(
                    "resolver {}: use an IP address, optionally with a port (9.9.9.9, [2620:fe::fe]:53)",
                    excerpt(r)
                )));
            }
        }
        if let Some(sni) = &self.sni {
            validate_host(sni)
                .map_err(|_| Error::invalid(format!("sni {}: use a host name", excerpt(sni))))?;
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
                "expected status {}: use codes from 100 to 599 and classes like 2xx, \
                 comma-separated (200, 2xx, 200,204,3xx; at most {MAX_STATUS_SPEC} characters)",
                excerpt(s)
            ))
        };
        if s.trim().is_empty() || s.len() > MAX_STATUS_SPEC {
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
                "record type {}: use one of a, aaaa, cname, mx, txt, ns",
                excerpt(s)
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
    /// Check the name and the type, then the type's own settings with
    /// `settings` (the notifiers' rules, `notify::validate`, passed
    /// in so that the state never depends on the code that sends).
    pub fn validate(&self, settings: SettingsCheck) -> Result<()> {
        self.validate_name_and_type()?;
        settings(self)
    }

    /// Check the name and that the type is one of [`ALERT_TYPES`].
    pub fn validate_name_and_type(&self) -> Result<()> {
        validate_name("alert name", &self.name)?;
        if ALERT_TYPES.contains(&self.kind.as_str()) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "unknown alert type {}: use one of {}",
                excerpt(&self.kind),
                ALERT_TYPES.join(", ")
            )))
        }
    }
}

/// The alert channel types there are; each has its notifier in
/// `notify`, which also owns the rules for its settings.
pub const ALERT_TYPES: [&str; 14] = [
    "smtp",
    "discord",
    "webhook",
    "slack",
    "teams",
    "telegram",
    "ntfy",
    "gotify",
    "pushover",
    "pagerduty",
    "opsgenie",
    "matrix",
    "mattermost",
    "googlechat",
];

/// The channel types of the first release; the others need state level 4
/// (see `state::level`).
pub const FIRST_ALERT_TYPES: [&str; 3] = ["smtp", "discord", "webhook"];

/// Checks one channel's type-specific settings (known keys, templates,
/// URLs, addresses). The rules live with the notifiers; the state takes
/// them as a parameter wherever it accepts a channel, so the pure state
/// does not import the module that does network I/O.
pub type SettingsCheck = fn(&AlertChannel) -> Result<()>;

/// A single-use join token's record. The secret itself is never stored,
/// only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Token id (public part of the token).
    pub id: String,
    /// Optional label, at most [`MAX_NAME`] characters.
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

/// Longest token id, token secret hash and enrollment label.
pub const MAX_TOKEN_FIELD: usize = 128;

impl Enrollment {
    /// Check the sizes of the fields and the request's record.
    pub fn validate(&self) -> Result<()> {
        limits::text("enrollment id", &self.id, MAX_TOKEN_FIELD)?;
        limits::text("enrollment secret hash", &self.secret_hash, MAX_TOKEN_FIELD)?;
        if let Some(name) = &self.name {
            limits::text("enrollment name", name, MAX_NAME)?;
            if name.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "enrollment name: use printable characters only",
                ));
            }
        }
        match &self.request {
            Some(peer) => peer.validate(),
            None => Ok(()),
        }
    }
}

/// Longest name of a check, an alert channel or an enrollment.
pub const MAX_NAME: usize = 64;

/// Names: 1–64 characters of letters, digits, `.`, `_`, `-`.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(ok) {
        return Err(Error::invalid(format!(
            "{what} {}: use 1 to {MAX_NAME} characters from A-Z, a-z, 0-9, '.', '_' and '-'",
            excerpt(name)
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
