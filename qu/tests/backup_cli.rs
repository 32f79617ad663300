//! Backups and disaster recovery with real `qu serve` processes:
//! - a 3-node cluster is backed up, every node wiped, the backup restored
//!   on one node and the others re-added: checks and alert channels are
//!   identical to before;
//! - two of three nodes die for good: `qu recover --force-new-cluster` on
//!   the third makes it accept mutations again, and a DOWN alert reaches a
//!   webhook receiver when a target fails;
//! - after a restore or a recovery `trust.yaml` names none of the old
//!   members, and a dead member that comes back is refused by key;
//! - bad inputs (missing, corrupt or newer files, a running daemon) fail
//!   with a clear message and change nothing.
//!
//! Every daemon dies with its test and every wait is bounded (`support`).

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;
use support::{Cluster, FAST, Node, text, wait_for};

/// A loopback HTTP server that answers every request with a settable
/// status and records request bodies: the probed target and the webhook
/// receiver in one. Stops when dropped.
struct Http {
    port: u16,
    status: Arc<AtomicU16>,
    bodies: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Http {
    fn start() -> Http {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let status = Arc::new(AtomicU16::new(200));
        let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, b, st) = (status.clone(), bodies.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let (s, b) = (s.clone(), b.clone());
                thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    if let Some(body) = read_request(&mut conn) {
                        if !body.is_empty() {
                            b.lock().expect("bodies").push(body);
                        }
                        let code = s.load(Ordering::SeqCst);
                        let _ = write!(
                            conn,
                            "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                    }
                });
            }
        });
        Http {
            port,
            status,
            bodies,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("bodies").clone()
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Headers, then a Content-Length body; returns the body.
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned())
}

