//! The mutual-TLS transport over real loopback sockets: pinning, trust
//! gating, and every bound a hostile or broken client can hit.

use std::time::{Duration, Instant};

use quptime::ErrorKind;
use quptime::identity::{Identity, NodeId};
use quptime::transport::{Hello, Limits, NodeInfo, Peer, Ping, Router, Rpc};
use quptime_tests::{TestNode, expect_closed, raw_tls, short_limits, tcp_from, tls_over};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// A method that sleeps, to show calls on one connection are independent.
enum Sleep {}
#[derive(Serialize, Deserialize)]
struct SleepFor {
    ms: u64,
}
impl Rpc for Sleep {
    const METHOD: &'static str = "test.sleep";
    type Request = SleepFor;
    type Response = String;
}

/// Echoes who the transport says the caller is.
enum WhoAmI {}
impl Rpc for WhoAmI {
    const METHOD: &'static str = "test.whoami";
    type Request = ();
    type Response = String;
}

fn test_router() -> Router {
    Router::new()
        .route::<Sleep, _, _>(|_p: Peer, req: SleepFor| async move {
            tokio::time::sleep(Duration::from_millis(req.ms)).await;
            Ok(format!("slept {}", req.ms))
        })
        .route::<WhoAmI, _, _>(|p: Peer, ()| async move { Ok(p.node_id()?.to_string()) })
        .route::<Hello, _, _>(|_p: Peer, ()| async move {
            Ok(NodeInfo {
                node_id: NodeId::new("server").expect("id"),
                advertise: "127.0.0.1:0".into(),
                version: quptime::VERSION.into(),
                protocol: quptime::transport::PROTOCOL_VERSION,
            })
        })
}

async fn pair() -> (TestNode, TestNode) {
    let a = TestNode::start("node-a", test_router(), Limits::default()).await;
    let b = TestNode::start("node-b", test_router(), Limits::default()).await;
    a.trust(&b.identity, &b.addr());
    b.trust(&a.identity, &a.addr());
    (a, b)
}

#[tokio::test]
async fn trusted_nodes_call_each_other_and_see_tls_identities() {
    let (a, b) = pair().await;
    let to_b = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("a dials b");
    let pong = to_b.call::<Ping>(&()).await.expect("ping");
    assert_eq!(pong.node_id.as_str(), "node-b");
    assert_eq!(to_b.peer_fingerprint(), b.identity.fingerprint());
    // The server names the caller from its TLS key.
    assert_eq!(to_b.call::<WhoAmI>(&()).await.expect("whoami"), "node-a");

    let to_a = b
        .dialer()
        .connect(&a.addr(), Some(a.identity.fingerprint()))
        .await
        .expect("b dials a");
    assert_eq!(to_a.call::<WhoAmI>(&()).await.expect("whoami"), "node-b");
    a.server.shutdown().await;
    b.server.shutdown().await;
}

#[tokio::test]
async fn a_slow_call_does_not_block_others_on_the_same_connection() {
    let (a, b) = pair().await;
    let conn = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("connect");
    let slow = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.call::<Sleep>(&SleepFor { ms: 1500 }).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    for _ in 0..5 {
        conn.call::<Ping>(&()).await.expect("fast ping");
    }
    let fast = started.elapsed();
    assert!(!slow.is_finished(), "the slow call should still be running");
    assert!(
        fast < Duration::from_millis(1400),
        "pings waited {fast:?} behind the slow call"
    );
    assert_eq!(slow.await.expect("join").expect("slow"), "slept 1500");
}

#[tokio::test]
async fn an_unknown_key_reaches_only_open_methods() {
    let b = TestNode::start("node-b", test_router(), Limits::default()).await;
    let stranger = TestNode::start("stranger", Router::new(), Limits::default()).await;
    let conn = stranger
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("TLS itself succeeds");
    let err = conn.call::<Ping>(&()).await.expect_err("untrusted ping");
    assert_eq!(err.kind(), ErrorKind::NotTrusted);
    assert!(err.to_string().contains("peer not trusted"), "{err}");
    assert!(
        err.to_string()
            .contains(stranger.identity.fingerprint().as_str()),
        "{err}"
    );
    // Unknown methods look the same to a stranger.
    let err = conn.call::<WhoAmI>(&()).await.expect_err("untrusted");
    assert_eq!(err.kind(), ErrorKind::NotTrusted);
    // Identification is open, for trust on first use.
    let info = conn.call::<Hello>(&()).await.expect("hello is open");
    assert_eq!(info.node_id.as_str(), "server");
}

