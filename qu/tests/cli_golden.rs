//! Golden output of the read commands against one running single-node
//! daemon: `check list`, `alert list`, `node list` and `status`, human and
//! `--json`. People grep the human layout and programs parse the JSON, so
//! both are compared exactly, after replacing the values that differ from
//! run to run (ids, the port, timestamps) with placeholders of the same
//! width, so column alignment is still checked.

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const QU: &str = env!("CARGO_BIN_EXE_qu");
const CALL_LIMIT: Duration = Duration::from_secs(20);

/// One daemon (`golden-1`) in a 0700 temporary directory; SIGKILLed on drop.
struct Node {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    port: u16,
    daemon: Option<Child>,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Node {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(QU);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("QUPTIME_DIR", self.home.join("data"))
            .env("QUPTIME_SOCKET", self.home.join("qu.sock"));
        cmd
    }

    /// `qu <args>`, bounded by [`CALL_LIMIT`].
    fn qu(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn qu");
        let pid = child.id() as i32;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(CALL_LIMIT) {
            Ok(out) => out.expect("wait"),
            Err(_) => {
                // SAFETY: plain kill(2) of our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("qu {} did not finish within {CALL_LIMIT:?}", args.join(" "));
            }
        }
    }

    /// `qu <args>`, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.qu(args);
        assert!(
            out.status.success(),
            "qu {} failed: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.home.join("serve.log")).unwrap_or_default()
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// [`Node::ok`] with `line` split at spaces.
    fn ok_line(&self, line: &str) -> String {
        self.ok(&line.split(' ').collect::<Vec<_>>())
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("qu {args:?}: {e}: {text}"))
    }

    /// Initialise `golden-1` and start `qu serve` with fast timings; wait
    /// until it is master with its own membership committed.
    fn start() -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("home");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&home)
            .expect("home");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut node = Node {
            _tmp: tmp,
            home,
            port,
            daemon: None,
        };
        let p = port.to_string();
        node.ok(&[
            "init",
            "--node-id",
            "golden-1",
            "--bind",
            "127.0.0.1",
            "--port",
            &p,
        ]);
        let log = std::fs::File::create(node.home.join("serve.log")).expect("log");
        let mut cmd = node.command(&[
            "serve",
            "--heartbeat",
            "100ms",
            "--election-timeout",
            "500ms",
        ]);
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        die_with_parent(&mut cmd);
        node.daemon = Some(cmd.spawn().expect("spawn qu serve"));
        wait_until("the daemon to be ready", Duration::from_secs(30), || {
            let out = node.qu(&["status", "--json"]);
            out.status.success() && {
                let s: Value = serde_json::from_slice(&out.stdout).expect("json");
                s["quorum"] == true && s["config_version"] == 1
            }
        });
        node
    }
}

/// Have the kernel SIGKILL the child when the thread that forked it dies,
/// so a killed test never leaks a daemon.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no parent memory.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `value` replaced everywhere by `<tag>` padded with `_` to the same width.
fn mask(text: &str, value: &str, tag: &str) -> String {
    let width = value.chars().count();
    let mut token = format!("<{tag}");
    while token.chars().count() + 1 < width {
        token.push('_');
    }
    token.push('>');
    assert_eq!(token.chars().count(), width, "placeholder for {value:?}");
    text.replace(value, &token)
}