/// `qu check list --json`, `qu alert list --json` and `qu resolvers list
/// --json` of `node`.
fn config_of(node: &Node) -> (Value, Value, Value) {
    let parse =
        |args: &[&str]| -> Value { serde_json::from_str(&node.qu_ok(args)).expect("json list") };
    (
        parse(&["check", "list", "--json"]),
        parse(&["alert", "list", "--json"]),
        parse(&["resolvers", "list", "--json"]),
    )
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "lock") {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Run `qu args` on `node`, insist it fails, and that stderr has `want`.
fn fails(node: &Node, args: &[&str], want: &str) {
    let out = node.qu(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "qu {args:?}: {err}");
    assert!(err.contains(want), "qu {args:?}: want {want:?} in {err}");
}

/// Wait until `node` is master of a cluster with quorum.
fn wait_master(node: &Node) {
    wait_for(
        Duration::from_secs(20),
        Duration::from_millis(50),
        "the node to be master",
        || {
            node.status().filter(|s| {
                s["is_master"] == Value::Bool(true) && s["config_version"].as_u64() >= Some(1)
            })
        },
    );
}

#[test]
fn backup_then_wipe_every_node_then_restore_gives_identical_checks_and_alerts() {
    let mut c = Cluster::formed(3, FAST);
    let n1 = &c.nodes[0];
    n1.qu_ok(&[
        "alert",
        "add",
        "webhook",
        "hook",
        "--url",
        "http://127.0.0.1:9/h",
    ]);
    n1.qu_ok(&[
        "alert",
        "add",
        "webhook",
        "pager",
        "--url",
        "http://127.0.0.1:9/p",
        "--default",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "http",
        "web",
        "http://127.0.0.1:9/",
        "--expect",
        "2xx",
        "--alerts",
        "hook",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "tcp",
        "db",
        "127.0.0.1:9",
        "--interval",
        "15s",
        "--suppress",
        "pager",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "dns",
        "name",
        "example.invalid",
        "--interval",
        "1m",
    ]);
    n1.qu_ok(&["resolvers", "set", "9.9.9.9", "127.0.0.1:5353"]);
    let before = config_of(n1);
    assert_eq!(before.0.as_array().map(Vec::len), Some(3), "{}", before.0);
    assert_eq!(before.2.as_array().map(Vec::len), Some(2), "{}", before.2);

    // Back up on a follower-or-master other than n1, once it has it all.
    let n2 = &c.nodes[1];
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "n2 applied",
        || (config_of(n2) == before).then_some(()),
    );
    let file = c.root().join("backup.json");
    let out = n2.qu_ok(&["backup", "create", file.to_str().expect("path")]);
    assert!(
        out.contains("wrote backup of node n2") && out.contains("3 checks"),
        "{out}"
    );
    let mode = std::fs::metadata(&file)
        .expect("backup")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let f = file.to_str().expect("path");

    // A running daemon is refused, and nothing changes.
    let data_before = files(&n2.data());
    fails(
        n2,
        &["backup", "restore", f, "--yes"],
        "a daemon is running",
    );
    fails(
        n2,
        &["recover", "--force-new-cluster", "--yes"],
        "a daemon is running",
    );
    assert_eq!(files(&n2.data()), data_before);

    // With the daemon stopped, the backup comes from the node's storage.
    c.nodes[0].terminate();
    let offline_file = c.root().join("offline.json");
    let out = c.nodes[0].qu(&["backup", "create", offline_file.to_str().expect("p")]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("reading the stopped node's storage"),
        "{stderr}"
    );
    assert!(
        stdout.contains("wrote backup of node n1") && stdout.contains("3 checks"),
        "{stdout}"
    );

    // Every node is lost.
    for n in &mut c.nodes {
        if n.running() {
            n.terminate();
        }
        std::fs::remove_dir_all(n.data()).expect("wipe");
    }

    // Bad files change nothing (the data dir stays absent).
    let n2 = &c.nodes[1];
    let missing = c.root().join("nope.json");
    fails(
        n2,
        &["backup", "restore", missing.to_str().expect("p")],
        "no such backup file",
    );
    let corrupt = c.root().join("corrupt.json");
    std::fs::write(&corrupt, "{\"kind\": \"quptime-backup\", \"format\": 1, ").expect("write");
    fails(
        n2,
        &["backup", "restore", corrupt.to_str().expect("p")],
        "not JSON",
    );
    let mut newer: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    newer["format"] = 99.into();
    let newer_file = c.root().join("newer.json");
    std::fs::write(&newer_file, newer.to_string()).expect("write");
    fails(
        n2,
        &["backup", "restore", newer_file.to_str().expect("p")],
        "backup format 99",
    );
    assert!(
        !n2.data().exists(),
        "a refused restore created the data dir"
    );

    // Restore on n2, which founds a new cluster with the backup's config.
    let out = c.nodes[1].qu_ok(&["backup", "restore", f]);
    assert!(
        out.contains("restored node n2") && out.contains("3 checks and 2 alert channels"),
        "{out}"
    );
    // The backup's trust.yaml named the old members: the new cluster has
    // none yet, so none is trusted.
    assert_eq!(trusted(&c.nodes[1]), Vec::<String>::new());
    c.nodes[1].start_ready();
    wait_master(&c.nodes[1]);
    assert_eq!(config_of(&c.nodes[1]), before);
    assert_eq!(trusted(&c.nodes[1]), Vec::<String>::new());

    // The others come back as new members (fresh identities, same ids).
    let secret = c.secret.clone();
    for i in [0, 2] {
        c.nodes[i].init(Some(&secret));
        c.nodes[i].start_ready();
        let addr = c.nodes[i].addr();
        c.nodes[1].qu_ok(&["node", "add", &addr, "-y"]);
    }
    c.wait_agreement(&[0, 1, 2], 0, Duration::from_secs(20));
    for n in &c.nodes {
        wait_for(
            Duration::from_secs(10),
            Duration::from_millis(50),
            "same config",
            || (config_of(n) == before).then_some(()),
        );
    }
}

