//! Node-to-node transport: mutual TLS 1.3 over TCP, pinned by key
//! fingerprint, carrying typed request/response messages in length-prefixed
//! frames.
//!
//! Why it looks like this:
//! - **Identity comes from TLS, never from the message.** The server learns
//!   the caller's key in the handshake and looks it up in the trust store for
//!   every request; handlers receive that [`Peer`]. A trusted node therefore
//!   cannot speak for another (the original trusted ids in message bodies).
//! - **Untrusted callers reach only open methods** (identification, join,
//!   enrollment) and get a clear `peer not trusted` error for anything else.
//! - **Everything is bounded** ([`Limits`]): frame size (checked before
//!   allocating), connections (members' and, separately, everyone
//!   else's, in all and per address), handshake/first-request/read/idle/
//!   call timeouts, requests in flight per connection; refusals are
//!   logged at most once per address and interval.
//! - **Many calls share a connection** and complete independently.

pub(crate) mod budget;
mod client;
mod frame;
mod message;
pub(crate) mod mux;
pub(crate) mod refusals;
mod router;
mod server;
pub(crate) mod tls;

use std::time::Duration;

pub use client::{Connection, Dialer};
pub use frame::{HEADER_LEN, read_frame, write_frame};
pub(crate) use message::{Body, Envelope, WireError};
pub use message::{Hello, NodeInfo, PROTOCOL_VERSION, Ping, Pong, Rpc};
pub use router::{Peer, Router};
pub use server::Server;

/// Bounds on the transport. The defaults suit nodes in different networks.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest frame accepted or sent (default 4 MiB).
    pub max_frame: usize,
    /// Time allowed for the TLS handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// Time allowed to receive the rest of a frame once it started (default 10 s).
    pub read_timeout: Duration,
    /// Time a server keeps a connection with no traffic (default 5 min).
    pub idle_timeout: Duration,
    /// Time allowed for a TCP connect (default 5 s).
    pub connect_timeout: Duration,
    /// Default time a call waits for its answer (default 10 s).
    pub call_timeout: Duration,
    /// Concurrent connections of members (trusted keys) a server
    /// accepts (default 256).
    pub max_connections: usize,
    /// Concurrent connections not known to be members' (before the
    /// handshake, or of an untrusted key) a server holds; the oldest is
    /// closed to make room for a new one (default 64).
    pub max_unpinned: usize,
    /// Of those, from one source address (default 8).
    pub max_unpinned_per_addr: usize,
    /// Time an unpinned connection has for its handshake and its first
    /// request (default 5 s).
    pub unpinned_deadline: Duration,
    /// One log line per source address per this interval for refused or
    /// undecodable traffic (default 30 s).
    pub refusal_log_interval: Duration,
    /// Requests in flight per connection (default 64).
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_frame: 4 << 20,
            handshake_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_unpinned: 64,
            max_unpinned_per_addr: 8,
            unpinned_deadline: Duration::from_secs(5),
            refusal_log_interval: Duration::from_secs(30),
            max_in_flight: 64,
        }
    }
}
