//! Durable, atomic files: the fix for the original `qu`'s unsynced writes.
//!
//! The original wrote `cluster.yaml` and friends without fsync, so a crash
//! or power cut could leave a zero-length file, and it changed its memory
//! before the write had succeeded. Everything this crate persists goes
//! through [`write_atomic`]: a fresh temp file in the same directory (created
//! with its final mode, so a secret is never world-readable, not even
//! briefly), written in full, fsynced, renamed over the target, and the
//! directory fsynced. A reader therefore sees the old file or the new one,
//! never a torn or empty one, and once `write_atomic` returns the new file
//! survives a crash. Callers change their in-memory state only after it
//! returns `Ok`.
//!
//! Temp files are named `<file>.tmp-<pid>.<seq>`. A process killed mid-write
//! leaves one behind; [`cleanup_temp_files`] removes those whose writer is
//! gone, and every successful [`write_atomic`] runs it for its own target,
//! so leftovers of a crash disappear with the next write of that file (and
//! so do the `<file>.tmp-<random>` leftovers of the original Go `qu`).
//!
//! The typed files ([`NodeConfig`], [`TrustFile`]) carry a `schema` number so
//! that a downgraded binary refuses a file it does not understand instead of
//! misreading it; see [`check_schema`].

pub mod expand;
pub mod node_file;
pub mod trust_file;

pub use node_file::NodeConfig;
pub use trust_file::{TrustEntry, TrustFile};

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};

/// The newest file schema this build reads and writes. Files without a
/// `schema` field (all files written by the original Go `qu`) are schema 1.
pub const SCHEMA_VERSION: u32 = 1;

/// The schema of a file that has no `schema` field.
pub(crate) fn legacy_schema() -> u32 {
    1
}

/// Between a target's file name and a temp file's unique suffix.
const TEMP_MARKER: &str = ".tmp-";

/// Names of the temp files this process is writing right now (never cleaned
/// up). Names are unique: they hold our pid and a sequence number.
static IN_FLIGHT: Mutex<Option<HashSet<OsString>>> = Mutex::new(None);
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn in_flight<T>(f: impl FnOnce(&mut HashSet<OsString>) -> T) -> T {
    let mut guard = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashSet::new))
}

/// Replace `path` with `bytes`, atomically and durably, with permission bits
/// exactly `mode` (whatever the umask). On error the previous file is left
/// untouched and the temp file is removed; the one exception is a failed
/// fsync of the directory after the rename, where the new content is in
/// place but may not yet be durable. The parent directory must exist (see
/// [`ensure_dir`]). When the target exists and this process may do so (it
/// is root), the new file keeps the old file's owner and group, so an
/// operator's `sudo qu …` does not lock the daemon's user out of its files.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let (dir, name) = split_target(path)?;
    let (tmp, tmp_name, file) = create_temp(dir, name, path, mode)?;
    let result = fill_temp(file, path, bytes, mode)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| Error::io_at("replace", path, e)));
    if let Err(err) = result {
        let _ = fs::remove_file(&tmp);
        in_flight(|set| set.remove(&tmp_name));
        return Err(err);
    }
    in_flight(|set| set.remove(&tmp_name));
    sync_dir(dir)?;
    if let Err(err) = cleanup_temp_files(path) {
        tracing::debug!("cleaning up stale temp files of {}: {err}", path.display());
    }
    Ok(())
}

fn split_target(path: &Path) -> Result<(&Path, &OsStr)> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} does not name a file", path.display())))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

fn create_temp(
    dir: &Path,
    name: &OsStr,
    target: &Path,
    mode: u32,
) -> Result<(PathBuf, OsString, File)> {
    loop {
        let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = OsString::from(name);
        tmp_name.push(format!("{TEMP_MARKER}{}.{seq}", std::process::id()));
        let tmp = dir.join(&tmp_name);
        in_flight(|set| set.insert(tmp_name.clone()));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o7777)
            .open(&tmp);
        match opened {
            Ok(file) => return Ok((tmp, tmp_name, file)),
            // A leftover of an earlier process that had our pid: next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                in_flight(|set| set.remove(&tmp_name));
            }
            Err(e) => {
                in_flight(|set| set.remove(&tmp_name));
                return Err(Error::io_at("create a temporary file for", target, e));
            }
        }
    }
}

