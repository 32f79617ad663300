//! `qu init` and `qu serve` as real processes: output, files and modes,
//! refusal to overwrite, bad input, and a served node answering over TLS.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use quptime::ErrorKind;
use quptime::identity::{Identity, NodeId};
use quptime::store::NodeConfig;
use quptime::transport::{Dialer, Hello, Limits, Ping};
use quptime::trust::{TrustStore, TrustedPeer, now_rfc3339};

fn qu(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qu"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("QUPTIME_DIR", dir)
        .env("QUPTIME_SOCKET", socket_for(dir))
        .output()
        .expect("run qu")
}

/// A control socket path beside the data dir (inside the test's own 0700
/// temp dir).
fn socket_for(dir: &Path) -> std::path::PathBuf {
    dir.parent().expect("parent").join("qu.sock")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Every file under `dir` with its bytes, to prove nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).expect("read")));
        }
    }
    out.sort();
    out
}

#[test]
fn init_creates_the_identity_and_refuses_to_run_twice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let out = qu(
        &dir,
        &[
            "init",
            "--advertise",
            "127.0.0.1:19901",
            "--bind",
            "127.0.0.1",
            "--port",
            "19901",
        ],
    );
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("initialised node "))
        .expect("initialised line")
        .to_string();
    assert!(
        stdout.contains(&format!("data dir: {}", dir.display())),
        "{stdout}"
    );
    assert!(stdout.contains("advertise: 127.0.0.1:19901"), "{stdout}");

    assert_eq!(mode(&dir.join("node.yaml")), 0o600);
    assert_eq!(mode(&dir.join("keys")), 0o700);
    assert_eq!(mode(&dir.join("keys/private.pem")), 0o600);
    assert_eq!(mode(&dir.join("keys/public.pem")), 0o644);
    assert_eq!(mode(&dir.join("keys/cert.pem")), 0o644);
    let config = NodeConfig::load(&dir).expect("node.yaml");
    assert_eq!(config.node_id, id);
    assert_eq!(config.bind_addr, "127.0.0.1");
    assert_eq!(config.bind_port, 19901);
    // The printed fingerprint is the one of the stored key.
    let identity = Identity::load(&dir, NodeId::new(id.clone()).expect("id")).expect("identity");
    assert!(stdout.contains(identity.fingerprint().as_str()), "{stdout}");

    let before = snapshot(&dir);
    let again = qu(&dir, &["init", "--port", "19902"]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = text(&again.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(&id) && stderr.contains("never overwrites"),
        "{stderr}"
    );
    assert_eq!(snapshot(&dir), before, "a refused init must change nothing");
}

#[test]
fn init_rejects_bad_input_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let out = qu(&dir, &["init", "--advertise", "no-port-here"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("advertise") && stderr.contains("host:port"),
        "{stderr}"
    );
    let out = qu(&dir, &["init", "--bind", "everywhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bind_addr"),
        "{}",
        text(&out.stderr)
    );
    // Usage errors are clap's: exit 2.
    let out = qu(&dir, &["init", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = qu(&dir, &["init", "--port", "99999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.exists(), "nothing may be written on bad input");
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_serve(dir: &Path) -> Daemon {
    Daemon(
        Command::new(env!("CARGO_BIN_EXE_qu"))
            .arg("serve")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("QUPTIME_DIR", dir)
            .env("QUPTIME_SOCKET", socket_for(dir))
            .env("QUPTIME_LOG", "debug")
            .stdout(Stdio::null())
            // A file, not a pipe: an unread pipe fills up and blocks the daemon.
            .stderr(
                std::fs::File::create(dir.parent().expect("parent").join("serve.log"))
                    .expect("log file"),
            )
            .spawn()
            .expect("spawn qu serve"),
    )
}

async fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "qu serve did not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn serve_prunes_non_member_trust_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let port = free_port();
    let out = qu(
        &dir,
        &["init", "--bind", "127.0.0.1", "--port", &port.to_string()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = NodeConfig::load(&dir).expect("config");
    let served =
        Identity::load(&dir, NodeId::new(config.node_id.clone()).expect("id")).expect("id");

    // A client written into trust.yaml by hand, and one never trusted.
    let friend = Identity::generate(NodeId::new("friend").expect("id")).expect("identity");
    TrustStore::load(&dir)
        .expect("trust")
        .add(TrustedPeer {
            node_id: friend.node_id().clone(),
            address: "127.0.0.1:1".into(),
            fingerprint: friend.fingerprint().clone(),
            cert_pem: friend.cert_pem().into(),
            added_at: now_rfc3339(),
        })
        .expect("add");
    let stranger = Identity::generate(NodeId::new("stranger").expect("id")).expect("identity");

    let mut daemon = spawn_serve(&dir);
    let addr = format!("127.0.0.1:{port}");
    wait_listening(&addr).await;

    // trust.yaml follows the replicated membership: the founder's peers
    // table holds only itself, so the hand-written entry for `friend` (not
    // a member) is pruned at start and its calls are refused from then on.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let conn = Dialer::new(&friend, Limits::default())
            .connect(&addr, Some(served.fingerprint()))
            .await
            .expect("pinned connect");
        match conn.call::<Ping>(&()).await {
            Err(e) if e.kind() == ErrorKind::NotTrusted => break,
            other => assert!(
                Instant::now() < deadline,
                "a non-member's trust entry was not pruned: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = TrustStore::load(&dir).expect("trust store");
    assert!(
        kept.list().iter().all(|p| p.node_id != *friend.node_id()),
        "trust.yaml still lists a non-member"
    );

    let conn = Dialer::new(&stranger, Limits::default())
        .connect(&addr, None)
        .await
        .expect("tofu connect");
    assert_eq!(conn.peer_fingerprint(), served.fingerprint());
    let info = conn.call::<Hello>(&()).await.expect("hello is open");
    assert_eq!(info.node_id.as_str(), config.node_id);
    let err = conn.call::<Ping>(&()).await.expect_err("stranger ping");
    assert_eq!(err.kind(), ErrorKind::NotTrusted);

    // SIGHUP: nothing to reopen (logs go to stderr); the daemon keeps serving.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGHUP) };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        daemon.0.try_wait().expect("wait").is_none(),
        "SIGHUP must not stop qu serve"
    );
    let conn = Dialer::new(&stranger, Limits::default())
        .connect(&addr, None)
        .await
        .expect("reconnect after SIGHUP");
    let info = conn.call::<Hello>(&()).await.expect("hello after SIGHUP");
    assert_eq!(info.node_id.as_str(), config.node_id);

    // SIGTERM: a clean, prompt exit.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = daemon.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "qu serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}

#[test]
fn serve_refuses_a_taken_port_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let out = qu(
        &dir,
        &["init", "--bind", "127.0.0.1", "--port", &port.to_string()],
    );
    assert!(out.status.success());
    let out = qu(&dir, &["serve"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("already in use"), "{stderr}");
    drop(taken);
}

#[test]
fn serve_initialises_from_the_environment_on_first_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qu"))
        .arg("serve")
        .env_clear()
        .env("QUPTIME_DIR", &dir)
        .env("QUPTIME_SOCKET", socket_for(&dir))
        .env("QUPTIME_NODE_ID", "env-node")
        .env("QUPTIME_BIND_ADDR", "127.0.0.1")
        .env("QUPTIME_BIND_PORT", port.to_string())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = NodeConfig::load(&dir).expect("node.yaml written");
    assert_eq!(config.node_id, "env-node");
    assert_eq!(config.bind_port, port);
    let _ = child.kill();
    let _ = child.wait();
}
