//! Absurd flags (durations that overflow, values out of range) and the
//! metrics listener's connection budget.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{Cluster, FAST, free_port, text};
use crate::{picture, refused, still_fine};

#[test]
fn absurd_flags_get_errors_that_state_the_bounds() {
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut args = FAST.to_vec();
    args.extend(["--metrics-addr", &metrics]);
    let c = Cluster::start(1, &args);
    c.wait_founded();
    let n1 = &c.nodes[0];
    n1.qu_ok(&[
        "check",
        "add",
        "tcp",
        "db",
        "127.0.0.1:9",
        "--interval",
        "1h",
    ]);
    let mut cases = 0;
    let mut case = |args: &[&str], want: &str| {
        let before = picture(&c);
        refused(n1, args, want);
        still_fine(&c, &before, &args.join(" "));
        cases += 1;
    };
    let add = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["check", "add", "tcp", "t", "127.0.0.1:9"];
        v.extend_from_slice(extra);
        v
    };
    // Once a truncating cast turned this into 384 ms.
    case(&add(&["--remind", "18446744073709552s"]), "from 1s to 720h");
    // Once an overflowing `+=` panicked the CLI and a daemon handler.
    case(
        &add(&["--interval", "18446744073709549568s18446744073709549568s"]),
        "from 1s to 24h",
    );
    case(&add(&["--interval", "25h"]), "from 1s to 24h");
    case(&add(&["--timeout", "0s"]), "from 100ms to 5m");
    case(
        &add(&["--timeout", "99999999999999999999h"]),
        "from 100ms to 5m",
    );
    case(&add(&["--remind", "1e9999s"]), "not a duration");
    case(
        &add(&["--interval", &*"1s".repeat(100).leak()]),
        "at most 64",
    );
    case(
        &["check", "edit", "db", "--remind", "721h"],
        "from 1s to 720h",
    );
    case(
        &["leader", "transfer", "--hold", "18446744073709552s"],
        "from 1s to 720h",
    );
    case(
        &["enroll", "create", "--ttl", "18446744073709552s"],
        "too long a duration",
    );

    // A second daemon with absurd Raft timings refuses to start, cleanly.
    let out = n1.qu(&["serve", "--heartbeat", "18446744073709552s"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("from 10ms to 10s") && !err.contains("panicked"),
        "{err}"
    );
    cases += 1;
    let out = n1.qu(&["serve", "--heartbeat", "1s", "--election-timeout", "9999h"]);
    let err = text(&out.stderr);
    assert!(
        out.status.code() == Some(1) && err.contains("from 20ms to 1m"),
        "{err}"
    );
    cases += 1;

    // The metrics listener: 100 idle connections from one address do not
    // lock a scraper (from the same address) out.
    let held: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect(&metrics).ok())
        .collect();
    assert!(held.len() >= 90, "connect to the metrics port");
    let mut scrape = TcpStream::connect(&metrics).expect("scraper connects");
    scrape
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    scrape
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    let _ = scrape.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    drop(held);
    cases += 1;

    eprintln!("flags and metrics: {cases} cases");
    assert_eq!(cases, 13);
}
