//! The writer thread of the Raft log store: it alone touches the files,
//! and runs the queued operations strictly in submission order (see the
//! parent module for why), grouping appends into one write and one
//! `fdatasync`.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use openraft::RaftTypeConfig;
use openraft::storage::IOFlushed;
use openraft::type_config::alias::LogIdOf;

use super::log_file::{LogFile, write_json};
use super::{COMMITTED_FILE, Op, PURGED_FILE, Shared, VOTE_FILE, lock};

/// How soon a failed `committed.json` write is tried again.
const COMMITTED_RETRY: Duration = Duration::from_secs(5);
/// At most one warning about failing `committed.json` writes per this.
const COMMITTED_WARN_EVERY: Duration = Duration::from_secs(60);

/// The writer thread's state: it alone touches the files.
pub(super) struct Writer<C: RaftTypeConfig> {
    pub(super) file: LogFile,
    pub(super) dir: PathBuf,
    pub(super) mem: Shared<C>,
    pub(super) rx: mpsc::Receiver<Op<C>>,
    /// An operation taken off the queue while gathering appends.
    pub(super) pending: Option<Op<C>>,
    /// A committed id whose write failed, to try again.
    pub(super) unsaved: Option<Option<LogIdOf<C>>>,
    /// When the last warning about `committed.json` was logged, and how
    /// many failures followed it unlogged.
    pub(super) warned: Option<(Instant, u64)>,
    /// Held (flocked) while the writer runs.
    pub(super) _lock: File,
}

impl<C: RaftTypeConfig> Writer<C> {
    pub(super) fn run(mut self) {
        while let Some(op) = self.next_op() {
            match op {
                Op::Append(records, callback) => self.append(records, callback),
                Op::Truncate(after, done) => {
                    let _ = done.send(self.guarded(|w| w.file.truncate_after(after)));
                }
                Op::Purge(upto, done) => {
                    let _ = done.send(self.guarded(|w| w.purge(upto)));
                }
                Op::Vote(vote, done) => {
                    let result = self.guarded(|w| {
                        write_json(&w.dir.join(VOTE_FILE), &Some(vote.clone()))?;
                        lock(&w.mem).vote = Some(vote);
                        Ok(())
                    });
                    let _ = done.send(result);
                }
                Op::Committed(committed, seq) => {
                    if lock(&self.mem).committed_seq == seq {
                        self.save_committed(committed);
                    }
                }
            }
        }
        if let Some(committed) = self.unsaved.take() {
            self.save_committed(committed);
        }
    }

    /// The next operation; while a `committed.json` write is owed, wake up
    /// every [`COMMITTED_RETRY`] to try it again. `None` once the store is
    /// dropped.
    fn next_op(&mut self) -> Option<Op<C>> {
        if let Some(op) = self.pending.take() {
            return Some(op);
        }
        loop {
            if self.unsaved.is_none() {
                return self.rx.recv().ok();
            }
            match self.rx.recv_timeout(COMMITTED_RETRY) {
                Ok(op) => return Some(op),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(committed) = self.unsaved.take() {
                        self.save_committed(committed);
                    }
                }
            }
        }
    }

    /// Write `committed.json`. It is not essential (a restart only
    /// re-applies less), so a failure is logged (rate-limited) and the
    /// write owed for a retry; it never fails the store.
    fn save_committed(&mut self, committed: Option<LogIdOf<C>>) {
        if lock(&self.mem).check().is_err() {
            return;
        }
        let path = self.dir.join(COMMITTED_FILE);
        match write_json(&path, &committed) {
            Ok(()) => {
                self.unsaved = None;
                if let Some((_, missed)) = self.warned.take() {
                    tracing::info!(
                        "{} is written again (after {} more failed writes)",
                        path.display(),
                        missed
                    );
                }
            }
            Err(e) => {
                self.unsaved = Some(committed);
                match &mut self.warned {
                    Some((at, missed)) if at.elapsed() < COMMITTED_WARN_EVERY => *missed += 1,
                    _ => {
                        tracing::warn!(
                            "cannot write {} ({e}); it is not essential (a restart only \
                             re-applies more of the log), so the node carries on and retries \
                             every {}s",
                            path.display(),
                            COMMITTED_RETRY.as_secs()
                        );
                        self.warned = Some((Instant::now(), 0));
                    }
                }
            }
        }
    }

    /// Write this append and every append queued right behind it as one
    /// batch with one fsync (group commit), then report each.
    fn append(&mut self, mut records: Vec<(u64, Vec<u8>)>, callback: IOFlushed<C>) {
        let mut callbacks = vec![callback];
        while callbacks.len() < 1024
            && let Ok(op) = self.rx.try_recv()
        {
            match op {
                Op::Append(more, callback) => {
                    records.extend(more);
                    callbacks.push(callback);
                }
                other => {
                    self.pending = Some(other);
                    break;
                }
            }
        }
        match self.guarded(|w| w.file.append(&records).and_then(|()| w.file.sync())) {
            Ok(()) => callbacks.into_iter().for_each(|cb| cb.io_completed(Ok(()))),
            Err(e) => {
                for cb in callbacks {
                    cb.io_completed(Err(io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
    }

    /// Durably mark `upto` purged, then forget and reclaim what it covers.
    fn purge(&mut self, upto: LogIdOf<C>) -> io::Result<()> {
        let index = upto.index();
        if lock(&self.mem)
            .last_purged
            .as_ref()
            .is_some_and(|p| p.index() >= index)
        {
            return Ok(());
        }
        write_json(&self.dir.join(PURGED_FILE), &Some(upto.clone()))?;
        {
            let mut mem = lock(&self.mem);
            mem.entries = mem.entries.split_off(&(index + 1));
            mem.last_purged = Some(upto);
        }
        self.file.reclaim(index)
    }

    /// Run `f` unless an earlier write failed; a failure now poisons the
    /// store for good.
    fn guarded(&mut self, f: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        lock(&self.mem).check()?;
        f(self).inspect_err(|e| {
            let msg = format!(
                "the Raft log in {} failed ({e}); it refuses all further writes, so this \
                 node must stop",
                self.dir.display()
            );
            tracing::error!("{msg}");
            lock(&self.mem).failed = Some(msg);
        })
    }
}
