//! A silence over real `qu serve` processes: a three-node cluster probes
//! a real TCP target and alerts a real webhook receiver on loopback. The
//! check is silenced, its target stops listening: it goes down and shows
//! `maintenance`, and no DOWN arrives. The silence is cleared while it is
//! still down: exactly one DOWN arrives, carrying the incident key that
//! `qu status --json` shows.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{Cluster, FAST, wait_for};

/// A webhook receiver on loopback: every request body it got, in order.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let got = Arc::new(Mutex::new(Vec::new()));
    let bodies = got.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let mut reader = BufReader::new(&tcp);
            let (mut line, mut length) = (String::new(), 0usize);
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                bodies
                    .lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let mut w = &tcp;
            let _ =
                w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

fn downs(got: &Mutex<Vec<String>>) -> Vec<Value> {
    got.lock()
        .expect("lock")
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .filter(|v| v["kind"] == "down")
        .collect()
}

fn web(status: &Value) -> Value {
    status["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "web").cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn a_silenced_check_sends_no_down_until_the_silence_ends_then_one() {
    let c = Cluster::formed(3, FAST);
    let n1 = &c.nodes[0];
    let (url, got) = receiver();
    let target = TcpListener::bind("127.0.0.1:0").expect("target");
    let addr = target.local_addr().expect("addr").to_string();
    n1.qu_ok(&["alert", "add", "webhook", "hook", "--url", &url]);
    n1.qu_ok(&[
        "check",
        "add",
        "tcp",
        "web",
        &addr,
        "--interval",
        "1s",
        "--timeout",
        "1s",
        "--alerts",
        "hook",
    ]);
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        "web up",
        || n1.status().filter(|s| web(s)["state"] == "up"),
    );

    let out = n1.qu_ok(&["silence", "web", "--for", "30m"]);
    assert!(out.contains("silenced for 30m"), "{out}");
    let list = n1.qu_ok(&["maintenance", "list"]);
    assert!(
        list.contains("silence") && list.contains("for 30m"),
        "{list}"
    );
    drop(target); // connection refused from now on

    // Down, in maintenance, on every node; no incident announced.
    for node in &c.nodes {
        let s = wait_for(
            Duration::from_secs(60),
            Duration::from_millis(100),
            "web down in maintenance",
            || node.status().filter(|s| web(s)["state"] == "down"),
        );
        let w = web(&s);
        assert_eq!(w["maintenance"], true, "{w}");
        assert!(w["maintenance_until"].is_string(), "{w}");
        assert_eq!(w.get("incident"), None, "no DOWN was sent: {w}");
    }
    let human = n1.qu_ok(&["status"]);
    assert!(human.contains("maintenance (down)"), "{human}");
    // Probing goes on (every voter's fresh result is counted) and
    // nothing is sent.
    let seen = web(&n1.status().expect("status"))["last_transition"]["seq"].clone();
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "3 fresh votes",
        || {
            let s = n1.status()?;
            (web(&s)["total"].as_u64() >= Some(3)).then_some(())
        },
    );
    assert!(
        got.lock().expect("lock").is_empty(),
        "sent while silenced: {:?}",
        got.lock()
    );
    assert_eq!(
        web(&n1.status().expect("status"))["last_transition"]["seq"],
        seen
    );

    // End the silence while still failing: exactly one DOWN.
    n1.qu_ok(&["silence", "--clear", "web"]);
    let key = wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        "the incident",
        || {
            let s = n1.status()?;
            web(&s)["incident"].as_str().map(String::from)
        },
    );
    wait_for(
        Duration::from_secs(60),
        Duration::from_millis(100),
        "one DOWN",
        || (!got.lock().expect("lock").is_empty()).then_some(()),
    );
    assert_eq!(
        web(&n1.status().expect("status"))["maintenance"],
        Value::Null
    );
    // A further delivery would be a duplicate: watch the receiver for 3 s
    // (many master ticks; a second entry would leave in the same one),
    // failing as soon as a second request arrives.
    let watch = std::time::Instant::now();
    while watch.elapsed() < Duration::from_secs(3) {
        assert!(got.lock().expect("lock").len() <= 1, "{:?}", got.lock());
        std::thread::yield_now();
        let _ = n1.status();
    }
    let bodies = got.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 1, "exactly one notification: {bodies:?}");
    assert!(
        bodies[0].contains(&key),
        "the DOWN carries {key}: {}",
        bodies[0]
    );
    assert_eq!(downs(&got).len(), 1, "{bodies:?}");
}
