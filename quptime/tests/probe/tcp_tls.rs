//! tcp checks with `tls`: the conversation inside TLS, against a real TLS
//! banner server on 127.0.0.1 (a Redis-like PING/PONG behind TLS, as with
//! stunnel) signed by a test CA the probers trust; an untrusted
//! certificate, a server that does not speak TLS and a name mismatch are
//! down with the TLS reason.

use std::sync::Arc;

use quptime::probe::Probers;
use quptime::state::{CheckType, Probe, TcpProbe};
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::certs::{self, DAY, TestCa, Validity};
use crate::check;

/// A TLS server answering `+PONG\r\n` to a `PING\r\n` line; its address.
async fn pong_over_tls(config: Arc<ServerConfig>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                let (mut got, mut buf) = (Vec::new(), [0u8; 256]);
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
                let _ = s.flush().await;
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

/// A plain TCP server that greets like SMTP and never speaks TLS.
async fn plain_greeter() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(b"220 plain ESMTP\r\n").await;
                let mut buf = [0u8; 256];
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

fn tls_check(addr: &str, send: Option<&str>, expect: Option<&str>) -> quptime::state::Check {
    let mut c = check(CheckType::Tcp, addr);
    c.probe = Probe::Tcp(TcpProbe {
        send: send.map(str::to_string),
        expect_reply: expect.map(str::to_string),
        tls: true,
    });
    c.probe.validate(&c.target).expect("valid check");
    c
}

#[tokio::test]
async fn tcp_tls_talks_inside_a_verified_session() {
    let ca = TestCa::new();
    let addr = pong_over_tls(ca.server(&["127.0.0.1"], DAY, Validity::For(30 * DAY))).await;
    let p = Probers::with_extra_roots(vec![ca.cert.clone()]).expect("probers");
    let r = p
        .probe(&tls_check(&addr, Some("PING\\r\\n"), Some("+PONG")))
        .await;
    assert!(r.ok, "{r:?}");
    assert_eq!(r.detail, "tls, reply \"+PONG\\r\\n\"");
    // The wrong question gets the wrong answer, read through TLS.
    let r = p
        .probe(&tls_check(&addr, Some("PONG\\r\\n"), Some("+PONG")))
        .await;
    assert!(!r.ok, "{r:?}");
    assert!(
        r.detail
            .starts_with("tls, expected \"+PONG\", got \"-ERR unknown\\r\\n\""),
        "{r:?}"
    );
    // With nothing to say, the handshake alone is up.
    let r = p.probe(&tls_check(&addr, None, None)).await;
    assert!(r.ok, "{r:?}");
    assert_eq!(r.detail, "connected, tls");
}

#[tokio::test]
async fn tcp_tls_refuses_what_it_cannot_verify() {
    let ca = TestCa::new();
    // Signed by a CA these probers do not trust.
    let addr = pong_over_tls(ca.server(&["127.0.0.1"], DAY, Validity::For(30 * DAY))).await;
    let untrusting = Probers::new().expect("probers");
    let r = untrusting.probe(&tls_check(&addr, None, None)).await;
    assert!(!r.ok, "{r:?}");
    assert!(r.detail.starts_with("tls: "), "{r:?}");
    // Self-signed: the same.
    let addr = pong_over_tls(certs::self_signed(&["127.0.0.1"])).await;
    let r = untrusting.probe(&tls_check(&addr, None, None)).await;
    assert!(!r.ok && r.detail.starts_with("tls: "), "{r:?}");
    // A certificate for another name, from a trusted CA.
    let trusting = Probers::with_extra_roots(vec![ca.cert.clone()]).expect("probers");
    let addr = pong_over_tls(ca.server(&["other.test"], DAY, Validity::For(30 * DAY))).await;
    let r = trusting.probe(&tls_check(&addr, None, None)).await;
    assert!(!r.ok && r.detail.starts_with("tls: "), "{r:?}");
    // A server that does not speak TLS at all is down, not "connected".
    let plain = plain_greeter().await;
    let r = trusting.probe(&tls_check(&plain, None, Some("220"))).await;
    assert!(!r.ok, "{r:?}");
    assert!(r.detail.starts_with("tls: "), "{r:?}");
}
