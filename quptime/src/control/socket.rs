//! The socket file's life on disk: a private parent directory, detection of
//! a live or stale socket at the path, mode 0600, and removal only while the
//! file at the path is still the one we bound.
//!
//! The filesystem is the control socket's only lock: whoever can write the
//! socket's directory can replace the socket and talk to every `qu` that
//! follows the path. So the directory must belong to us (or root) and be
//! writable by nobody else; we refuse anything looser rather than "fix" a
//! directory someone else may control.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixStream;
use tracing::{debug, info};

use crate::error::{Error, ErrorKind, Result};
use crate::paths::{Env, SystemEnv};

/// Make sure the directory of `socket` exists and is private: create it with
/// mode 0700 when missing, refuse it when another user could write it.
pub(crate) fn prepare_dir(socket: &Path) -> Result<()> {
    let dir = match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io_at("create the control socket directory", dir, e))?;
            // The umask may have taken bits away; state the mode exactly.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io_at("set the mode of", dir, e))?;
            return Ok(());
        }
        Err(e) => return Err(Error::io_at("inspect the control socket directory", dir, e)),
    };
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "cannot create the control socket {}: {} is not a directory",
            socket.display(),
            dir.display()
        )));
    }
    let me = SystemEnv.euid();
    let owner = meta.uid();
    let mode = meta.mode() & 0o7777;
    let foreign_owner = owner != me && owner != 0;
    let shared = mode & 0o022 != 0;
    if foreign_owner || shared {
        let why = if foreign_owner {
            "another user owns it"
        } else {
            "other users can write to it"
        };
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "refusing to put the control socket in {dir}: it is owned by {owner} with mode \
                 {mode:04o} and this process runs as {me_label}; {why}, so they could replace \
                 the socket. Remove {dir} and let `qu serve` create it (mode 0700), or make it \
                 yours and private (`chown {me} {dir} && chmod 700 {dir}`), or set \
                 QUPTIME_SOCKET to a socket in a directory only you can write",
                dir = dir.display(),
                owner = user_label(owner),
                me_label = user_label(me),
            ),
        ));
    }
    Ok(())
}

/// Deal with whatever is at `path` before binding: nothing is fine; a socket
/// that answers belongs to a running daemon (refused); a socket that refuses
/// connections is stale (removed); anything else is not ours to delete.
pub(crate) async fn clear_existing(path: &Path, connect_timeout: Duration) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io_at("inspect the control socket", path, e)),
    };
    if !meta.file_type().is_socket() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; refusing to replace it: remove it, \
                 or set QUPTIME_SOCKET to another path",
                path.display()
            ),
        ));
    }
    let running = || {
        Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "another qu serve is already running (its control socket {} answers): \
                 stop it first",
                path.display()
            ),
        )
    };
    match tokio::time::timeout(connect_timeout, UnixStream::connect(path)).await {
        // A full backlog still means something is bound and listening.
        Ok(Ok(_)) | Err(_) => Err(running()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Err(running()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            info!(path = %path.display(), "removing stale control socket");
            match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io_at("remove the stale control socket", path, e)),
            }
        }
        Ok(Err(e)) => Err(Error::io_at("probe the existing control socket", path, e)),
    }
}

/// The socket file we bound, remembered by inode so that we never delete a
/// socket that replaced ours (a second daemon started after we stopped
/// answering, an operator's manual fix).
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    /// Restrict the freshly bound socket at `path` to its owner and remember
    /// its inode.
    pub(crate) fn adopt(path: &Path) -> Result<SocketFile> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io_at("set the mode of the control socket", path, e))?;
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| Error::io_at("inspect the control socket", path, e))?;
        Ok(SocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Remove the socket file if it is still the one we bound.
    pub(crate) fn remove_if_ours(&self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.dev() == self.dev && meta.ino() == self.ino => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    debug!(path = %self.path.display(), error = %e, "cannot remove control socket");
                }
            }
            Ok(_) => debug!(
                path = %self.path.display(),
                "control socket was replaced by another; leaving it"
            ),
            Err(_) => {}
        }
    }
}

/// `name (uid N)`, or `uid N` when the password database has no name.
pub(crate) fn user_label(uid: u32) -> String {
    match user_name(uid) {
        Some(name) => format!("{name} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

/// The login name of `uid` from the password database, if it has one.
pub(crate) use crate::paths::passwd_name as user_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_a_name() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(user_label(0), "root (uid 0)");
        assert_eq!(user_label(4_000_000_000), "uid 4000000000");
    }

    #[test]
    fn a_file_in_the_way_is_not_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("quptime.sock");
        std::fs::write(&path, b"not a socket").expect("write");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let err = rt
            .block_on(clear_existing(&path, Duration::from_secs(1)))
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("not a socket"), "{err}");
        assert!(path.exists());
    }
}
