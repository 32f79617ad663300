//! Rate-limited logging of refused and undecodable traffic.
//!
//! Whoever can reach a port can make a node refuse things as fast as the
//! network allows: 20,000 undecodable requests from one connection once
//! wrote 5.4 MB of warnings in 1.4 s. Each source (an IP address, or a uid
//! on the control socket) therefore gets at most one line per interval:
//! the first refusal is logged at once with its reason, later ones are
//! counted, and when the interval is over one summary line gives the
//! count and the last reason. Sources tracked at once are bounded; beyond
//! that the rest share one "other sources" line.
//!
//! [`Tally`] decides what to print given the time; [`RefusalLog`] prints it.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sources tracked separately; more share one entry.
pub const MAX_SOURCES: usize = 1024;
/// Characters of a reason kept (a decoding error can quote what it read).
pub const MAX_REASON: usize = 300;

/// One source's current interval.
#[derive(Debug)]
struct Window {
    since: Instant,
    suppressed: u64,
    last: String,
}

/// The decision, without I/O: which lines to print when.
#[derive(Debug)]
pub(crate) struct Tally<K> {
    interval: Duration,
    windows: HashMap<Option<K>, Window>,
}

impl<K: Hash + Eq + Clone + Display> Tally<K> {
    pub(crate) fn new(interval: Duration) -> Tally<K> {
        Tally {
            interval,
            windows: HashMap::new(),
        }
    }

    /// Note a refusal of `key` at `now`; the line to print now, if any.
    pub(crate) fn note(&mut self, key: K, now: Instant, reason: String) -> Vec<String> {
        let reason = cut(reason);
        let mut out = self.due(now);
        let slot =
            if self.windows.contains_key(&Some(key.clone())) || self.windows.len() < MAX_SOURCES {
                Some(key)
            } else {
                None
            };
        match self.windows.get_mut(&slot) {
            Some(w) => {
                w.suppressed = w.suppressed.saturating_add(1);
                w.last = reason;
            }
            None => {
                out.push(format!(
                    "{}: {reason} (more from this source are summarised every {})",
                    source(&slot),
                    humantime::format_duration(self.interval)
                ));
                self.windows.insert(
                    slot,
                    Window {
                        since: now,
                        suppressed: 0,
                        last: reason,
                    },
                );
            }
        }
        out
    }

    /// Summaries of the intervals over at `now`; those sources start afresh.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<String> {
        let interval = self.interval;
        let mut out = Vec::new();
        self.windows.retain(|key, w| {
            if now.duration_since(w.since) < interval {
                return true;
            }
            if w.suppressed > 0 {
                out.push(format!(
                    "{}: {} more refused in the last {} (last: {})",
                    source(key),
                    w.suppressed,
                    humantime::format_duration(interval),
                    w.last
                ));
            }
            false
        });
        out
    }
}

fn cut(mut reason: String) -> String {
    if let Some((at, _)) = reason.char_indices().nth(MAX_REASON) {
        reason.truncate(at);
        reason.push('…');
    }
    reason
}

fn source<K: Display>(key: &Option<K>) -> String {
    match key {
        Some(k) => k.to_string(),
        None => "other sources".to_string(),
    }
}

/// A [`Tally`] that prints its lines as warnings, tagged with `what`.
#[derive(Debug)]
pub(crate) struct RefusalLog<K> {
    what: &'static str,
    tally: Mutex<Tally<K>>,
}

impl<K: Hash + Eq + Clone + Display> RefusalLog<K> {
    pub(crate) fn new(what: &'static str, interval: Duration) -> RefusalLog<K> {
        RefusalLog {
            what,
            tally: Mutex::new(Tally::new(interval)),
        }
    }

    /// Log (or count) one refusal from `key`.
    pub(crate) fn note(&self, key: K, reason: impl Display) {
        let lines = self.lock().note(key, Instant::now(), reason.to_string());
        self.print(lines);
    }

    /// Print the summaries that are due (call every interval or so).
    pub(crate) fn flush(&self) {
        let lines = self.lock().due(Instant::now());
        self.print(lines);
    }

    fn print(&self, lines: Vec<String>) {
        for line in lines {
            tracing::warn!(listener = self.what, "{line}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally<K>> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_then_one_summary_per_interval() {
        let t0 = Instant::now();
        let sec = Duration::from_secs(1);
        let mut t = Tally::new(Duration::from_secs(30));
        let first = t.note("10.0.0.1", t0, "undecodable frame".into());
        assert_eq!(first.len(), 1);
        assert!(
            first[0].starts_with("10.0.0.1: undecodable frame"),
            "{first:?}"
        );
        for i in 0..20_000u32 {
            let lines = t.note("10.0.0.1", t0 + sec * (i % 29), format!("bad {i}"));
            assert!(lines.is_empty());
        }
        // Another source is logged on its own.
        assert_eq!(t.note("10.0.0.2", t0, "x".into()).len(), 1);
        assert!(t.due(t0 + sec * 29).is_empty());
        let summary = t.due(t0 + sec * 30);
        assert_eq!(summary.len(), 1, "{summary:?}");
        assert!(
            summary[0].contains("20000 more refused") && summary[0].contains("bad 19999"),
            "{summary:?}"
        );
        // Quiet sources leave no summary; the next refusal starts afresh.
        assert_eq!(t.note("10.0.0.1", t0 + sec * 31, "again".into()).len(), 1);
        let long = t.note("10.0.0.3", t0, "z".repeat(4 << 20));
        assert!(long[0].len() < MAX_REASON + 200, "{}", long[0].len());
    }

    #[test]
    fn sources_tracked_are_bounded() {
        let now = Instant::now();
        let mut t = Tally::new(Duration::from_secs(30));
        let mut lines = 0;
        for i in 0..(MAX_SOURCES as u32 + 500) {
            lines += t.note(i, now, "x".into()).len();
        }
        assert_eq!(lines, MAX_SOURCES + 1);
        assert_eq!(t.windows.len(), MAX_SOURCES + 1);
    }
}
