//! The daemon's side of the control socket: bind safely, accept local
//! callers, run their requests concurrently, and clean up the socket file.
//!
//! Every stage is bounded ([`ControlLimits`]): excess connections get an
//! error frame and are closed, a connection idle with nothing in flight is
//! closed, a frame must arrive whole within the read timeout and under the
//! size cap, a client that stops reading its answers is dropped. A broken
//! frame costs only its own connection (after an error frame with id 0
//! saying why). On shutdown the socket file goes first, so new callers hear
//! "not running" at once; requests already running get a short grace.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::control::router::{Caller, ControlRouter};
use crate::control::socket::{self, SocketFile};
use crate::control::wire::{self, Body, Envelope};
use crate::control::{CONTROL_VERSION, ControlLimits};
use crate::error::{Error, ErrorKind, Result};
use crate::paths::{Env, SystemEnv};
use crate::transport::refusals::RefusalLog;
use crate::transport::{HEADER_LEN, read_frame, write_frame};

/// Waiting for the first byte of a frame is bounded by the idle timer in
/// [`serve_connection`], which pauses while requests are in flight.
const NO_IDLE_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);
/// One log line per refused uid per this interval.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(30);

/// A listening control socket. Dropping it without
/// [`ControlServer::shutdown`] also stops it and removes the socket file.
#[derive(Debug)]
pub struct ControlServer {
    socket: Option<SocketFile>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct Shared {
    router: ControlRouter,
    limits: ControlLimits,
    /// Our effective uid: with root, the only caller allowed in.
    euid: u32,
    /// Refused callers, logged at most once per uid and interval.
    refusals: RefusalLog<u32>,
}

impl ControlServer {
    /// Listen on the unix socket `path` with the default limits. See
    /// [`ControlServer::bind_with_limits`].
    pub async fn bind(path: &Path, router: ControlRouter) -> Result<ControlServer> {
        ControlServer::bind_with_limits(path, router, ControlLimits::default()).await
    }

    /// Listen on the unix socket `path` and answer with `router`.
    ///
    /// Creates the parent directory (mode 0700) when missing and refuses one
    /// another user could write. Refuses to start while another daemon
    /// answers on `path` ([`ErrorKind::AlreadyExists`]); replaces a stale
    /// socket file. The socket gets mode 0600.
    pub async fn bind_with_limits(
        path: &Path,
        router: ControlRouter,
        limits: ControlLimits,
    ) -> Result<ControlServer> {
        socket::prepare_dir(path)?;
        socket::clear_existing(path, limits.connect_timeout).await?;
        let listener = UnixListener::bind(path).map_err(|e| match e.kind() {
            // Someone bound it between our probe and our bind.
            std::io::ErrorKind::AddrInUse => Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "another qu serve is already running (it just bound the control socket {}): \
                     stop it first",
                    path.display()
                ),
            )
            .with_source(e),
            _ => Error::io_at("create the control socket", path, e),
        })?;
        // Until the chmod, the socket has the umask's mode; the uid check in
        // `serve_connection` keeps strangers out of that instant.
        let file = match SocketFile::adopt(path) {
            Ok(file) => file,
            Err(e) => {
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
        };
        let shared = Arc::new(Shared {
            router,
            limits,
            euid: SystemEnv.euid(),
            refusals: RefusalLog::new("control", REFUSAL_LOG_INTERVAL),
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared, stop_rx));
        debug!(path = %path.display(), "control socket listening");
        Ok(ControlServer {
            socket: Some(file),
            stop,
            task: Some(task),
        })
    }

    /// The socket's path.
    pub fn local_path(&self) -> &Path {
        self.socket
            .as_ref()
            .map(SocketFile::path)
            .unwrap_or(Path::new(""))
    }

    /// Remove the socket file (if it is still ours), stop accepting, give
    /// running requests a short grace to answer, close every connection,
    /// and wait until all of that is done.
    pub async fn shutdown(mut self) {
        if let Some(file) = self.socket.take() {
            file.remove_if_ours();
        }
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        if let Some(file) = self.socket.take() {
            file.remove_if_ours();
        }
        let _ = self.stop.send(true);
    }
}

/// Resolves once the server is stopping (or its handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn accept_loop(listener: UnixListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        shared.refusals.flush();
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            let max = shared.limits.max_connections;
            warn!(
                max,
                "control connection cap reached; refusing a new connection"
            );
            let err = Error::new(
                ErrorKind::Transport,
                format!("the qu daemon has {max} control connections open, its limit: try again"),
            );
            // Best effort into an empty socket buffer; never wait for it.
            let _ = stream.try_write(&frame_bytes(&wire::response(0, Err(err))));
            continue;
        };
        let shared = shared.clone();
        let stop = stop.clone();
        conns.spawn(async move {
            if let Err(e) = serve_connection(stream, &shared, stop).await {
                debug!(error = %e, "control connection closed");
            }
            drop(permit);
        });
    }
    // The accept loop ends only on stop: connections are draining their
    // grace period and end by themselves.
    while conns.join_next().await.is_some() {}
}

