//! http prober tests: status, body match, redirects, User-Agent,
//! fresh versus kept-alive connections, refusal, timeout, and https with a
//! private CA, an untrusted certificate (`insecure`) and an expired one.

use std::time::Duration;

use quptime::probe::Probers;
use quptime::state::{CheckType, StatusSpec};

use crate::certs::{self, DAY, TestCa, Validity};
use crate::web::WebServer;
use crate::{assert_down, assert_up, check, closed_port, probers};

#[tokio::test]
async fn http_status_decides() {
    let web = WebServer::http().await;
    let p = probers();
    let r = p.probe(&check(CheckType::Http, web.url("/ok"))).await;
    assert_up(&r, "status 200 OK");
    assert!(r.latency > Duration::ZERO && r.latency < Duration::from_secs(3));
    let r = p.probe(&check(CheckType::Http, web.url("/fail"))).await;
    assert_down(&r, "status 503 Service Unavailable");
    let mut c = check(CheckType::Http, web.url("/fail"));
    c.http_mut().expect("http").expect_status = Some(StatusSpec::parse("200,5xx").expect("spec"));
    assert_up(&p.probe(&c).await, "status 503 Service Unavailable");
    let r = p.probe(&check(CheckType::Http, web.url("/nope"))).await;
    assert_down(&r, "status 404 Not Found");
}

#[tokio::test]
async fn http_body_match_reads_the_first_mebibyte() {
    let web = WebServer::http().await;
    let p = probers();
    let mut c = check(CheckType::Http, web.url("/ok"));
    c.http_mut().expect("http").body_match = Some("systems go".into());
    assert_up(&p.probe(&c).await, "status 200 OK");
    c.http_mut().expect("http").body_match = Some("Systems go".into());
    assert_down(&p.probe(&c).await, "body match miss");
    let mut c = check(CheckType::Http, web.url("/big"));
    c.http_mut().expect("http").body_match = Some("HEAD-MARK".into());
    assert_up(&p.probe(&c).await, "status 200 OK");
    c.http_mut().expect("http").body_match = Some("TAIL-MARK".into());
    assert_down(&p.probe(&c).await, "body match miss");
}

#[tokio::test]
async fn http_redirects_follow_the_limit() {
    let web = WebServer::http().await;
    let p = probers();
    let c = check(CheckType::Http, web.url("/redirect/3"));
    assert_up(&p.probe(&c).await, "status 200 OK");
    assert_up(
        &p.probe(&check(CheckType::Http, web.url("/absolute"))).await,
        "status 200 OK",
    );
    let c = check(CheckType::Http, web.url("/redirect/11"));
    assert_down(&p.probe(&c).await, "too many redirects (more than 10)");
    let mut c = check(CheckType::Http, web.url("/redirect/3"));
    c.http_mut().expect("http").max_redirects = Some(3);
    assert_up(&p.probe(&c).await, "status 200 OK");
    c.http_mut().expect("http").max_redirects = Some(2);
    assert_down(&p.probe(&c).await, "too many redirects (more than 2)");
    c.http_mut().expect("http").max_redirects = Some(0);
    assert_down(&p.probe(&c).await, "status 302 Found");
    c.http_mut().expect("http").expect_status = Some(StatusSpec::parse("3xx").expect("spec"));
    assert_up(&p.probe(&c).await, "status 302 Found");
}

#[tokio::test]
async fn http_sends_the_user_agent() {
    let web = WebServer::http().await;
    let mut c = check(CheckType::Http, web.url("/ua"));
    c.http_mut().expect("http").body_match = Some(format!("quptime/{}", quptime::VERSION));
    assert_up(&probers().probe(&c).await, "status 200 OK");
}

#[tokio::test]
async fn http_connections_are_fresh_unless_keep_alive() {
    let p = probers();
    let web = WebServer::http().await;
    let mut c = check(CheckType::Http, web.url("/ok"));
    for _ in 0..3 {
        assert!(p.probe(&c).await.ok);
    }
    assert_eq!(web.connections(), 3, "one connection per default probe");
    let web = WebServer::http().await;
    c.target = web.url("/ok");
    c.http_mut().expect("http").keep_alive = true;
    for _ in 0..3 {
        assert!(p.probe(&c).await.ok);
    }
    assert_eq!(web.connections(), 1, "keep_alive reuses the connection");
}

#[tokio::test]
async fn http_refused_and_slow() {
    let p = probers();
    let port = closed_port().await;
    let r = p
        .probe(&check(CheckType::Http, format!("http://127.0.0.1:{port}/")))
        .await;
    assert_down(&r, "connect: connection refused");
    let web = WebServer::http().await;
    let mut c = check(CheckType::Http, web.url("/slow"));
    c.timeout = Duration::from_millis(500);
    let r = p.probe(&c).await;
    assert_down(&r, "timeout after 500ms");
    assert!(r.latency >= Duration::from_millis(500) && r.latency < Duration::from_secs(2));
}

#[tokio::test]
async fn https_verifies_against_extra_roots() {
    let ca = TestCa::new();
    let web =
        WebServer::https(ca.server(&["localhost", "127.0.0.1"], DAY, Validity::For(30 * DAY)))
            .await;
    let trusted = Probers::with_extra_roots(vec![ca.cert.clone()]).expect("probers");
    let c = check(CheckType::Http, web.https_url("127.0.0.1", "/ok"));
    assert_up(&trusted.probe(&c).await, "status 200 OK");
    let c = check(CheckType::Http, web.https_url("localhost", "/ok"));
    assert_up(&trusted.probe(&c).await, "status 200 OK");
    // Without the private CA the same server is not trusted.
    let r = probers().probe(&c).await;
    assert_down(
        &r,
        "tls: handshake failed: invalid peer certificate: UnknownIssuer",
    );
}

#[tokio::test]
async fn https_insecure_accepts_self_signed() {
    let web = WebServer::https(certs::self_signed(&["127.0.0.1"])).await;
    let p = probers();
    let mut c = check(CheckType::Http, web.https_url("127.0.0.1", "/ok"));
    let r = p.probe(&c).await;
    assert!(
        !r.ok && r.detail.starts_with("tls: handshake failed: "),
        "{r:?}"
    );
    c.http_mut().expect("http").insecure = true;
    assert_up(&p.probe(&c).await, "status 200 OK");
}

#[tokio::test]
async fn https_expired_certificate_says_when() {
    let ca = TestCa::new();
    let config = ca.server(
        &["127.0.0.1"],
        30 * DAY,
        Validity::ExpiredAgo(2 * DAY + Duration::from_secs(60)),
    );
    let web = WebServer::https(config).await;
    let p = Probers::with_extra_roots(vec![ca.cert.clone()]).expect("probers");
    let r = p
        .probe(&check(CheckType::Http, web.https_url("127.0.0.1", "/ok")))
        .await;
    assert_down(&r, "cert expired 2d ago");
}
