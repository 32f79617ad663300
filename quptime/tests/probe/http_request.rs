//! http request settings and conditions against the test server: method,
//! headers, body, basic and bearer auth (the server checks the
//! `Authorization` header), redirects changing the method and dropping
//! credentials for another origin, the IP version, a per-check CA, and
//! every condition kind passing and failing with its evidence.

use quptime::state::probe_condition::Condition;
use quptime::state::{Check, CheckType, HttpMethod, HttpProbe, IpVersion};

use crate::certs::{DAY, TestCa, Validity};
use crate::web::WebServer;
use crate::{assert_down, assert_up, check, probers};

fn http_check(url: String, set: impl FnOnce(&mut HttpProbe)) -> Check {
    let mut c = check(CheckType::Http, url);
    set(c.http_mut().expect("http"));
    c.validate().expect("valid check");
    c
}

fn conditions(list: &[&str]) -> Vec<Condition> {
    list.iter().map(|c| Condition::parse(c).expect(c)).collect()
}

#[tokio::test]
async fn http_method_headers_and_body_are_sent() {
    let web = WebServer::http().await;
    let p = probers();
    let c = http_check(web.url("/echo"), |h| {
        h.method = Some(HttpMethod::Post);
        h.headers = vec!["X-Probe: yes".into()];
        h.body = Some("{\"ping\":1}".into());
        h.conditions = conditions(&[
            r#"json $.method == "POST""#,
            r#"json $.x_probe == "yes""#,
            r#"json $.body == "{\"ping\":1}""#,
        ]);
    });
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = http_check(web.url("/echo"), |h| {
        h.conditions = conditions(&[r#"json $.method == "POST""#]);
    });
    assert_down(&p.probe(&c).await, r#"json $.method was "GET""#);
    let c = http_check(web.url("/echo"), |h| h.method = Some(HttpMethod::Head));
    assert_up(&p.probe(&c).await, "status 200 OK");
}

#[tokio::test]
async fn http_basic_and_bearer_auth_reach_the_server() {
    let web = WebServer::http().await;
    let p = probers();
    let r = p.probe(&check(CheckType::Http, web.url("/auth"))).await;
    assert_down(&r, "status 401 Unauthorized");
    let c = http_check(web.url("/auth"), |h| {
        h.basic_auth = Some("monitor:s3cret".into())
    });
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = http_check(web.url("/auth"), |h| {
        h.basic_auth = Some("monitor:wrong".into())
    });
    assert_down(&p.probe(&c).await, "status 401 Unauthorized");
    let c = http_check(web.url("/auth"), |h| h.bearer = Some("tok-123".into()));
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = http_check(web.url("/auth"), |h| {
        h.headers = vec!["Authorization: Bearer tok-123".into()];
    });
    assert_up(&p.probe(&c).await, "status 200 OK");
}

#[tokio::test]
async fn http_redirects_change_the_method_and_keep_credentials_home() {
    let web = WebServer::http().await;
    let p = probers();
    let post = |path: &str, cond: &str| {
        http_check(web.url(path), |h| {
            h.method = Some(HttpMethod::Post);
            h.body = Some("data".into());
            h.bearer = Some("tok-123".into());
            h.conditions = conditions(&[cond]);
        })
    };
    let c = post("/see-other", r#"json $.method == "GET""#);
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = post("/see-other", r#"json $.body == """#);
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = post("/temporary", r#"json $.body == "data""#);
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = post("/temporary", r#"json $.auth == "Bearer tok-123""#);
    assert_up(&p.probe(&c).await, "status 200 OK");
    let c = post("/elsewhere", r#"json $.auth == "Bearer tok-123""#);
    assert_down(&p.probe(&c).await, r#"json $.auth was """#);
    let c = http_check(web.url("/see-other"), |h| h.max_redirects = Some(0));
    assert_down(&p.probe(&c).await, "status 303 See Other");
}

#[tokio::test]
async fn http_every_condition_kind_passes_and_fails_with_evidence() {
    let web = WebServer::http().await;
    let p = probers();
    let cases: &[(&str, Option<&str>)] = &[
        ("status == 200", None),
        ("status in 500..599", Some("status was 200")),
        ("response_time < 5s", None),
        ("response_time < 0ms", None),
        ("body contains \"degraded\"", None),
        (
            "body contains \"all good\"",
            Some("body does not contain \"all good\""),
        ),
        ("body matches \"de[a-z]+ed\"", None),
        (
            "body matches \"^ok$\"",
            Some("body does not match \"^ok$\""),
        ),
        (
            "json $.status == \"ok\"",
            Some("json $.status was \"degraded\""),
        ),
        (
            "json $.queue.depth < 100",
            Some("json $.queue.depth was 120"),
        ),
        ("json $.items[0].id == 7", None),
        ("header Content-Type contains \"json\"", None),
        (
            "header X-Kind == \"db\"",
            Some("header X-Kind was \"health\""),
        ),
        (
            "cert_expiry > 7d",
            Some("cert_expiry > 7d: no certificate (not https)"),
        ),
    ];
    for (cond, want) in cases {
        let c = http_check(web.url("/json"), |h| h.conditions = conditions(&[cond]));
        let r = p.probe(&c).await;
        if *cond == "response_time < 0ms" {
            assert!(!r.ok && r.detail.starts_with("response_time was "), "{r:?}");
            continue;
        }
        match want {
            None => assert_up(&r, "status 200 OK"),
            Some(evidence) => assert_down(&r, evidence),
        }
    }
    // A status condition replaces the default expectation of 200.
    let c = http_check(web.url("/nope"), |h| {
        h.conditions = conditions(&["status in 400..499"]);
    });
    assert_up(&p.probe(&c).await, "status 404 Not Found");
}

#[tokio::test]
async fn https_cert_expiry_and_a_per_check_ca() {
    let ca = TestCa::new();
    let server = ca.server(&["localhost"], DAY, Validity::For(20 * DAY));
    let web = WebServer::https(server).await;
    let p = probers();
    let url = web.https_url("localhost", "/ok");
    let plain = check(CheckType::Http, url.clone());
    assert!(
        !p.probe(&plain).await.ok,
        "the test CA is not a system root"
    );
    let with_ca = |cond: &str| {
        http_check(url.clone(), |h| {
            h.ca = Some(ca.pem());
            h.conditions = conditions(&[cond]);
        })
    };
    assert_up(
        &p.probe(&with_ca("cert_expiry > 7d")).await,
        "status 200 OK",
    );
    let r = p.probe(&with_ca("cert_expiry > 30d")).await;
    assert!(
        !r.ok && ["cert_expiry was 19d", "cert_expiry was 20d"].contains(&r.detail.as_str()),
        "{r:?}"
    );
}

#[tokio::test]
async fn http_ip_version_is_kept() {
    let web = WebServer::http().await;
    let p = probers();
    let v4 = http_check(format!("http://localhost:{}/ok", web.port), |h| {
        h.ip_version = Some(IpVersion::V4);
    });
    assert_up(&p.probe(&v4).await, "status 200 OK");
    let v6 = http_check(web.url("/ok"), |h| h.ip_version = Some(IpVersion::V6));
    assert_down(
        &p.probe(&v6).await,
        "ip_version 6: the target is the address 127.0.0.1",
    );
}
