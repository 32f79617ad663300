//! tcp and icmp prober tests: open, refused and unanswered ports; echo to
//! the loopback address through whichever ICMP socket this host allows.

use std::time::Duration;

use quptime::state::CheckType;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::{assert_down, assert_up, check, closed_port, probers};

#[tokio::test]
async fn tcp_open_closed_and_unanswered() {
    let p = probers();
    let open = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = open.local_addr().expect("addr").to_string();
    assert_up(&p.probe(&check(CheckType::Tcp, addr)).await, "connected");
    let port = closed_port().await;
    let r = p
        .probe(&check(CheckType::Tcp, format!("127.0.0.1:{port}")))
        .await;
    assert_down(&r, "connect: connection refused");

    // A listener whose accept queue is full drops new SYNs: connect hangs.
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let full = socket.listen(0).expect("listen");
    let addr = full.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..2 {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await
        {
            fillers.push(s);
        }
    }
    let mut c = check(CheckType::Tcp, addr.to_string());
    c.timeout = Duration::from_millis(400);
    let r = p.probe(&c).await;
    assert_down(&r, "timeout after 400ms");
}

// ---- icmp ----

/// Which ICMP socket this host lets us open, asked of the kernel directly.
fn icmp_socket_allowed() -> Option<&'static str> {
    for (ty, name) in [
        (libc::SOCK_DGRAM, "datagram (unprivileged)"),
        (libc::SOCK_RAW, "raw"),
    ] {
        // SAFETY: socket() has no memory preconditions; a valid fd is closed at once.
        let fd = unsafe { libc::socket(libc::AF_INET, ty, libc::IPPROTO_ICMP) };
        if fd >= 0 {
            // SAFETY: fd was just opened by us and is not used elsewhere.
            unsafe { libc::close(fd) };
            return Some(name);
        }
    }
    None
}

/// Probe 127.0.0.1 and assert what this process's privileges allow: a
/// reply when some ICMP socket can be opened, else the refusal naming the
/// fixes. Prints which path was taken.
async fn icmp_loopback_as_allowed(who: &str) {
    let p = probers();
    let mut c = check(CheckType::Icmp, "127.0.0.1");
    c.timeout = Duration::from_secs(2);
    let r = p.probe(&c).await;
    match icmp_socket_allowed() {
        Some(path) => {
            println!("icmp path ({who}): {path} socket; probe gave {r:?}");
            assert_up(&r, "reply from 127.0.0.1");
            assert!(r.latency < Duration::from_secs(1), "{r:?}");
            // Host names are resolved first (from /etc/hosts here).
            c.target = "localhost".into();
            let r = p.probe(&c).await;
            assert!(r.ok && r.detail.starts_with("reply from "), "{r:?}");
            // Several echoes per probe, judged for loss and round trip.
            c.probe = quptime::state::Probe::Icmp(quptime::state::IcmpProbe {
                count: Some(5),
                max_loss: Some(40),
                max_rtt: Some(Duration::from_millis(200)),
            });
            let r = p.probe(&c).await;
            assert!(r.ok, "{r:?}");
            assert!(
                r.detail.starts_with("5/5 replies from 127.0.0.1, rtt avg "),
                "{r:?}"
            );
            // A bound no loopback round trip can meet: down, saying so.
            c.probe = quptime::state::Probe::Icmp(quptime::state::IcmpProbe {
                count: Some(3),
                max_loss: None,
                max_rtt: Some(Duration::from_millis(1)),
            });
            let r = p.probe(&c).await;
            println!("icmp 3 echoes, max_rtt 1ms: {r:?}");
            if !r.ok {
                assert!(
                    r.detail.starts_with("rtt avg ") && r.detail.ends_with(" > 1ms"),
                    "{r:?}"
                );
            } else {
                assert!(r.latency <= Duration::from_millis(1), "{r:?}");
            }
            c.probe = quptime::state::Probe::Icmp(Default::default());
            // Many probes at once share the socket and keep their replies apart.
            c.target = "127.0.0.1".into();
            let runs = (0..20).map(|_| p.probe(&c));
            for r in futures_util::future::join_all(runs).await {
                assert_up(&r, "reply from 127.0.0.1");
            }
        }
        None => {
            println!("icmp path ({who}): no ICMP socket allowed; probe gave {r:?}");
            assert!(!r.ok, "{r:?}");
            assert!(r.detail.starts_with("icmp: not permitted: "), "{r:?}");
            assert!(
                r.detail
                    .contains("net.ipv4.ping_group_range=\"0 2147483647\"")
                    && r.detail.contains("CAP_NET_RAW"),
                "{r:?}"
            );
        }
    }
}

#[tokio::test]
async fn icmp_echo_to_loopback_or_a_clear_refusal() {
    icmp_loopback_as_allowed("this process").await;
}

const AS_NOBODY: &str = "QUPTIME_TEST_ICMP_AS_NOBODY";

/// Run as root, the test above takes the raw-socket path; this one runs
/// the same assertions in a child process that first drops to `nobody`, so
/// the other path (datagram socket, or the refusal) is exercised for real.
#[tokio::test]
async fn icmp_as_an_unprivileged_user() {
    const NAME: &str = "sockets::icmp_as_an_unprivileged_user";
    if std::env::var_os(AS_NOBODY).is_some() {
        // SAFETY: plain syscalls; this child process runs only this test.
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(65534) == 0
                && libc::setuid(65534) == 0
        };
        assert!(dropped, "could not drop privileges");
        icmp_loopback_as_allowed("uid 65534").await;
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("icmp: already unprivileged; icmp_echo_to_loopback_or_a_clear_refusal covers it");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new(exe)
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(AS_NOBODY, "1")
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed");
    assert!(text.contains("icmp path (uid 65534)"), "child ran nothing");
}

#[tokio::test]
async fn icmp_down_when_the_echo_cannot_be_sent() {
    let r = probers()
        .probe(&check(CheckType::Icmp, "255.255.255.255"))
        .await;
    println!("icmp to broadcast: {r:?}");
    assert!(!r.ok && r.detail.starts_with("icmp: "), "{r:?}");
}
