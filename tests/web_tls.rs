//! HTTPS on a real node's HTTP listeners (`NodeOptions::http_tls`, as
//! `qu serve --http-tls-cert/--http-tls-key` sets it), with a test CA: a
//! real HTTPS client that trusts only that CA gets `/`, `/api/v1/status`
//! and `/metrics`; plain HTTP to the TLS port gets no HTTP answer; a key
//! that does not match the certificate stops the node before it starts.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use quptime::api::TokenSpec;
use quptime::init::{InitOptions, init_node};
use quptime::web::HttpTls;
use quptime::{Cluster, NodeOptions};
use quptime_tests::cluster::{fast_timing, wait_for};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// A test CA's certificate (DER) and a leaf it signs for 127.0.0.1,
/// written as PEM files (chain, key) under `dir`; also a stray key.
fn files(dir: &std::path::Path) -> (rustls::pki_types::CertificateDer<'static>, HttpTls, HttpTls) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "quptime web test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("leaf");
    leaf.is_ca = IsCa::ExplicitNoCa;
    let cert = leaf.signed_by(&key, &issuer).expect("signed");
    let chain = dir.join("web.crt");
    std::fs::write(&chain, cert.pem() + &ca_cert.pem()).expect("write chain");
    let key_file = dir.join("web.key");
    std::fs::write(&key_file, key.serialize_pem()).expect("write key");
    let stray = dir.join("stray.key");
    std::fs::write(&stray, KeyPair::generate().expect("key").serialize_pem()).expect("write");
    let good = HttpTls {
        cert: chain.clone(),
        key: key_file,
    };
    let bad = HttpTls {
        cert: chain,
        key: stray,
    };
    (ca_cert.der().clone(), good, bad)
}

fn client(ca: rustls::pki_types::CertificateDer<'static>) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).expect("CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn options(dir: &std::path::Path, tls: HttpTls) -> NodeOptions {
    let mut opts = NodeOptions::new(dir);
    opts.listen = Some("127.0.0.1:0".parse().expect("addr"));
    opts.timing = fast_timing();
    opts.http_addr = Some("127.0.0.1:0".parse().expect("addr"));
    opts.metrics_addr = Some("127.0.0.1:0".parse().expect("addr"));
    opts.http_tls = Some(tls);
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_api_and_metrics_over_https_and_not_over_http() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("n1");
    init_node(
        &dir,
        InitOptions {
            node_id: Some("n1".into()),
            bind_addr: Some("127.0.0.1".into()),
            ..InitOptions::default()
        },
    )
    .expect("init");
    let (ca, good, bad) = files(root.path());

    let refused = Cluster::start(options(&dir, bad)).await.unwrap_err();
    assert_eq!(refused.field(), Some("http_tls_key"), "{refused}");
    assert!(refused.message().contains("does not go with"), "{refused}");

    let node = Cluster::start(options(&dir, good)).await.expect("start");
    assert!(node.http_is_tls());
    wait_for("n1 to be master", Duration::from_secs(10), || {
        node.is_master()
    })
    .await;
    let web = node.http_addr().expect("http");
    let metrics = node.metrics_addr().expect("metrics");
    let token = quptime::api::create_token(
        &node,
        TokenSpec {
            name: "reader".into(),
            role: "read".into(),
        },
    )
    .await
    .expect("token")
    .token;
    let https = client(ca);

    let page = https
        .get(format!("https://{web}/"))
        .send()
        .await
        .expect("https page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains("Served by node"));
    let status = https
        .get(format!("https://{web}/api/v1/status"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("https status");
    assert_eq!(status.status(), 200);
    let status: serde_json::Value =
        serde_json::from_str(&status.text().await.expect("body")).expect("json");
    assert_eq!(status["node_id"], "n1");
    let scrape = https
        .get(format!("https://{metrics}/metrics"))
        .send()
        .await
        .expect("https metrics");
    assert_eq!(scrape.status(), 200);
    assert!(scrape.text().await.expect("body").contains("# EOF"));

    // Plain HTTP to the TLS port: no HTTP answer, the connection closes.
    let plain = https.get(format!("http://{web}/")).send().await;
    assert!(plain.is_err(), "plain HTTP got an answer: {plain:?}");
    let raw = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(web).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        got
    })
    .await
    .expect("join");
    assert!(
        !raw.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    node.shutdown().await.expect("shutdown");
}
