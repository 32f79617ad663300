//! # quptime — a quorum-based uptime monitor, as a library
//!
//! Several cooperating nodes probe the same targets; a check is DOWN only when
//! a majority of the cluster's members see it fail, so one node's broken
//! uplink never pages anyone. Nodes talk mutual TLS, each pinned by the
//! SHA-256 fingerprint of its public key: no CA, no shared long-lived secret
//! on the wire.
//!
//! This crate is the whole monitor. The `qu` daemon, the C ABI and the Python
//! module are thin layers over it. The library never installs a tracing
//! subscriber, a signal handler or a global runtime: that is the embedding
//! program's business.
//!
//! The front door is [`Cluster`]: `Cluster::start(NodeOptions)` runs a node
//! in-process. The building blocks underneath:
//! - [`identity`]: a node's id, key pair, self-signed certificate and
//!   fingerprint, stored in the original `qu`'s PEM layout.
//! - [`trust`]: the local trust store and the pinning TLS verifiers.
//! - [`transport`]: the mutual-TLS request/response transport between nodes.
//! - [`store`]: durable, atomic file writes and the typed `node.yaml` and
//!   `trust.yaml` files.
//! - [`paths`]: where the data directory and the control socket live.
//! - [`init`]: creating a node's identity and `node.yaml` (`qu init`).
//! - [`metrics`]: the Prometheus/OpenMetrics series of a node and their
//!   HTTP listener (`/metrics`, `/healthz`, `/readyz`).
//! - [`blocking`]: a synchronous facade for the C ABI and the Python module.

// The public surface is curated: modules no other crate needs are
// pub(crate), and what front ends use of them is re-exported below.
// ARCHITECTURE.md ("Dependency rules") lists what quptime/tests/tidy.rs
// enforces.
pub(crate) mod addr;
pub(crate) mod aggregate;
pub mod api;
pub mod backup;
pub mod blocking;
pub mod cluster;
pub mod consensus;
pub mod control;
pub mod declare;
pub(crate) mod engine;
pub mod enroll;
pub(crate) mod error;
pub(crate) mod faults;
pub mod identity;
pub mod init;
pub(crate) mod keyring;
pub mod metrics;
pub mod notify;
pub mod paths;
pub mod probe;
pub mod results;
pub mod schedule;
pub(crate) mod secret;
pub mod state;
pub mod store;
pub mod transport;
pub mod trust;
pub mod web;

#[cfg(test)]
mod no_panic_tests;

pub use cluster::{Cluster, NodeOptions};
pub use consensus::{KEEP_BEHIND_SNAPSHOT, Timing};
pub use error::{Error, ErrorKind, Result};
pub use faults::Faults;
pub use identity::{Fingerprint, Identity, NodeId};

/// The version of this library, as in its `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
