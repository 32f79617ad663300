//! Crash-safe on-disk Raft log storage: the `RaftLogStorage` openraft
//! persists its log, vote, committed id and purge point through.
//!
//! Raft is only safe if what a node acknowledged survives a crash, so every
//! write here is durable before it is acknowledged, writes are applied in
//! exactly the order openraft submits them (`docs/protocol/io_ordering` in
//! openraft: a vote overtaken by a log write can lose committed entries),
//! and recovery never applies a half-written record. The store is generic
//! over the type config, so openraft's own conformance suite runs against
//! it with `u64` node ids while the cluster uses its own `NodeId`.
//!
//! # Layout of the directory
//!
//! - `log.dat`: the entries, one length + CRC-32 + JSON record each; format
//!   and recovery rules in `log_file`.
//! - `vote.json`, `committed.json`, `purged.json`: JSON of an `Option` of
//!   the vote, committed log id and last purged log id ([`write_atomic`]).
//! - `lock`: `flock`ed while a store is open, so no two write one log.
//!
//! [`write_atomic`]: crate::store::write_atomic
//!
//! # Concurrency
//!
//! One writer thread owns the files and runs operations strictly in
//! submission order, so fsyncs never block the tokio runtime. Appends group
//! into one write and one `fdatasync`; `append` returns as soon as the
//! entries are queued and visible to every reader, and its callback fires
//! once they are durable. `save_vote`, `truncate_after` and `purge` return
//! once durable. `save_committed` is queued and non-essential (losing it
//! only makes a restart re-apply less): a failed write of it (a full disk)
//! is logged at most once a minute and retried every few seconds, and
//! never fails the store. After any other I/O error the store refuses
//! every later operation: memory and disk may differ, and the node must
//! stop ([`LogReader::failure`] says why).

#[path = "log_file.rs"]
mod log_file;
#[path = "log_writer.rs"]
mod log_writer;
#[cfg(test)]
#[path = "log_store_tests.rs"]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::type_config::alias::{LogIdOf, VoteOf};
use openraft::{OptionalSend, RaftTypeConfig};
use tokio::sync::oneshot;

use crate::error::{Error, ErrorKind, Result};
use crate::store::ensure_dir;
use log_file::{LOG_FILE, LogFile, MAX_RECORD, lock_dir, read_json, sync_dir};
use log_writer::Writer;

/// Largest log record (JSON of one entry) the log file takes: twice the
/// transport's default frame cap, so nothing a peer can send is refused.
pub(crate) const RECORD_LIMIT: usize = MAX_RECORD;

const VOTE_FILE: &str = "vote.json";
const COMMITTED_FILE: &str = "committed.json";
const PURGED_FILE: &str = "purged.json";

/// What readers see: the log as submitted, plus the durable vote.
struct Mem<C: RaftTypeConfig> {
    entries: BTreeMap<u64, C::Entry>,
    vote: Option<VoteOf<C>>,
    committed: Option<LogIdOf<C>>,
    /// Bumped by every `save_committed`; the writer skips superseded ones.
    committed_seq: u64,
    last_purged: Option<LogIdOf<C>>,
    /// Set by the first failed write; every later operation fails.
    failed: Option<String>,
}

type Shared<C> = Arc<Mutex<Mem<C>>>;

fn lock<C: RaftTypeConfig>(mem: &Mutex<Mem<C>>) -> MutexGuard<'_, Mem<C>> {
    mem.lock().unwrap_or_else(|p| p.into_inner())
}

impl<C: RaftTypeConfig> Mem<C> {
    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some(msg) => Err(io::Error::other(msg.clone())),
            None => Ok(()),
        }
    }
}

/// The on-disk Raft log of one node. Open it with [`LogStore::open`] and
/// hand it to `openraft::Raft::new`; dropping it waits for queued writes.
pub struct LogStore<C: RaftTypeConfig> {
    dir: PathBuf,
    mem: Shared<C>,
    tx: Option<mpsc::Sender<Op<C>>>,
    writer: Option<JoinHandle<()>>,
}

/// A cheap-clone read handle on a [`LogStore`]: sees every appended entry
/// and the last saved vote, also while the store writes.
pub struct LogReader<C: RaftTypeConfig>(Shared<C>);

impl<C: RaftTypeConfig> LogReader<C> {
    /// Why the store refuses writes, once an essential write failed.
    pub fn failure(&self) -> Option<String> {
        lock(&self.0).failed.clone()
    }

