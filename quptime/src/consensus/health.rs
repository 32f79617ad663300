//! Whether this node's storage can take writes, and what it holds: the
//! fatal condition `qu serve` exits on, what `/healthz` answers, the
//! free-space guard in front of every write, and the storage gauges.
//!
//! A full disk must not kill Raft: an append that hits `ENOSPC` fails the
//! log store for good (memory and disk may then differ), which would leave
//! the node fatal until a restart. So every write this node starts (a
//! proposal as leader, a membership change, a snapshot) and every append a
//! follower accepts is refused first, with a clear error, while the free
//! space on the Raft directory's filesystem is below [`DISK_RESERVE`];
//! the reserve is far above the largest entry (`MAX_PROPOSAL`), so the
//! refusal comes before the disk is full, and writes work again as soon as
//! space is back, without a restart. A write that fails anyway (another
//! process filled the disk to the last byte, a vanished directory, an I/O
//! error) is fatal: [`Consensus::failure`] reports it and the daemon exits
//! so the service manager restarts it from durable storage.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openraft::async_runtime::WatchReceiver as _;
use openraft::errors::Fatal;

use super::Consensus;
use crate::error::{Error, ErrorKind, Result};

/// Free space (bytes) below which this node refuses writes: 32 MiB, room
/// for the largest entry many times over, a snapshot of a typical state
/// and the small files beside the log.
pub const DISK_RESERVE: u64 = 32 * 1024 * 1024;

/// How often [`Consensus::failed`] looks for a fatal condition.
const POLL: Duration = Duration::from_millis(250);

/// Space on the filesystem a directory lives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes an unprivileged writer may still use.
    pub free: u64,
    /// Size of the filesystem in bytes.
    pub size: u64,
}

/// Space on the filesystem holding `dir` (`statvfs`).
// The field types of `statvfs` differ between platforms.
#[allow(clippy::unnecessary_cast)]
pub fn disk_space(dir: &Path) -> io::Result<DiskSpace> {
    let c = CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: statvfs fills the zeroed struct it is given; `c` outlives the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = st.f_frsize as u64;
    Ok(DiskSpace {
        free: (st.f_bavail as u64).saturating_mul(frsize),
        size: (st.f_blocks as u64).saturating_mul(frsize),
    })
}

/// The mount point of the filesystem holding `dir`: the topmost ancestor
/// on the same device (for error messages; `dir` itself if unknown).
pub fn mount_point(dir: &Path) -> PathBuf {
    let Ok(mut at) = dir.canonicalize() else {
        return dir.to_path_buf();
    };
    let Ok(dev) = at.metadata().map(|m| m.dev()) else {
        return at;
    };
    while let Some(parent) = at.parent() {
        match parent.metadata() {
            Ok(m) if m.dev() == dev => at = parent.to_path_buf(),
            _ => break,
        }
    }
    at
}

/// The refusal of a write when `space` is below `reserve` (pure).
pub fn room_error(space: &DiskSpace, reserve: u64, fs: &Path, dir: &Path) -> Option<Error> {
    (space.free < reserve).then(|| {
        Error::new(
            ErrorKind::Io,
            format!(
                "disk full: {} bytes free on {} under {}, need {}; free space and retry \
                 (nothing was written; the node takes writes again once there is room)",
                space.free,
                fs.display(),
                dir.display(),
                reserve
            ),
        )
    })
}

/// The fatal condition in openraft's running state, if any (a requested
/// stop is not one).
pub fn fatal_text<C: openraft::RaftTypeConfig>(
    state: &std::result::Result<(), Fatal<C>>,
) -> Option<String> {
    match state {
        Ok(()) | Err(Fatal::Stopped) => None,
        Err(e) => Some(format!("raft stopped: {e}")),
    }
}

