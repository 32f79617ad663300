//! Harness shared by `tests/cluster_cli.rs` and `benches/cluster.rs`: real
//! `qu serve` daemons on loopback, each in its own 0700 directory, driven by
//! real `qu` processes.
//!
//! Rules it keeps so that a failing test never leaves anything behind:
//! - every daemon is SIGKILLed when its [`Node`] is dropped (also while a
//!   test panics), and is started with `PR_SET_PDEATHSIG` so it dies with the
//!   test even when the test process itself is killed;
//! - every CLI call is bounded ([`Proc::finish`] kills it at its deadline);
//! - every wait is a bounded poll;
//! - daemons log to a file, never to a pipe nobody reads.
//!
//! Daemons must be started from the test's own thread (not from a helper
//! thread that ends earlier): the death signal follows the thread that
//! forked them.
#![allow(dead_code)]

use std::collections::HashSet;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use quptime::control::BlockingControlClient;
use serde_json::Value;

/// The `qu` binary under test.
pub const QU: &str = env!("CARGO_BIN_EXE_qu");

/// Fast Raft timings for tests (the defaults are 500ms / 1s).
pub const FAST: &[&str] = &["--heartbeat", "100ms", "--election-timeout", "500ms"];

/// Default bound on one CLI call.
pub const CALL_LIMIT: Duration = Duration::from_secs(20);

/// `GET path` on `addr` over plain HTTP/1.1 (the metrics listener):
/// (status code, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the metrics listener");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok());
    (code.expect("a status code"), body.to_string())
}

/// A free loopback TCP port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a root-only test may go on: yes as root; elsewhere it says
/// `why` it needs root and is skipped, except under CI (env `CI`, which
/// runs as root), where it fails.
pub fn root_or_skip(test: &str, why: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root ({why}) and CI is set"
    );
    eprintln!("{test}: skipped, needs root to {why} (runs in CI as root)");
    false
}

/// Create `path` with mode 0700 (the control socket refuses directories
/// others can write).
pub fn private_dir(path: &Path) {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
}

/// Lossy UTF-8.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A running CLI process whose output is drained by two threads (so a large
/// `--json` answer never blocks it). Killed on drop if still running.
#[derive(Debug)]
pub struct Proc {
    what: String,
    child: Option<Child>,
    out: Option<JoinHandle<Vec<u8>>>,
    err: Option<JoinHandle<Vec<u8>>>,
    started: Instant,
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

impl Proc {
    /// Spawn `cmd` (stdin closed, stdout and stderr captured).
    pub fn spawn(mut cmd: Command, what: String) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let out = child.stdout.take().map(drain);
        let err = child.stderr.take().map(drain);
        Proc {
            what,
            child: Some(child),
            out,
            err,
            started,
        }
    }