fn fill_temp(mut file: File, target: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |e| Error::io_at("write", target, e);
    file.write_all(bytes).map_err(io)?;
    if let Ok(old) = fs::metadata(target) {
        // Only root may give a file away; for anyone else this is a no-op
        // or fails harmlessly, and the new file is theirs as before.
        let new = file.metadata().map_err(io)?;
        if (old.uid(), old.gid()) != (new.uid(), new.gid()) {
            let _ = std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()));
        }
    }
    // The mode given at creation was filtered by the umask: set it exactly.
    file.set_permissions(Permissions::from_mode(mode & 0o7777))
        .map_err(io)?;
    file.sync_all()
        .map_err(|e| Error::io_at("fsync", target, e))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let synced = File::open(dir).and_then(|d| d.sync_all());
    match synced {
        // Some filesystems cannot fsync a directory; the rename is all we get.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        other => other.map_err(|e| Error::io_at("fsync directory", dir, e)),
    }
}

/// Remove temp files of `target` (`<file>.tmp-*` beside it) that no live
/// writer owns: ours that are not in flight, those of processes that no
/// longer exist, and the original Go `qu`'s. Returns how many were removed.
/// A writer in another PID namespace sharing the directory looks dead: do
/// not share one data directory between containers.
pub fn cleanup_temp_files(target: &Path) -> Result<usize> {
    let (dir, name) = split_target(target)?;
    let mut prefix = name.as_bytes().to_vec();
    prefix.extend_from_slice(TEMP_MARKER.as_bytes());
    let entries = fs::read_dir(dir).map_err(|e| Error::io_at("list", dir, e))?;
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(suffix) = file_name.as_bytes().strip_prefix(prefix.as_slice()) else {
            continue;
        };
        if writer_alive(&file_name, suffix) {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io_at("remove stale temporary file", &path, e)),
        }
    }
    Ok(removed)
}

/// Whether the process that named a temp file `…<suffix>` may still be
/// writing it. Suffixes not of our `<pid>.<seq>` form are the Go `qu`'s.
fn writer_alive(file_name: &OsStr, suffix: &[u8]) -> bool {
    let pid = std::str::from_utf8(suffix)
        .ok()
        .and_then(|s| s.split_once('.'))
        .filter(|(_, seq)| seq.parse::<u64>().is_ok())
        .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
        .filter(|pid| *pid > 0);
    let Some(pid) = pid else { return false };
    if pid as u32 == std::process::id() {
        return in_flight(|set| set.contains(file_name));
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Create `path` and any missing parents (new directories get `mode`), then
/// set the leaf's permission bits to exactly `mode`.
pub fn ensure_dir(path: &Path, mode: u32) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode & 0o7777)
        .create(path)
        .map_err(|e| Error::io_at("create directory", path, e))?;
    fs::set_permissions(path, Permissions::from_mode(mode & 0o7777))
        .map_err(|e| Error::io_at("set the mode of", path, e))
}

/// The text of `path`, or `None` when it does not exist.
pub fn read_file(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{} is not UTF-8 text ({e}): restore it from a backup",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io_at("read", path, e)),
    }
}

/// Resolve a file's `schema` field: absent means 1 (the Go `qu` wrote
/// none); newer than [`SCHEMA_VERSION`] is [`ErrorKind::Incompatible`].
pub fn check_schema(path: &Path, schema: Option<u32>) -> Result<u32> {
    match schema {
        None => Ok(legacy_schema()),
        Some(0) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "{} has schema 0, which no qu ever wrote: set `schema: {SCHEMA_VERSION}` \
                 or remove the line",
                path.display()
            ),
        )),
        Some(n) if n > SCHEMA_VERSION => Err(Error::new(
            ErrorKind::Incompatible,
            format!(
                "{} has schema {n}, but this qu understands schema {SCHEMA_VERSION} at most: \
                 upgrade qu on this host, or restore a backup taken before the upgrade \
                 (see docs/operations.md, \"Downgrades\")",
                path.display()
            ),
        )),
        Some(n) => Ok(n),
    }
}

