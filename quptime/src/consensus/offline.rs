//! Reading and replacing a stopped node's Raft storage, for `qu backup
//! create` without a daemon and `qu recover --force-new-cluster`.
//!
//! A node that lost its majority cannot commit anything, so the only copy of
//! the cluster's configuration it can offer is what its own storage holds:
//! the last snapshot plus every entry in its log after it. [`read_state`]
//! replays those entries through the same pure `ClusterState::apply` the
//! state machine uses, including entries whose commit this node never
//! learned (as etcd's `--force-new-cluster` does: the longest log it has is
//! the best record left). Nothing here starts Raft or dials anyone.
//!
//! [`refound`] swaps in a fresh Raft directory holding an import
//! (`raft/import.json`): `Cluster::start` founds a one-voter cluster from it
//! and commits the import as one mutation. The old directory is renamed to
//! `raft.old-<timestamp>`, never deleted, and only after the new one is
//! durably written, so a crash at any point leaves either the old storage or
//! the new one in place.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use openraft::EntryPayload;
use openraft::storage::{RaftLogReader as _, RaftStateMachine as _};
use serde::{Deserialize, Serialize};

use crate::consensus::log_store::LogStore;
use crate::consensus::state_machine::StateMachine;
use crate::consensus::types::TypeConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::state::declared::Retention;
use crate::state::{AlertChannel, Check, ClusterState};
use crate::store::{ensure_dir, write_atomic};
use crate::trust::TrustStore;

/// The import a re-founded node commits at its first start.
pub const IMPORT_FILE: &str = "import.json";
/// Version of [`PendingImport`]'s file format.
pub const IMPORT_FORMAT: u32 = 1;

/// What a stopped node's storage holds.
#[derive(Debug, Clone)]
pub struct LocalState {
    /// The state after replaying the snapshot and every logged entry.
    pub state: ClusterState,
    /// Index of the last entry replayed (0: none).
    pub last_index: u64,
    /// Entries replayed after the snapshot.
    pub replayed: u64,
}

/// Checks and alert channels waiting to be imported into the cluster this
/// node founds at its next start (`raft/import.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingImport {
    /// [`IMPORT_FORMAT`].
    pub format: u32,
    /// The request id the import is proposed with: a retry after a crash is
    /// answered from the record instead of applied twice.
    pub request_id: String,
    /// Where it came from (`backup restore …` or `recover …`), for logs.
    pub origin: String,
    /// The checks.
    pub checks: Vec<Check>,
    /// The alert channels.
    pub alerts: Vec<AlertChannel>,
    /// Cluster-wide DNS resolvers (empty: the system's).
    #[serde(default)]
    pub dns_resolvers: Vec<String>,
    /// History retention, when the source had one.
    #[serde(default)]
    pub retention: Option<Retention>,
}

impl PendingImport {
    /// An import of `checks` and `alerts` with a fresh request id.
    pub fn new(origin: impl Into<String>, checks: Vec<Check>, alerts: Vec<AlertChannel>) -> Self {
        PendingImport {
            format: IMPORT_FORMAT,
            request_id: uuid::Uuid::new_v4().simple().to_string(),
            origin: origin.into(),
            checks,
            alerts,
            dns_resolvers: Vec::new(),
            retention: None,
        }
    }

    /// The same import, also setting the cluster-wide settings of `state`.
    pub fn with_settings_of(mut self, state: &ClusterState) -> Self {
        self.dns_resolvers = state.dns_resolvers.clone();
        self.retention = Some(state.retention);
        self
    }

    /// The pending import in `raft_dir`, if there is one.
    pub fn load(raft_dir: &Path) -> Result<Option<PendingImport>> {
        if !raft_dir.exists()
            && let Some(fresh) = interrupted_swap(raft_dir)
        {
            // A crash between `refound`'s two renames: starting now would
            // found an empty cluster beside the prepared import.
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} is missing but {} holds a prepared import: a restore or recovery was \
                     interrupted; rename that directory to {} (or run the command again)",
                    raft_dir.display(),
                    fresh.display(),
                    raft_dir.display()
                ),
            ));
        }
        let path = raft_dir.join(IMPORT_FILE);
        let Some(text) = crate::store::read_file(&path)? else {
            return Ok(None);
        };
        let p: PendingImport = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{}: unreadable import ({e}); run `qu backup restore` or `qu recover` again",
                    path.display()
                ),
            )
        })?;
        if p.format != IMPORT_FORMAT {
            return Err(Error::new(
                ErrorKind::Incompatible,
                format!(
                    "{}: import format {} is not understood by this quptime (format {}); \
                     run the newer quptime that wrote it",
                    path.display(),
                    p.format,
                    IMPORT_FORMAT
                ),
            ));
        }
        Ok(Some(p))
    }

    /// Remove the file once the import committed.
    pub fn done(raft_dir: &Path) -> Result<()> {
        let path = raft_dir.join(IMPORT_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(raft_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io_at("remove", &path, e)),
        }
    }
}

/// Whether `raft_dir` holds any Raft storage at all.
pub fn has_storage(raft_dir: &Path) -> bool {
    raft_dir.join("log").join("log.dat").exists() || raft_dir.join("snapshot.json").exists()
}