#[test]
fn recover_force_new_cluster_after_losing_two_of_three_accepts_writes_and_alerts() {
    let target = Http::start();
    let hook = Http::start();
    hook.status.store(204, Ordering::SeqCst);
    let mut c = Cluster::formed(3, FAST);
    c.nodes[0].qu_ok(&[
        "alert",
        "add",
        "webhook",
        "hook",
        "--url",
        &hook.url("/hook"),
    ]);
    c.nodes[0].qu_ok(&[
        "check",
        "add",
        "http",
        "site",
        &target.url("/"),
        "--interval",
        "1s",
        "--timeout",
        "1s",
        "--alerts",
        "hook",
    ]);
    let before = config_of(&c.nodes[0]);
    let n3 = 2;
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "n3 applied",
        || (config_of(&c.nodes[n3]) == before).then_some(()),
    );

    // Two nodes die for good; the survivor cannot commit anything.
    c.nodes[0].kill9();
    c.nodes[1].kill9();
    let out = c.nodes[n3].qu(&["check", "add", "tcp", "lost", "127.0.0.1:9"]);
    assert!(!out.status.success(), "a write without quorum succeeded");
    c.nodes[n3].terminate();

    // Without the flag, or without a terminal and --yes, nothing changes.
    let data_before = files(&c.nodes[n3].data());
    fails(&c.nodes[n3], &["recover"], "needs --force-new-cluster");
    fails(
        &c.nodes[n3],
        &["recover", "--force-new-cluster"],
        "re-run with --yes",
    );
    assert_eq!(files(&c.nodes[n3].data()), data_before);

    let out = c.nodes[n3].qu(&["recover", "--force-new-cluster", "--yes"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("DANGER"), "no loud warning: {stderr}");
    assert!(stdout.contains("1 checks and 1 alert channels"), "{stdout}");
    assert!(
        std::fs::read_dir(c.nodes[n3].data())
            .expect("data")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("raft.old-")),
        "the old storage was not kept"
    );

    // The old members' keys are no longer trusted.
    assert_eq!(trusted(&c.nodes[n3]), Vec::<String>::new());
    c.nodes[n3].start_ready();
    wait_master(&c.nodes[n3]);
    assert_eq!(config_of(&c.nodes[n3]), before);
    let members = c.nodes[n3].members();
    assert_eq!(members.len(), 1, "{members:?}");

    // A dead member comes back: its Raft still counts n3 and dials it, and
    // n3 refuses its key (nothing of it reaches n3's Raft).
    let old = quptime::Identity::load(
        &c.nodes[0].data(),
        quptime::NodeId::new(c.nodes[0].id.as_str()).expect("id"),
    )
    .expect("the old member's key")
    .fingerprint()
    .to_string();
    c.nodes[0].start();
    wait_for(
        Duration::from_secs(20),
        Duration::from_millis(100),
        "n3 to refuse the returning member",
        || {
            let log = std::fs::read_to_string(c.nodes[n3].log()).ok()?;
            log.lines()
                .any(|l| l.contains(&old) && l.contains("not trusted"))
                .then_some(())
        },
    );
    assert_eq!(trusted(&c.nodes[n3]), Vec::<String>::new());
    c.nodes[n3].add_tcp_check("after", "1m");

    // The check goes down: the DOWN alert reaches the webhook.
    wait_for(
        Duration::from_secs(20),
        Duration::from_millis(100),
        "site up",
        || {
            c.nodes[n3]
                .status()
                .and_then(|s| s["checks"].as_array().cloned())
                .and_then(|cs| cs.into_iter().find(|x| x["name"] == "site"))
                .filter(|x| {
                    x["state"]
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case("up"))
                })
        },
    );
    target.status.store(503, Ordering::SeqCst);
    let body = wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        "DOWN webhook",
        || {
            hook.bodies().into_iter().find(|b| {
                serde_json::from_str::<Value>(b)
                    .is_ok_and(|v| v["kind"] == "down" && v["check"]["name"] == "site")
            })
        },
    );
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["master"], c.nodes[n3].id.as_str(), "{v}");
    let members = c.nodes[n3].members();
    assert_eq!(members.len(), 1, "the old member got back in: {members:?}");
}

/// The node ids `node`'s trust.yaml trusts.
fn trusted(node: &Node) -> Vec<String> {
    quptime::trust::TrustStore::load(&node.data())
        .expect("trust.yaml")
        .list()
        .into_iter()
        .map(|p| p.node_id.to_string())
        .collect()
}
