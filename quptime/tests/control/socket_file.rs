//! The socket file's life on disk: modes, the directory checks, a stale
//! socket, a second daemon, cleanup on shutdown, and the error a `qu` gets
//! when no daemon is there.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use super::*;

#[tokio::test]
async fn socket_is_0600_in_a_0700_directory() {
    let f = start().await;
    let meta = std::fs::symlink_metadata(&f.path).expect("stat");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.mode() & 0o7777, 0o600);
    assert_eq!(mode(f.path.parent().expect("dir")), 0o700);
    f.server.shutdown().await;
}

#[tokio::test]
async fn shared_or_foreign_directories_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let path = shared.join("quptime.sock");
    let err = ControlServer::bind(&path, ControlRouter::new())
        .await
        .expect_err("world-writable dir");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let text = err.to_string();
    assert!(text.contains(&shared.display().to_string()), "{text}");
    assert!(
        text.contains("0777") && text.contains("QUPTIME_SOCKET"),
        "{text}"
    );
    assert!(!path.exists());

    if euid() == 0 {
        // Owned by someone else, even if private.
        let foreign = dir.path().join("foreign");
        std::fs::create_dir(&foreign).expect("mkdir");
        std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).expect("chown");
        let err = ControlServer::bind(&foreign.join("quptime.sock"), ControlRouter::new())
            .await
            .expect_err("foreign dir");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("uid 65534"), "{err}");
    }
}

#[tokio::test]
async fn stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("quptime.sock");
    // A crashed daemon leaves its socket file behind.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    let server = ControlServer::bind(&path, router(Arc::new(Notify::new())))
        .await
        .expect("stale socket replaced");
    let client = ControlClient::connect(&path).await.expect("connect");
    assert_eq!(client.call::<Echo>(&"x".into()).await.expect("echo"), "x");
    server.shutdown().await;
}

#[tokio::test]
async fn second_server_is_refused_while_the_first_runs() {
    let f = start().await;
    let err = ControlServer::bind(&f.path, ControlRouter::new())
        .await
        .expect_err("second server");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let text = err.to_string();
    assert!(text.contains("already running"), "{text}");
    assert!(text.contains(&f.path.display().to_string()), "{text}");
    // The first one is untouched.
    let client = ControlClient::connect(&f.path).await.expect("connect");
    assert_eq!(client.call::<Echo>(&"x".into()).await.expect("echo"), "x");
    f.server.shutdown().await;
}

#[tokio::test]
async fn shutdown_removes_only_our_socket() {
    let f = start().await;
    let path = f.path.clone();
    f.server.shutdown().await;
    assert!(!path.exists(), "socket removed on shutdown");
    let err = ControlClient::connect(&path).await.expect_err("gone");
    assert_eq!(err.kind(), ErrorKind::Transport);

    // A socket that replaced ours is left alone.
    let server = ControlServer::bind(&path, ControlRouter::new())
        .await
        .expect("bind");
    std::fs::remove_file(&path).expect("rm");
    let _other = std::os::unix::net::UnixListener::bind(&path).expect("bind other");
    server.shutdown().await;
    assert!(
        path.exists(),
        "someone else's socket must survive our shutdown"
    );

    // Dropping a server without shutdown cleans up too.
    std::fs::remove_file(&path).expect("rm");
    let server = ControlServer::bind(&path, ControlRouter::new())
        .await
        .expect("bind");
    drop(server);
    assert!(!path.exists());
}

#[tokio::test]
async fn no_daemon_error_names_the_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("quptime.sock");
    let err = ControlClient::connect(&path).await.expect_err("no daemon");
    assert_eq!(err.kind(), ErrorKind::Transport);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot reach the qu daemon at {}: no such file",
            path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("qu serve") && text.contains("QUPTIME_SOCKET"),
        "{text}"
    );

    // A stale socket file: nothing listens.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    let err = ControlClient::connect(&path).await.expect_err("stale");
    assert_eq!(err.kind(), ErrorKind::Transport);
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("refused") && text.contains("qu serve"),
        "{text}"
    );
}

/// Environment of [`child_probe`], set only when a test re-runs this binary
/// as another user.
const CHILD_SOCKET: &str = "QUPTIME_CONTROL_TEST_SOCKET";
const CHILD_EXPECT: &str = "QUPTIME_CONTROL_TEST_EXPECT";

/// Not a test on its own: [`other_users_are_kept_out`] runs it as `nobody`.
#[test]
fn child_probe() {
    let (Ok(path), Ok(expect)) = (std::env::var(CHILD_SOCKET), std::env::var(CHILD_EXPECT)) else {
        return;
    };
    let outcome = BlockingControlClient::connect(Path::new(&path))
        .and_then(|client| client.call::<Echo>(&"x".into()));
    let err = outcome.expect_err("another user must be kept out");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&expect), "{err}");
}

/// Run `child_probe` as uid 65534 against `path`, off the runtime so that
/// the server keeps running meanwhile.
async fn probe_as_nobody(path: &Path, expect: &str) {
    let (path, expect) = (path.to_path_buf(), expect.to_string());
    tokio::task::spawn_blocking(move || probe_as_nobody_blocking(&path, &expect))
        .await
        .expect("probe");
}

fn probe_as_nobody_blocking(path: &Path, expect: &str) {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args(["--exact", "socket_file::child_probe", "--nocapture"])
        .env(CHILD_SOCKET, path)
        .env(CHILD_EXPECT, expect)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run the probe");
    assert!(
        out.status.success(),
        "probe as nobody failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn other_users_are_kept_out() {
    if euid() != 0 {
        return; // needs root to act as another user
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.path().join("quptime.sock");
    let server = ControlServer::bind(&path, router(Arc::new(Notify::new())))
        .await
        .expect("bind");
    // The kernel refuses: the error says whose socket it is.
    probe_as_nobody(&path, "the socket").await;
    probe_as_nobody(&path, "belongs to root (uid 0)").await;
    // Even if the mode is loosened, the daemon checks the caller's uid.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    probe_as_nobody(&path, "runs as root (uid 0): only root may use").await;
    server.shutdown().await;
}
