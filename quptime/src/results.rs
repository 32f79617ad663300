//! This node's raw probe results (outcome and latency per check over
//! time), kept on its own disk in an embedded database (redb), for the
//! response-time chart of the status page.
//!
//! Why local and not replicated: every node probes every check, so raw
//! results are many small writes the cluster does not need to agree on;
//! the agreed figures are the replicated uptime history
//! (`state::history`). Each node keeps its own, and its page charts its
//! own view.
//!
//! Bounded by size: the node option `results_max_bytes` (`qu serve
//! --results-max-size`) gives a budget, turned into a number of rows at
//! [`ROW_BYTES`] each and shared evenly between the checks on record; a
//! check over its share loses its oldest rows first. redb reuses the freed
//! pages, so the file stays near the budget. A row is the key (check id,
//! time in ms) and the value (ok, latency in ms): about 60 bytes on disk
//! with redb's B-tree pages (measured in the tests; see
//! docs/status-page.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::error::{Error, ErrorKind, Result};

/// The results table: (check id, ms since the epoch) → (ok, latency ms).
const RESULTS: TableDefinition<(&str, u64), (bool, u32)> = TableDefinition::new("results");

/// Disk bytes a row is budgeted at: the file size over the rows, measured
/// with 8-character check ids at about 155 (see the tests).
pub const ROW_BYTES: u64 = 160;
/// The default budget: 64 MiB (about 420,000 rows: 145 check-days at a
/// 30 s interval).
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// The smallest budget accepted (1 MiB).
pub const MIN_MAX_BYTES: u64 = 1 << 20;
/// The file name in the data directory.
pub const FILE: &str = "results.redb";

/// The largest budget accepted (1 TiB).
pub const MAX_MAX_BYTES: u64 = 1 << 40;

/// A size as `field` gives it: bytes, or a number with `KiB`, `MiB` or
/// `GiB` (`64MiB`), from 1 MiB to 1 TiB.
pub fn parse_size(field: &str, text: &str) -> Result<u64> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, ""), |at| t.split_at(at));
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 0,
    };
    let bytes = num
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|_| mult > 0);
    match bytes {
        Some(b) if (MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&b) => Ok(b),
        Some(b) => Err(Error::invalid_field(
            field,
            format!("{field}: {text:?} is {b} bytes; give from 1MiB to 1024GiB"),
        )),
        None => Err(Error::invalid_field(
            field,
            format!(
                "{field}: {text:?} is not a size: give bytes or a number with KiB, MiB or GiB, e.g. 64MiB"
            ),
        )),
    }
}

/// One probe result as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawResult {
    /// When it was taken (ms since the epoch, this node's clock).
    pub at_ms: u64,
    /// The target met the check's expectation.
    pub ok: bool,
    /// How long the probe took (ms).
    pub latency_ms: u32,
}

/// The store.
#[derive(Debug)]
pub struct ResultStore {
    db: Mutex<Db>,
    path: PathBuf,
    max_rows: u64,
    /// Rows per check (read at open, kept in step by writes).
    counts: Mutex<BTreeMap<String, u64>>,
}

/// The database file, as far as this store is concerned.
#[derive(Debug)]
enum Db {
    /// Not created yet: the file appears with the first result (redb's
    /// smallest file is about 1.5 MB, which a node that probes nothing
    /// need not spend).
    Absent,
    /// Open.
    Open(Database),
    /// [`ResultStore::close`]d (the node stopped), so the same data
    /// directory can be opened again in this process while handles to
    /// the old node linger.
    Closed,
}

/// Memory redb may use as its page cache (its default is 1 GiB).
const CACHE_BYTES: usize = 4 << 20;

fn create(path: &Path) -> Result<Database> {
    redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|e| db_error(path, "open", e))
}

fn db_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("results store {}: {what}: {e}", path.display()),
    )
}

