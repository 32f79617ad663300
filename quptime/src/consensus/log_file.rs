//! The disk side of the Raft log store: the log file's record format, crash
//! recovery, the writes, truncations and compactions the store's writer
//! thread performs, and the small JSON and lock files beside the log.
//!
//! It is apart from [`super`] (the async, openraft-facing side) so that the
//! byte-level rules, what a valid record is and what counts as a torn tail
//! or as corruption, sit in one place that can be reviewed on its own.
//!
//! # Format
//!
//! ```text
//! file    = MAGIC (8 bytes: "QULOG" 0 0 1, the last byte is the version) record*
//! record  = word: u32 LE      payload length (bits 0..31) | FIRST_IN_BATCH (bit 31)
//!           crc:  u32 LE      CRC-32 (IEEE) of the 4 bytes of `word`, then the payload
//!           payload           serde_json of one openraft entry, 1 ..= MAX_RECORD bytes
//! ```
//!
//! Records hold consecutive log indexes. Every append batch is written with
//! one positional write and made durable with one `fdatasync` before the
//! next write starts, so after a crash only the LAST batch can be partly on
//! disk; its first record carries `FIRST_IN_BATCH`. Compaction copies only
//! durable records, so it sets the flag on each of them.
//!
//! # Recovery
//!
//! A record that fails its checks (short header, length out of range,
//! payload past the end of the file, checksum mismatch) starts a damaged
//! region. If no valid record follows, or only valid records of the same
//! (last, unacknowledged) batch follow, the region is a torn tail: it is
//! logged and cut off. If a valid record that begins a LATER batch follows,
//! data that was once acknowledged is damaged: opening fails and names the
//! file and offset. A record whose checksum is right but whose payload does
//! not decode was written whole by something else (a newer version), so it
//! is never cut off either.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use openraft::RaftTypeConfig;
use openraft::entry::RaftEntry;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};
use crate::store::{read_file, write_atomic};

/// File name of the log inside the store's directory.
pub(super) const LOG_FILE: &str = "log.dat";
/// Temporary name of a compacted log before it replaces [`LOG_FILE`].
pub(super) const COMPACT_FILE: &str = "log.dat.compact";
/// First bytes of every log file; the last byte is the format version.
pub(super) const MAGIC: &[u8; 8] = b"QULOG\0\0\x01";
const HEADER_LEN: u64 = MAGIC.len() as u64;
const RECORD_HEADER: usize = 8;
/// Largest payload of one record (one serialized entry).
pub(super) const MAX_RECORD: usize = 8 << 20;
const FIRST_IN_BATCH: u32 = 1 << 31;
/// Compaction rewrites the file only when the dead prefix left by purges is
/// at least this large and at least as large as the live part, so every
/// byte copied is paid for by a byte reclaimed.
pub(super) const COMPACT_MIN_BYTES: u64 = 64 << 10;

/// Append the record for `payload` to `out`.
pub(super) fn encode_record(payload: &[u8], first_in_batch: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(&record_header(payload, first_in_batch));
    out.extend_from_slice(payload);
}

fn record_header(payload: &[u8], first_in_batch: bool) -> [u8; RECORD_HEADER] {
    debug_assert!(!payload.is_empty() && payload.len() <= MAX_RECORD);
    let flag = if first_in_batch { FIRST_IN_BATCH } else { 0 };
    let word = (payload.len() as u32 | flag).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&word);
    crc.update(payload);
    let mut header = [0; RECORD_HEADER];
    header[..4].copy_from_slice(&word);
    header[4..].copy_from_slice(&crc.finalize().to_le_bytes());
    header
}

/// A record that passed its checks: where it starts, and its payload.
struct Record<'a> {
    first_in_batch: bool,
    payload: &'a [u8],
    end: usize,
}

