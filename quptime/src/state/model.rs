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
use crate::state::fields::{self as limits, excerpt};
pub use crate::state::policy::{Labels, Policy, Quorum};
pub use crate::state::probe::{
    CheckType, DnsProbe, DnsRecord, HttpProbe, IcmpProbe, Probe, ProbeFields, PushProbe,
    StatusSpec, TcpProbe, TlsProbe,
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
    /// Its labels (`region=eu`), which checks select judging nodes by.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: Labels,
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
        crate::state::policy::validate_labels("member labels", &self.labels)?;
        check_host_port(&self.advertise)
            .map_err(|e| Error::invalid(format!("member address: {}", e.message())))
    }
}

/// One monitored target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable id, assigned when the check is added.
    pub id: String,
    /// Unique human name.
    pub name: String,
    /// What kind of probe and its settings; written flat, the kind as
    /// `type` (see [`Probe`]).
    #[serde(flatten)]
    pub probe: Probe,
    /// URL (http), `host:port` (tcp, tls), or host (icmp, dns).
    pub target: String,
    /// Time between probes.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Per-probe timeout.
    #[serde(with = "duration")]
    pub timeout: Duration,
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
    /// The checks (ids) this one depends on: while one of them is down,
    /// its DOWN is held back (see `state::depends`); state level 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Changes of state within `flap_window` beyond which it is flapping
    /// (unset: [`flap::DEFAULT_THRESHOLD`](crate::state::flap); 0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_threshold: Option<u32>,
    /// The flap window (unset: [`flap::DEFAULT_WINDOW`](crate::state::flap)).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub flap_window: Option<Duration>,
    /// A disabled check is kept but not probed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Rounds, quorum and judging nodes (flat; defaults left out).
    #[serde(flatten)]
    pub policy: Policy,
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
pub use super::probe::{MAX_MATCH, MAX_REDIRECTS, MAX_STATUS_SPEC, MAX_WARN_DAYS};
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
    /// A check of `kind` with every probe option at its default and the
    /// default interval and timeout (set id, name and target before use).
    pub fn blank(kind: CheckType) -> Check {
        Check {
            id: String::new(),
            name: String::new(),
            probe: Probe::blank(kind),
            target: String::new(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            alerts: Vec::new(),
            suppress_alerts: Vec::new(),
            depends_on: Vec::new(),
            flap_threshold: None,
            flap_window: None,
            remind: None,
            disabled: false,
            policy: Policy::default(),
        }
    }

    /// What kind of probe.
    pub fn kind(&self) -> CheckType {
        self.probe.kind()
    }

    /// The settings of an http check.
    pub fn http(&self) -> Option<&HttpProbe> {
        match &self.probe {
            Probe::Http(p) => Some(p),
            _ => None,
        }
    }

    /// The settings of an http check, to change them.
    pub fn http_mut(&mut self) -> Option<&mut HttpProbe> {
        match &mut self.probe {
            Probe::Http(p) => Some(p),
            _ => None,
        }
    }

    /// The settings of a tls check.
    pub fn tls(&self) -> Option<&TlsProbe> {
        match &self.probe {
            Probe::Tls(p) => Some(p),
            _ => None,
        }
    }

    /// The settings of a tls check, to change them.
    pub fn tls_mut(&mut self) -> Option<&mut TlsProbe> {
        match &mut self.probe {
            Probe::Tls(p) => Some(p),
            _ => None,
        }
    }

    /// The settings of a dns check.
    pub fn dns(&self) -> Option<&DnsProbe> {
        match &self.probe {
            Probe::Dns(p) => Some(p),
            _ => None,
        }
    }

    /// The settings of a dns check, to change them.
    pub fn dns_mut(&mut self) -> Option<&mut DnsProbe> {
        match &mut self.probe {
            Probe::Dns(p) => Some(p),
            _ => None,
        }
    }

    /// Check every field; the error names the field and the accepted form.
    /// The probe settings check themselves and the form of the target
    /// ([`Probe::validate`]).
    pub fn validate(&self) -> Result<()> {
        validate_name("check name", &self.name)?;
        // Sizes first, before any value is parsed.
        limits::text("target", &self.target, MAX_TARGET)?;
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
        limits::count(
            "checks in depends_on",
            self.depends_on.len(),
            crate::state::depends::MAX_DEPENDS,
        )
        .map_err(|e| e.with_field("depends_on"))?;
        for id in &self.depends_on {
            limits::text("depends_on check reference", id, MAX_NAME)
                .map_err(|e| e.with_field("depends_on"))?;
        }
        self.probe.validate(&self.target)?;
        in_range("interval", self.interval, INTERVAL_RANGE, "30s or 1m30s")?;
        in_range("timeout", self.timeout, TIMEOUT_RANGE, "10s")?;
        if let Some(r) = self.remind {
            in_range("remind", r, REMIND_RANGE, "1h")?;
        }
        crate::state::flap::validate(self)?;
        self.policy.validate()
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
