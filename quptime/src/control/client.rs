//! The caller's side of the control socket: connect to the local daemon and
//! make typed calls, many at once over one connection.
//!
//! The errors matter more than usual here: they are what an operator sees
//! when `qu status` cannot reach the daemon, so each one names the socket
//! path tried and says what to do (start `qu serve`, set `QUPTIME_SOCKET`,
//! run as the daemon's user).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixStream;

use crate::control::socket::user_label;
use crate::control::{ControlLimits, verify, wire};
use crate::error::{Error, ErrorKind, Result};
use crate::paths::{Env, SystemEnv};
use crate::transport::Rpc;
use crate::transport::mux::{Inbound, Mux, MuxOptions};

/// A connection to the local daemon's control socket. Cheap to clone;
/// clones share the connection, which closes when the last one is dropped.
/// Calls from several tasks run concurrently and complete independently.
#[derive(Debug, Clone)]
pub struct ControlClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    mux: Mux,
    limits: ControlLimits,
}

impl ControlClient {
    /// Connect to the daemon listening on `path` (usually
    /// [`crate::paths::socket_path`]), with the default limits.
    pub async fn connect(path: &Path) -> Result<ControlClient> {
        ControlClient::connect_with_limits(path, ControlLimits::default()).await
    }

    /// Connect to the daemon listening on `path`. When nothing listens there
    /// the error ([`ErrorKind::Transport`]) names `path` and says to start
    /// `qu serve` or set `QUPTIME_SOCKET`; when the socket belongs to
    /// another user it ([`ErrorKind::PermissionDenied`]) says whose it is.
    ///
    /// Before anything is sent, the daemon is checked (see
    /// `control/verify.rs`): the socket's directory must belong to root,
    /// this user or the service user (`QUPTIME_SERVICE_USER`, else the data
    /// dir's owner) and be writable by no one else, and the process serving
    /// the socket must run as one of them; otherwise the error
    /// ([`ErrorKind::PermissionDenied`]) says whose it is and what to do.
    pub async fn connect_with_limits(path: &Path, limits: ControlLimits) -> Result<ControlClient> {
        let accepted = verify::Accepted::of_process()?;
        verify::check_dir(path, &accepted)?;
        let stream = tokio::time::timeout(limits.connect_timeout, UnixStream::connect(path))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the qu daemon at {} did not accept the connection within {} \
                         (is it overloaded or stuck?)",
                        path.display(),
                        humantime::format_duration(limits.connect_timeout)
                    ),
                )
            })?
            .map_err(|e| connect_error(path, e))?;
        let cred = stream.peer_cred().map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!(
                    "cannot tell who serves the control socket {} ({e}); nothing was sent",
                    path.display()
                ),
            )
            .with_source(e)
        })?;
        verify::judge_peer(path, cred.uid(), cred.pid(), &accepted)?;
        let (reader, writer) = stream.into_split();
        let daemon = format!("the qu daemon at {}", path.display());
        let opts = MuxOptions {
            label: daemon.clone(),
            eof_hint: " (did it stop?)",
            broken_kind: None,
            max_frame: limits.max_frame,
            read_timeout: limits.read_timeout,
            queue: limits.max_in_flight,
        };
        let mux = Mux::start(reader, writer, opts, move |bytes| {
            match wire::decode_response(bytes) {
                // About the whole connection: the daemon hangs up next.
                Ok((0, outcome)) => Inbound::Fatal(outcome.err().unwrap_or_else(|| {
                    Error::new(ErrorKind::Protocol, format!("{daemon} sent an empty reply"))
                })),
                Ok((id, outcome)) => Inbound::Answer(id, outcome),
                Err(e) => Inbound::Fatal(Error::new(e.kind(), format!("{daemon}: {e}"))),
            }
        });
        Ok(ControlClient {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                mux,
                limits,
            }),
        })
    }

    /// Call method `R` and wait for its result, at most the call timeout
    /// (30 s by default).
    pub async fn call<R: Rpc>(&self, request: &R::Request) -> Result<R::Response> {
        self.call_with_timeout::<R>(request, self.inner.limits.call_timeout)
            .await
    }

    /// Like [`ControlClient::call`] with an explicit timeout.
    pub async fn call_with_timeout<R: Rpc>(
        &self,
        request: &R::Request,
        timeout: Duration,
    ) -> Result<R::Response> {
        let params = serde_json::to_value(request)
            .map_err(|e| Error::internal(format!("encode {} request: {e}", R::METHOD)))?;
        let encode = |id| wire::request(id, R::METHOD, params);
        let value = self.inner.mux.call(R::METHOD, encode, timeout).await?;
        serde_json::from_value(value).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!(
                    "the qu daemon sent a bad {} answer: {e} (is it the same version as this qu?)",
                    R::METHOD
                ),
            )
        })
    }

    /// The socket this client is connected to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether the connection is known to be closed; later calls fail fast.
    pub fn is_closed(&self) -> bool {
        self.inner.mux.is_closed()
    }
}

/// Word a failed connect for the operator: which socket, what it means,
/// what to do.
fn connect_error(path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind as Io;
    let at = format!("cannot reach the qu daemon at {}", path.display());
    let hint = "(is `qu serve` running? set QUPTIME_SOCKET if it uses another socket)";
    let (kind, message) = match e.kind() {
        Io::NotFound => (ErrorKind::Transport, format!("{at}: no such file {hint}")),
        Io::ConnectionRefused => (
            ErrorKind::Transport,
            format!("{at}: connection refused, nothing listens on it {hint}"),
        ),
        Io::PermissionDenied => (ErrorKind::PermissionDenied, permission_hint(path, &at)),
        _ => (ErrorKind::Transport, format!("{at}: {e} {hint}")),
    };
    Error::new(kind, message).with_source(e)
}

/// Whose socket (or directory) stopped us, and to run as that user.
fn permission_hint(path: &Path, at: &str) -> String {
    let me = user_label(SystemEnv.euid());
    let mut probe = Some(path);
    while let Some(p) = probe {
        if let Ok(meta) = std::fs::metadata(p) {
            let what = if p == path {
                "the socket"
            } else {
                "its directory"
            };
            let owner = user_label(meta.uid());
            let sudo = crate::control::socket::user_name(meta.uid())
                .unwrap_or_else(|| format!("'#{}'", meta.uid()));
            return format!(
                "{at}: permission denied: {what} {} belongs to {owner} (mode {:04o}) and this \
                 qu runs as {me}; run qu as that user (for example `sudo -u {sudo} qu ...`) \
                 or as root",
                p.display(),
                meta.mode() & 0o7777
            );
        }
        probe = p.parent();
    }
    format!("{at}: permission denied; this qu runs as {me}: run qu as the daemon's user")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_owner() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("quptime.sock");
        std::fs::write(&path, b"").expect("write");
        let err = connect_error(
            &path,
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("the socket"), "{text}");
        assert!(text.contains(&user_label(SystemEnv.euid())), "{text}");
        assert!(text.contains("sudo -u"), "{text}");
    }
}