/// Every RFC 3339 UTC timestamp (`2026-11-23T15:01:32Z`) replaced by
/// `<time______________>`, found without regular expressions.
fn mask_times(text: &str) -> String {
    const SHAPE: &[u8] = b"0000-00-00T00:00:00Z";
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let fits = b.len() - i >= SHAPE.len()
            && SHAPE.iter().zip(&b[i..]).all(|(s, c)| match s {
                b'0' => c.is_ascii_digit(),
                _ => s == c,
            });
        if fits {
            out.push_str("<time______________>");
            i += SHAPE.len();
        } else {
            let ch = text[i..].chars().next().expect("char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Assert `actual` equals `golden` line by line, with a readable diff.
fn assert_golden(what: &str, actual: &str, golden: &str) {
    if actual != golden {
        panic!(
            "{what} differs from the golden text\n--- golden\n{golden}\n--- actual\n{actual}\n---"
        );
    }
}

/// The keys of a JSON object, which must include every one of `want`.
fn assert_keys(what: &str, v: &Value, want: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    for k in want {
        assert!(obj.contains_key(*k), "{what} lacks {k:?}: {v}");
    }
}

#[test]
fn read_commands_match_their_golden_output() {
    let node = Node::start();
    let added = node.ok_line("check add tcp db 127.0.0.1:9 --interval 15s");
    let hook = node.ok_line("alert add webhook hook --url http://127.0.0.1:9/x");

    // --json: the documented keys, and the volatile values to mask.
    let checks = node.json(&["check", "list", "--json"]);
    let check = &checks.as_array().expect("array")[0];
    assert_keys(
        "check",
        check,
        &["id", "name", "type", "target", "interval", "timeout"],
    );
    assert_eq!(check["name"], "db");
    assert_eq!(check["type"], "tcp");
    assert_eq!(check["target"], "127.0.0.1:9");
    assert_eq!(check["interval"], "15s");
    assert_eq!(check["timeout"], "10s");
    let check_id = check["id"].as_str().expect("id").to_string();
    let alerts = node.json(&["alert", "list", "--json"]);
    let alert = &alerts.as_array().expect("array")[0];
    assert_keys(
        "alert",
        alert,
        &["id", "name", "type", "default", "disabled", "settings"],
    );
    assert_eq!(alert["type"], "webhook");
    assert_eq!(alert["default"], false);
    assert_eq!(
        alert["settings"]["url"], "http://127.0.0.1:9/****",
        "the path is masked"
    );
    let alert_id = alert["id"].as_str().expect("id").to_string();
    let nodes = node.json(&["node", "list", "--json"]);
    let peer = &nodes.as_array().expect("array")[0];
    let peer_keys = [
        "node_id",
        "advertise",
        "live",
        "last_seen",
        "voter",
        "this_node",
    ];
    assert_keys("node", peer, &peer_keys);
    assert_eq!(nodes.as_array().map(Vec::len), Some(1));
    assert_eq!(peer["node_id"], "golden-1");
    assert_eq!(peer["advertise"], format!("127.0.0.1:{}", node.port));

    let addr = format!("127.0.0.1:{}", node.port);
    let norm = |text: &str| {
        let t = mask(text, &check_id, "check");
        let t = mask(&t, &alert_id, "alert");
        mask_times(&mask(&t, &addr, "addr"))
    };

    assert_golden(
        "check add",
        &norm(&format!("{added}{hook}")),
        "added check db (id <check_>, config ver 2)\n\
         added alert hook (id <alert_>, config ver 3)\n",
    );
    assert_golden(
        "qu check list",
        &norm(&node.ok_line("check list")),
        "ID        NAME  TYPE  TARGET       INTERVAL  TIMEOUT  ENABLED\n\
         <check_>  db    tcp   127.0.0.1:9  15s       10s      yes\n",
    );
    assert_golden(
        "qu alert list",
        &norm(&node.ok_line("alert list")),
        "ID        NAME  TYPE     ENABLED  SETTINGS\n\
         <alert_>  hook  webhook  yes      method=POST url=http://127.0.0.1:9/****\n\
         (* = default: attached to every check)\n",
    );
    assert_golden(
        "qu node list",
        &norm(&node.ok_line("node list")),
        "NODE_ID   ADVERTISE        LIVE  LAST_SEEN             SELF  ROLE\n\
         golden-1  <addr_________>  true  <time______________>  *     voter\n",
    );

    // The status once the check has settled: 127.0.0.1:9 refuses, so after
    // two probe rounds (15s apart) it is down.
    wait_until("the check to go down", Duration::from_secs(60), || {
        node.json(&["status", "--json"])["checks"][0]["state"] == "down"
    });
    let status = node.json(&["status", "--json"]);
    assert_keys(
        "status",
        &status,
        &[
            "node_id",
            "term",
            "master",
            "quorum",
            "need",
            "config_version",
            "is_master",
            "peers",
            "checks",
        ],
    );
    assert_eq!(status["node_id"], "golden-1");
    assert_eq!(status["master"], "golden-1");
    assert_eq!(status["is_master"], true);
    assert_eq!(status["need"], 1);
    assert_eq!(status["config_version"], 3);
    assert_keys("status peer", &status["peers"][0], &peer_keys);
    let c = &status["checks"][0];
    let check_keys = ["id", "name", "type", "target", "state", "disabled"];
    assert_keys("status check", c, &check_keys);
    assert_keys("status check", c, &["ok", "total", "alerts", "detail"]);
    assert_eq!((c["ok"].as_u64(), c["total"].as_u64()), (Some(0), Some(1)));
    // The open incident's key (unknown → down was transition 1).
    assert_eq!(c["incident"], format!("quptime-{check_id}-1"));
    assert_eq!(c.get("maintenance"), None, "absent outside a window");

    assert_golden(
        "qu status",
        &norm(&node.ok_line("status")),
        "node       golden-1\n\
         term       1\n\
         master     golden-1\n\
         quorum     true (need 1)\n\
         config ver 3\n\
         \n\
         PEERS\n\
         NODE_ID   ADVERTISE        LIVE  LAST_SEEN             SELF  ROLE\n\
         golden-1  <addr_________>  true  <time______________>  *     voter\n\
         (* = this node; LIVE and quorum are at most 1.1s old)\n\
         \n\
         CHECKS\n\
         ID        NAME  STATE  OK/TOTAL  ALERTS  DETAIL\n\
         <check_>  db    down   0/1       -       golden-1=connect: connection refused\n\
         \n\
         INCIDENTS\n\
         CHECK  INCIDENT            SINCE\n\
         db     quptime-<check_>-1  <time______________>\n",
    );
}

/// GET `/` from `addr` until the page contains `want` (bounded: 30 s).
fn page_until(addr: &str, want: &str) -> String {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut body = String::new();
        if let Ok(mut sock) = std::net::TcpStream::connect(addr) {
            let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = sock.write_all(b"GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n");
            let _ = sock.read_to_string(&mut body);
        }
        if body.starts_with("HTTP/1.1 200") && body.contains(want) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "the page at {addr} never showed {want:?}: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `qu demo`, scripted: the cluster forms, the check follows the flapping
/// target, the DOWN and RECOVERED alerts are printed, and everything it
/// created is gone afterwards. The target fails at 10s and recovers at 20s;
/// the demo stops at 28s, before the next flip.
#[test]
fn demo_shows_transitions_and_alerts_then_cleans_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(QU);
    cmd.args("demo --flip 10s --duration 28s --status-every 10s".split(' '))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().expect("spawn qu demo");
    let pid = child.id() as i32;
    let pipe = child.stdout.take().expect("stdout");
    let (page_tx, page_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(pipe)) {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("status page of demo-2: http://").nth(1) {
                let _ = page_tx.send(rest.split('/').next().unwrap_or_default().to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    // While it runs, a follower's page shows the check with its uptime row.
    let page = page_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo printed no status page address");
    let shown = page_until(&page, r#"<tr class="uptime" data-id=""#);
    assert!(shown.contains(r#"<td class="name">web</td>"#), "{shown}");
    let out = match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            // SAFETY: plain kill(2) of our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("qu demo did not stop by itself");
        }
    };
    let stdout = reader.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for want in [
        "demo-1 added demo-2",
        "demo-1 added demo-3",
        "added http check \"web\"",
        "/dashboard (log in with the write token qut_",
        "quorum     true (need 2)",
        "TRANSITION web unknown -> up",
        "target now failing: 503",
        "TRANSITION web up -> down (3/3 failing",
        "ALERT [quptime] HTTP DOWN — web",
        "TRANSITION web down -> up",
        "ALERT [quptime] HTTP RECOVERED — web",
        "--duration 28s reached",
        "stopped; removed",
    ] {
        assert!(
            stdout.contains(want),
            "demo output lacks {want:?}:\n{stdout}"
        );
    }
    // (Not "no ERROR lines": a node stopping while its master commits a
    // transition may log one from the Raft engine; see the report.)
    assert!(!stderr.contains("panicked"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
}
