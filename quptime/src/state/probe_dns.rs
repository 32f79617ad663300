//! The settings of dns checks: which record type is asked, of which
//! resolver, and what the answer must be; and the pure verdict on the
//! answer a server gave.
//!
//! Without expectations a check is up when the server returns at least one
//! record of the type asked (and, with `expect_answer`, one answer contains
//! that text), as in earlier releases. The expectations added at state
//! level 6 pin the answer down:
//!
//! - `expect_values` (`--expect-value V`, repeatable): every value given
//!   must be among the answers; other answers may be there too. Values are
//!   compared by meaning, not by text: addresses as addresses (`::1` is
//!   `0:0::1`), names without case or trailing dot, an MX value either
//!   `PREF HOST` or `HOST` (any preference), TXT exactly.
//! - `expect_count` (`--expect-count N`): exactly N answers of the type.
//!   With one `expect_values` entry per answer the set must be *equal*.
//! - `expect_nxdomain` (`--expect-nxdomain`): up only when the server says
//!   the name does not exist (a name that must stay unpublished).
//!
//! [`DnsProbe::validate`] checks each value's form for the record type, so
//! a typo is refused at `check add` naming the field; [`DnsProbe::judge`]
//! takes the answers as text (the form a prober shows them in), so it is
//! tested without a socket.

use core::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::fields::{self as limits, MAX_HOST, excerpt, validate_host};

use super::probe::{MAX_MATCH, opt_text};

/// Most `expect_values` entries.
pub const MAX_EXPECT_VALUES: usize = 32;
/// Largest `expect_count`.
pub const MAX_EXPECT_COUNT: u16 = 256;

/// A DNS lookup: up when the answer is as expected (by default: at least
/// one record of the type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsProbe {
    /// Record type looked up; default A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<DnsRecord>,
    /// Resolver to ask, `ip` or `ip:port`; default: the cluster's, else
    /// the system's.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_text"
    )]
    pub resolver: Option<String>,
    /// Substring one answer must contain.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_text"
    )]
    pub expect_answer: Option<String>,
    /// Values that must all be among the answers. (State level 6, as the
    /// fields below.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_values: Vec<String>,
    /// Exactly this many answers of the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_count: Option<u16>,
    /// Up only when the name does not exist (NXDOMAIN).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expect_nxdomain: bool,
}

impl DnsProbe {
    /// The target is a host name; `resolver` an IP address with an
    /// optional port; each expected value of the record type's form.
    pub fn validate(&self, target: &str) -> Result<()> {
        if let Some(v) = &self.expect_answer {
            limits::text("expect_answer", v, MAX_MATCH)?;
        }
        if let Some(v) = &self.resolver {
            limits::text("resolver", v, MAX_HOST)?;
        }
        validate_host(target)?;
        if let Some(r) = &self.resolver {
            let ok = r.parse::<core::net::IpAddr>().is_ok()
                || r.parse::<core::net::SocketAddr>().is_ok();
            if !ok {
                return Err(Error::invalid_field(
                    "resolver",
                    format!(
                        "{}: use an IP address, optionally with a port (9.9.9.9, [2620:fe::fe]:53)",
                        excerpt(r)
                    ),
                ));
            }
        }
        self.validate_expectations()
    }