impl ResultStore {
    /// Open (or create) the store at `path` with a budget of `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64) -> Result<ResultStore> {
        if max_bytes < MIN_MAX_BYTES {
            return Err(Error::invalid_field(
                "results_max_bytes",
                format!(
                    "{max_bytes} bytes is under the smallest results store of {MIN_MAX_BYTES} \
                     bytes (1 MiB): give at least 1MiB"
                ),
            ));
        }
        let mut counts = BTreeMap::new();
        if !path.exists() {
            return Ok(ResultStore {
                db: Mutex::new(Db::Absent),
                path: path.to_path_buf(),
                max_rows: max_bytes / ROW_BYTES,
                counts: Mutex::new(counts),
            });
        }
        let db = create(path)?;
        {
            let w = db.begin_write().map_err(|e| db_error(path, "begin", e))?;
            {
                let t = w
                    .open_table(RESULTS)
                    .map_err(|e| db_error(path, "table", e))?;
                for row in t.iter().map_err(|e| db_error(path, "read", e))? {
                    let (k, _) = row.map_err(|e| db_error(path, "read", e))?;
                    *counts.entry(k.value().0.to_string()).or_insert(0) += 1;
                }
            }
            w.commit().map_err(|e| db_error(path, "commit", e))?;
        }
        Ok(ResultStore {
            db: Mutex::new(Db::Open(db)),
            path: path.to_path_buf(),
            max_rows: max_bytes / ROW_BYTES,
            counts: Mutex::new(counts),
        })
    }

    /// Close the file (a stopped node); later writes and reads find
    /// nothing and do nothing.
    pub fn close(&self) {
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        *db = Db::Closed;
    }

    /// The rows one check may keep now.
    fn share(&self, checks: usize) -> u64 {
        (self.max_rows / checks.max(1) as u64).max(1)
    }

    /// Write `batch` in one transaction and trim each check in it to its
    /// share of the budget, oldest rows first.
    pub fn write(&self, batch: &[(String, RawResult)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let p = &self.path;
        let mut guard = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*guard, Db::Absent) {
            *guard = Db::Open(create(p)?);
        }
        let Db::Open(db) = &*guard else {
            return Ok(());
        };
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let w = db.begin_write().map_err(|e| db_error(p, "begin", e))?;
        {
            let mut t = w.open_table(RESULTS).map_err(|e| db_error(p, "table", e))?;
            for (check, r) in batch {
                let old = t
                    .insert((check.as_str(), r.at_ms), (r.ok, r.latency_ms))
                    .map_err(|e| db_error(p, "write", e))?;
                if old.is_none() {
                    *counts.entry(check.clone()).or_insert(0) += 1;
                }
            }
            let share = self.share(counts.len());
            let mut touched: Vec<&String> = batch.iter().map(|(c, _)| c).collect();
            touched.dedup();
            for check in touched {
                let have = counts.get(check).copied().unwrap_or(0);
                if have <= share {
                    continue;
                }
                let over = usize::try_from(have - share).unwrap_or(usize::MAX);
                let old: Vec<u64> = t
                    .range((check.as_str(), 0)..=(check.as_str(), u64::MAX))
                    .map_err(|e| db_error(p, "read", e))?
                    .take(over)
                    .filter_map(|row| row.ok().map(|(k, _)| k.value().1))
                    .collect();
                for at in &old {
                    t.remove((check.as_str(), *at))
                        .map_err(|e| db_error(p, "trim", e))?;
                }
                counts.insert(check.clone(), have - old.len() as u64);
            }
        }
        w.commit().map_err(|e| db_error(p, "commit", e))
    }

    /// The last `n` results of `check_id`, oldest first.
    pub fn recent(&self, check_id: &str, n: usize) -> Result<Vec<RawResult>> {
        let p = &self.path;
        let guard = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let Db::Open(db) = &*guard else {
            return Ok(Vec::new());
        };
        let r = db.begin_read().map_err(|e| db_error(p, "begin", e))?;
        let t = match r.open_table(RESULTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db_error(p, "table", e)),
        };
        let mut out: Vec<RawResult> = t
            .range((check_id, 0)..=(check_id, u64::MAX))
            .map_err(|e| db_error(p, "read", e))?
            .rev()
            .take(n)
            .filter_map(|row| {
                row.ok().map(|(k, v)| {
                    let (ok, latency_ms) = v.value();
                    RawResult {
                        at_ms: k.value().1,
                        ok,
                        latency_ms,
                    }
                })
            })
            .collect();
        out.reverse();
        Ok(out)
    }

    /// Rows on record, in all.
    pub fn rows(&self) -> Result<u64> {
        let p = &self.path;
        let guard = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let Db::Open(db) = &*guard else {
            return Ok(0);
        };
        let r = db.begin_read().map_err(|e| db_error(p, "begin", e))?;
        match r.open_table(RESULTS) {
            Ok(t) => t.len().map_err(|e| db_error(p, "read", e)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(db_error(p, "table", e)),
        }
    }
}

#[cfg(test)]
#[path = "results_tests.rs"]
mod tests;