/// Check the record at `at`; `Err` says why it is not valid.
fn parse_record(bytes: &[u8], at: usize) -> std::result::Result<Record<'_>, String> {
    let rest = &bytes[at..];
    if rest.len() < RECORD_HEADER {
        return Err(format!("only {} bytes of a record header", rest.len()));
    }
    let word = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
    let len = (word & !FIRST_IN_BATCH) as usize;
    if len == 0 || len > MAX_RECORD {
        return Err(format!("record length {len} is out of range"));
    }
    if rest.len() - RECORD_HEADER < len {
        return Err(format!(
            "a record of {len} bytes runs past the end of the file ({} bytes left)",
            rest.len() - RECORD_HEADER
        ));
    }
    let payload = &rest[RECORD_HEADER..RECORD_HEADER + len];
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&rest[0..4]);
    hasher.update(payload);
    if hasher.finalize() != crc {
        return Err("checksum mismatch".to_string());
    }
    Ok(Record {
        first_in_batch: word & FIRST_IN_BATCH != 0,
        payload,
        end: at + RECORD_HEADER + len,
    })
}

/// The first offset at or after `from` where a valid record starts.
fn next_valid(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(RECORD_HEADER)).find(|&at| {
        // Cheap filter first: every payload is a JSON object.
        bytes.get(at + RECORD_HEADER) == Some(&b'{') && parse_record(bytes, at).is_ok()
    })
}

/// What a scan of the record area found.
#[derive(Debug)]
struct Scan<'a> {
    /// Offset and payload of every valid record before any damage.
    records: Vec<(u64, &'a [u8])>,
    /// Where the torn tail starts and why, when there is one.
    torn: Option<(u64, String)>,
}

/// Scan `bytes` (a whole log file) and classify any damage; see the
/// module docs. `path` is only for messages.
fn scan<'a>(path: &Path, bytes: &'a [u8]) -> Result<Scan<'a>> {
    let mut records = Vec::new();
    let mut at = HEADER_LEN as usize;
    while at < bytes.len() {
        match parse_record(bytes, at) {
            Ok(rec) => {
                records.push((at as u64, rec.payload));
                at = rec.end;
            }
            Err(reason) => {
                check_only_torn(path, bytes, at, &reason)?;
                let torn = Some((at as u64, reason));
                return Ok(Scan { records, torn });
            }
        }
    }
    Ok(Scan {
        records,
        torn: None,
    })
}

/// A damaged record at `bad` is a torn tail only if every valid record after
/// it continues the same batch.
fn check_only_torn(path: &Path, bytes: &[u8], bad: usize, reason: &str) -> Result<()> {
    let mut from = bad + 1;
    while let Some(at) = next_valid(bytes, from) {
        let rec = parse_record(bytes, at).expect("next_valid checked it");
        if rec.first_in_batch {
            return Err(corrupt(format!(
                "Raft log {} is damaged at byte offset {bad} ({reason}), but a later batch \
                 of valid records follows at offset {at}: this is not a torn write but \
                 corruption of acknowledged entries",
                path.display()
            )));
        }
        from = rec.end;
    }
    Ok(())
}

/// The open log file, owned by the writer thread. Its records hold the
/// consecutive indexes `first_index ..`, record `i` starting at
/// `offsets[i - first_index]`; records at or below the purge point may
/// still be in the file until [`LogFile::reclaim`] drops them.
#[derive(Debug)]
pub(super) struct LogFile {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    first_index: u64,
    offsets: Vec<u64>,
    len: u64,
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

fn open_rw_create(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    options.mode(0o600).open(path)
}

/// fsync a directory so that a rename or file creation in it is durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        other => other,
    }
}