    fn validate_expectations(&self) -> Result<()> {
        let bad = |msg: String| Error::invalid_field("expect_values", msg);
        if self.expect_values.len() > MAX_EXPECT_VALUES {
            return Err(bad(format!(
                "{} values given; at most {MAX_EXPECT_VALUES} are allowed",
                self.expect_values.len()
            )));
        }
        let record = self.record_type();
        let mut seen: Vec<Expected> = Vec::with_capacity(self.expect_values.len());
        for v in &self.expect_values {
            limits::text("expect_values", v, MAX_MATCH)?;
            let parsed =
                Expected::parse(record, v).map_err(|why| bad(format!("{}: {why}", excerpt(v))))?;
            if seen.contains(&parsed) {
                return Err(bad(format!(
                    "{}: listed twice; list each value once",
                    excerpt(v)
                )));
            }
            seen.push(parsed);
        }
        if let Some(n) = self.expect_count
            && !(1..=MAX_EXPECT_COUNT).contains(&n)
        {
            return Err(Error::invalid_field(
                "expect_count",
                format!(
                    "{n}: use 1 to {MAX_EXPECT_COUNT} answers \
                     (for a name that must not exist, use expect_nxdomain)"
                ),
            ));
        }
        if let Some(n) = self.expect_count
            && usize::from(n) < self.expect_values.len()
        {
            return Err(Error::invalid_field(
                "expect_count",
                format!(
                    "{n} is fewer than the {} expect_values given; \
                     raise it or drop values",
                    self.expect_values.len()
                ),
            ));
        }
        if self.expect_nxdomain {
            let other = [
                ("expect_values", !self.expect_values.is_empty()),
                ("expect_count", self.expect_count.is_some()),
                ("expect_answer", self.expect_answer.is_some()),
            ]
            .into_iter()
            .find(|(_, set)| *set);
            if let Some((name, _)) = other {
                return Err(Error::invalid_field(
                    "expect_nxdomain",
                    format!(
                        "cannot be combined with {name} \
                         (a name that does not exist has no answers); drop one of them"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The record type asked.
    pub fn record_type(&self) -> DnsRecord {
        self.record.unwrap_or(DnsRecord::A)
    }

    /// The state level a node needs to probe this check as asked: 6 when
    /// an expectation added there is set, else 1.
    pub fn level(&self) -> u32 {
        if !self.expect_values.is_empty() || self.expect_count.is_some() || self.expect_nxdomain {
            6
        } else {
            1
        }
    }

    /// Judge the answers of the type asked (each as the prober shows it:
    /// `192.0.2.1`, `10 mail.example.`, `v=spf1 -all`) that a server gave
    /// for an existing name: `Ok(())` when they meet every expectation,
    /// else why not (without the answers themselves, which the caller
    /// lists).
    pub fn judge(&self, answers: &[String]) -> std::result::Result<(), String> {
        let record = self.record_type();
        if self.expect_nxdomain {
            return Err("expected NXDOMAIN, the name exists".into());
        }
        if answers.is_empty() {
            return Err(format!("no {} record", record.as_str().to_uppercase()));
        }
        if let Some(want) = &self.expect_answer
            && !answers.iter().any(|a| a.contains(want.as_str()))
        {
            return Err(format!("no answer contains {want:?}"));
        }
        let got: Vec<Option<Expected>> = answers
            .iter()
            .map(|a| Expected::parse(record, a).ok())
            .collect();
        let missing: Vec<&str> = self
            .expect_values
            .iter()
            .filter(|v| {
                let want = Expected::parse(record, v).ok();
                !got.iter()
                    .flatten()
                    .any(|g| want.as_ref().is_some_and(|w| w.matches(g)))
            })
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing {}", missing.join(", ")));
        }
        if let Some(n) = self.expect_count
            && answers.len() != usize::from(n)
        {
            return Err(format!("{} answers, expected {n}", answers.len()));
        }
        Ok(())
    }
}

/// An expected (or answered) value in its comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// A or AAAA.
    Ip(IpAddr),
    /// CNAME or NS: lowercase, no trailing dot.
    Name(String),
    /// MX: the preference, when given, and the exchange.
    Mx(Option<u16>, String),
    /// TXT, exactly.
    Text(String),
}

impl Expected {
    fn parse(record: DnsRecord, v: &str) -> std::result::Result<Expected, String> {
        let v = v.trim();
        match record {
            DnsRecord::A => match v.parse::<core::net::Ipv4Addr>() {
                Ok(ip) => Ok(Expected::Ip(IpAddr::V4(ip))),
                Err(_) => Err("an A value is an IPv4 address (192.0.2.1)".into()),
            },
            DnsRecord::Aaaa => match v.parse::<core::net::Ipv6Addr>() {
                Ok(ip) => Ok(Expected::Ip(IpAddr::V6(ip))),
                Err(_) => Err("an AAAA value is an IPv6 address (2001:db8::1)".into()),
            },
            DnsRecord::Cname | DnsRecord::Ns => name(v).map(Expected::Name).ok_or_else(|| {
                format!(
                    "a {} value is a host name (host.example.com)",
                    record.as_str().to_uppercase()
                )
            }),
            DnsRecord::Mx => {
                let hint = || {
                    "an MX value is HOST or PREFERENCE HOST (mail.example.com, 10 mail.example.com)"
                        .to_string()
                };
                let mut parts = v.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(host), None, None) => {
                        Ok(Expected::Mx(None, name(host).ok_or_else(hint)?))
                    }
                    (Some(pref), Some(host), None) => {
                        let pref = pref.parse::<u16>().map_err(|_| hint())?;
                        Ok(Expected::Mx(Some(pref), name(host).ok_or_else(hint)?))
                    }
                    _ => Err(hint()),
                }
            }
            DnsRecord::Txt if v.is_empty() => {
                Err("a TXT value is the record's text, not empty".into())
            }
            DnsRecord::Txt => Ok(Expected::Text(v.to_string())),
        }
    }

    /// Whether this expectation is met by the answer `got`.
    fn matches(&self, got: &Expected) -> bool {
        match (self, got) {
            (Expected::Mx(None, want), Expected::Mx(_, host)) => want == host,
            _ => self == got,
        }
    }
}

/// A host name's comparable form, or `None` when it is not one.
fn name(v: &str) -> Option<String> {
    let bare = v.strip_suffix('.').unwrap_or(v);
    (!bare.is_empty() && validate_host(bare).is_ok() && !bare.contains(':'))
        .then(|| bare.to_ascii_lowercase())
}

/// DNS record types a dns check can look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

    /// The lowercase name, as written on disk and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecord::A => "a",
            DnsRecord::Aaaa => "aaaa",
            DnsRecord::Cname => "cname",
            DnsRecord::Mx => "mx",
            DnsRecord::Txt => "txt",
            DnsRecord::Ns => "ns",
        }
    }
}

impl TryFrom<String> for DnsRecord {
    type Error = Error;
    fn try_from(s: String) -> Result<DnsRecord> {
        DnsRecord::parse(&s)
    }
}

impl From<DnsRecord> for String {
    fn from(r: DnsRecord) -> String {
        r.as_str().to_string()
    }
}

#[cfg(test)]
#[path = "probe_dns_tests.rs"]
mod tests;