/// Header and body in one buffer, for a single non-blocking write.
fn frame_bytes(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// How a connection's read loop ended.
enum End {
    /// The client finished sending.
    Eof,
    /// The server is shutting down.
    Stop,
    /// Nothing happened for the idle timeout.
    Idle,
    /// The client broke the protocol or stopped reading.
    Broken(Error),
}

async fn serve_connection(
    stream: tokio::net::UnixStream,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let cred = stream.peer_cred()?;
    let caller = Caller {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
    };
    if caller.uid != shared.euid && caller.uid != 0 {
        shared.refusals.note(
            caller.uid,
            format_args!("control connection from another user refused ({caller})"),
        );
        let who = socket::user_label(shared.euid);
        let allowed = if shared.euid == 0 {
            "only root".to_string()
        } else {
            format!("only {who} and root")
        };
        let err = Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "the qu daemon runs as {who}: {allowed} may use its control socket; \
                 run qu as that user"
            ),
        );
        let _ = stream.try_write(&frame_bytes(&wire::response(0, Err(err))));
        return Ok(());
    }
    let limits = &shared.limits;
    let (mut reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Vec<u8>>(limits.max_in_flight);
    let writer_task = tokio::spawn(write_loop(writer, rx, limits.clone()));

    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut requests: JoinSet<()> = JoinSet::new();
    let end = 'conn: loop {
        let frame = {
            let read = read_frame(
                &mut reader,
                limits.max_frame,
                NO_IDLE_LIMIT,
                limits.read_timeout,
            );
            tokio::pin!(read);
            loop {
                let idle = tokio::time::sleep(limits.idle_timeout);
                tokio::select! {
                    f = &mut read => break f,
                    _ = stopped(&mut stop) => break 'conn End::Stop,
                    _ = tx.closed() => break 'conn End::Broken(Error::new(
                        ErrorKind::Transport, "client stopped reading its answers")),
                    // A finished request restarts the idle clock.
                    Some(_) = requests.join_next(), if !requests.is_empty() => continue,
                    _ = idle, if requests.is_empty() => break 'conn End::Idle,
                }
            }
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break End::Eof,
            Err(e) => break End::Broken(e),
        };
        let envelope: Envelope = match serde_json::from_slice(&frame) {
            Ok(e) => e,
            Err(e) => {
                break End::Broken(Error::new(
                    ErrorKind::Protocol,
                    format!("undecodable control request: {e}"),
                ));
            }
        };
        let Body::Request { method, params } = envelope.body else {
            break End::Broken(Error::new(
                ErrorKind::Protocol,
                "client sent a response frame where a request belongs",
            ));
        };
        // Back-pressure: at most max_in_flight requests run per connection.
        let permit = tokio::select! {
            p = in_flight.clone().acquire_owned() => p,
            _ = stopped(&mut stop) => break End::Stop,
        };
        let Ok(permit) = permit else {
            break End::Stop;
        };
        let (id, v) = (envelope.id, envelope.v);
        let shared = shared.clone();
        let tx = tx.clone();
        requests.spawn(async move {
            let outcome = if v > CONTROL_VERSION {
                Err(Error::new(
                    ErrorKind::Incompatible,
                    format!(
                        "this qu speaks control protocol v{v} but the daemon speaks \
                         v{CONTROL_VERSION}: upgrade the daemon, or use the qu that came with it"
                    ),
                ))
            } else {
                run(&shared.router, caller, &method, params).await
            };
            let mut reply = wire::response(id, outcome);
            if reply.len() > shared.limits.max_frame {
                let err = Error::internal(format!(
                    "the answer to {method} is {} bytes, more than the frame cap of {} bytes",
                    reply.len(),
                    shared.limits.max_frame
                ));
                reply = wire::response(id, Err(err));
            }
            let _ = tx.send(reply).await;
            drop(permit);
        });
    };

    let grace = limits.shutdown_grace;
    let result = match end {
        End::Eof => {
            // The client is done sending: let its last requests answer.
            let finished = tokio::select! {
                _ = drain(&mut requests) => true,
                _ = stopped(&mut stop) => false,
            };
            if !finished {
                let _ = tokio::time::timeout(grace, drain(&mut requests)).await;
            }
            Ok(())
        }
        End::Stop => {
            let _ = tokio::time::timeout(grace, drain(&mut requests)).await;
            Ok(())
        }
        End::Idle => Ok(()),
        End::Broken(e) => {
            // Say why before hanging up; id 0 is "this connection".
            let _ = tx.try_send(wire::response(0, Err(Error::new(e.kind(), e.message()))));
            Err(e)
        }
    };
    requests.shutdown().await;
    drop(tx);
    let _ = writer_task.await;
    result
}

/// Dispatch one request, turning a panicking handler into an error reply.
async fn run(
    router: &ControlRouter,
    caller: Caller,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    debug!(%caller, method, "control request");
    let outcome = std::panic::AssertUnwindSafe(router.dispatch(caller, method, params))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(Error::internal(format!(
                "control method {method} panicked: this is a bug in qu, please report it"
            )))
        });
    if let Err(e) = &outcome {
        debug!(%caller, method, error = %e, "control request failed");
    }
    outcome
}

async fn drain(requests: &mut JoinSet<()>) {
    while requests.join_next().await.is_some() {}
}

/// Send answers in completion order. A client that does not take an answer
/// within the read timeout is dropped, so it cannot pin the connection.
async fn write_loop(
    mut writer: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Vec<u8>>,
    limits: ControlLimits,
) {
    use tokio::io::AsyncWriteExt;
    while let Some(frame) = rx.recv().await {
        let write = write_frame(&mut writer, &frame, limits.max_frame);
        match tokio::time::timeout(limits.read_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(error = %e, "control write failed");
                break;
            }
            Err(_) => {
                debug!("control client did not read its answer in time");
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
}