/// Parse `text`, the content of `path`, as a schema-versioned YAML document.
/// The schema is checked before the fields, so a newer file with fields this
/// build does not know is reported as newer, not as misspelt. Syntax errors,
/// unknown fields and wrong types are [`ErrorKind::Config`] errors naming
/// the file, line and column.
pub fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    #[derive(serde::Deserialize)]
    struct SchemaOnly {
        #[serde(default)]
        schema: Option<u32>,
    }
    if text.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "{} is empty (an older qu may have been interrupted while writing it): \
                 restore it from a backup, or remove it and recreate it",
                path.display()
            ),
        ));
    }
    expand::check(text, &path.display().to_string(), expand::FILE_EXPANSION)?;
    let probe: SchemaOnly = serde_saphyr::from_str(text).map_err(|e| yaml_error(path, &e))?;
    check_schema(path, probe.schema)?;
    serde_saphyr::from_str(text).map_err(|e| yaml_error(path, &e))
}

fn yaml_error(path: &Path, err: &serde_saphyr::Error) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "cannot load {}: {}: fix the file, or restore it from a backup",
            path.display(),
            err.without_snippet()
        ),
    )
}

/// Read and parse `path`; `None` when it does not exist. See [`parse_yaml`].
pub fn load_yaml<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    read_file(path)?
        .map(|text| parse_yaml(path, &text))
        .transpose()
}

/// Serialize `value` as YAML and [`write_atomic`] it to `path`.
pub fn save_yaml<T: Serialize>(path: &Path, value: &T, mode: u32) -> Result<()> {
    let text = serde_saphyr::to_string(value)
        .map_err(|e| Error::internal(format!("cannot serialize {}: {e}", path.display())))?;
    write_atomic(path, text.as_bytes(), mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_replaces_and_sets_the_exact_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        write_atomic(&path, b"one", 0o600).unwrap();
        assert_eq!(
            (fs::read(&path).unwrap(), mode(&path)),
            (b"one".to_vec(), 0o600)
        );
        write_atomic(&path, b"two", 0o644).unwrap();
        assert_eq!(
            (fs::read(&path).unwrap(), mode(&path)),
            (b"two".to_vec(), 0o644)
        );
        assert_eq!(read_file(&path).unwrap().as_deref(), Some("two"));
        assert_eq!(read_file(&dir.path().join("absent")).unwrap(), None);
        assert_eq!(names(dir.path()), ["f.yaml"]);
    }

    #[test]
    fn a_parent_that_is_a_file_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.yaml");
        write_atomic(&file, b"keep", 0o600).unwrap();
        let err = write_atomic(&file.join("x"), b"new", 0o600).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert!(err.to_string().contains("node.yaml/x"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), b"keep");
        assert_eq!(names(dir.path()), ["node.yaml"]);
    }

    #[test]
    fn a_failed_rename_removes_the_temp_file() {
        // The target is a non-empty directory: everything but the rename
        // succeeds, so this exercises the last cleanup path.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cluster.yaml");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        let err = write_atomic(&target, b"new", 0o600).unwrap_err();
        assert!(err.to_string().contains("replace"), "{err}");
        assert_eq!(names(dir.path()), ["cluster.yaml"]);
        assert_eq!(names(&target), ["inside"]);
    }

    #[test]
    fn ensure_dir_sets_the_leaf_mode_exactly() {
        let root = tempfile::tempdir().unwrap();
        let leaf = root.path().join("a/b/keys");
        ensure_dir(&leaf, 0o700).unwrap();
        assert_eq!(mode(&leaf), 0o700);
        fs::set_permissions(&leaf, Permissions::from_mode(0o755)).unwrap();
        ensure_dir(&leaf, 0o750).unwrap();
        assert_eq!(mode(&leaf), 0o750);
        fs::write(root.path().join("file"), b"").unwrap();
        assert!(ensure_dir(&root.path().join("file"), 0o700).is_err());
    }

    #[test]
    fn new_files_keep_the_old_owner_when_root_writes_them() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // only root can give files away; nothing to check
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.yaml");
        fs::write(&path, b"old").unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        write_atomic(&path, b"new", 0o600).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    }

    #[test]
    fn schema_rules() {
        let p = Path::new("/d/x.yaml");
        assert_eq!(check_schema(p, None).unwrap(), 1);
        assert_eq!(
            check_schema(p, Some(SCHEMA_VERSION)).unwrap(),
            SCHEMA_VERSION
        );
        assert_eq!(
            check_schema(p, Some(0)).unwrap_err().kind(),
            ErrorKind::Config
        );
        let err = check_schema(p, Some(SCHEMA_VERSION + 1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        assert!(
            err.to_string().starts_with("/d/x.yaml has schema 2, but"),
            "{err}"
        );
        let err = parse_yaml::<NodeConfig>(p, "schema: two\nnode_id: a\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
