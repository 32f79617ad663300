//! `qu serve --metrics-addr` as a real process: the listener answers
//! `/healthz`, `/readyz` and `/metrics` for a founded node, and a taken
//! metrics port stops `qu serve` before it starts, with a message that
//! says what to do.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{FAST, Node, http_get, text};

#[test]
fn serve_exposes_metrics_health_and_readiness() {
    let root = tempfile::tempdir().expect("tempdir");
    let (mut node, metrics) = Node::founder_with_metrics(root.path(), "n1");

    assert_eq!(http_get(&metrics, "/healthz"), (200, "ok\n".to_string()));
    // A sole founder is its own quorum: ready once it holds master duty.
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_get(&metrics, "/readyz").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "never ready: {:?}",
            http_get(&metrics, "/readyz")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, body) = http_get(&metrics, "/metrics");
    assert_eq!(code, 200);
    for line in [
        "quptime_master{node=\"n1\"} 1",
        "quptime_raft_leader{node=\"n1\"} 1",
        "quptime_raft_voters{node=\"n1\"} 1",
        "quptime_quorum{node=\"n1\"} 1",
    ] {
        assert!(body.contains(line), "no {line:?} in:\n{body}");
    }
    assert_eq!(http_get(&metrics, "/nothing-here").0, 404);

    // A second daemon cannot take the same metrics port.
    let other = Node::new(root.path(), "n2", FAST);
    other.init(None);
    let out = other.qu(&["serve", "--metrics-addr", &metrics]);
    assert!(!out.status.success(), "a second qu serve started");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen for metrics on {metrics}"))
            && err.contains("pick another --metrics-addr"),
        "{err}"
    );
    assert_eq!(
        http_get(&metrics, "/healthz").0,
        200,
        "the first node still serves"
    );
    node.terminate();
    assert!(
        TcpStream::connect(&metrics).is_err(),
        "listener closed on exit"
    );
}

#[test]
fn serve_refuses_a_malformed_metrics_address() {
    let root = tempfile::tempdir().expect("tempdir");
    let node = Node::new(root.path(), "n1", &[]);
    node.init(None);
    let out = node.qu(&["serve", "--metrics-addr", "localhost"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("invalid value 'localhost' for '--metrics-addr <IP:PORT>'"),
        "{}",
        text(&out.stderr)
    );
}
