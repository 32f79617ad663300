//! tls prober tests: certificate expiry verdicts (valid, expiring within
//! the warning, expired), an untrusted chain, SNI, refusal and a server
//! that never finishes the handshake.

use std::time::Duration;

use quptime::probe::Probers;
use quptime::state::CheckType;
use tokio::net::TcpListener;

use crate::certs::{self, DAY, TestCa, Validity};
use crate::web::WebServer;
use crate::{assert_down, check, closed_port, probers};

/// A TLS server signed by a fresh CA, and probers that trust that CA.
async fn server(names: &[&str], until: Validity) -> (WebServer, Probers) {
    let ca = TestCa::new();
    let web = WebServer::https(ca.server(names, 30 * DAY, until)).await;
    let p = Probers::with_extra_roots(vec![ca.cert.clone()]).expect("probers");
    (web, p)
}

/// The whole days in a detail such as `cert valid 89d`.
fn days(detail: &str, prefix: &str) -> u32 {
    detail
        .strip_prefix(prefix)
        .and_then(|d| d.strip_suffix('d'))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("{detail:?} is not {prefix}<n>d"))
}

#[tokio::test]
async fn tls_valid_certificate_is_up() {
    let (web, p) = server(&["127.0.0.1"], Validity::For(90 * DAY)).await;
    let r = p
        .probe(&check(CheckType::Tls, format!("127.0.0.1:{}", web.port)))
        .await;
    assert!(r.ok, "{r:?}");
    // 90 days less the seconds since the certificate was made: 89 whole days.
    assert!((89..=90).contains(&days(&r.detail, "cert valid ")), "{r:?}");
    assert!(r.latency > Duration::ZERO && r.latency < Duration::from_secs(3));
}

#[tokio::test]
async fn tls_expiring_within_the_warning_is_down() {
    let (web, p) = server(&["127.0.0.1"], Validity::For(5 * DAY)).await;
    let mut c = check(CheckType::Tls, format!("127.0.0.1:{}", web.port));
    let r = p.probe(&c).await;
    assert!(!r.ok, "{r:?}");
    assert!(
        (4..=5).contains(&days(&r.detail, "cert expires in ")),
        "{r:?}"
    );
    // A shorter warning makes the same certificate fine.
    c.tls_mut().expect("tls").warn_days = Some(3);
    let r = p.probe(&c).await;
    assert!(r.ok, "{r:?}");
    assert!((4..=5).contains(&days(&r.detail, "cert valid ")), "{r:?}");
}

#[tokio::test]
async fn tls_expired_certificate_is_down() {
    let ago = 3 * DAY + Duration::from_secs(600);
    let (web, p) = server(&["127.0.0.1"], Validity::ExpiredAgo(ago)).await;
    let r = p
        .probe(&check(CheckType::Tls, format!("127.0.0.1:{}", web.port)))
        .await;
    assert_down(&r, "cert expired 3d ago");
}

#[tokio::test]
async fn tls_untrusted_chain_is_down_with_the_reason() {
    let web = WebServer::https(certs::self_signed(&["127.0.0.1"])).await;
    let r = probers()
        .probe(&check(CheckType::Tls, format!("127.0.0.1:{}", web.port)))
        .await;
    assert_down(
        &r,
        "tls: handshake failed: invalid peer certificate: UnknownIssuer",
    );
}

#[tokio::test]
async fn tls_sni_overrides_the_host() {
    let (web, p) = server(&["status.example.test"], Validity::For(30 * DAY)).await;
    let mut c = check(CheckType::Tls, format!("127.0.0.1:{}", web.port));
    let r = p.probe(&c).await;
    assert!(!r.ok, "{r:?}");
    assert!(
        r.detail.starts_with(
            "tls: handshake failed: invalid peer certificate: certificate not valid for name"
        ),
        "{r:?}"
    );
    c.tls_mut().expect("tls").sni = Some("status.example.test".into());
    let r = p.probe(&c).await;
    assert!(r.ok && r.detail.starts_with("cert valid "), "{r:?}");
}

#[tokio::test]
async fn tls_refused_and_stalled() {
    let p = probers();
    let port = closed_port().await;
    let r = p
        .probe(&check(CheckType::Tls, format!("127.0.0.1:{port}")))
        .await;
    assert_down(&r, "connect: connection refused");

    // Accepts TCP, never answers the ClientHello.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut c = check(CheckType::Tls, addr.to_string());
    c.timeout = Duration::from_millis(500);
    let r = p.probe(&c).await;
    assert_down(&r, "timeout after 500ms");
    assert!(r.latency < Duration::from_secs(2), "{r:?}");
    hold.abort();
}
