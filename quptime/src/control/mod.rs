//! The local control socket: how `qu` (and any local tool) talks to the
//! running daemon.
//!
//! Why it looks like this:
//! - **A unix socket guarded by the filesystem, not TLS.** The socket is
//!   mode 0600 in a directory only its owner (or root) can write; a bind
//!   refuses a directory another user could write, because that user could
//!   swap the socket. The server also checks every caller's uid with
//!   `SO_PEERCRED` (only the daemon's own uid and root get in), which closes
//!   the instant between `bind` and `chmod`. Handlers receive the
//!   [`Caller`] (uid, gid, pid) for logging and audit.
//! - **The client checks the daemon too**, before it sends anything: the
//!   socket's directory must belong to root, the caller or the service user
//!   ([`SERVICE_USER_VAR`], else the data dir's owner) and be writable by no
//!   one else, and `SO_PEERCRED` must show the listening process runs as
//!   one of them, so a socket planted by another user (a pre-created
//!   `/tmp/quptime-$USER`) never receives a password.
//! - **The node transport's wire format without TLS.** Frames are the
//!   transport's length-prefixed frames ([`crate::transport::read_frame`])
//!   and every frame is one versioned JSON envelope of the same shape:
//!   `{"v":1,"id":N,"t":"request","method":..,"params":..}` and
//!   `{"v":1,"id":N,"t":"response","result":..}` or `"error":{"kind","message"}`.
//!   Methods are types implementing [`crate::transport::Rpc`]. Errors cross
//!   the socket as [`crate::ErrorKind`] name + text and come back as the
//!   same [`crate::Error`].
//! - **Clear answers when something is off.** No daemon: the error names the
//!   socket tried and says to start `qu serve` or set `QUPTIME_SOCKET`. A
//!   second daemon on the same socket is refused while the first answers; a
//!   stale socket file left by a crash is replaced. A newer `qu` talking to
//!   an older daemon gets "upgrade it", not a parse error.
//! - **Bounded** ([`ControlLimits`]): connections, frame size, idle and read
//!   timeouts, requests in flight per connection. A misbehaving client loses
//!   its own connection and nothing else. Requests on one connection may be
//!   pipelined; each answer carries its request's id.
//!
//! ```no_run
//! # async fn demo() -> quptime::Result<()> {
//! use quptime::control::{ControlClient, ControlRouter, ControlServer};
//! use quptime::transport::Rpc;
//!
//! enum Uptime {}
//! impl Rpc for Uptime {
//!     const METHOD: &'static str = "uptime";
//!     type Request = ();
//!     type Response = u64;
//! }
//!
//! let path = quptime::paths::socket_path();
//! let router = ControlRouter::new().route::<Uptime, _, _>(|_caller, ()| async { Ok(42) });
//! let server = ControlServer::bind(&path, router).await?;
//! let client = ControlClient::connect(&path).await?;
//! assert_eq!(client.call::<Uptime>(&()).await?, 42);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod blocking;
mod client;
mod router;
mod server;
mod socket;
mod verify;
pub(crate) mod wire;

pub use verify::SERVICE_USER_VAR;

use std::time::Duration;

pub use blocking::BlockingControlClient;
pub use client::ControlClient;
pub use router::{Caller, ControlRouter};
pub use server::ControlServer;

/// The control protocol version this build speaks. A request with a higher
/// `v` is answered with an [`crate::ErrorKind::Incompatible`] error.
pub const CONTROL_VERSION: u16 = 1;

/// Bounds on the control socket. The defaults suit one CLI and a few local
/// tools.
#[derive(Debug, Clone)]
pub struct ControlLimits {
    /// Largest frame accepted or sent (default 4 MiB).
    pub max_frame: usize,
    /// Time allowed to receive the rest of a frame once it started (default 10 s).
    pub read_timeout: Duration,
    /// Time the server keeps a connection with no traffic (default 60 s).
    pub idle_timeout: Duration,
    /// Concurrent connections the server accepts; excess ones are closed at
    /// once (default 64).
    pub max_connections: usize,
    /// Requests in flight per connection; further requests wait (default 64).
    pub max_in_flight: usize,
    /// Time a client waits to be accepted (default 5 s).
    pub connect_timeout: Duration,
    /// Default time a call waits for its answer (default 30 s: some control
    /// calls commit through the cluster or send a test alert).
    pub call_timeout: Duration,
    /// Time requests already running may take to answer once the server is
    /// shutting down (default 2 s).
    pub shutdown_grace: Duration,
}

impl Default for ControlLimits {
    fn default() -> ControlLimits {
        ControlLimits {
            max_frame: 4 << 20,
            read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 64,
            max_in_flight: 64,
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(2),
        }
    }
}