    /// How many entries the log holds (after the purge point).
    pub fn len(&self) -> usize {
        lock(&self.0).entries.len()
    }

    /// Whether the log holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C: RaftTypeConfig> Clone for LogReader<C> {
    fn clone(&self) -> Self {
        LogReader(self.0.clone())
    }
}

impl<C: RaftTypeConfig> fmt::Debug for LogStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl<C: RaftTypeConfig> fmt::Debug for LogReader<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogReader").finish_non_exhaustive()
    }
}

/// One write, queued to the writer thread.
enum Op<C: RaftTypeConfig> {
    /// `(index, serialized entry)` records, and the callback for when they are durable.
    Append(Vec<(u64, Vec<u8>)>, IOFlushed<C>),
    Truncate(Option<u64>, Done),
    Purge(LogIdOf<C>, Done),
    Vote(VoteOf<C>, Done),
    /// The committed id and its `committed_seq`.
    Committed(Option<LogIdOf<C>>, u64),
}

/// Where the writer reports that an operation is durable (or failed).
type Done = oneshot::Sender<io::Result<()>>;

impl<C: RaftTypeConfig> LogStore<C> {
    /// Open the log in `dir` (created with mode 0700 if missing), recover
    /// from a crash (a torn tail is cut off, other damage is an error), and
    /// start the writer thread. Blocks on file I/O: from async code call it
    /// inside `spawn_blocking`.
    pub fn open(dir: &Path) -> Result<LogStore<C>> {
        ensure_dir(dir, 0o700)?;
        // Make the directory's own entry durable: a vote must not vanish with it.
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        sync_dir(parent.unwrap_or(Path::new("."))).map_err(|e| Error::io_at("fsync", dir, e))?;
        let lock_file = lock_dir(dir)?;
        let vote: Option<VoteOf<C>> = read_json(&dir.join(VOTE_FILE))?;
        let committed: Option<LogIdOf<C>> = read_json(&dir.join(COMMITTED_FILE))?;
        let last_purged: Option<LogIdOf<C>> = read_json(&dir.join(PURGED_FILE))?;
        let log_path = dir.join(LOG_FILE);
        if (vote.is_some() || last_purged.is_some()) && !log_path.exists() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} is missing although this node has voted: its acknowledged entries \
                     are lost. Restore the directory from a backup, or empty it and re-join \
                     the node",
                    log_path.display()
                ),
            ));
        }
        let purged = last_purged.as_ref().map(|p| p.index());
        let (file, entries) = LogFile::open::<C>(dir, purged)?;
        let last = entries.keys().next_back().copied().or(purged);
        if let Some(c) = &committed
            && last < Some(c.index())
        {
            tracing::warn!(
                "Raft log {}: committed {c} is beyond the log",
                log_path.display()
            );
        }
        let mem = Arc::new(Mutex::new(Mem {
            entries,
            vote,
            committed,
            committed_seq: 0,
            last_purged,
            failed: None,
        }));
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            file,
            dir: dir.to_path_buf(),
            mem: mem.clone(),
            rx,
            pending: None,
            unsaved: None,
            warned: None,
            _lock: lock_file,
        };
        let handle = std::thread::Builder::new()
            .name("quptime-raft-log".into())
            .spawn(move || writer.run())
            .map_err(|e| {
                Error::new(ErrorKind::Io, "cannot start the Raft log writer thread").with_source(e)
            })?;
        Ok(LogStore {
            dir: dir.to_path_buf(),
            mem,
            tx: Some(tx),
            writer: Some(handle),
        })
    }

    /// The directory this store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A read handle, the same as `get_log_reader` gives openraft.
    pub fn reader(&self) -> LogReader<C> {
        LogReader(self.mem.clone())
    }

    fn send(&self, op: Op<C>) -> io::Result<()> {
        match &self.tx {
            Some(tx) if tx.send(op).is_ok() => Ok(()),
            _ => Err(writer_gone()),
        }
    }

    /// Queue `op` (built around a reply channel) and wait for its result.
    async fn request(&self, op: impl FnOnce(Done) -> Op<C>) -> io::Result<()> {
        lock(&self.mem).check()?;
        let (done, rx) = oneshot::channel();
        self.send(op(done))?;
        rx.await.map_err(|_| writer_gone())?
    }
}