    /// Wait for the process, at most `limit` after it was spawned; panics
    /// (after killing it) when it overruns.
    pub fn finish(mut self, limit: Duration) -> Output {
        let mut child = self.child.take().expect("child");
        let deadline = self.started + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{} did not finish within {limit:?}", self.what);
                }
                Ok(None) => thread::sleep(Duration::from_millis(2)),
                Err(e) => panic!("wait for {}: {e}", self.what),
            }
        };
        let join = |h: Option<JoinHandle<Vec<u8>>>| h.map(|h| h.join().unwrap_or_default());
        Output {
            status,
            stdout: join(self.out.take()).unwrap_or_default(),
            stderr: join(self.err.take()).unwrap_or_default(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One node: its directory (`home`, 0700) holding `data/`, `qu.sock` and
/// `serve.log`, and its daemon when running.
#[derive(Debug)]
pub struct Node {
    /// Directory label (`n1`, …); also the NodeID of nodes made by
    /// [`Cluster::start`].
    pub name: String,
    /// The NodeID (differs from `name` for enrolled nodes).
    pub id: String,
    /// Parent of data dir, socket and log.
    pub home: PathBuf,
    /// Peer port on 127.0.0.1.
    pub port: u16,
    /// Flags given to every `qu serve` of this node.
    pub serve_args: Vec<String>,
    daemon: Option<Child>,
}

impl Node {
    /// A node directory under `root` (nothing initialised yet).
    pub fn new(root: &Path, name: &str, serve_args: &[&str]) -> Node {
        let home = root.join(name);
        private_dir(&home);
        Node {
            name: name.to_string(),
            id: name.to_string(),
            home,
            port: free_port(),
            serve_args: serve_args.iter().map(|s| s.to_string()).collect(),
            daemon: None,
        }
    }

    pub fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    pub fn socket(&self) -> PathBuf {
        self.home.join("qu.sock")
    }

    pub fn log(&self) -> PathBuf {
        self.home.join("serve.log")
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `qu <args>` with a clean environment pointing at this node.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(QU);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("QUPTIME_DIR", self.data())
            .env("QUPTIME_SOCKET", self.socket())
            .env("NO_COLOR", "1");
        cmd
    }

    /// Start `qu <args>` against this node without waiting.
    pub fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(
            self.command(args),
            format!("[{}] qu {}", self.name, args.join(" ")),
        )
    }

    /// Run `qu <args>` against this node, bounded by [`CALL_LIMIT`].
    pub fn qu(&self, args: &[&str]) -> Output {
        self.spawn(args).finish(CALL_LIMIT)
    }

    /// `qu check add tcp NAME 127.0.0.1:9 --interval INTERVAL` (nothing
    /// listens on the discard port): its output, success or not.
    pub fn try_add_tcp_check(&self, name: &str, interval: &str) -> Output {
        self.qu(&[
            "check",
            "add",
            "tcp",
            name,
            "127.0.0.1:9",
            "--interval",
            interval,
        ])
    }

    /// [`Node::try_add_tcp_check`], which must succeed.
    pub fn add_tcp_check(&self, name: &str, interval: &str) {
        let out = self.try_add_tcp_check(name, interval);
        assert!(
            out.status.success(),
            "[{}] qu check add tcp {name} failed ({}): {}",
            self.name,
            out.status,
            text(&out.stderr)
        );
    }

    /// A founder `name` under `root` with a metrics listener on a free
    /// loopback port, started: (the node, the listener's address).
    pub fn founder_with_metrics(root: &Path, name: &str) -> (Node, String) {
        let metrics = format!("127.0.0.1:{}", free_port());
        let mut args = FAST.to_vec();
        args.extend(["--metrics-addr", &metrics]);
        let mut node = Node::new(root, name, &args);
        node.init(None);
        node.start_ready();
        (node, metrics)
    }

    /// Run `qu <args>` and insist on exit 0; returns stdout.
    pub fn qu_ok(&self, args: &[&str]) -> String {
        let out = self.qu(args);
        assert!(
            out.status.success(),
            "[{}] qu {} failed ({}): {}{}",
            self.name,
            args.join(" "),
            out.status,
            text(&out.stderr),
            self.log_tail(20)
        );
        text(&out.stdout)
    }

    /// `qu init` for this node: the founder when `secret` is None (returns
    /// the printed secret), else a joiner with that secret.
    pub fn init(&self, secret: Option<&str>) -> String {
        let port = self.port.to_string();
        let mut args = vec![
            "init",
            "--node-id",
            &self.id,
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
        ];
        if let Some(s) = secret {
            args.extend(["--secret", s]);
        }
        let stdout = self.qu_ok(&args);
        match secret {
            Some(s) => s.to_string(),
            None => stdout
                .lines()
                .find_map(|l| l.strip_prefix("cluster secret: "))
                .unwrap_or_else(|| panic!("no secret in init output: {stdout}"))
                .trim()
                .to_string(),
        }
    }

    /// Start `qu serve` (log appended to `serve.log`); does not wait.
    pub fn start(&mut self) {
        assert!(self.daemon.is_none(), "{} already running", self.name);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("open serve.log");
        let _ = writeln!(log, "==== qu serve {}", self.serve_args.join(" "));
        let log_err = log.try_clone().expect("clone log");
        let mut cmd = self.command(&["serve"]);
        // QUPTIME_TEST_LOG=debug (say) raises the daemons' log level.
        if let Ok(filter) = std::env::var("QUPTIME_TEST_LOG") {
            cmd.env("QUPTIME_LOG", filter);
        }
        cmd.args(&self.serve_args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // SAFETY: prctl is async-signal-safe and touches no memory of the
        // parent; it only asks the kernel to SIGKILL the daemon if the
        // thread that forked it dies (a killed test must not leak daemons).
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn qu serve for {}: {e}", self.name));
        self.daemon = Some(child);
    }

    /// Start the daemon and wait until its control socket answers.
    pub fn start_ready(&mut self) {
        self.start();
        self.wait_ready(Duration::from_secs(20));
    }

    /// Poll `qu status --json` until it exits 0; panics (with the log) if
    /// the daemon exits or `within` passes.
    pub fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(c) = self.daemon.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                self.daemon = None;
                panic!(
                    "{} exited during start-up ({st}){}",
                    self.name,
                    self.log_tail(30)
                );
            }
            if self.qu(&["status", "--json"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within {within:?}{}",
                self.name,
                self.log_tail(30)
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn running(&self) -> bool {
        self.daemon.is_some()
    }

    pub fn pid(&self) -> Option<i32> {
        self.daemon.as_ref().map(|c| c.id() as i32)
    }

    /// Send `sig` to the daemon (no wait).
    pub fn signal(&self, sig: libc::c_int) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on the pid of a child we have not reaped yet.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// Wait at most `within` for the daemon to exit; SIGKILL and panic when
    /// it does not.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let Some(mut c) = self.daemon.take() else {
            panic!("{} is not running", self.name)
        };
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = c.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() >= deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "{} did not exit within {within:?} of SIGTERM{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Graceful stop: SIGTERM, then wait (bounded).
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(20))
    }

    /// Crash: SIGKILL and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            // Child::kill is kill(pid, SIGKILL).
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `qu status --json` parsed, or None when the call fails.
    pub fn status(&self) -> Option<Value> {
        let out = self.qu(&["status", "--json"]);
        if !out.status.success() {
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).expect("status --json is JSON"))
    }

    /// `qu check list --json`: the check names.
    pub fn check_names(&self) -> Vec<String> {
        let out = self.qu_ok(&["check", "list", "--json"]);
        let v: Value = serde_json::from_str(&out).expect("check list --json is JSON");
        v.as_array()
            .expect("check list is an array")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_string())
            .collect()
    }

    /// `qu node list --json`: (node_id, voter, live).
    pub fn members(&self) -> Vec<(String, bool, bool)> {
        let out = self.qu_ok(&["node", "list", "--json"]);
        let v: Value = serde_json::from_str(&out).expect("node list --json is JSON");
        v.as_array()
            .expect("node list is an array")
            .iter()
            .map(|p| {
                (
                    p["node_id"].as_str().expect("node_id").to_string(),
                    p["voter"].as_bool().expect("voter"),
                    p["live"].as_bool().expect("live"),
                )
            })
            .collect()
    }

    /// A control-socket client (no process per call).
    pub fn client(&self) -> BlockingControlClient {
        BlockingControlClient::connect(&self.socket())
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.socket().display()))
    }

    /// The last `n` lines of the daemon log, formatted for a panic message.
    pub fn log_tail(&self, n: usize) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.log()) {
            let _ = f.read_to_string(&mut s);
        }
        let lines: Vec<&str> = s.lines().collect();
        let from = lines.len().saturating_sub(n);
        format!(
            "\n---- {} serve.log (last {n} lines)\n{}",
            self.name,
            lines[from..].join("\n")
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// What every polled node agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub master: String,
    pub config_version: u64,
}

