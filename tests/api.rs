//! The JSON API under `/api/v1/` of a real 3-node cluster, driven by a
//! real HTTP client (reqwest) over loopback against a follower: every
//! endpoint with no token, a revoked token, a read token and a write
//! token; a write through a follower lands on every node; bad input gets
//! the use case's (the CLI's) error text with its field and a 4xx, and
//! changes nothing; the use of a token is recorded on every node.

use std::sync::Arc;
use std::time::Duration;

use quptime::api::{CheckSpec, TokenSpec};
use quptime::state::CheckType;
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use reqwest::{Client, Method};
use serde_json::{Value, json};

fn client() -> Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// One request; (status, JSON body).
async fn call(
    http: &Client,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = http.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("an answer");
    let code = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_with_each_kind_of_token() {
    let names = ["n1", "n2", "n3"];
    let tc = TestCluster::form_serving(&names, fast_timing(), false, true).await;
    let master = tc.master(Duration::from_secs(10)).await;
    let follower = tc.node((master + 1) % names.len()).clone();
    let base = format!("http://{}", follower.http_addr().expect("http"));
    let make = |name: &str, role: &str| TokenSpec {
        name: name.into(),
        role: role.into(),
    };
    let read = quptime::api::create_token(&follower, make("reader", "read"))
        .await
        .expect("read token")
        .token;
    let write = quptime::api::create_token(&follower, make("writer", "write"))
        .await
        .expect("write token")
        .token;
    let revoked = quptime::api::create_token(&follower, make("old", "write"))
        .await
        .expect("token");
    quptime::api::revoke_token(&follower, "old")
        .await
        .expect("revoked");
    assert!(revoked.token.starts_with("qut_"));
    let bad_role = quptime::api::create_token(&follower, make("x", "admin"))
        .await
        .unwrap_err();
    assert_eq!(bad_role.field(), Some("role"));
    wait_for("the tokens on every node", Duration::from_secs(10), || {
        tc.running().iter().all(|n| {
            let s = n.state();
            s.api_tokens.len() == 2 && s.level == 5
        })
    })
    .await;
    let http = client();

    let spec = json!({"name": "web", "type": "tcp", "target": "127.0.0.1:9", "interval": "1s"});
    let window = json!({"checks": ["web"], "start": "now", "for": "1h", "reason": "deploy"});
    // (method, path, body, needs a write token, status for the write token)
    let endpoints: Vec<(Method, &str, Option<Value>, bool, u16)> = vec![
        (Method::GET, "/api/v1/status", None, false, 200),
        (
            Method::POST,
            "/api/v1/checks",
            Some(spec.clone()),
            true,
            201,
        ),
        (Method::GET, "/api/v1/checks", None, false, 200),
        (Method::GET, "/api/v1/checks/web", None, false, 200),
        (
            Method::PATCH,
            "/api/v1/checks/web",
            Some(json!({"interval": "2s"})),
            true,
            200,
        ),
        (Method::POST, "/api/v1/checks/web/disable", None, true, 200),
        (Method::POST, "/api/v1/checks/web/enable", None, true, 200),
        (Method::GET, "/api/v1/channels", None, false, 200),
        (Method::GET, "/api/v1/transitions", None, false, 200),
        (Method::POST, "/api/v1/maintenance", Some(window), true, 201),
        (Method::GET, "/api/v1/maintenance", None, false, 200),
    ];
    for (method, path, body, writes, ok) in &endpoints {
        let what = format!("{method} {path}");
        let version = follower.state().version;
        for token in [None, Some(revoked.token.as_str())] {
            let (code, v) = call(&http, &base, method.clone(), path, token, body.as_ref()).await;
            assert_eq!(code, 401, "{what} with {token:?}: {v}");
            assert_eq!(v["error"]["kind"], "unauthorized", "{what}: {v}");
        }
        let (code, v) = call(
            &http,
            &base,
            method.clone(),
            path,
            Some(&read),
            body.as_ref(),
        )
        .await;
        if *writes {
            assert_eq!(code, 403, "{what} with the read token: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("--role write")),
                "{v}"
            );
            assert_eq!(follower.state().version, version, "{what}: a refused write");
        } else {
            assert_eq!(code, *ok, "{what} with the read token: {v}");
        }
        let (code, v) = call(
            &http,
            &base,
            method.clone(),
            path,
            Some(&write),
            body.as_ref(),
        )
        .await;
        assert_eq!(code, *ok, "{what} with the write token: {v}");
    }

    // What the writes did, on every node (the follower forwarded them).
    wait_for(
        "the check and window everywhere",
        Duration::from_secs(10),
        || {
            tc.running().iter().all(|n| {
                let s = n.state();
                s.find_check("web")
                    .is_ok_and(|c| !c.disabled && c.interval == Duration::from_secs(2))
                    && s.maintenance.len() == 1
            })
        },
    )
    .await;
    let (_, checks) = call(
        &http,
        &base,
        Method::GET,
        "/api/v1/checks",
        Some(&read),
        None,
    )
    .await;
    assert_eq!(checks[0]["name"], "web", "{checks}");
    let (_, status) = call(
        &http,
        &base,
        Method::GET,
        "/api/v1/status",
        Some(&read),
        None,
    )
    .await;
    assert_eq!(status["node_id"], follower.node_id().as_str());
    let (_, windows) = call(
        &http,
        &base,
        Method::GET,
        "/api/v1/maintenance",
        Some(&read),
        None,
    )
    .await;
    let window_id = windows[0]["id"].as_str().expect("window id").to_string();

    // Bad input: the use case's error, its field, a 4xx, nothing changed.
    let version = follower.state().version;
    let bad = json!({"name": "web2", "type": "tcp", "target": "127.0.0.1:9", "interval": "soon"});
    let (code, v) = call(
        &http,
        &base,
        Method::POST,
        "/api/v1/checks",
        Some(&write),
        Some(&bad),
    )
    .await;
    assert_eq!(code, 422, "{v}");
    let mut direct = CheckSpec::new("web2", CheckType::Tcp, "127.0.0.1:9");
    direct.interval = Some("soon".into());
    let want = quptime::api::add_check(&follower, direct)
        .await
        .unwrap_err();
    assert_eq!(v["error"]["message"], want.message(), "{v}");
    assert_eq!(v["error"]["field"], "interval", "{v}");
    let (code, v) = call(
        &http,
        &base,
        Method::POST,
        "/api/v1/checks",
        Some(&write),
        Some(&spec),
    )
    .await;
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (409, Some("already_exists")),
        "{v}"
    );
    let (code, v) = call(
        &http,
        &base,
        Method::POST,
        "/api/v1/checks",
        Some(&write),
        Some(&json!({"name": 1})),
    )
    .await;
    assert_eq!(code, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not valid JSON for this endpoint")),
        "{v}"
    );
    let (code, v) = call(
        &http,
        &base,
        Method::GET,
        "/api/v1/checks/nope",
        Some(&read),
        None,
    )
    .await;
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    assert_eq!(
        follower.state().version,
        version,
        "refused writes changed the state"
    );

    // The removals, each refused without a write token first.
    for path in [
        format!("/api/v1/maintenance/{window_id}"),
        "/api/v1/checks/web".into(),
    ] {
        for token in [None, Some(revoked.token.as_str())] {
            let (code, _) = call(&http, &base, Method::DELETE, &path, token, None).await;
            assert_eq!(code, 401, "DELETE {path}");
        }
        let (code, _) = call(&http, &base, Method::DELETE, &path, Some(&read), None).await;
        assert_eq!(code, 403, "DELETE {path} with the read token");
        let (code, v) = call(&http, &base, Method::DELETE, &path, Some(&write), None).await;
        assert_eq!(code, 200, "DELETE {path}: {v}");
    }
    wait_for(
        "the check and window gone everywhere",
        Duration::from_secs(10),
        || {
            tc.running()
                .iter()
                .all(|n| n.state().checks.is_empty() && n.state().maintenance.is_empty())
        },
    )
    .await;

    // Each token's use is recorded, replicated, once.
    wait_for(
        "the last use on every node",
        Duration::from_secs(10),
        || {
            tc.running().iter().all(|n| {
                n.state()
                    .api_tokens
                    .values()
                    .all(|t| t.last_used_ms.is_some())
            })
        },
    )
    .await;
    tc.shutdown().await;
}
