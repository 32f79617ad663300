//! `qu alert add slack … --ca FILE` then `qu alert test` through a real
//! daemon, to a real HTTPS receiver on 127.0.0.1 whose certificate comes
//! from a private CA that only the channel's `ca` setting trusts: the
//! same path every new provider takes (the notifier-level conformance
//! test covers each provider's request shape).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use support::{Cluster, FAST};

/// A CA (PEM) and a TLS config for a 127.0.0.1 leaf it signs.
fn tls() -> (String, rustls::ServerConfig) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "qu providers test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("leaf");
    leaf.is_ca = IsCa::ExplicitNoCa;
    let cert = leaf.signed_by(&key, &issuer).expect("signed");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("cert");
    (ca_cert.pem(), config)
}

/// Serve one HTTPS request on `listener`: send (request line, body) on
/// `tx`, answer 200.
fn serve_one(
    listener: TcpListener,
    config: rustls::ServerConfig,
    tx: mpsc::Sender<(String, String)>,
) {
    let (tcp, _) = listener.accept().expect("accept");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let conn = rustls::ServerConnection::new(Arc::new(config)).expect("conn");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut reader = BufReader::new(&mut tls);
    let mut line = String::new();
    reader.read_line(&mut line).expect("request line");
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).expect("header");
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().expect("length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    tx.send((
        line.trim().to_string(),
        String::from_utf8_lossy(&body).into_owned(),
    ))
    .expect("send");
    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

#[test]
fn alert_add_slack_with_its_own_ca_then_alert_test_delivers_over_https() {
    let c = Cluster::formed(1, FAST);
    let n1 = &c.nodes[0];
    let (ca_pem, config) = tls();
    let ca_file = c.root().join("slack-ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write ca");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::spawn(move || serve_one(listener, config, tx));

    let url = format!("https://127.0.0.1:{port}/services/T0/B0/SECRETslack");
    let ca = ca_file.to_str().expect("utf-8 path");
    n1.qu_ok(&["alert", "add", "slack", "ops", "--url", &url, "--ca", ca]);
    let listed = n1.qu_ok(&["alert", "list"]);
    assert!(
        listed.contains("slack") && !listed.contains("SECRETslack"),
        "{listed}"
    );
    let out = n1.qu_ok(&["alert", "test", "ops"]);
    assert!(out.contains("delivered through ops"), "{out}");
    assert!(out.contains("200 OK"), "{out}");

    let (line, body) = rx.recv_timeout(Duration::from_secs(30)).expect("request");
    server.join().expect("server");
    assert_eq!(line, "POST /services/T0/B0/SECRETslack HTTP/1.1");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["blocks"][0]["type"], "header");
    assert_eq!(json["blocks"][0]["text"]["text"], "[quptime] test alert");
}

#[test]
fn alert_add_help_lists_every_provider() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qu"))
        .args(["alert", "add", "--help"])
        .output()
        .expect("qu");
    let help = String::from_utf8_lossy(&out.stdout);
    for kind in quptime::state::ALERT_TYPES {
        assert!(help.contains(kind), "{kind} missing from:\n{help}");
    }
}
