//! The connectivity canary's replicated settings and the monitor's own
//! health (state level 6).
//!
//! Why replicated: the reference targets (`qu canary set`) are what every
//! node probes to learn whether its own uplink works, so they are set once
//! for the cluster; a node may add its own (`qu serve --canary-target`).
//! The monitor's health is replicated so that the one "monitor degraded"
//! notice, and later the one "monitor recovered", are decided once and
//! survive a failover like any other alert: applying
//! [`Mutation::SetMonitorDegraded`](super::Mutation::SetMonitorDegraded)
//! when the flag already has that value changes nothing and queues
//! nothing, so a new master re-proposing it cannot send a second notice.

use serde::{Deserialize, Serialize};

use super::{AlertKind, ClusterState, OutboxEntry};
use crate::error::{Error, Result};
use crate::identity::NodeId;

/// At most this many reference targets.
pub const MAX_TARGETS: usize = 16;
/// Longest reference target accepted.
pub const MAX_TARGET_LEN: usize = 256;
/// Longest reason kept with the monitor's health.
pub const MAX_REASON: usize = 512;
/// Most abstaining nodes named with the monitor's health.
pub const MAX_ABSTAINING: usize = 256;
/// The routing event name of the monitor's notices (`state::route`).
pub const EVENT: &str = "monitor-degraded";

/// One reference target: `host:port` (a TCP connect) or an `http://` /
/// `https://` URL (a GET; any answer counts: it proves the way out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A TCP connect to `host:port`.
    Tcp(String),
    /// An HTTP GET.
    Http(String),
}

/// Parse one reference target; `field` names it in the error.
pub fn parse_target(field: &str, spec: &str) -> Result<Target> {
    let s = spec.trim();
    let bad = |what: &str| {
        Error::invalid_field(
            field,
            format!(
                "{field}: {} {what}; give host:port (a TCP connect, e.g. 1.1.1.1:443) or an \
                 http:// or https:// URL (a GET)",
                crate::state::fields::excerpt(s)
            ),
        )
    };
    if s.is_empty() {
        return Err(bad("is empty"));
    }
    if s.len() > MAX_TARGET_LEN {
        return Err(bad(&format!("is longer than {MAX_TARGET_LEN} characters")));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains spaces or control characters"));
    }
    if let Some(rest) = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
    {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        return Ok(Target::Http(s.to_string()));
    }
    if s.contains("://") {
        return Err(bad("has a scheme other than http or https"));
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(bad("has no port"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Target::Tcp(s.to_string())),
        _ => Err(bad("has no valid port (1-65535)")),
    }
}

/// Check a list for `qu canary set`: each valid, none twice, at most
/// [`MAX_TARGETS`]. Returns the trimmed forms.
pub fn validate(field: &str, list: &[String]) -> Result<Vec<String>> {
    if list.len() > MAX_TARGETS {
        return Err(Error::invalid_field(
            field,
            format!(
                "{field}: {} reference targets given; at most {MAX_TARGETS} are allowed",
                list.len()
            ),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for spec in list {
        parse_target(field, spec)?;
        let t = spec.trim().to_string();
        if out.contains(&t) {
            return Err(Error::invalid_field(
                field,
                format!("{field}: {t} is listed twice; list each target once"),
            ));
        }
        out.push(t);
    }
    Ok(out)
}

/// The monitor's own health, as the cluster agreed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorHealth {
    /// Too few nodes can vote (their canary fails): checks are UNKNOWN.
    pub degraded: bool,
    /// Counts the changes of `degraded`; the outbox entries announcing a
    /// change carry it as their `transition`.
    pub seq: u64,
    /// When it last changed (ms since the epoch, the proposer's clock).
    pub since_ms: u64,
    /// The master that decided the change (the proposer).
    pub master: NodeId,
    /// Why (the abstaining nodes and their reasons), for the notice.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The nodes that abstained when it changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abstaining: Vec<NodeId>,
}

impl ClusterState {
    /// Apply `SetCanaryTargets`.
    pub(crate) fn set_canary_targets(&mut self, targets: &[String]) -> Result<()> {
        self.canary_targets = validate("canary_targets", targets)?;
        Ok(())
    }

    /// Apply `SetMonitorDegraded`: a change of the flag queues one notice
    /// per default channel that routes [`EVENT`]; the same value again
    /// changes nothing (a re-proposal after a failover), and a recovery
    /// with no degradation on record is nothing either.
    pub(crate) fn set_monitor_degraded(
        &mut self,
        degraded: bool,
        reason: &str,
        abstaining: &[NodeId],
        cmd: &super::Command,
    ) -> Result<bool> {
        if abstaining.len() > MAX_ABSTAINING {
            return Err(Error::invalid_field(
                "abstaining",
                format!(
                    "{} nodes listed; at most {MAX_ABSTAINING} are kept",
                    abstaining.len()
                ),
            ));
        }
        let current = self.monitor.as_ref().is_some_and(|m| m.degraded);
        if current == degraded {
            return Ok(false);
        }
        let seq = self.monitor.as_ref().map_or(0, |m| m.seq) + 1;
        self.monitor = Some(MonitorHealth {
            degraded,
            seq,
            since_ms: cmd.at_ms,
            master: cmd.proposer.clone(),
            reason: crate::state::fields::cut(reason, MAX_REASON),
            abstaining: abstaining.to_vec(),
        });
        let kind = if degraded {
            AlertKind::MonitorDegraded
        } else {
            AlertKind::MonitorRecovered
        };
        let channels: Vec<String> = self
            .alerts
            .values()
            .filter(|a| a.default && !a.disabled && super::route::routes(a, EVENT))
            .map(|a| a.id.clone())
            .collect();
        for channel in channels {
            self.last_outbox += 1;
            let id = self.last_outbox;
            self.outbox.insert(
                id,
                OutboxEntry {
                    id,
                    transition: seq,
                    kind,
                    channel,
                    delivered_at: None,
                    failed: None,
                    incident: None,
                },
            );
        }
        Ok(true)
    }
}

#[cfg(test)]
#[path = "canary_tests.rs"]
mod tests;
