//! `qu serve --http` as a real process: the status page and `/api/status`
//! answer for a founded node, `/api/status` carries what `qu status --json`
//! prints, a taken page port stops `qu serve` with a message that says what
//! to do, and the page is off unless asked for.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{FAST, Node, free_port, http_get, text};

/// The (id, name, state) of each check in a status document, sorted.
fn checks(status: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = status["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().expect("a string").to_string();
            (s("id"), s("name"), s("state"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn serve_http_shows_the_page_and_the_status_of_qu_status_json() {
    let root = tempfile::tempdir().expect("tempdir");
    let http = format!("127.0.0.1:{}", free_port());
    let mut args = FAST.to_vec();
    args.extend(["--http", &http, "--results-max-size", "2MiB"]);
    let mut node = Node::new(root.path(), "n1", &args);
    node.init(None);
    node.start_ready();
    // Port 9 (discard) refuses on loopback: the check goes down.
    node.add_tcp_check("closed-port", "1s");
    let deadline = Instant::now() + Duration::from_secs(20);
    let cli = loop {
        let s = node.status().expect("qu status --json");
        if checks(&s).first().is_some_and(|c| c.2 == "down") {
            break s;
        }
        assert!(Instant::now() < deadline, "never down: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (code, body) = http_get(&http, "/api/status");
    assert_eq!(code, 200, "{body}");
    let served: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(served["node_id"], cli["node_id"]);
    assert_eq!(served["peers"].as_array().map(Vec::len), Some(1));
    assert_eq!(checks(&served), checks(&cli));
    let (code, page) = http_get(&http, "/");
    assert_eq!(code, 200);
    assert!(
        page.contains(r#"data-state="down"><td class="name">closed-port</td>"#),
        "{page}"
    );
    let (code, badge) = http_get(&http, "/badge/closed-port/status.svg");
    assert_eq!(code, 200);
    assert!(badge.contains(">down</text>"), "{badge}");
    assert!(page.contains(r#"<table id="uptime">"#), "{page}");
    let (code, badge) = http_get(&http, "/badge/closed-port/uptime/7d.svg");
    assert_eq!(code, 200, "{badge}");
    assert!(badge.contains(">closed-port 7d</text>"), "{badge}");
    // The node keeps its raw results in its data directory.
    let store = node.data().join("results.redb");
    assert!(store.metadata().is_ok_and(|m| m.len() > 0), "{store:?}");

    // A second daemon cannot take the same page port.
    let other = Node::new(root.path(), "n2", FAST);
    other.init(None);
    let out = other.qu(&["serve", "--http", &http]);
    assert!(!out.status.success(), "a second qu serve started");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot serve the status page on {http}"))
            && err.contains("pick another --http address"),
        "{err}"
    );
    node.terminate();
    assert!(
        std::net::TcpStream::connect(&http).is_err(),
        "page closed on exit"
    );
}

#[test]
fn serve_refuses_a_malformed_page_address() {
    let root = tempfile::tempdir().expect("tempdir");
    let node = Node::new(root.path(), "n1", &[]);
    node.init(None);
    let out = node.qu(&["serve", "--http", "localhost"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("invalid value 'localhost' for '--http <IP:PORT>'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_refuses_a_results_budget_that_is_not_a_size() {
    let root = tempfile::tempdir().expect("tempdir");
    let node = Node::new(root.path(), "n1", &[]);
    node.init(None);
    let out = node.qu(&["serve", "--results-max-size", "lots"]);
    assert!(!out.status.success(), "qu serve started");
    let err = text(&out.stderr);
    assert!(
        err.contains(r#"--results-max-size: "lots" is not a size"#) && err.contains("e.g. 64MiB"),
        "{err}"
    );
}