/// Replay the snapshot and log of the stopped node whose Raft directory is
/// `raft_dir`. Fails when a running node holds the storage.
pub async fn read_state(raft_dir: &Path) -> Result<LocalState> {
    if !has_storage(raft_dir) {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "{} holds no Raft state: this node never founded or joined a cluster \
                 (check QUPTIME_DIR)",
                raft_dir.display()
            ),
        ));
    }
    // Lock first: the state must not change under us, and a running daemon
    // must be refused before anything is read.
    let lock = lock_storage(raft_dir)?;
    let (mut sm, rx) = StateMachine::open(raft_dir, TrustStore::in_memory())?;
    let (last_applied, _) = sm
        .applied_state()
        .await
        .map_err(|e| Error::io_at("read the snapshot in", raft_dir, e))?;
    let mut state = rx.borrow().as_ref().clone();
    drop(lock);
    let log_dir = raft_dir.join("log");
    let store = tokio::task::spawn_blocking(move || LogStore::<TypeConfig>::open(&log_dir))
        .await
        .map_err(|e| Error::internal(format!("open the Raft log: {e}")))??;
    let from = last_applied.as_ref().map_or(0, |l| l.index + 1);
    let entries = store
        .reader()
        .try_get_log_entries(from..)
        .await
        .map_err(|e| Error::io_at("read the Raft log in", raft_dir, e))?;
    let _ = tokio::task::spawn_blocking(move || drop(store)).await;
    let mut last_index = last_applied.as_ref().map_or(0, |l| l.index);
    let mut replayed = 0;
    for entry in entries {
        last_index = entry.log_id.index;
        replayed += 1;
        if let EntryPayload::Normal(cmd) = &entry.payload {
            // A rejected command changes nothing, as in the state machine.
            let _ = state.apply_with(cmd, crate::notify::validate);
        }
    }
    Ok(LocalState {
        state,
        last_index,
        replayed,
    })
}

/// An exclusive hold on a stopped node's Raft storage (the lock the log
/// store takes), so no daemon starts on it while it is being replaced.
#[derive(Debug)]
pub struct StorageLock {
    _file: Option<File>,
}

/// Take the storage lock of `raft_dir`; an error says a daemon runs on it.
/// Nothing to lock (no log yet) gives a lock that holds nothing.
pub fn lock_storage(raft_dir: &Path) -> Result<StorageLock> {
    let path = raft_dir.join("log").join("lock");
    let file = match File::options().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(StorageLock { _file: None });
        }
        Err(e) => return Err(Error::io_at("open", &path, e)),
    };
    // SAFETY: flock on a descriptor `file` owns for the whole call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(StorageLock { _file: Some(file) });
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!(
            "a quptime node is running on {} (it holds {}): stop it first \
             (`systemctl stop quptime`, or Ctrl-C the `qu serve`)",
            raft_dir.display(),
            path.display()
        ),
    ))
}

/// Replace `<data_dir>/raft` by a fresh directory holding `import`, so the
/// next start founds a new one-voter cluster and commits the import. The old
/// directory is kept as `raft.old-<timestamp>` (returned), and `trust.yaml`
/// is emptied (the new cluster has no other member yet). Call with the
/// node stopped.
pub fn refound(data_dir: &Path, import: &PendingImport) -> Result<Option<PathBuf>> {
    let raft = data_dir.join("raft");
    let _lock = lock_storage(&raft)?;
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "");
    let fresh = data_dir.join(format!("raft.new-{stamp}"));
    let old = data_dir.join(format!("raft.old-{stamp}"));
    if fresh.exists() || old.exists() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} or {} already exists: wait a second and run the command again",
                fresh.display(),
                old.display()
            ),
        ));
    }
    let bytes =
        serde_json::to_vec_pretty(import).map_err(|e| Error::internal(format!("import: {e}")))?;
    // The new cluster has no other member: the old members' keys go, so a
    // member of the old cluster that comes back cannot reach this Raft. (If
    // the swap below fails, the next start trusts the old members again
    // from the old state: see `trust_sync.rs`.)
    TrustStore::load(data_dir)?.replace_all(Vec::new())?;
    ensure_dir(&fresh, 0o700)?;
    write_atomic(&fresh.join(IMPORT_FILE), &bytes, 0o600)?;
    let kept = if raft.exists() {
        std::fs::rename(&raft, &old).map_err(|e| Error::io_at("rename", &raft, e))?;
        Some(old)
    } else {
        None
    };
    std::fs::rename(&fresh, &raft).map_err(|e| Error::io_at("rename", &fresh, e))?;
    sync_dir(data_dir)?;
    Ok(kept)
}

/// A `raft.new-*` directory beside `raft_dir` holding an import, if any.
fn interrupted_swap(raft_dir: &Path) -> Option<PathBuf> {
    let parent = raft_dir.parent()?;
    std::fs::read_dir(parent)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("raft.new-"))
                && p.join(IMPORT_FILE).exists()
        })
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io_at("fsync", dir, e))
}
