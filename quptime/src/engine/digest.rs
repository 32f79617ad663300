//! The storm digest, decided without I/O: when many checks go down (or
//! recover) at once, a channel gets one message listing them instead of
//! one each.
//!
//! **Where.** In the delivery engine, at send time, not in the outbox: the
//! outbox keeps one entry per check and channel, each marked delivered on
//! its own, so a digest loses nothing and a failover sends nothing twice
//! (a new master finds the entries of a delivered digest marked, and the
//! pending ones it digests again). Per-pair order holds because only the
//! head entry of each (check, channel) pair is ever a candidate.
//!
//! **The rule** ([`plan`]). The candidates of one channel and kind (DOWN,
//! or RECOVERED) gather while they keep coming: none leaves until
//! [`QUIET`] has passed since the newest was first seen, or [`WINDOW`]
//! since the oldest was. Then more than the channel's `digest_threshold`
//! (default [`DEFAULT_THRESHOLD`], 0 turns it off) go as one digest, fewer
//! each on its own. The cost is [`QUIET`] of delay on every DOWN and
//! RECOVERED of a channel with the digest on. Channels whose receivers key
//! every message on one incident (PagerDuty, Opsgenie) default to off: a
//! digest cannot carry each check's dedup key as theirs. A digest lists at
//! most [`MAX_LINES`] checks, each cut to [`MAX_LINE`] bytes, and says how
//! many more; each provider then applies its own length limit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::notify::{DigestItem, Notification};
use crate::state::fields::cut;
use crate::state::{AlertChannel, AlertKind};

/// The channel setting: more DOWNs (or RECOVEREDs) than this at once go
/// as one digest; 0 turns it off.
pub const THRESHOLD_KEY: &str = "digest_threshold";
/// The threshold of a channel that sets none (chat and mail kinds).
pub const DEFAULT_THRESHOLD: u32 = 10;
/// Highest threshold.
pub const MAX_THRESHOLD: u32 = 10_000;
/// Channel kinds whose digest is off unless set: they key on incidents.
const OFF_BY_DEFAULT: &[&str] = &["pagerduty", "opsgenie"];
/// A candidate waits until none came for this long (longer than a
/// verdict round and a commit under load, so one storm's decisions are
/// not cut in two)…
pub const QUIET: Duration = Duration::from_secs(2);
/// …or the oldest waited this long.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Checks listed in one digest.
pub const MAX_LINES: usize = 50;
/// Bytes of one listed line's detail.
pub const MAX_LINE: usize = 200;

/// Check a channel's `digest_threshold`, naming the setting.
pub fn validate(channel: &AlertChannel) -> Result<()> {
    match channel.settings.get(THRESHOLD_KEY) {
        None => Ok(()),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n <= MAX_THRESHOLD => Ok(()),
            _ => Err(Error::invalid_field(
                THRESHOLD_KEY,
                format!(
                    "{v:?} is not a count: use 0 (off) to {MAX_THRESHOLD}, such as digest_threshold=10"
                ),
            )),
        },
    }
}

/// The digest threshold of `channel` (0: off).
pub fn threshold(channel: &AlertChannel) -> u32 {
    let default = if OFF_BY_DEFAULT.contains(&channel.kind.as_str()) {
        0
    } else {
        DEFAULT_THRESHOLD
    };
    channel
        .settings
        .get(THRESHOLD_KEY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Whether entries of `kind` may be digested.
pub fn digestible(kind: AlertKind) -> bool {
    matches!(kind, AlertKind::Down | AlertKind::Recovered)
}

/// What to do with one channel's candidates of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Wait: more may come.
    Gather,
    /// Send each on its own.
    Each(Vec<u64>),
    /// Send them as one digest.
    Digest(Vec<u64>),
}

/// When each candidate was first seen (the master's own memory).
#[derive(Debug, Default)]
pub(crate) struct Seen(HashMap<u64, Instant>);

impl Seen {
    /// Record `ids` as seen (the first time only) and forget the others.
    pub(crate) fn note(&mut self, ids: &[u64], now: Instant) -> Vec<Instant> {
        ids.iter()
            .map(|id| *self.0.entry(*id).or_insert(now))
            .collect()
    }

    /// Forget entries that are no longer candidates.
    pub(crate) fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        self.0.retain(|id, _| keep(*id));
    }
}

/// The plan for candidates `ids` (queue order), first seen at `seen`, of a
/// channel with `threshold`, at `now`.
pub fn plan(ids: Vec<u64>, seen: &[Instant], threshold: u32, now: Instant) -> Plan {
    if threshold == 0 || ids.is_empty() {
        return Plan::Each(ids);
    }
    let newest = seen.iter().max().copied().unwrap_or(now);
    let oldest = seen.iter().min().copied().unwrap_or(now);
    let quiet = now.saturating_duration_since(newest) >= QUIET;
    let waited = now.saturating_duration_since(oldest) >= WINDOW;
    if !quiet && !waited {
        return Plan::Gather;
    }
    if ids.len() > threshold as usize {
        Plan::Digest(ids)
    } else {
        Plan::Each(ids)
    }
}

/// One digest standing for `each` (one channel, one kind, at least one),
/// dated `time`: the first's kind and master, the check type when all
/// share it, and one bounded line per check.
pub fn combine(each: &[Notification], time: &str) -> Notification {
    let mut n = each[0].clone();
    let same_type = each.iter().all(|e| e.check_type == n.check_type);
    let names: Vec<&str> = each.iter().take(3).map(|e| e.check.as_str()).collect();
    let more = each.len().saturating_sub(names.len());
    n.check = format!("{} checks", each.len());
    n.target = if more > 0 {
        format!("{}, +{more} more", names.join(", "))
    } else {
        names.join(", ")
    };
    if !same_type {
        n.check_type = None;
    }
    n.evidence = Vec::new();
    n.expectation = None;
    n.since = None;
    n.incident = None;
    n.time = time.to_string();
    n.digest = each
        .iter()
        .take(MAX_LINES)
        .map(|e| DigestItem {
            check: cut(&e.check, MAX_LINE),
            target: cut(&e.target, MAX_LINE),
            detail: cut(&e.detail(), MAX_LINE),
            incident: e.incident.clone(),
        })
        .collect();
    n.digest_total = each.len();
    n
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
