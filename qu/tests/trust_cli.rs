//! The CLI's trust in what it talks to, with real processes:
//! - a control socket served by another uid (a fake daemon run as `nobody`)
//!   gets no byte of `qu alert add smtp … --password …`;
//! - a pre-created last-resort socket directory (`$TMPDIR/quptime-$USER`)
//!   that another user owns, or that others can write, is refused;
//! - short cluster secrets are refused with the rule; generated ones carry
//!   256 bits.
//!
//! Tests that need root (to run a process as another user) print why and
//! return when not root, and fail when `CI` is set (CI runs as root).

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{Cluster, Node, Proc, QU, is_root, root_or_skip, text};

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A fake daemon: listens on `socket` as `nobody` and reports, per
/// connection, the bytes it received ("got N" as they come, "closed N" at
/// the end).
struct FakeDaemon {
    child: Child,
    lines: mpsc::Receiver<String>,
}

const FAKE: &str = r#"
use IO::Socket::UNIX;
$| = 1;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 8)
    or die "listen: $!";
print "listening\n";
while (my $c = $s->accept()) {
    my $n = 0;
    while (1) {
        my $r = sysread($c, my $buf, 65536);
        last if !$r;
        $n += $r;
        print "got $n\n";
    }
    print "closed $n\n";
}
"#;

impl FakeDaemon {
    fn start(socket: &Path) -> FakeDaemon {
        let mut child = Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "perl",
                "-e",
                FAKE,
            ])
            .arg(socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the fake daemon (setpriv, perl)");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let d = FakeDaemon { child, lines };
        assert_eq!(d.next(), "listening");
        d
    }

    /// The next line it printed (bounded wait).
    fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the fake daemon reported in time")
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_add(socket: &Path, data: &Path, service_user: Option<&str>) -> Command {
    let mut cmd = Command::new(QU);
    cmd.args([
        "alert",
        "add",
        "smtp",
        "ops",
        "--host",
        "127.0.0.1",
        "--port",
        "2525",
        "--from",
        "m@example.com",
        "--to",
        "o@example.com",
        "--user",
        "bot",
        "--password",
        "hunter2-very-secret",
    ])
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    .env("QUPTIME_SOCKET", socket)
    .env("QUPTIME_DIR", data)
    .env("NO_COLOR", "1");
    if let Some(u) = service_user {
        cmd.env("QUPTIME_SERVICE_USER", u);
    }
    cmd
}

#[test]
fn a_socket_served_by_another_user_receives_no_byte_of_a_password() {
    if !root_or_skip(
        "a_socket_served_by_another_user_receives_no_byte_of_a_password",
        "run a process as another user",
    ) {
        return;
    }
    let c = Cluster::empty();
    chmod(c.root(), 0o711);
    let dir = c.root().join("run");
    std::fs::create_dir(&dir).expect("mkdir");
    chown(&dir, NOBODY, NOGROUP);
    chmod(&dir, 0o700);
    let socket = dir.join("quptime.sock");
    let fake = FakeDaemon::start(&socket);
    // Root takes the directory back (a socket moved into a root-owned
    // directory looks the same): only the listener's uid is left to tell.
    chown(&dir, 0, 0);
    chmod(&dir, 0o755);
    let data = c.root().join("data-none");

    let out = Proc::spawn(smtp_add(&socket, &data, None), "qu alert add".into())
        .finish(Duration::from_secs(20));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("refusing to talk to the control socket")
            && err.contains("nobody (uid 65534)")
            && err.contains("nothing was sent")
            && err.contains("QUPTIME_SERVICE_USER"),
        "{err}"
    );
    assert_eq!(fake.next(), "closed 0", "the fake daemon received bytes");

    // A directory the other user owns is refused before connecting at all.
    chown(&dir, NOBODY, NOGROUP);
    let out = Proc::spawn(smtp_add(&socket, &data, None), "qu alert add".into())
        .finish(Duration::from_secs(20));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("another user owns it") && err.contains("nobody (uid 65534)"),
        "{err}"
    );
    assert!(
        fake.lines.recv_timeout(Duration::from_millis(500)).is_err(),
        "the fake daemon saw a connection"
    );

    // Named as the service user, the same daemon is trusted and hears the
    // request: the refusals above are the checks, not an accident.
    chown(&dir, 0, 0);
    let mut cmd = smtp_add(&socket, &data, Some("nobody"));
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut trusting = cmd.spawn().expect("spawn");
    let line = fake.next();
    let _ = trusting.kill();
    let _ = trusting.wait();
    assert!(line.starts_with("got "), "{line}");
}