#[tokio::test]
async fn a_client_impersonating_a_trusted_node_is_refused() {
    let (a, b) = pair().await;
    // Same NodeId as a, different key.
    let impostor = Identity::generate(NodeId::new("node-a").expect("id")).expect("identity");
    let dialer = quptime::transport::Dialer::new(&impostor, Limits::default());
    let conn = dialer
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("tls");
    let err = conn.call::<WhoAmI>(&()).await.expect_err("impostor");
    assert_eq!(err.kind(), ErrorKind::NotTrusted);
    drop(a);
}

#[tokio::test]
async fn a_server_whose_key_differs_from_the_pin_is_refused() {
    let (a, b) = pair().await;
    // Something else answers at b's address with a different key.
    let impostor = TestNode::start("node-b", test_router(), Limits::default()).await;
    let err = a
        .dialer()
        .connect(&impostor.addr(), Some(b.identity.fingerprint()))
        .await
        .expect_err("pin mismatch");
    assert_eq!(err.kind(), ErrorKind::NotTrusted);
    let text = err.to_string();
    assert!(
        text.contains(impostor.identity.fingerprint().as_str()),
        "{text}"
    );
    assert!(text.contains(b.identity.fingerprint().as_str()), "{text}");
    // Without a pin (TOFU) the connection works and reports the key.
    let tofu = a
        .dialer()
        .connect(&impostor.addr(), None)
        .await
        .expect("tofu");
    assert_eq!(tofu.peer_fingerprint(), impostor.identity.fingerprint());
}

#[tokio::test]
async fn revoking_trust_applies_to_open_connections() {
    let (a, b) = pair().await;
    let conn = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("connect");
    conn.call::<Ping>(&()).await.expect("trusted ping");
    assert!(b.trust.remove(a.identity.node_id()).expect("remove"));
    let err = conn.call::<Ping>(&()).await.expect_err("revoked");
    assert_eq!(err.kind(), ErrorKind::NotTrusted);
}

#[tokio::test]
async fn an_oversized_frame_header_closes_the_connection_at_once() {
    let limits = Limits {
        max_frame: 1024,
        read_timeout: Duration::from_secs(60),
        ..Limits::default()
    };
    let b = TestNode::start("node-b", test_router(), limits).await;
    let mut tls = raw_tls(b.server.local_addr()).await;
    // Claim 1 GiB and send nothing more: the server must not wait for (or
    // reserve) the body; it closes well before the 60 s read timeout.
    tls.write_all(&(1u32 << 30).to_be_bytes())
        .await
        .expect("write");
    tls.flush().await.expect("flush");
    let started = Instant::now();
    let got = expect_closed(&mut tls, Duration::from_secs(5)).await;
    assert_eq!(got, 0, "no reply to a bad frame");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server keeps serving others.
    let a = TestNode::start("node-a", Router::new(), Limits::default()).await;
    b.trust(&a.identity, &a.addr());
    let conn = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("connect");
    conn.call::<Ping>(&())
        .await
        .expect("ping after the bad frame");
}