impl LogFile {
    /// Open (or create) the log in `dir`, cut off a torn tail, and finish
    /// an interrupted reclaim of entries at or below `purged`. Returns the
    /// file and the live entries (above `purged`), which must be contiguous.
    pub(super) fn open<C: RaftTypeConfig>(
        dir: &Path,
        purged: Option<u64>,
    ) -> Result<(LogFile, BTreeMap<u64, C::Entry>)> {
        let path = dir.join(LOG_FILE);
        // A compaction cut short; the next one would overwrite it anyway.
        let _ = fs::remove_file(dir.join(COMPACT_FILE));
        if !path.exists() {
            write_atomic(&path, MAGIC, 0o600)?;
        }
        let bytes = fs::read(&path).map_err(|e| Error::io_at("read", &path, e))?;
        check_magic(&path, &bytes)?;
        let scan = scan(&path, &bytes)?;
        let mut entries = BTreeMap::new();
        let mut offsets = Vec::with_capacity(scan.records.len());
        let mut first_index = 0;
        for (offset, payload) in &scan.records {
            let entry: C::Entry = serde_json::from_slice(payload).map_err(|e| {
                let msg = format!(
                    "Raft log {}: the record at byte offset {offset} is intact but cannot be \
                     decoded ({e}); was it written by a newer version of quptime?",
                    path.display()
                );
                Error::new(ErrorKind::Incompatible, msg)
            })?;
            let index = entry.index();
            match entries.keys().next_back() {
                None => first_index = index,
                Some(prev) if index != prev + 1 => {
                    return Err(corrupt(format!(
                        "Raft log {}: the record at byte offset {offset} holds index {index} \
                         after index {prev}: the log has a hole or is out of order",
                        path.display()
                    )));
                }
                Some(_) => {}
            }
            entries.insert(index, entry);
            offsets.push(*offset);
        }
        let file = open_rw(&path).map_err(|e| Error::io_at("open", &path, e))?;
        let len = bytes.len() as u64;
        let dir = dir.to_path_buf();
        let mut log = LogFile {
            dir,
            path,
            file,
            first_index,
            offsets,
            len,
        };
        let io = |action, log: &LogFile, e| Error::io_at(action, &log.path, e);
        if let Some((offset, reason)) = scan.torn {
            tracing::warn!(
                "Raft log {}: cutting off a torn tail of {} bytes at offset {offset} ({reason}); \
                 it was never acknowledged",
                log.path.display(),
                log.len - offset
            );
            log.set_len(offset).map_err(|e| io("truncate", &log, e))?;
        }
        let Some(purged) = purged else {
            return Ok((log, entries));
        };
        // A crash may have come between the purge mark and the reclaim.
        log.reclaim(purged)
            .map_err(|e| io("reclaim purged entries of", &log, e))?;
        let live = entries.split_off(&(purged + 1));
        if let Some(first) = live.keys().next()
            && *first != purged + 1
        {
            return Err(corrupt(format!(
                "Raft log {}: entries up to index {purged} are purged, but the log resumes \
                 at index {first}: entries are missing",
                log.path.display()
            )));
        }
        Ok((log, live))
    }

    fn last_index(&self) -> Option<u64> {
        (!self.offsets.is_empty()).then(|| self.first_index + self.offsets.len() as u64 - 1)
    }

