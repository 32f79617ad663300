//! The bad-input suite: real `qu serve` daemons fed what an attacker or a
//! careless operator would send. Every case checks the same four things:
//! a clear error (or a closed connection, where nobody is there to read
//! one), no daemon crashed, nothing was half-applied (the config version
//! and the check list did not move), and a write made right after still
//! commits on every node.
//!
//! - `peer.rs`: the peer port (garbage, truncated, oversized and deeply
//!   nested frames, undecodable floods, the refusal log's rate limit).
//! - `control.rs`: the control socket (the same frames, oversized calls).
//! - `config.rs`: declarations and fields (alias bombs, 5 MB files, a
//!   proposal over the cap, a 120 KB host, `/dev/zero`), and a member that
//!   catches up over 8 MB of large entries (batches cut by bytes).
//! - `flags.rs`: absurd flags (durations that overflow, out-of-range
//!   values) and the metrics listener's budget.
//! - `flood.rs`: 300 idle TCP connections and 300 unknown-key handshakes
//!   held on a member's port while another member restarts.
//! - `identity.rs`: a member forging another's id (proposer, Raft bodies),
//!   a join flood from one address, an expired token presented by a client
//!   that skips its own expiry check.

#[path = "../support/mod.rs"]
mod support;

mod config;
mod control;
mod flags;
mod flood;
mod identity;
mod peer;
mod raw;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Cluster, FAST, Node, text, wait_for};

/// The config version `node` reports.
pub fn version(node: &Node) -> u64 {
    let s = node.status().expect("status");
    s["config_version"].as_u64().expect("config_version")
}

/// `node`'s peer address as a socket address.
pub fn peer_addr(node: &Node) -> SocketAddr {
    node.addr().parse().expect("addr")
}

/// The checks every node of `c` lists, sorted (they must agree).
pub fn checks(c: &Cluster) -> Vec<String> {
    let mut first: Option<Vec<String>> = None;
    for n in &c.nodes {
        let mut names = n.check_names();
        names.sort();
        match &first {
            Some(f) => assert_eq!(&names, f, "{} disagrees", n.name),
            None => first = Some(names),
        }
    }
    first.unwrap_or_default()
}

/// A cluster-wide picture to compare before and after a bad input.
#[derive(Debug, PartialEq)]
pub struct Picture {
    version: u64,
    checks: Vec<String>,
}

/// What the cluster holds now (once every node agrees).
pub fn picture(c: &Cluster) -> Picture {
    let all: Vec<usize> = (0..c.nodes.len()).collect();
    let a = c.wait_agreement(&all, 0, Duration::from_secs(20));
    Picture {
        version: a.config_version,
        checks: checks(c),
    }
}

static WRITES: AtomicUsize = AtomicUsize::new(0);

/// After a bad input: every daemon still runs, nothing changed since
/// `before`, and a new check commits and reaches every node.
pub fn still_fine(c: &Cluster, before: &Picture, case: &str) {
    for n in &c.nodes {
        assert!(n.running(), "{case}: {} crashed{}", n.name, n.log_tail(30));
    }
    let now = picture(c);
    assert_eq!(&now, before, "{case}: the bad input changed something");
    let name = format!("after-{}", WRITES.fetch_add(1, Ordering::Relaxed));
    let out = c.nodes[0].qu(&[
        "check",
        "add",
        "tcp",
        &name,
        "127.0.0.1:9",
        "--interval",
        "1h",
    ]);
    assert!(
        out.status.success(),
        "{case}: a write right after failed: {}{}",
        text(&out.stderr),
        c.nodes[0].log_tail(30)
    );
    for n in &c.nodes {
        wait_for(
            Duration::from_secs(20),
            Duration::from_millis(100),
            &format!("{case}: {name} reaches {}", n.name),
            || n.check_names().contains(&name).then_some(()),
        );
    }
}

/// A formed cluster of `n` nodes with fast timings.
pub fn cluster(n: usize) -> Cluster {
    Cluster::formed(n, FAST)
}

/// A multi-threaded runtime for the raw-socket parts of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Assert that `cmd` failed cleanly (exit 1 with `error:` and `want` in
/// its message, not a panic) within its call limit.
pub fn refused(node: &Node, args: &[&str], want: &str) {
    let out = node.qu(args);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "qu {}: exit {:?}, stderr {err}",
        args.join(" "),
        out.status
    );
    assert!(
        !err.contains("panicked"),
        "qu {} panicked: {err}",
        args.join(" ")
    );
    assert!(
        err.contains(want),
        "qu {}: stderr should say {want:?}: {err}",
        args.join(" ")
    );
}
