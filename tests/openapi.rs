//! The OpenAPI document of a real node: served at `/api/openapi.json`
//! without a token, it names every `/api/v1/` endpoint the router is built
//! from (and every path it names is served: a request to it without a
//! token is refused with 401, not answered 404), with the error shape; and
//! the checked-in `docs/openapi.json` is the document the code generates.

use std::time::Duration;

use quptime_tests::browser::{get, raw};
use quptime_tests::cluster::{TestCluster, fast_timing};
use serde_json::Value;

/// Where the checked-in copy lives.
fn checked_in() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_a_document_naming_every_route() {
    let tc = TestCluster::form_serving(&["n1"], fast_timing(), false, true).await;
    tc.master(Duration::from_secs(10)).await;
    let addr = tc.node(0).http_addr().expect("http");
    let answer = get(addr, "/api/openapi.json").await;
    assert_eq!(answer.code, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let doc: Value = serde_json::from_str(&answer.body).expect("the document is JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));

    let served = quptime::web::api_endpoints();
    assert!(served.len() >= 13, "{served:?}");
    for (method, path) in &served {
        let op = &doc["paths"][path.as_str()][method.to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is served but not documented"
        );
        assert!(
            op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .is_some_and(|r| r.ends_with("/ErrorBody")),
            "{method} {path}: no error shape for 401"
        );
    }
    // Every documented operation is served: without a token it is refused
    // (401), which a path the router does not know would not be (404).
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = 0;
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            documented += 1;
            assert!(
                served
                    .iter()
                    .any(|(m, p)| m.eq_ignore_ascii_case(method) && p == path),
                "{method} {path} is documented but not in the router's table"
            );
            let concrete = path.replace("{check}", "nope").replace("{id}", "nope");
            let req = format!(
                "{} {concrete} HTTP/1.1\r\nHost: {addr}\r\ncontent-length: 0\r\n\r\n",
                method.to_ascii_uppercase()
            );
            let a = raw(addr, req.as_bytes()).await;
            assert_eq!(a.code, 401, "{method} {concrete}: {}", a.body);
        }
    }
    assert_eq!(documented, served.len());
    let error = &doc["components"]["schemas"]["Rejected"]["properties"];
    for field in ["kind", "message", "field", "hint"] {
        assert!(error[field].is_object(), "the error shape lacks {field}");
    }
    tc.shutdown().await;
}

#[test]
fn the_checked_in_copy_is_current() {
    let now = quptime::web::openapi_document();
    let path = checked_in();
    if std::env::var_os("QUPTIME_BLESS").is_some() {
        std::fs::write(&path, &now).expect("write docs/openapi.json");
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == now,
        "docs/openapi.json is stale (or missing): regenerate it with \
         `QUPTIME_BLESS=1 cargo nextest run -p quptime-tests --test openapi` and commit it"
    );
}