/// `qu status` through the last-resort socket path, as `user` (`None`:
/// this process's user) with `$TMPDIR` = `tmp`.
fn status_via_tmp(tmp: &Path, user: Option<&str>, name: &str) -> (bool, String) {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={u}"),
                "--regid=nogroup",
                "--clear-groups",
                QU,
            ]);
            c
        }
        None => Command::new(QU),
    };
    cmd.arg("status")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TMPDIR", tmp)
        .env("USER", name)
        .env("QUPTIME_DIR", tmp.join("data-none"))
        .env("NO_COLOR", "1");
    let out = Proc::spawn(cmd, "qu status".into()).finish(Duration::from_secs(20));
    (out.status.success(), text(&out.stderr))
}

#[test]
fn a_pre_created_last_resort_socket_dir_is_refused() {
    for fixed in [quptime::paths::RUN_SOCKET, quptime::paths::VAR_RUN_SOCKET] {
        assert!(
            !Path::new(fixed).exists(),
            "{fixed} exists on this machine: the last-resort path is not used"
        );
    }
    let c = Cluster::empty();
    chmod(c.root(), 0o711);
    let tmp = c.root().join("tmp");
    std::fs::create_dir(&tmp).expect("mkdir");
    chmod(&tmp, 0o755);
    // As root the socket is /var/run/quptime/…: the last resort is a
    // non-root user's, so run as nobody when root, else as ourselves.
    let (user, name) = if is_root() {
        (Some("nobody"), "nobody".to_string())
    } else {
        (None, std::env::var("USER").unwrap_or_else(|_| "me".into()))
    };
    let dir = tmp.join(format!("quptime-{name}"));
    std::fs::create_dir(&dir).expect("mkdir");
    if is_root() {
        chown(&dir, NOBODY, NOGROUP);
    }
    // Writable by everyone (as a careless `mkdir -m 777` leaves it).
    chmod(&dir, 0o777);
    let (ok, err) = status_via_tmp(&tmp, user, &name);
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!("quptime-{name}/quptime.sock"))
            && err.contains("other users can write to it")
            && err.contains("mode 0777"),
        "{err}"
    );

    if !root_or_skip(
        "a_pre_created_last_resort_socket_dir_is_refused (foreign owner)",
        "run a process as another user",
    ) {
        return;
    }
    // Another user made it first, private to them.
    chown(&dir, 4242, 4242);
    chmod(&dir, 0o700);
    let (ok, err) = status_via_tmp(&tmp, user, &name);
    assert!(!ok, "{err}");
    assert!(
        err.contains("another user owns it") && err.contains("uid 4242"),
        "{err}"
    );
    // Ours and private: the usual "not running" answer.
    chown(&dir, NOBODY, NOGROUP);
    let (ok, err) = status_via_tmp(&tmp, user, &name);
    assert!(!ok, "{err}");
    assert!(
        err.contains("no such file") && err.contains("qu serve"),
        "{err}"
    );
}

#[test]
fn short_cluster_secrets_are_refused_with_the_rule() {
    let c = Cluster::empty();
    for (i, weak) in [
        "a",
        "s3cret",
        "0123456789abcdef0123456789abcde",
        &"x".repeat(40),
    ]
    .into_iter()
    .enumerate()
    {
        let node = Node::new(c.root(), &format!("w{i}"), &[]);
        let out = node.qu(&["init", "--secret", weak]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{weak}: accepted");
        assert!(
            err.contains("128 bits") && err.contains("openssl rand -hex 32"),
            "{weak}: {err}"
        );
        assert!(
            !node.data().join("node.yaml").exists(),
            "{weak}: wrote node.yaml"
        );
        // The same through the environment, for `qu init` and `qu serve`.
        let mut cmd = node.command(&["init"]);
        cmd.env("QUPTIME_CLUSTER_SECRET", weak);
        let out = Proc::spawn(cmd, "qu init".into()).finish(Duration::from_secs(20));
        assert!(
            !out.status.success(),
            "{weak}: accepted from the environment"
        );
        assert!(text(&out.stderr).contains("QUPTIME_CLUSTER_SECRET"));
        let mut cmd = node.command(&["serve"]);
        cmd.env("QUPTIME_CLUSTER_SECRET", weak);
        let out = Proc::spawn(cmd, "qu serve".into()).finish(Duration::from_secs(20));
        assert!(
            !out.status.success(),
            "{weak}: qu serve initialised with it"
        );
        assert!(
            text(&out.stderr).contains("128 bits"),
            "{}",
            text(&out.stderr)
        );
    }
    // Generated: 64 hex digits; and a 32-hex-digit one is enough.
    let founder = Node::new(c.root(), "f", &[]);
    let secret = founder.init(None);
    assert!(
        secret.len() == 64 && secret.chars().all(|ch| ch.is_ascii_hexdigit()),
        "{secret}"
    );
    let joiner = Node::new(c.root(), "j", &[]);
    joiner.init(Some("9dbef9d4c1a07e55b3f2d8c6a4e10b7f"));
}
