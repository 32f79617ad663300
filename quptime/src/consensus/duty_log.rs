//! The duty log: one JSON line in `<data>/duty.log` each time this node
//! starts or stops acting as master (aggregating and dispatching), with the
//! lease it held. Operators read it after an incident ("who was master
//! when?"), and the fault rig (`rig/`) checks from the logs of every node
//! that no two nodes ever acted as master at the same instant.
//!
//! Times are wall-clock milliseconds (`SystemTime`): comparing two nodes'
//! logs assumes their clocks agree, which holds in the rig (every network
//! namespace shares the host clock) and, to NTP precision, in production.
//! A stop record carries `lease_until_ms`, when the lease it acted under
//! ran out: every master action asks the lease gate live, so the node
//! stopped acting at the earlier of the two times, even if it noticed the
//! loss later (a paused process, a slow tick).
//!
//! The file is bounded: past [`MAX_BYTES`] it is renamed to `duty.log.1`
//! (the one older generation kept) and a new file begins. Writing is best
//! effort: a failure is logged and never stops master duty.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The file name under the data directory.
pub const FILE: &str = "duty.log";
/// The rotated generation.
pub const OLD_FILE: &str = "duty.log.1";
/// Size at which the file is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Started or stopped acting as master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DutyEvent {
    /// Master duty began.
    Start,
    /// Master duty ended (lease lost, handed over, or shutdown).
    Stop,
}

/// One line of the duty log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyRecord {
    /// The node writing.
    pub node: String,
    /// Start or stop.
    pub event: DutyEvent,
    /// The Raft term the duty belongs to.
    pub term: u64,
    /// When the node noticed the change (wall clock, ms since the epoch).
    pub at_ms: u64,
    /// When the lease it acted under runs (start) or ran (stop) out; absent
    /// when no lease bounds it (a sole voter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_ms: Option<u64>,
}

impl DutyRecord {
    /// The instant this duty ended, for a stop record: the earlier of when
    /// it was noticed and when its lease ran out.
    pub fn ended_ms(&self) -> u64 {
        self.lease_until_ms
            .map_or(self.at_ms, |l| l.min(self.at_ms))
    }
}

/// Appends duty records to `<data>/duty.log`.
#[derive(Debug, Clone)]
pub struct DutyLog {
    path: PathBuf,
    old: PathBuf,
    max_bytes: u64,
}

/// Wall-clock milliseconds of `at`, an `Instant` in the past or future.
pub fn wall_ms(at: Instant) -> u64 {
    let now = Instant::now();
    let wall = SystemTime::now();
    let t = if at <= now {
        wall.checked_sub(now - at)
    } else {
        wall.checked_add(at - now)
    };
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl DutyLog {
    /// The log of the node whose data directory is `dir`.
    pub fn new(dir: &Path) -> DutyLog {
        DutyLog::with_limit(dir, MAX_BYTES)
    }

    /// As [`DutyLog::new`], rotating past `max_bytes`.
    pub fn with_limit(dir: &Path, max_bytes: u64) -> DutyLog {
        DutyLog {
            path: dir.join(FILE),
            old: dir.join(OLD_FILE),
            max_bytes,
        }
    }

    /// Append `rec`; failures are logged, never returned (duty goes on).
    pub fn append(&self, rec: &DutyRecord) {
        if let Err(e) = self.try_append(rec) {
            tracing::warn!(error = %e, path = %self.path.display(), "could not write the duty log");
        }
    }

    fn try_append(&self, rec: &DutyRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if let Ok(meta) = std::fs::metadata(&self.path)
            && meta.len() + line.len() as u64 > self.max_bytes
        {
            std::fs::rename(&self.path, &self.old)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&line)?;
        // Best effort durability: the record is small and a crash loses at
        // most the last line, which a reader treats as an open duty.
        f.sync_data()
    }
}

/// Read every record of the log in `dir` (the rotated generation first);
/// lines that do not parse (a torn last line) are skipped.
pub fn read(dir: &Path) -> Vec<DutyRecord> {
    let mut out = Vec::new();
    for name in [OLD_FILE, FILE] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        out.extend(
            text.lines()
                .filter_map(|l| serde_json::from_str::<DutyRecord>(l).ok()),
        );
    }
    out
}

/// Tracks one node's duty on the controller's tick and writes the changes.
#[derive(Debug)]
pub struct DutyTracker {
    log: DutyLog,
    node: String,
    /// The term and latest lease end of the duty in progress.
    acting: Option<(u64, Option<u64>)>,
}

impl DutyTracker {
    /// Nothing in progress yet.
    pub fn new(log: DutyLog, node: String) -> DutyTracker {
        DutyTracker {
            log,
            node,
            acting: None,
        }
    }

    /// One observation: whether this node acts as master now, in `term`,
    /// under a lease running until `lease_until` (None: unbounded).
    pub fn observe(&mut self, acting: bool, term: u64, lease_until: Option<Instant>) {
        let lease_ms = lease_until.map(wall_ms);
        match (self.acting, acting) {
            (None, true) => {
                self.write(DutyEvent::Start, term, lease_ms);
                self.acting = Some((term, lease_ms));
            }
            (Some((t, _)), true) if t != term => {
                self.stop();
                self.write(DutyEvent::Start, term, lease_ms);
                self.acting = Some((term, lease_ms));
            }
            (Some((t, _)), true) => self.acting = Some((t, lease_ms)),
            (Some(_), false) => self.stop(),
            (None, false) => {}
        }
    }

    /// Duty ended now (lost, handed over, shutting down).
    pub fn stop(&mut self) {
        if let Some((term, lease)) = self.acting.take() {
            self.write(DutyEvent::Stop, term, lease);
        }
    }

    fn write(&self, event: DutyEvent, term: u64, lease_until_ms: Option<u64>) {
        self.log.append(&DutyRecord {
            node: self.node.clone(),
            event,
            term,
            at_ms: wall_ms(Instant::now()),
            lease_until_ms,
        });
    }
}

#[cfg(test)]
#[path = "duty_log_tests.rs"]
mod tests;
