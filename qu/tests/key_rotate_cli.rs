//! `qu key rotate` on a member of a three-node cluster of real `qu serve`
//! processes on loopback: the cluster keeps committing, every node's
//! `trust.yaml` names the new fingerprint and not the old one, the new key
//! is what the node uses on disk and after a restart, and a TLS connection
//! made with the old key is refused while one with the new key is served.

mod support;

use std::time::Duration;

use quptime::identity::{Identity, NodeId};
use quptime::transport::{Dialer, Limits, Ping};
use support::{Cluster, FAST, text, wait_for};

const ALL: [usize; 3] = [0, 1, 2];

/// A Ping to `addr` (pinned to `fp`) with `identity`'s key.
fn ping_with(identity: &Identity, addr: &str, fp: &quptime::Fingerprint) -> quptime::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let conn = Dialer::new(identity, Limits::default())
            .connect(addr, Some(fp))
            .await?;
        conn.call_with_timeout::<Ping>(&(), Duration::from_secs(5))
            .await
            .map(drop)
    })
}

#[test]
fn a_rotated_key_replaces_the_old_one_on_every_node() {
    let mut c = Cluster::formed(3, FAST);
    let before = c.wait_agreement(&ALL, 0, Duration::from_secs(20));
    let n = 1;
    let id = NodeId::new(c.nodes[n].id.as_str()).expect("id");
    let old = Identity::load(&c.nodes[n].data(), id.clone()).expect("old key");
    let n0 = Identity::load(
        &c.nodes[0].data(),
        NodeId::new(c.nodes[0].id.as_str()).expect("id"),
    )
    .expect("n1 key");
    // The old key works before the rotation (so the refusal below is the
    // rotation's doing).
    ping_with(&old, &c.nodes[0].addr(), n0.fingerprint()).expect("old key before rotation");

    let out = c.nodes[n].qu(&["key", "rotate", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["old"], old.fingerprint().as_str(), "{r}");
    let new = r["new"].as_str().expect("new").to_string();
    assert_ne!(new, old.fingerprint().as_str());

    // Every other node's trust store follows the replicated change (a
    // node's own trust.yaml holds the other members only).
    for (i, node) in c.nodes.iter().enumerate() {
        let path = node.data().join("trust.yaml");
        let rotated = i == n;
        wait_for(
            Duration::from_secs(15),
            Duration::from_millis(50),
            &format!("{}'s trust.yaml to name the new key only", node.name),
            || {
                let t = std::fs::read_to_string(&path).ok()?;
                (t.contains(&new) != rotated && !t.contains(old.fingerprint().as_str()))
                    .then_some(())
            },
        );
    }
    // The node uses the new key on disk, with no pending files left.
    let on_disk = Identity::load(&c.nodes[n].data(), id.clone()).expect("new key");
    assert_eq!(on_disk.fingerprint().as_str(), new);
    let keys: Vec<String> = std::fs::read_dir(c.nodes[n].data().join("keys"))
        .expect("keys dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!keys.iter().any(|k| k.starts_with("next-")), "{keys:?}");

    // The cluster still commits, through the rotated node too (it forwards
    // with its new key) and every node agrees.
    c.nodes[n].qu_ok(&["check", "add", "tcp", "after-rotation", "127.0.0.1:9"]);
    c.nodes[0].qu_ok(&["check", "add", "tcp", "from-n1", "127.0.0.1:9"]);
    c.wait_agreement(&ALL, before.config_version + 3, Duration::from_secs(20));
    for node in &c.nodes {
        let names = node.check_names();
        assert!(
            names.contains(&"after-rotation".to_string()) && names.contains(&"from-n1".to_string()),
            "{}: {names:?}",
            node.name
        );
    }

    // The old key is refused by every other member; the new one is served.
    for m in [0, 2] {
        let fp = Identity::load(
            &c.nodes[m].data(),
            NodeId::new(c.nodes[m].id.as_str()).expect("id"),
        )
        .expect("key")
        .fingerprint()
        .clone();
        let e = ping_with(&old, &c.nodes[m].addr(), &fp).expect_err("old key refused");
        assert_eq!(e.kind(), quptime::ErrorKind::NotTrusted, "{e}");
        ping_with(&on_disk, &c.nodes[m].addr(), &fp).expect("new key served");
    }

    // After a restart the node starts with the new key and rejoins.
    c.nodes[n].terminate();
    c.nodes[n].start_ready();
    let v = c
        .wait_agreement(&ALL, before.config_version + 3, Duration::from_secs(20))
        .config_version;
    c.nodes[n].qu_ok(&["check", "add", "tcp", "after-restart", "127.0.0.1:9"]);
    c.wait_agreement(&ALL, v + 1, Duration::from_secs(20));
}