impl<C: RaftTypeConfig> Drop for LogStore<C> {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued and exit,
        // which releases the directory lock before a reopen.
        drop(self.tx.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!(
                "the Raft log writer thread of {} panicked",
                self.dir.display()
            );
        }
    }
}

fn writer_gone() -> io::Error {
    io::Error::other("the Raft log writer thread has stopped")
}

/// Normalize any range to `[lo, hi)` (`hi = None`: unbounded); `None` when
/// it is empty or inverted, which `BTreeMap::range` would panic on.
fn normalize(range: &impl RangeBounds<u64>) -> Option<(u64, Option<u64>)> {
    let lo = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let hi = match range.end_bound() {
        Bound::Included(e) => e.checked_add(1),
        Bound::Excluded(e) => Some(*e),
        Bound::Unbounded => None,
    };
    match hi {
        Some(h) if lo >= h => None,
        _ => Some((lo, hi)),
    }
}

impl<C> RaftLogReader<C> for LogReader<C>
where
    C: RaftTypeConfig,
    C::Entry: Clone,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<C::Entry>> {
        let Some((lo, hi)) = normalize(&range) else {
            return Ok(Vec::new());
        };
        let end = hi.map_or(Bound::Unbounded, Bound::Excluded);
        let mem = lock(&self.0);
        Ok(mem
            .entries
            .range((Bound::Included(lo), end))
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn read_vote(&mut self) -> io::Result<Option<VoteOf<C>>> {
        Ok(lock(&self.0).vote.clone())
    }
}

impl<C> RaftLogStorage<C> for LogStore<C>
where
    C: RaftTypeConfig,
    C::Entry: Clone,
{
    type LogReader = LogReader<C>;

    async fn get_log_state(&mut self) -> io::Result<LogState<C>> {
        let mem = lock(&self.mem);
        let last = mem.entries.values().next_back().map(|e| e.log_id());
        Ok(LogState {
            last_purged_log_id: mem.last_purged.clone(),
            last_log_id: last.or_else(|| mem.last_purged.clone()),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.reader()
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> io::Result<()> {
        let vote = vote.clone();
        self.request(|done| Op::Vote(vote, done)).await
    }

    async fn save_committed(&mut self, committed: Option<LogIdOf<C>>) -> io::Result<()> {
        let seq = {
            let mut mem = lock(&self.mem);
            mem.check()?;
            mem.committed = committed.clone();
            mem.committed_seq += 1;
            mem.committed_seq
        };
        self.send(Op::Committed(committed, seq))
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogIdOf<C>>> {
        Ok(lock(&self.mem).committed.clone())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> io::Result<()>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<C::Entry> = entries.into_iter().collect();
        let mut records = Vec::with_capacity(entries.len());
        for entry in &entries {
            let bytes = serde_json::to_vec(entry).map_err(io::Error::other)?;
            if bytes.len() > MAX_RECORD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "log entry {} is {} bytes as JSON, over the {MAX_RECORD}-byte limit",
                        entry.index(),
                        bytes.len()
                    ),
                ));
            }
            records.push((entry.index(), bytes));
        }
        {
            let mut mem = lock(&self.mem);
            mem.check()?;
            let mut expect = match mem.entries.keys().next_back() {
                Some(last) => Some(last + 1),
                None => mem.last_purged.as_ref().map(|p| p.index() + 1),
            };
            for (index, _) in &records {
                if let Some(want) = expect
                    && *index != want
                {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("append of log index {index} where {want} must come next"),
                    ));
                }
                expect = Some(index + 1);
            }
            mem.entries
                .extend(entries.into_iter().map(|e| (e.index(), e)));
        }
        self.send(Op::Append(records, callback))
    }

    async fn truncate_after(&mut self, after: Option<LogIdOf<C>>) -> io::Result<()> {
        let index = after.as_ref().map(|l| l.index());
        {
            let mut mem = lock(&self.mem);
            mem.check()?;
            if let Some(p) = &mem.last_purged
                && index.is_none_or(|i| i < p.index())
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("cannot truncate the log after {after:?}: it is purged up to {p}"),
                ));
            }
            match index {
                Some(i) => drop(mem.entries.split_off(&(i + 1))),
                None => mem.entries.clear(),
            }
        }
        self.request(|done| Op::Truncate(index, done)).await
    }

    async fn purge(&mut self, upto: LogIdOf<C>) -> io::Result<()> {
        self.request(|done| Op::Purge(upto, done)).await
    }
}
