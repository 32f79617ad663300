//! What a check probes and how: one type per probe kind, each holding its
//! own settings with their bounds and validation.
//!
//! A check's probe settings are a sum type ([`Probe`]) so that an HTTP
//! option cannot be set on a TCP check and every consumer (the probers,
//! the alert text, the API, the declaration file) matches on the kind
//! instead of reading `Option`s guarded at run time. On the wire and on
//! disk nothing changed: [`Probe`] is flattened into the check with its
//! kind as the `type` key, so a check still reads
//! `{"type": "http", "target": …, "expect_status": "2xx"}` and records
//! written by earlier releases (Raft log entries, snapshots, backups) read
//! back as they are. Adding an option means one field in its probe type
//! (with its bound in that type's `validate`) and its `qu` flag; the
//! documents that name the settings side by side ([`ProbeFields`]) pick it
//! up through serde.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::state::fields::{
    self as limits, MAX_HOST, excerpt, validate_host, validate_host_opt_port, validate_url,
};

use super::probe_condition::Condition;
pub use super::probe_dns::{DnsProbe, DnsRecord};
pub use super::probe_fields::ProbeFields;
pub use super::probe_http::{HttpMethod, IpVersion, MASK, parse_ca, split_header};
pub use super::probe_icmp::IcmpProbe;
pub use super::probe_push::PushProbe;
pub use super::probe_tcp::TcpProbe;

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
    /// Beats the job sends (state level 6); never probed.
    Push,
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
            CheckType::Push => "push",
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
            "push" => Ok(CheckType::Push),
            other => Err(Error::invalid(format!(
                "unknown check type {}: use one of http, tcp, icmp, tls, dns, push",
                excerpt(other)
            ))),
        }
    }
}

/// A check's probe settings, by kind. Serialized flattened into the check,
/// the kind as its `type` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Probe {
    /// HTTP or HTTPS request.
    Http(HttpProbe),
    /// TCP connect.
    Tcp(TcpProbe),
    /// ICMP echo.
    Icmp(IcmpProbe),
    /// TLS handshake and certificate expiry.
    Tls(TlsProbe),
    /// DNS lookup.
    Dns(DnsProbe),
    /// Beats the job sends (state level 6).
    Push(PushProbe),
}

impl Probe {
    /// The settings of `kind` with every option at its default.
    pub fn blank(kind: CheckType) -> Probe {
        match kind {
            CheckType::Http => Probe::Http(HttpProbe::default()),
            CheckType::Tcp => Probe::Tcp(TcpProbe::default()),
            CheckType::Icmp => Probe::Icmp(IcmpProbe::default()),
            CheckType::Tls => Probe::Tls(TlsProbe::default()),
            CheckType::Dns => Probe::Dns(DnsProbe::default()),
            CheckType::Push => Probe::Push(PushProbe::default()),
        }
    }

    /// Which kind of probe.
    pub fn kind(&self) -> CheckType {
        match self {
            Probe::Http(_) => CheckType::Http,
            Probe::Tcp(_) => CheckType::Tcp,
            Probe::Icmp(_) => CheckType::Icmp,
            Probe::Tls(_) => CheckType::Tls,
            Probe::Dns(_) => CheckType::Dns,
            Probe::Push(_) => CheckType::Push,
        }
    }

    /// Check the settings and the form of `target` for this kind; the
    /// error names the field and the accepted form.
    pub fn validate(&self, target: &str) -> Result<()> {
        match self {
            Probe::Http(p) => p.validate(target),
            Probe::Tcp(p) => p.validate(target),
            Probe::Icmp(p) => p.validate(target),
            Probe::Tls(p) => p.validate(target),
            Probe::Dns(p) => p.validate(target),
            Probe::Push(p) => p.validate(target),
        }
    }
}

/// Longest `body_match` and `expect_answer` substring.
pub const MAX_MATCH: usize = 1024;
/// Longest `expect_status` spec (`200,204,3xx`).
pub const MAX_STATUS_SPEC: usize = 128;
/// Most redirects an http check may follow.
pub const MAX_REDIRECTS: u8 = 20;
/// Largest `warn_days` (ten years).
pub const MAX_WARN_DAYS: u32 = 3650;

/// An HTTP(S) request: up when the status (and the body, and every
/// condition, if asked) matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpProbe {
    /// Accepted HTTP statuses: `200`, `2xx`, `200,204,3xx`; default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<StatusSpec>,
    /// Substring the body must contain (first 1 MiB, case-sensitive).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_text"
    )]
    pub body_match: Option<String>,
    /// Accept any TLS certificate (for self-signed targets).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Redirects followed; default 10, 0 to not follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redirects: Option<u8>,
    /// Reuse connections between probes. Off by default, so every probe
    /// measures what a new visitor gets (DNS, TCP, TLS).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_alive: bool,
    /// Request method; default GET. (State level 4, as every field below.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    /// Request headers, `Name: value` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// Request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Basic auth, `user:password` (a secret: masked when shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<String>,
    /// Bearer token (a secret: masked when shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<String>,
    /// Connect over this IP version only; default: whichever answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<IpVersion>,
    /// PEM certificates trusted for this check, besides the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// Conditions every response must meet, judged in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl HttpProbe {
    /// The target is an `http://` or `https://` URL; each option within
    /// its bound.
    pub fn validate(&self, target: &str) -> Result<()> {
        if let Some(v) = &self.body_match {
            limits::text("body_match", v, MAX_MATCH)?;
        }
        validate_url(target)?;
        if self.max_redirects.is_some_and(|n| n > MAX_REDIRECTS) {
            return Err(Error::invalid(format!(
                "max_redirects: use 0 to {MAX_REDIRECTS}"
            )));
        }
        if let Some(spec) = &self.expect_status {
            limits::text("expect_status", spec.as_str(), MAX_STATUS_SPEC)?;
        }
        super::probe_http::validate_request(self)
    }
}

/// A TLS handshake: down when the certificate is invalid or expires soon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsProbe {
    /// Down when the certificate expires within this many days; default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_days: Option<u32>,
    /// Server name sent in the handshake; default: the host.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_text"
    )]
    pub sni: Option<String>,
}

impl TlsProbe {
    /// The target is `host` or `host:port`; `sni` a host name.
    pub fn validate(&self, target: &str) -> Result<()> {
        if let Some(v) = &self.sni {
            limits::text("sni", v, MAX_HOST)?;
        }
        validate_host_opt_port(target)?;
        if self.warn_days.is_some_and(|d| d > MAX_WARN_DAYS) {
            return Err(Error::invalid(format!(
                "warn_days: use 0 to {MAX_WARN_DAYS} days"
            )));
        }
        if let Some(sni) = &self.sni {
            validate_host(sni)
                .map_err(|_| Error::invalid(format!("sni {}: use a host name", excerpt(sni))))?;
        }
        Ok(())
    }
}

/// An optional text setting that a YAML author may have written as a bare
/// number or boolean (`body_match: 42`): read as its text. Text settings
/// reach their type through serde's flattening, which sees YAML's typed
/// scalars rather than asking for a string.
pub(super) fn opt_text<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Option::<Text>::deserialize(d).map(|t| t.map(|Text(s)| s))
}

/// Text, from a string or a number or boolean scalar.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Text, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Accepted HTTP statuses: codes and classes, comma-separated
/// (`200`, `2xx`, `200,204,3xx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
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

/// From its text, or from a bare number (`expect_status: 200` in YAML).
impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<StatusSpec, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        StatusSpec::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl From<StatusSpec> for String {
    fn from(s: StatusSpec) -> String {
        s.0
    }
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
