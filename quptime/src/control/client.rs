//! The caller's side of the control socket: connect to the local daemon and
//! make typed calls, many at once over one connection.
//!
//! The errors matter more than usual here: they are what an operator sees
//! when `qu status` cannot reach the daemon, so each one names the socket
//! path tried and says what to do (start `qu serve`, set `QUPTIME_SOCKET`,
//! run as the daemon's user).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use crate::control::socket::user_label;
use crate::control::{ControlLimits, wire};
use crate::error::{Error, ErrorKind, Result};
use crate::paths::{Env, SystemEnv};
use crate::transport::{Rpc, read_frame, write_frame};

type Waiter = oneshot::Sender<Result<serde_json::Value>>;

/// Calls waiting for their answer, and why the connection ended once it has.
#[derive(Default)]
struct State {
    pending: HashMap<u64, Waiter>,
    closed: Option<Error>,
}

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
    tx: mpsc::Sender<Vec<u8>>,
    state: Arc<Mutex<State>>,
    next_id: AtomicU64,
    limits: ControlLimits,
    reader_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("pending", &self.pending.len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.reader_task.abort();
    }
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
    pub async fn connect_with_limits(path: &Path, limits: ControlLimits) -> Result<ControlClient> {
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
        let (mut reader, mut writer) = stream.into_split();
        let state: Arc<Mutex<State>> = Arc::default();
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(limits.max_in_flight);
        let max_frame = limits.max_frame;
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write_frame(&mut writer, &frame, max_frame).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let reader_task = {
            let state = state.clone();
            let limits = limits.clone();
            let path = path.to_path_buf();
            tokio::spawn(async move {
                let daemon = format!("the qu daemon at {}", path.display());
                let reason = loop {
                    // Waiting for answers is bounded by each call's timeout.
                    let frame = read_frame(
                        &mut reader,
                        limits.max_frame,
                        Duration::from_secs(365 * 24 * 3600),
                        limits.read_timeout,
                    )
                    .await;
                    let bytes = match frame {
                        Ok(Some(b)) => b,
                        Ok(None) => {
                            break Error::new(
                                ErrorKind::Transport,
                                format!("{daemon} closed the connection (did it stop?)"),
                            );
                        }
                        Err(e) => {
                            break Error::new(
                                e.kind(),
                                format!("connection to {daemon} broke: {e}"),
                            );
                        }
                    };
                    let (id, outcome) = match wire::decode_response(&bytes) {
                        Ok(r) => r,
                        Err(e) => break Error::new(e.kind(), format!("{daemon}: {e}")),
                    };
                    if id == 0 {
                        // About the whole connection: the daemon hangs up next.
                        break outcome.err().unwrap_or_else(|| {
                            Error::new(ErrorKind::Protocol, format!("{daemon} sent an empty reply"))
                        });
                    }
                    let waiter = state.lock().ok().and_then(|mut s| s.pending.remove(&id));
                    if let Some(w) = waiter {
                        let _ = w.send(outcome);
                    }
                };
                let waiters: Vec<_> = match state.lock() {
                    Ok(mut s) => {
                        s.closed = Some(Error::new(reason.kind(), reason.message()));
                        s.pending.drain().map(|(_, w)| w).collect()
                    }
                    Err(_) => Vec::new(),
                };
                for w in waiters {
                    let _ = w.send(Err(Error::new(reason.kind(), reason.message())));
                }
            })
        };
        Ok(ControlClient {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                tx,
                state,
                next_id: AtomicU64::new(1),
                limits,
                reader_task,
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
        let inner = &self.inner;
        let params = serde_json::to_value(request)
            .map_err(|e| Error::internal(format!("encode {} request: {e}", R::METHOD)))?;
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = wire::request(id, R::METHOD, params)?;
        if frame.len() > inner.limits.max_frame {
            return Err(Error::invalid(format!(
                "{} request of {} bytes exceeds the frame cap of {} bytes",
                R::METHOD,
                frame.len(),
                inner.limits.max_frame
            )));
        }
        let (done_tx, done_rx) = oneshot::channel();
        {
            let mut state = inner
                .state
                .lock()
                .map_err(|_| Error::internal("control client state poisoned"))?;
            if let Some(reason) = &state.closed {
                return Err(self.closed_error(reason));
            }
            state.pending.insert(id, done_tx);
        }
        let forget = || {
            if let Ok(mut s) = inner.state.lock() {
                s.pending.remove(&id);
            }
        };
        let exchange = async {
            inner.tx.send(frame).await.map_err(|_| {
                Error::new(
                    ErrorKind::Transport,
                    format!(
                        "connection to the qu daemon at {} is closed",
                        inner.path.display()
                    ),
                )
            })?;
            done_rx.await.map_err(|_| {
                Error::new(
                    ErrorKind::Transport,
                    format!(
                        "the qu daemon at {} closed the connection during {}",
                        inner.path.display(),
                        R::METHOD
                    ),
                )
            })?
        };
        let value = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => {
                forget();
                return Err(e);
            }
            Err(_) => {
                forget();
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{}: the qu daemon at {} did not answer within {}",
                        R::METHOD,
                        inner.path.display(),
                        humantime::format_duration(timeout)
                    ),
                ));
            }
        };
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
        self.inner.tx.is_closed()
            || self
                .inner
                .state
                .lock()
                .map(|s| s.closed.is_some())
                .unwrap_or(true)
    }

    fn closed_error(&self, reason: &Error) -> Error {
        Error::new(
            reason.kind(),
            format!(
                "connection to the qu daemon at {} is closed: {}",
                self.inner.path.display(),
                reason.message()
            ),
        )
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
