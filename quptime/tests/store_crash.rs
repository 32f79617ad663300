//! Store tests that need a process of their own.
//!
//! Crash safety can only be shown by killing a real writer, and the umask,
//! the file size limit and the environment are per process, so changing
//! them inside the shared test process would disturb other tests. Each test
//! here therefore re-executes this test binary (`current_exe`) with
//! `QUPTIME_STORE_CHILD=<role>` set, running only [`child_process_entry`],
//! which plays that role; in a normal run `child_process_entry` does
//! nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quptime::ErrorKind;
use quptime::store::node_file::check_host_port;
use quptime::store::{NodeConfig, cleanup_temp_files, ensure_dir, write_atomic};

const ROLE: &str = "QUPTIME_STORE_CHILD";
const TARGET: &str = "QUPTIME_STORE_CHILD_TARGET";
const READY: &str = "QUPTIME_STORE_CHILD_READY";
const SIZE: usize = 4 << 20;

fn child(role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_process_entry", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(ROLE, role);
    cmd
}

fn run_child(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "child failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path_var(key: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(key).unwrap())
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Plays the role named by `QUPTIME_STORE_CHILD`; a no-op otherwise.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    match role.as_str() {
        "crash-writer" => crash_writer(&path_var(TARGET), &path_var(READY)),
        "umask" => umask_child(&path_var(TARGET)),
        "fsize" => fsize_child(&path_var(TARGET)),
        "env" => env_child(&path_var(TARGET)),
        "env-bad" => {
            let err = NodeConfig::load_with_env(&path_var(TARGET)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let msg = err.to_string();
            assert!(
                msg.starts_with("QUPTIME_BIND_PORT: \"port-seven\" is not a port"),
                "{msg}"
            );
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Rewrite the target with alternating 4 MiB files until killed (or for
/// at most a minute, so an orphan cannot run forever).
fn crash_writer(target: &Path, ready: &Path) {
    let contents = [vec![b'b'; SIZE], vec![b'a'; SIZE]];
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0.. {
        write_atomic(target, &contents[i % 2], 0o600).unwrap();
        if i == 0 {
            fs::write(ready, b"").unwrap();
        }
        if Instant::now() > deadline {
            break;
        }
    }
}

fn umask_child(dir: &Path) {
    for umask in [0o000, 0o077, 0o277, 0o777] {
        // SAFETY: umask only swaps the process's mask; this process is a
        // single-purpose child.
        unsafe { libc::umask(umask) };
        for want in [0o600, 0o644, 0o640] {
            let path = dir.join(format!("f-{umask:o}-{want:o}"));
            write_atomic(&path, b"x", want).unwrap();
            assert_eq!(mode(&path), want, "umask {umask:o}");
            write_atomic(&path, b"y", want).unwrap();
            assert_eq!(mode(&path), want, "umask {umask:o}, replaced");
        }
        let keys = dir.join(format!("keys-{umask:o}"));
        ensure_dir(&keys, 0o700).unwrap();
        assert_eq!(mode(&keys), 0o700, "umask {umask:o}");
    }
}

/// Fail the write half-way with EFBIG (file size limit) and check that the
/// previous file and the directory are as they were.
fn fsize_child(dir: &Path) {
    let target = dir.join("cluster.yaml");
    write_atomic(&target, b"previous: true\n", 0o600).unwrap();
    // SAFETY: plain libc calls on this single-purpose child process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: 64 * 1024,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
    let err = write_atomic(&target, &vec![b'x'; 1 << 20], 0o600).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("cluster.yaml"), "{err}");
    let now = fs::read(&target).unwrap();
    assert!(
        now == b"previous: true\n",
        "target changed ({} bytes)",
        now.len()
    );
    assert_eq!(names(dir), ["cluster.yaml"]);
}

fn env_child(dir: &Path) {
    let cfg = NodeConfig::load_with_env(dir).unwrap();
    assert_eq!(cfg.node_id, "from-env");
    assert_eq!(cfg.bind_port, 7777);
    assert_eq!(cfg.advertise_addr(), "node.example:7777");
    // The file itself still holds what it held.
    assert_eq!(NodeConfig::load(dir).unwrap().bind_port, 9901);
    assert_eq!(quptime::paths::data_dir(), dir);
    assert_eq!(quptime::paths::socket_path(), dir.join("ctl.sock"));
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigkill_during_writes_never_leaves_a_torn_or_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let control = tempfile::tempdir().unwrap();
    let target = dir.path().join("cluster.yaml");
    write_atomic(&target, &vec![b'a'; SIZE], 0o600).unwrap();
    let (mut rounds_with_leftovers, mut seen) = (0, [false; 2]);
    for round in 0..20u64 {
        let ready = control.path().join(format!("ready-{round}"));
        let mut cmd = child("crash-writer");
        cmd.env(TARGET, &target).env(READY, &ready);
        let mut writer = KillOnDrop(cmd.stdout(Stdio::null()).spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "the writer never got going");
            assert!(writer.0.try_wait().unwrap().is_none(), "the writer died");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Kill at a different point of the write cycle each round.
        std::thread::sleep(Duration::from_micros(300 + round * 1_733 % 23_000));
        writer.0.kill().unwrap();
        writer.0.wait().unwrap();

        let bytes = fs::read(&target).unwrap();
        assert_eq!(bytes.len(), SIZE, "round {round}: torn file");
        let first = bytes[0];
        assert!(first == b'a' || first == b'b', "round {round}");
        assert!(bytes.iter().all(|&b| b == first), "round {round}: mixed");
        seen[usize::from(first == b'b')] = true;
        assert_eq!(mode(&target), 0o600);
        let others: Vec<String> = names(dir.path())
            .into_iter()
            .filter(|n| n != "cluster.yaml")
            .collect();
        for name in &others {
            assert!(name.starts_with("cluster.yaml.tmp-"), "stray {name}");
        }
        rounds_with_leftovers += usize::from(!others.is_empty());
    }
    // The writer spends nearly all its time inside write_atomic, so some
    // kills must have landed mid-write; otherwise this test proved nothing.
    assert!(rounds_with_leftovers > 0, "no kill landed mid-write");
    assert!(seen[1], "the writer never replaced the file");
    // The next write of the file removes the dead writers' temp files.
    write_atomic(&target, b"final", 0o600).unwrap();
    assert_eq!(names(dir.path()), ["cluster.yaml"]);
    assert_eq!(cleanup_temp_files(&target).unwrap(), 0);
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    run_child(child("umask").env(TARGET, dir.path()));
}

#[test]
fn a_write_that_fails_half_way_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    run_child(child("fsize").env(TARGET, dir.path()));
}

#[test]
fn process_environment_overrides_node_yaml_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    NodeConfig::new("from-file").save(dir.path()).unwrap();
    let mut cmd = child("env");
    cmd.env(TARGET, dir.path())
        .env("QUPTIME_NODE_ID", "from-env")
        .env("QUPTIME_BIND_PORT", "7777")
        .env("QUPTIME_BIND_ADDR", "")
        .env("QUPTIME_ADVERTISE", "node.example:7777")
        .env("QUPTIME_DIR", dir.path())
        .env("QUPTIME_SOCKET", dir.path().join("ctl.sock"));
    run_child(&mut cmd);

    let mut cmd = child("env-bad");
    cmd.env(TARGET, dir.path())
        .env("QUPTIME_BIND_PORT", "port-seven");
    run_child(&mut cmd);
}

#[test]
fn stale_temp_files_are_cleaned_up_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.yaml");
    let dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    let mut dead = dead;
    dead.wait().unwrap();
    let me = std::process::id();
    for name in [
        format!("f.yaml.tmp-{dead_pid}.0"), // a crashed writer
        format!("f.yaml.tmp-{me}.999999"),  // ours, not in flight
        "f.yaml.tmp-1234567".to_owned(),    // the Go qu's
        "f.yaml.tmp-1.0".to_owned(),        // pid 1 is alive: kept
        "f.yaml.bak".to_owned(),            // not a temp file
        "g.yaml.tmp-0.0".to_owned(),        // another file's
    ] {
        fs::write(dir.path().join(name), b"x").unwrap();
    }
    write_atomic(&target, b"new", 0o600).unwrap();
    let expected = ["f.yaml", "f.yaml.bak", "f.yaml.tmp-1.0", "g.yaml.tmp-0.0"];
    assert_eq!(names(dir.path()), expected);
    assert_eq!(cleanup_temp_files(&target).unwrap(), 0);
}

#[test]
fn advertise_addr_falls_back_to_the_bind_address() {
    let mut cfg = NodeConfig::new("n1");
    let mut seen = Vec::new();
    for (bind, port) in [
        ("0.0.0.0", 9901),
        ("::", 1),
        ("10.0.0.7", 7),
        ("fd00::7", 1),
    ] {
        (cfg.bind_addr, cfg.bind_port) = (bind.into(), port);
        seen.push(cfg.advertise_addr());
    }
    cfg.advertise = "n1.example:9901".into();
    seen.push(cfg.advertise_addr());
    let want = ["127.0.0.1:9901", "127.0.0.1:1", "10.0.0.7:7", "[fd00::7]:1"];
    assert_eq!(seen[..4], want);
    assert_eq!(seen[4], "n1.example:9901");
}

#[test]
fn host_port_forms() {
    for ok in ["a:1", "n1.example.com:9901", "10.0.0.5:65535", "[::1]:9901"] {
        check_host_port(ok).unwrap();
    }
    for bad in [
        "a",
        ":9901",
        "a:",
        "a:0",
        "a:65536",
        "a:+1",
        "[::1:9901",
        "[x]:1",
        "a b:1",
    ] {
        assert!(check_host_port(bad).is_err(), "{bad}");
    }
}
