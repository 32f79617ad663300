//! Bad input through real `qu` processes: each case checks the exit code
//! (1 for errors, 2 for usage errors), the message on stderr, and that
//! nothing changed (no files created, the daemon's state untouched).
//!
//! Every process runs with a cleared environment and its own
//! QUPTIME_DIR/QUPTIME_SOCKET inside a 0700 temporary directory; the one
//! daemon is killed when the test ends, even when it fails.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const QU: &str = env!("CARGO_BIN_EXE_qu");
/// Longest any one CLI call may take.
const CALL_LIMIT: Duration = Duration::from_secs(20);
/// The unprivileged user for the permission case (`nobody`).
const NOBODY: u32 = 65534;

/// A 0700 home for one node: data dir, socket and log inside.
struct Home {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("home");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("home");
        Home { _tmp: tmp, dir }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("qu.sock")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(QU);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("QUPTIME_DIR", self.data())
            .env("QUPTIME_SOCKET", self.socket());
        cmd
    }

    fn qu(&self, args: &[&str]) -> Output {
        run(self.command(args), &args.join(" "))
    }

    /// `qu` with `line` split at spaces.
    fn qu_line(&self, line: &str) -> Output {
        self.qu(&line.split(' ').collect::<Vec<_>>())
    }
}

/// Run `cmd` to completion, killing it (and failing) past [`CALL_LIMIT`].
fn run(mut cmd: Command, what: &str) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn qu {what}: {e}"));
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(CALL_LIMIT) {
        Ok(out) => out.expect("wait for qu"),
        Err(_) => {
            // SAFETY: plain kill(2) of our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("qu {what} did not finish within {CALL_LIMIT:?}");
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Assert exit `code` and that stderr contains every piece of `want`.
fn expect_failure(out: &Output, code: i32, want: &[&str]) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code; stdout: {} stderr: {err}",
        text(&out.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    for w in want {
        assert!(err.contains(w), "stderr lacks {w:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    err
}

/// A `qu serve` daemon with fast timings; SIGKILLed on drop.
struct Daemon {
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `qu init` + `qu serve` in `home`; returns once the node is ready.
fn start_daemon(home: &Home) -> Daemon {
    let port = free_port().to_string();
    let init = home.qu(&[
        "init",
        "--node-id",
        "errors-1",
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
    ]);
    assert!(init.status.success(), "init: {}", text(&init.stderr));
    let log = std::fs::File::create(home.dir.join("serve.log")).expect("log");
    let mut cmd = home.command(&[
        "serve",
        "--heartbeat",
        "100ms",
        "--election-timeout",
        "500ms",
    ]);
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    // SAFETY: prctl only asks the kernel to kill the daemon when the
    // forking thread dies, so a killed test never leaks it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut daemon = Daemon {
        child: cmd.spawn().expect("spawn qu serve"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(st)) = daemon.child.try_wait() {
            panic!("qu serve exited ({st}): {}", log_of(home));
        }
        // Ready = the control socket answers, the node is master and its
        // own membership is committed (config_version 1).
        let out = home.qu_line("status --json");
        if out.status.success() {
            let s: Value = serde_json::from_slice(&out.stdout).expect("status json");
            if s["quorum"] == true && s["config_version"].as_u64() >= Some(1) {
                return daemon;
            }
        }
        assert!(
            Instant::now() < deadline,
            "daemon not ready: {}",
            log_of(home)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn log_of(home: &Home) -> String {
    std::fs::read_to_string(home.dir.join("serve.log")).unwrap_or_default()
}

/// What the daemon holds: config version, checks and alerts.
fn state(home: &Home) -> (Value, Value, Value) {
    let json = |args: &[&str]| -> Value {
        let out = home.qu(args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let status = json(&["status", "--json"]);
    (
        status["config_version"].clone(),
        json(&["check", "list", "--json"]),
        json(&["alert", "list", "--json"]),
    )
}

#[test]
fn bad_input_to_a_running_daemon_is_refused_and_changes_nothing() {
    let home = Home::new();
    let _daemon = start_daemon(&home);
    // Something to refer to, so "unknown name" is not just "empty list".
    let added = home.qu_line("check add tcp db 127.0.0.1:9 --interval 15s");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let before = state(&home);
    assert_eq!(before.1.as_array().map(Vec::len), Some(1));

    // Unknown check type: a usage error from clap.
    let out = home.qu_line("check add smtp x y");
    expect_failure(
        &out,
        2,
        &["unrecognized subcommand 'smtp'", "Usage: qu check add"],
    );

    // Malformed duration: names the flag and the accepted form.
    let out = home.qu(&[
        "check",
        "add",
        "http",
        "web",
        "http://127.0.0.1:9/",
        "--interval",
        "5 parsecs",
    ]);
    expect_failure(
        &out,
        1,
        &["--interval", "\"5 parsecs\" is not a duration", "1m30s"],
    );
    let out = home.qu_line("check edit db --timeout soon");
    expect_failure(&out, 1, &["--timeout", "\"soon\"", "1m30s"]);
    // A setting of another check type: names the setting and both types.
    let out = home.qu_line("check edit db --keep-alive");
    expect_failure(
        &out,
        1,
        &["keep_alive applies to http checks only, not to tcp checks"],
    );
    let out = home.qu_line("check edit db --expect-answer 10.0.0.1");
    expect_failure(&out, 1, &["expect_answer applies to dns checks only"]);

    // Malformed host:port for tcp: names the form.
    for (bad, form) in [
        ("db.internal", "use host:port"),
        ("tcp://db:5432", "use host:port"),
        ("db.internal:http", "use an integer from 1 to 65535"),
        ("db:99999", "use an integer from 1 to 65535"),
    ] {
        let out = home.qu(&["check", "add", "tcp", "db2", bad]);
        expect_failure(&out, 1, &["tcp target", form]);
    }

    // Unknown check or alert name: says what is missing and where to look.
    let out = home.qu_line("check remove nope");
    expect_failure(&out, 1, &["no check \"nope\"", "qu check list"]);
    for args in [
        &["check", "disable", "nope"][..],
        &["check", "edit", "nope", "--interval", "1m"],
    ] {
        expect_failure(&home.qu(args), 1, &["no check \"nope\""]);
    }
    let out = home.qu_line("alert remove nope");
    expect_failure(&out, 1, &["no alert \"nope\"", "qu alert list"]);
    let out = home.qu_line("check add tcp db3 127.0.0.1:9 --alerts nope");
    expect_failure(&out, 1, &["no alert \"nope\""]);

    // Missing required flags: a usage error naming them.
    let out = home.qu_line("alert add smtp ops --host h");
    expect_failure(
        &out,
        2,
        &[
            "required arguments were not provided",
            "--port",
            "--from",
            "--to",
        ],
    );
    let out = home.qu_line("alert add discord oncall");
    expect_failure(&out, 2, &["--webhook"]);

    // Cluster-wide resolvers: a bad or repeated address is named.
    let out = home.qu_line("resolvers set 9.9.9.9 dns.example");
    expect_failure(&out, 1, &["bad resolver \"dns.example\"", "ip:port"]);
    let out = home.qu_line("resolvers set 1.1.1.1 1.1.1.1:53");
    expect_failure(&out, 1, &["1.1.1.1:53 is listed twice"]);
    expect_failure(&home.qu_line("resolvers set"), 2, &["IP[:PORT]"]);

    // Canary reference targets: a bad or repeated one is named.
    let out = home.qu_line("canary set 1.1.1.1:443 example.com");
    expect_failure(&out, 1, &["\"example.com\" has no port", "host:port"]);
    let out = home.qu_line("canary set ftp://example.com/");
    expect_failure(&out, 1, &["scheme other than http or https"]);
    let out = home.qu_line("canary set 10.0.0.1:0");
    expect_failure(&out, 1, &["no valid port"]);
    let out = home.qu_line("canary set a:1 a:1");
    expect_failure(&out, 1, &["a:1 is listed twice"]);
    expect_failure(&home.qu_line("canary set"), 2, &["HOST:PORT|URL"]);

    assert_eq!(
        state(&home),
        before,
        "a refused command changed the cluster"
    );

    // And a good list is replicated, canonical, and can be cleared.
    let listed = |home: &Home| -> Value {
        let out = home.qu_line("resolvers list --json");
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let out = home.qu_line("resolvers set 127.0.0.1:5353 9.9.9.9");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("127.0.0.1:5353, 9.9.9.9:53"));
    assert_eq!(
        listed(&home),
        serde_json::json!(["127.0.0.1:5353", "9.9.9.9:53"])
    );
    assert!(home.qu_line("resolvers clear").status.success());
    assert_eq!(listed(&home), serde_json::json!([]));
    let out = home.qu_line("resolvers list");
    assert!(
        text(&out.stdout).starts_with("system"),
        "{}",
        text(&out.stdout)
    );

    // A good canary list is replicated, shown, and can be cleared.
    let out = home.qu_line("canary set 127.0.0.1:9 http://127.0.0.1:9/health");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = home.qu_line("canary show --json");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let view: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        view["targets"],
        serde_json::json!(["127.0.0.1:9", "http://127.0.0.1:9/health"])
    );
    assert_eq!(view["node"], "errors-1");
    let out = home.qu_line("canary show");
    assert!(
        text(&out.stdout).contains("reference targets: 127.0.0.1:9, http://127.0.0.1:9/health"),
        "{}",
        text(&out.stdout)
    );
    // Nothing listens on port 9: the lone node's canary fails and it
    // abstains, saying why.
    let show = |home: &Home| -> Value {
        let out = home.qu_line("canary show --json");
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while show(&home)["abstain"].is_null() {
        assert!(std::time::Instant::now() < deadline, "the node abstains");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let why = show(&home)["abstain"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(why.contains("no reference target answers"), "{why}");
    assert!(text(&home.qu_line("status").stdout).contains("ABSTAINS   errors-1: no reference"));
    assert!(home.qu_line("canary clear").status.success());
    assert_eq!(show(&home)["targets"], serde_json::json!([]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !show(&home)["abstain"].is_null() {
        assert!(std::time::Instant::now() < deadline, "the node votes again");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn no_daemon_names_the_socket_it_tried() {
    let home = Home::new();
    for args in [
        &["status"][..],
        &["check", "list"],
        &["check", "add", "tcp", "db", "127.0.0.1:9"],
        &["node", "list", "--json"],
    ] {
        let out = home.qu(args);
        let socket = home.socket().display().to_string();
        expect_failure(
            &out,
            1,
            &["cannot reach the qu daemon", &socket, "qu serve"],
        );
    }
    assert!(!home.data().exists(), "a failed call created the data dir");
    assert_eq!(std::fs::read_dir(&home.dir).expect("home").count(), 0);
}

#[test]
fn usage_errors_need_no_daemon_and_touch_nothing() {
    let home = Home::new();
    expect_failure(&home.qu_line("check add smtp x y"), 2, &["'smtp'"]);
    expect_failure(&home.qu_line("frobnicate"), 2, &["unrecognized subcommand"]);
    expect_failure(&home.qu_line("init --port 0"), 2, &["--port"]);
    expect_failure(&home.qu_line("init --port http"), 2, &["--port"]);
    expect_failure(&home.qu_line("serve --log-format xml"), 2, &["xml"]);
    expect_failure(&home.qu_line("alert default x maybe"), 2, &["maybe"]);
    expect_failure(
        &home.qu_line("serve --heartbeat fast"),
        1,
        &["--heartbeat", "\"fast\""],
    );
    expect_failure(
        &home.qu_line("demo --flip often"),
        1,
        &["--flip", "\"often\""],
    );
    assert_eq!(std::fs::read_dir(&home.dir).expect("home").count(), 0);
}

/// Give `path` to `nobody` with `mode` (only root can; otherwise it stays ours).
fn own(path: &Path, mode: u32) {
    if is_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Run as `nobody` when root (root ignores file modes); as is otherwise.
fn as_nobody(cmd: &mut Command) {
    if !is_root() {
        return;
    }
    // SAFETY: setgroups/setgid/setuid are async-signal-safe and only change
    // the child's credentials between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(NOBODY) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn an_unwritable_data_dir_is_refused_with_a_permission_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // nobody must reach the directory below the tempdir.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let parent = tmp.path().join("ro");
    std::fs::create_dir(&parent).expect("mkdir");
    own(&parent, 0o500);
    let data = parent.join("data");

    let mut cmd = Command::new(QU);
    cmd.args(["init", "--bind", "127.0.0.1", "--port", "9901"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("QUPTIME_DIR", &data)
        .env("QUPTIME_SOCKET", tmp.path().join("qu.sock"));
    as_nobody(&mut cmd);
    let out = run(cmd, "init (as nobody)");
    let err = expect_failure(
        &out,
        1,
        &["Permission denied", &data.display().to_string(), "chown"],
    );
    assert!(
        err.contains("mode 500") || err.contains("mode 0500"),
        "{err}"
    );
    // Nothing was created: the read-only directory is still empty.
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    assert_eq!(std::fs::read_dir(&parent).expect("ro").count(), 0);
}