/// What the node's storage holds, sampled for the metrics.
#[derive(Debug, Clone, Default)]
pub struct StorageFigures {
    /// Free and total bytes on the Raft directory's filesystem.
    pub disk: Option<DiskSpace>,
    /// Bytes of `raft/log/log.dat`.
    pub log_bytes: u64,
    /// Entries in the Raft log (after the purge point).
    pub log_entries: u64,
}

impl Consensus {
    /// Why this node can no longer commit or apply, once Raft stopped on a
    /// fatal error or the log store refuses writes; `None` while healthy
    /// (and after a requested shutdown).
    pub fn failure(&self) -> Option<String> {
        let log = match self.log.read() {
            Ok(l) => l.failure(),
            Err(p) => p.into_inner().failure(),
        };
        let m = self.raft().metrics().borrow_watched().clone();
        fatal_text(&m.running_state).or(log)
    }

    /// Resolves with [`Consensus::failure`] once there is one (polled: the
    /// running Raft can be replaced, and the log store's state is no watch).
    pub async fn failed(&self) -> String {
        loop {
            if let Some(why) = self.failure() {
                return why;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// `Ok` when the Raft directory's filesystem has at least the reserve
    /// free; the "disk full" refusal otherwise. When the space cannot be
    /// measured (the directory vanished) the write is let through: it then
    /// fails for real and says why.
    pub fn room(&self) -> Result<()> {
        let dir = &self.reopen.dir;
        match disk_space(dir) {
            Ok(space) => match room_error(&space, self.timing.disk_reserve, &mount_point(dir), dir)
            {
                Some(e) => Err(e),
                None => Ok(()),
            },
            Err(e) => {
                tracing::debug!("cannot measure the free space under {}: {e}", dir.display());
                Ok(())
            }
        }
    }

    /// `/healthz`: `Ok` while this node can commit and apply.
    pub fn health(&self) -> std::result::Result<(), String> {
        if let Some(why) = self.failure() {
            return Err(why);
        }
        self.room().map_err(|e| e.to_string())
    }

    /// The storage gauges, sampled now.
    pub fn storage(&self) -> StorageFigures {
        let dir = &self.reopen.dir;
        let entries = match self.log.read() {
            Ok(l) => l.len(),
            Err(p) => p.into_inner().len(),
        };
        StorageFigures {
            disk: disk_space(dir).ok(),
            log_bytes: std::fs::metadata(dir.join("log").join("log.dat")).map_or(0, |m| m.len()),
            log_entries: entries as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_reserve_is_refused_with_what_to_do() {
        let space = DiskSpace {
            free: 4096,
            size: 1 << 30,
        };
        let e = room_error(
            &space,
            1 << 20,
            Path::new("/mnt/small"),
            Path::new("/mnt/small/q/raft"),
        )
        .expect("refused");
        assert_eq!(e.kind(), ErrorKind::Io);
        let text = e.to_string();
        assert!(text.starts_with("disk full: 4096 bytes free on /mnt/small under /mnt/small/q/raft, need 1048576; free space and retry"), "{text}");
        let roomy = DiskSpace {
            free: 1 << 20,
            size: 1 << 30,
        };
        assert!(room_error(&roomy, 1 << 20, Path::new("/"), Path::new("/x")).is_none());
    }

    #[test]
    fn a_requested_stop_is_not_a_failure() {
        type C = crate::consensus::TypeConfig;
        assert_eq!(fatal_text::<C>(&Ok(())), None);
        assert_eq!(fatal_text::<C>(&Err(Fatal::Stopped)), None);
        let why = fatal_text::<C>(&Err(Fatal::Panicked)).expect("fatal");
        assert!(why.contains("panicked"), "{why}");
    }

    #[test]
    fn the_space_and_mount_point_of_a_real_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let space = disk_space(dir.path()).expect("statvfs");
        assert!(space.size > 0 && space.free <= space.size, "{space:?}");
        let mount = mount_point(dir.path());
        assert!(
            dir.path()
                .canonicalize()
                .expect("canonical")
                .starts_with(&mount)
        );
        assert!(disk_space(&dir.path().join("missing")).is_err());
    }
}