#[tokio::test]
async fn silent_clients_are_dropped_after_the_timeouts() {
    let b = TestNode::start("node-b", test_router(), short_limits()).await;
    // TCP connected but never starts TLS: the handshake timeout applies.
    let mut tcp = tokio::net::TcpStream::connect(b.server.local_addr())
        .await
        .expect("tcp");
    expect_closed(&mut tcp, Duration::from_secs(5)).await;
    // TLS done, then silence: the idle timeout applies.
    let mut tls = raw_tls(b.server.local_addr()).await;
    expect_closed(&mut tls, Duration::from_secs(5)).await;
    // Half a frame, then silence: the read timeout applies.
    let mut tls = raw_tls(b.server.local_addr()).await;
    tls.write_all(&[0, 0, 0, 100, 1, 2, 3])
        .await
        .expect("write");
    tls.flush().await.expect("flush");
    expect_closed(&mut tls, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn garbage_does_not_crash_the_server() {
    let b = TestNode::start("node-b", test_router(), short_limits()).await;
    let a = TestNode::start("node-a", Router::new(), Limits::default()).await;
    b.trust(&a.identity, &a.addr());
    // Garbage instead of a TLS ClientHello.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20 {
        let mut tcp = tokio::net::TcpStream::connect(b.server.local_addr())
            .await
            .expect("tcp");
        let junk: Vec<u8> = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = tcp.write_all(&junk).await;
        expect_closed(&mut tcp, Duration::from_secs(5)).await;
    }
    // Well-framed garbage inside TLS, and a frame of valid JSON that is no
    // envelope.
    for body in [
        &b"\xff\xfe not json"[..],
        &br#"{"v":1,"id":1,"t":"nonsense"}"#[..],
    ] {
        let mut tls = raw_tls(b.server.local_addr()).await;
        tls.write_all(&(body.len() as u32).to_be_bytes())
            .await
            .expect("w");
        tls.write_all(body).await.expect("w");
        tls.flush().await.expect("flush");
        expect_closed(&mut tls, Duration::from_secs(5)).await;
    }
    let conn = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("connect");
    conn.call::<Ping>(&()).await.expect("still serving");
}

#[tokio::test]
async fn strangers_share_a_small_budget_and_members_always_get_in() {
    let limits = Limits {
        max_unpinned: 4,
        max_unpinned_per_addr: 2,
        max_connections: 1,
        ..Limits::default()
    };
    let b = TestNode::start("node-b", test_router(), limits).await;
    let addr = b.server.local_addr();
    let from = |last: u8| std::net::Ipv4Addr::new(127, 0, 0, last);
    // Per address: a third connection from 127.0.0.2 closes its oldest.
    let mut old = tls_over(tcp_from(addr, from(2)).await.expect("tcp"))
        .await
        .expect("tls");
    let _two = tls_over(tcp_from(addr, from(2)).await.expect("tcp"))
        .await
        .expect("tls");
    let _three = tls_over(tcp_from(addr, from(2)).await.expect("tcp"))
        .await
        .expect("tls");
    expect_closed(&mut old, Duration::from_secs(5)).await;
    // In all: strangers from other addresses fill the budget...
    let mut held = Vec::new();
    for last in 3..6 {
        held.push(tcp_from(addr, from(last)).await.expect("tcp"));
    }
    // ...and a member still gets in, at the expense of the oldest.
    let a = TestNode::start("node-a", Router::new(), Limits::default()).await;
    b.trust(&a.identity, &a.addr());
    let conn = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("a member connects while strangers hold every unpinned slot");
    conn.call::<Ping>(&()).await.expect("and is served");
    // Members have their own cap: a second member connection is refused
    // while the first is open.
    let second = a
        .dialer()
        .connect(&b.addr(), Some(b.identity.fingerprint()))
        .await
        .expect("handshake");
    assert!(
        second.call::<Ping>(&()).await.is_err(),
        "over the members' cap"
    );
    conn.call::<Ping>(&())
        .await
        .expect("the first is unaffected");
}

#[tokio::test]
async fn a_stranger_must_send_its_first_request_within_the_deadline() {
    let limits = Limits {
        unpinned_deadline: Duration::from_millis(500),
        ..Limits::default()
    };
    let b = TestNode::start("node-b", test_router(), limits).await;
    let mut idle_tcp = tokio::net::TcpStream::connect(b.server.local_addr())
        .await
        .expect("tcp");
    let mut idle_tls = raw_tls(b.server.local_addr()).await;
    expect_closed(&mut idle_tcp, Duration::from_secs(5)).await;
    expect_closed(&mut idle_tls, Duration::from_secs(5)).await;
}