/// Nodes in one temp dir. Fields drop in order: daemons first, then the
/// directory.
#[derive(Debug)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub secret: String,
    tmp: tempfile::TempDir,
}

impl Cluster {
    /// An empty cluster directory (0700).
    pub fn empty() -> Cluster {
        let tmp = tempfile::Builder::new()
            .prefix("qu-cluster-")
            .tempdir()
            .expect("tempdir");
        private_dir(tmp.path());
        Cluster {
            nodes: Vec::new(),
            secret: String::new(),
            tmp,
        }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// `n` nodes `n1..nN` initialised with one secret (n1 founds) and
    /// serving, not yet joined to each other.
    pub fn start(n: usize, serve_args: &[&str]) -> Cluster {
        let mut c = Cluster::empty();
        for i in 1..=n {
            let node = Node::new(c.root(), &format!("n{i}"), serve_args);
            let secret = (i > 1).then_some(c.secret.as_str());
            c.secret = node.init(secret);
            c.nodes.push(node);
        }
        for node in &mut c.nodes {
            node.start();
        }
        for node in &mut c.nodes {
            node.wait_ready(Duration::from_secs(20));
        }
        c
    }

    /// [`Cluster::start`], then `qu node add` of every other node through
    /// n1's socket, then a bounded wait for agreement.
    pub fn formed(n: usize, serve_args: &[&str]) -> Cluster {
        let c = Cluster::start(n, serve_args);
        c.wait_founded();
        for node in &c.nodes[1..] {
            let out = c.nodes[0].qu(&["node", "add", &node.addr(), "-y"]);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            if !out.status.success() && stderr.contains("already undergoing a configuration change")
            {
                // Known bug: the membership reconciler (1 s tick) can race
                // the add's own promotion. The peer is recorded, and the
                // reconciler finishes the join; the agreement below waits
                // for it to be a live voter.
                eprintln!("known bug hit, node add {}: {}", node.name, stderr.trim());
                continue;
            }
            assert!(
                out.status.success() && stdout.contains(&format!("added node {}", node.id)),
                "node add {} ({}): {stdout}{stderr}",
                node.name,
                out.status
            );
        }
        let all: Vec<usize> = (0..n).collect();
        c.wait_agreement(&all, 0, Duration::from_secs(20));
        c
    }

    /// Wait until n1 is master and has recorded itself in the peers table
    /// (its first mutation: config ver 1).
    ///
    /// Workaround for two start-up races of the library: a `node add` that
    /// commits first leaves the founder out of the peers table for good,
    /// and one made before the founder is master fails at once with
    /// "no master is known". Tests that are about those races skip this.
    pub fn wait_founded(&self) {
        let founder = &self.nodes[0];
        wait_for(
            Duration::from_secs(10),
            Duration::from_millis(20),
            "the founder is master with its own record (config ver 1)",
            || {
                founder.status().filter(|s| {
                    s["is_master"] == Value::Bool(true) && s["config_version"].as_u64() >= Some(1)
                })
            },
        );
    }

    pub fn index_of(&self, id: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// One round of `qu status --json` over `idx`, in order.
    pub fn statuses(&self, idx: &[usize]) -> Vec<Option<Value>> {
        idx.iter().map(|&i| self.nodes[i].status()).collect()
    }

    /// Whether the statuses agree: every node answered with quorum, the
    /// same master (one of the polled nodes, which says `is_master`), the
    /// same config version (at least `min_version`), and every member
    /// listed is a live voter.
    pub fn agreement(
        &self,
        idx: &[usize],
        statuses: &[Option<Value>],
        min_version: u64,
    ) -> Option<Agreement> {
        let mut seen: Option<Agreement> = None;
        for s in statuses {
            let s = s.as_ref()?;
            if s["quorum"] != Value::Bool(true) {
                return None;
            }
            let here = Agreement {
                master: s["master"].as_str()?.to_string(),
                config_version: s["config_version"].as_u64()?,
            };
            if here.config_version < min_version {
                return None;
            }
            let peers = s["peers"].as_array()?;
            if peers.len() != idx.len()
                || peers
                    .iter()
                    .any(|p| p["live"] != Value::Bool(true) || p["voter"] != Value::Bool(true))
            {
                return None;
            }
            match &seen {
                Some(a) if *a != here => return None,
                _ => seen = Some(here),
            }
        }
        let a = seen?;
        let master_pos = idx.iter().position(|&i| self.nodes[i].id == a.master)?;
        (statuses[master_pos].as_ref()?["is_master"] == Value::Bool(true)).then_some(a)
    }

    /// Poll until [`Cluster::agreement`] holds; panics after `within`.
    pub fn wait_agreement(&self, idx: &[usize], min_version: u64, within: Duration) -> Agreement {
        let deadline = Instant::now() + within;
        loop {
            let st = self.statuses(idx);
            if let Some(a) = self.agreement(idx, &st, min_version) {
                return a;
            }
            if Instant::now() >= deadline {
                let logs: String = idx.iter().map(|&i| self.nodes[i].log_tail(15)).collect();
                panic!(
                    "no agreement among {:?} within {within:?}; last statuses: {st:#?}{logs}",
                    idx.iter().map(|&i| &self.nodes[i].name).collect::<Vec<_>>()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Assert every node in `idx` lists exactly `expected` checks (each once).
    pub fn assert_checks(&self, idx: &[usize], expected: &HashSet<String>) {
        for &i in idx {
            let names = self.nodes[i].check_names();
            let unique: HashSet<String> = names.iter().cloned().collect();
            assert_eq!(
                names.len(),
                unique.len(),
                "{}: a check is listed twice",
                self.nodes[i].name
            );
            let missing: Vec<_> = expected.difference(&unique).collect();
            let extra: Vec<_> = unique.difference(expected).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, unexpected {extra:?}",
                self.nodes[i].name
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if thread::panicking() {
            let mut stderr = std::io::stderr().lock();
            for n in &self.nodes {
                let _ = writeln!(stderr, "{}", n.log_tail(40));
            }
            // QUPTIME_TEST_KEEP=1 keeps the data dirs and full logs.
            if std::env::var_os("QUPTIME_TEST_KEEP").is_some() {
                self.tmp.disable_cleanup(true);
                let _ = writeln!(stderr, "kept {}", self.tmp.path().display());
            }
        }
    }
}

/// Poll `f` every `every` until it returns Some; panics with `what` after
/// `within`.
pub fn wait_for<T>(
    within: Duration,
    every: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?}: {what}"
        );
        thread::sleep(every);
    }
}

/// Parse `added check NAME (id X, config ver N)`.
pub fn parse_added(stdout: &str) -> Option<(String, String, u64)> {
    let rest = stdout.trim().strip_prefix("added check ")?;
    let (name, rest) = rest.split_once(" (id ")?;
    let (id, rest) = rest.split_once(", config ver ")?;
    let ver = rest.strip_suffix(')')?.parse().ok()?;
    Some((name.to_string(), id.to_string(), ver))
}

/// Percentile (nearest rank) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
