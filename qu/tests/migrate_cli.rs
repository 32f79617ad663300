//! Migrating from the original Go `qu`: a data directory in its layout
//! (`qu/tests/fixtures/original`: node.yaml, trust.yaml and cluster.yaml
//! with peers, checks and alerts in its schema; RSA keys made here with
//! openssl, as the original's are) starts under `qu serve`, founds the
//! cluster on its first change, absorbs two fresh nodes, and every node
//! then lists the original's checks and alert channels.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Cluster, FAST, Node, text, wait_for};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/original");

/// The original's key files: RSA private key (PKCS#1), public key and a
/// self-signed end-entity certificate.
fn make_rsa_keys(keys: &Path, node_id: &str) {
    std::fs::create_dir_all(keys).expect("keys dir");
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(keys)
            .output()
            .expect("run openssl (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            text(&out.stderr)
        );
    };
    run(&["genrsa", "-traditional", "-out", "private.pem", "2048"]);
    run(&["rsa", "-in", "private.pem", "-pubout", "-out", "public.pem"]);
    let subject = format!("/CN={node_id}/O=quptime");
    run(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "private.pem",
        "-out",
        "cert.pem",
        "-days",
        "3650",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=digitalSignature,keyEncipherment",
        "-addext",
        "extendedKeyUsage=serverAuth,clientAuth",
    ]);
}

/// A copy of the fixture as `node`'s data dir, listening on its port.
fn install_fixture(node: &Node) {
    let data = node.data();
    std::fs::create_dir_all(&data).expect("data dir");
    for f in ["node.yaml", "trust.yaml", "cluster.yaml"] {
        let body = std::fs::read_to_string(Path::new(FIXTURE).join(f)).expect("fixture");
        let body = if f == "node.yaml" {
            body.replace("0.0.0.0", "127.0.0.1")
                .replace("alpha.example.com:9901", &node.addr())
                .replace("9901", &node.port.to_string())
        } else {
            body
        };
        std::fs::write(data.join(f), body).expect("write");
    }
    make_rsa_keys(&data.join("keys"), &node.id);
}

fn names(v: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(v).expect("json");
    let mut n: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x["name"].as_str().expect("name").to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn an_original_data_dir_keeps_its_checks_and_alerts_on_every_node() {
    let mut c = Cluster::empty();
    let mut orig = Node::new(c.root(), "alpha", FAST);
    orig.id = "6f1d2c9e-4b7a-4c1e-9a51-2d3e4f5a6b7c".into();
    install_fixture(&orig);
    c.nodes.push(orig);
    for name in ["bravo", "charlie"] {
        let node = Node::new(c.root(), name, FAST);
        node.init(None);
        c.nodes.push(node);
    }
    for node in &mut c.nodes {
        node.start_ready();
    }
    // Until it founds or joins, the original's file is kept aside, whole.
    let data = c.nodes[0].data();
    assert!(data.join("cluster.original.yaml").exists());
    for i in 1..3 {
        let out = c.nodes[0].qu(&["node", "add", &c.nodes[i].addr(), "-y"]);
        assert!(
            out.status.success(),
            "node add {}: {}{}{}",
            c.nodes[i].name,
            text(&out.stdout),
            text(&out.stderr),
            c.nodes[0].log_tail(30)
        );
    }
    let checks = ["api-cert", "db", "homepage"];
    let alerts = ["oncall", "ops"];
    for node in &c.nodes {
        wait_for(
            Duration::from_secs(30),
            Duration::from_millis(200),
            &format!("{} to list the original's checks and alerts", node.name),
            || {
                let ok = names(&node.qu_ok(&["check", "list", "--json"])) == checks
                    && names(&node.qu_ok(&["alert", "list", "--json"])) == alerts;
                ok.then_some(())
            },
        );
    }
    // Imported once: the file is marked, and the cluster has one copy.
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "the original file to be marked imported",
        || {
            data.join("cluster.original.imported.yaml")
                .exists()
                .then_some(())
        },
    );
    let status = c.nodes[2].status().expect("status");
    assert_eq!(
        status["checks"].as_array().map(Vec::len),
        Some(3),
        "{status}"
    );
    // The original's alert routing survived (by id, and `ops` by name).
    let list: Value =
        serde_json::from_str(&c.nodes[1].qu_ok(&["check", "list", "--json"])).expect("json");
    let home = list
        .as_array()
        .and_then(|l| l.iter().find(|x| x["name"] == "homepage"))
        .expect("homepage");
    assert_eq!(home["id"], "0b6c1f7e-2a3d-4e5f-9a0b-1c2d3e4f5a6b", "{home}");
}

#[test]
fn qu_apply_accepts_the_original_cluster_yaml() {
    let mut c = Cluster::empty();
    let mut node = Node::new(c.root(), "n1", FAST);
    node.init(None);
    node.start_ready();
    c.nodes.push(node);
    c.wait_founded();
    let file = format!("{FIXTURE}/cluster.yaml");
    let out = c.nodes[0].qu_ok(&["apply", "-f", &file]);
    assert!(out.contains("homepage"), "{out}");
    assert_eq!(
        names(&c.nodes[0].qu_ok(&["check", "list", "--json"])),
        ["api-cert", "db", "homepage"]
    );
    // A typo is refused naming the line, and nothing changes.
    let bad = c.root().join("bad.yaml");
    let body = std::fs::read_to_string(&file)
        .expect("read")
        .replace("smtp_from:", "smtp_sender:");
    std::fs::write(&bad, body).expect("write");
    let out = c.nodes[0].qu(&["apply", "-f", bad.to_str().expect("utf-8")]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line ") && stderr.contains("smtp_sender"),
        "{stderr}"
    );
}