    /// Write one batch of `(index, payload)` records at the end of the file.
    /// Not durable until [`LogFile::sync`].
    pub(super) fn append(&mut self, records: &[(u64, Vec<u8>)]) -> io::Result<()> {
        let Some((first, _)) = records.first() else {
            return Ok(());
        };
        if let Some(last) = self.last_index()
            && *first != last + 1
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("append of index {first} after index {last} would leave a gap"),
            ));
        }
        let mut buf = Vec::with_capacity(records.iter().map(|r| r.1.len() + 8).sum());
        let mut starts = Vec::with_capacity(records.len());
        for (i, (_, payload)) in records.iter().enumerate() {
            starts.push(self.len + buf.len() as u64);
            encode_record(payload, i == 0, &mut buf);
        }
        self.file.write_all_at(&buf, self.len)?;
        if self.offsets.is_empty() {
            self.first_index = *first;
        }
        self.offsets.extend(starts);
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Make every write so far durable.
    pub(super) fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()?;
        self.len = len;
        Ok(())
    }

    /// How many records have an index at or below `index`.
    fn count_upto(&self, index: Option<u64>) -> usize {
        match index {
            Some(i) if i >= self.first_index => {
                ((i - self.first_index + 1).min(self.offsets.len() as u64)) as usize
            }
            _ => 0,
        }
    }

    /// Durably delete every record with an index above `after` (all of
    /// them for `None`).
    pub(super) fn truncate_after(&mut self, after: Option<u64>) -> io::Result<()> {
        let keep = self.count_upto(after);
        if keep < self.offsets.len() {
            self.set_len(self.offsets[keep])?;
            self.offsets.truncate(keep);
        }
        Ok(())
    }

    /// Reclaim the space of records at or below `purged`, which the caller
    /// has durably marked as purged: cut the file back to its header when
    /// nothing else is left, or rewrite it without them when they are most
    /// of it (see [`COMPACT_MIN_BYTES`]).
    pub(super) fn reclaim(&mut self, purged: u64) -> io::Result<()> {
        let dead = self.count_upto(Some(purged));
        if dead == 0 {
            return Ok(());
        }
        if dead == self.offsets.len() {
            self.set_len(HEADER_LEN)?;
            self.offsets.clear();
            return Ok(());
        }
        let live_start = self.offsets[dead];
        let dead_bytes = live_start - HEADER_LEN;
        if dead_bytes < COMPACT_MIN_BYTES || dead_bytes < self.len - live_start {
            return Ok(());
        }
        let dead_at = live_start as usize - MAGIC.len();
        let mut data = MAGIC.to_vec();
        data.resize((HEADER_LEN + self.len - live_start) as usize, 0);
        self.file
            .read_exact_at(&mut data[MAGIC.len()..], live_start)?;
        // Every record copied is durable, so each now follows a sync point;
        // verifying them on the way keeps damage from being laundered.
        let mut at = MAGIC.len();
        while at < data.len() {
            let rec = parse_record(&data, at).map_err(|reason| {
                let msg = format!("record at offset {} is damaged ({reason})", at + dead_at);
                io::Error::new(io::ErrorKind::InvalidData, msg)
            })?;
            let (end, header) = (rec.end, record_header(rec.payload, true));
            data[at..at + RECORD_HEADER].copy_from_slice(&header);
            at = end;
        }
        let tmp = self.dir.join(COMPACT_FILE);
        let out = open_rw_create(&tmp)?;
        let written = out
            .set_len(0)
            .and_then(|()| out.write_all_at(&data, 0))
            .and_then(|()| out.sync_all())
            .and_then(|()| fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        sync_dir(&self.dir)?;
        self.file = out;
        self.first_index += dead as u64;
        self.offsets.drain(..dead);
        for offset in &mut self.offsets {
            *offset = *offset - live_start + HEADER_LEN;
        }
        self.len = self.len - live_start + HEADER_LEN;
        tracing::debug!(
            "compacted Raft log {}: dropped {dead_bytes} bytes of purged entries",
            self.path.display()
        );
        Ok(())
    }
}

fn check_magic(path: &Path, bytes: &[u8]) -> Result<()> {
    let version = MAGIC.len() - 1;
    if bytes.starts_with(MAGIC) {
        Ok(())
    } else if bytes.len() > version && bytes[..version] == MAGIC[..version] {
        Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "Raft log {} has format version {}, but this build reads version {}: \
                 upgrade quptime on this host",
                path.display(),
                bytes[version],
                MAGIC[version]
            ),
        ))
    } else {
        Err(corrupt(format!(
            "{} does not start with the Raft log header",
            path.display()
        )))
    }
}

/// A damaged store: `detail`, plus what the operator can do about it.
fn corrupt(detail: String) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "{detail}. The log is not opened: restore this node's Raft directory from a \
             backup, or remove it and re-join the node so that it copies the log from the \
             cluster"
        ),
    )
}

/// Read the JSON of an `Option<T>` from `path`; `None` when it is absent.
pub(super) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let Some(text) = read_file(path)? else {
        return Ok(None);
    };
    serde_json::from_str::<Option<T>>(&text)
        .map_err(|e| corrupt(format!("cannot read {} ({e})", path.display())))
}

/// Replace `path` with the JSON of `value`, atomically and durably.
pub(super) fn write_json<T: Serialize>(path: &Path, value: &Option<T>) -> io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    write_atomic(path, &bytes, 0o600).map_err(io::Error::other)
}

/// Take an exclusive `flock` on `dir/lock`, held as long as the returned
/// file is open, so that two stores never write one log.
pub(super) fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join("lock");
    let file = open_rw_create(&path).map_err(|e| Error::io_at("open", &path, e))?;
    // SAFETY: flock on a descriptor that `file` owns for the whole call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(file);
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
        return Err(Error::io_at("lock", &path, err));
    }
    Err(Error::new(
        ErrorKind::Io,
        format!(
            "the Raft log in {} is already open (another process or store holds {}): stop \
             the other quptime node that uses this data directory",
            dir.display(),
            path.display()
        ),
    ))
}
