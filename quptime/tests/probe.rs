//! The probers against real targets on 127.0.0.1: an HTTP(S) server, TLS
//! servers with chosen certificates, open and closed TCP ports, ICMP echo
//! to the loopback address and a DNS responder, all run by the tests
//! themselves. No mocks, no internet: nothing here sends a packet beyond
//! the loopback interface. Every prober is tested up, down and out of time
//! (in its own file under `probe/`), and all of them together against
//! targets that are not there (the conformance test below).

#[path = "probe/certs.rs"]
mod certs;
#[path = "probe/dns.rs"]
mod dns;
#[path = "probe/dns_server.rs"]
mod dns_server;
#[path = "probe/http.rs"]
mod http;
#[path = "probe/http_request.rs"]
mod http_request;
#[path = "probe/sockets.rs"]
mod sockets;
#[path = "probe/tcp_banner.rs"]
mod tcp_banner;
#[path = "probe/tcp_tls.rs"]
mod tcp_tls;
#[path = "probe/tls.rs"]
mod tls;
#[path = "probe/web.rs"]
mod web;

use std::time::Duration;

use quptime::probe::{ProbeResult, Probers};
use quptime::state::{Check, CheckType};
use tokio::net::{TcpListener, UdpSocket};

/// A check of `kind` on `target` with a 3 s timeout.
pub fn check(kind: CheckType, target: impl Into<String>) -> Check {
    Check {
        id: "c1".into(),
        name: "probe-test".into(),
        target: target.into(),
        timeout: Duration::from_secs(3),
        ..Check::blank(kind)
    }
}

/// Probers trusting only the system's roots.
pub fn probers() -> Probers {
    Probers::new().expect("probers")
}

#[track_caller]
pub fn assert_up(r: &ProbeResult, detail: &str) {
    assert!(r.ok, "expected up, got {r:?}");
    assert_eq!(r.detail, detail, "{r:?}");
}

#[track_caller]
pub fn assert_down(r: &ProbeResult, detail: &str) {
    assert!(!r.ok, "expected down, got {r:?}");
    assert_eq!(r.detail, detail, "{r:?}");
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

/// A UDP port on 127.0.0.1 that nothing listens on.
async fn closed_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    s.local_addr().expect("addr").port()
}

/// Every prober, against a target that is not there, fails cleanly: down,
/// a detail that says something, and no later than its timeout (plus a
/// little scheduling slack).
#[tokio::test]
async fn conformance_every_prober_fails_cleanly_on_absent_targets() {
    let p = probers();
    let port = closed_port().await;
    let udp = closed_udp_port().await;
    let timeout = Duration::from_secs(2);
    let mut dns = check(CheckType::Dns, "web.test");
    dns.dns_mut().expect("dns").resolver = Some(format!("127.0.0.1:{udp}"));
    let cases = [
        check(CheckType::Http, format!("http://127.0.0.1:{port}/")),
        check(CheckType::Http, format!("https://127.0.0.1:{port}/")),
        check(CheckType::Tcp, format!("127.0.0.1:{port}")),
        check(CheckType::Tls, format!("127.0.0.1:{port}")),
        // Limited broadcast: the kernel refuses to send an echo there
        // without SO_BROADCAST, so no packet leaves the host.
        check(CheckType::Icmp, "255.255.255.255"),
        dns,
    ];
    let runs = cases.into_iter().map(|mut c| {
        c.timeout = timeout;
        let p = p.clone();
        async move { (p.probe(&c).await, c) }
    });
    for (r, c) in futures_util::future::join_all(runs).await {
        println!("{} {:<28} -> {r:?}", c.kind().as_str(), c.target);
        assert!(!r.ok, "{} {}: {r:?}", c.kind().as_str(), c.target);
        assert!(!r.detail.trim().is_empty(), "{r:?}");
        assert!(r.detail.len() < 200, "detail too long: {r:?}");
        assert!(
            r.latency <= timeout + Duration::from_millis(500),
            "{} took {:?}",
            c.kind().as_str(),
            r.latency
        );
    }
}

/// A result travels between nodes as JSON.
#[test]
fn results_serialize() {
    let r = ProbeResult {
        ok: false,
        latency: Duration::from_micros(1500),
        detail: "status 503 Service Unavailable".into(),
    };
    let json = serde_json::to_string(&r).expect("json");
    assert_eq!(serde_json::from_str::<ProbeResult>(&json).expect("back"), r);
}
