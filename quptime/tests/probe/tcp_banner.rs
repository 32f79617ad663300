//! tcp banner checks (`send` / `expect_reply`) against real banner servers
//! on 127.0.0.1: a greeting server (SMTP-like), a Redis-like PING server,
//! one that answers wrong, one that says nothing, one that floods.

use std::time::Duration;

use quptime::state::{CheckType, Probe, TcpProbe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{assert_down, assert_up, check, probers};

/// What a test server does with each connection.
#[derive(Clone, Copy)]
enum Server {
    /// Write this greeting, then wait for the peer to close.
    Greets(&'static [u8]),
    /// Read a line; answer `+PONG\r\n` to `PING\r\n`, else `-ERR unknown\r\n`.
    Pong,
    /// Say nothing; wait for the peer to close.
    Silent,
    /// Write 64 KiB of `x` and wait.
    Floods,
}

/// Serve `kind` on 127.0.0.1:0; its address.
async fn serve(kind: Server) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                match kind {
                    Server::Greets(g) => {
                        let _ = s.write_all(g).await;
                    }
                    Server::Pong => {
                        let mut got = Vec::new();
                        while !got.ends_with(b"\n") {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        }
                        let answer: &[u8] = if got == b"PING\r\n" {
                            b"+PONG\r\n"
                        } else {
                            b"-ERR unknown\r\n"
                        };
                        let _ = s.write_all(answer).await;
                    }
                    Server::Silent => {}
                    Server::Floods => {
                        let _ = s.write_all(&vec![b'x'; 64 * 1024]).await;
                    }
                }
                // Hold the connection until the prober hangs up.
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn banner_check(addr: &str, send: Option<&str>, expect: Option<&str>) -> quptime::state::Check {
    let mut c = check(CheckType::Tcp, addr);
    c.probe = Probe::Tcp(TcpProbe {
        send: send.map(str::to_string),
        expect_reply: expect.map(str::to_string),
        tls: false,
    });
    c.probe.validate(&c.target).expect("valid check");
    c
}

#[tokio::test]
async fn tcp_expect_alone_reads_the_banner() {
    let p = probers();
    let smtp = serve(Server::Greets(b"220 mail.test ESMTP ready\r\n")).await;
    let r = p.probe(&banner_check(&smtp, None, Some("220 "))).await;
    assert_up(&r, "reply \"220 mail.test ESMTP ready\\r\\n\"");
    let ssh = serve(Server::Greets(b"SSH-2.0-OpenSSH_9.6\r\n")).await;
    let r = p.probe(&banner_check(&ssh, None, Some("SSH-"))).await;
    assert!(r.ok, "{r:?}");
    // The wrong banner: down, saying what came back, escaped.
    let r = p.probe(&banner_check(&ssh, None, Some("220"))).await;
    assert_down(
        &r,
        "expected \"220\", got \"SSH-2.0-OpenSSH_9.6\\r\\n\" (nothing more within the timeout)",
    );
}

#[tokio::test]
async fn tcp_send_and_expect_a_reply() {
    let p = probers();
    let redis = serve(Server::Pong).await;
    let r = p
        .probe(&banner_check(&redis, Some("PING\\r\\n"), Some("+PONG")))
        .await;
    assert_up(&r, "reply \"+PONG\\r\\n\"");
    let r = p
        .probe(&banner_check(&redis, Some("PONG\\r\\n"), Some("+PONG")))
        .await;
    assert!(!r.ok, "{r:?}");
    assert!(
        r.detail
            .starts_with("expected \"+PONG\", got \"-ERR unknown\\r\\n\""),
        "{r:?}"
    );
    // Send alone: up once written.
    let r = p
        .probe(&banner_check(&redis, Some("PING\\r\\n"), None))
        .await;
    assert_up(&r, "connected, sent 6 bytes");
}

#[tokio::test]
async fn tcp_reads_are_bounded_by_size_and_time() {
    let p = probers();
    let silent = serve(Server::Silent).await;
    let mut c = banner_check(&silent, None, Some("220"));
    c.timeout = Duration::from_millis(500);
    let r = p.probe(&c).await;
    assert_down(
        &r,
        "expected \"220\", got nothing (nothing more within the timeout)",
    );
    assert!(r.latency < Duration::from_millis(500), "{r:?}");
    let flood = serve(Server::Floods).await;
    let r = p.probe(&banner_check(&flood, None, Some("220"))).await;
    assert!(!r.ok, "{r:?}");
    assert!(r.detail.ends_with("…\" (first 4096 bytes)"), "{r:?}");
    assert!(r.detail.len() < 200, "evidence is cut: {r:?}");
    // A greeting then a close.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(b"\x00bye").await;
        }
    });
    let r = p.probe(&banner_check(&addr, None, Some("220"))).await;
    assert_down(&r, "expected \"220\", got \"\\x00bye\" (then closed)");
}
