//! Offline reading of a stopped node's Raft storage, across a snapshot:
//! the state `backup create` (daemon stopped) and `recover
//! --force-new-cluster` start from must equal what the node had applied,
//! whether the entries are in the snapshot, in the log after it, or both.

use std::time::Duration;

use quptime::api::CheckSpec;
use quptime::backup::{self, Backup};
use quptime::consensus::offline;
use quptime::init::{InitOptions, init_node};
use quptime::state::{CheckType, Mutation};
use quptime::{Cluster, NodeOptions};

fn options(dir: &std::path::Path) -> NodeOptions {
    let mut opts = NodeOptions::new(dir);
    opts.listen = Some("127.0.0.1:0".parse().expect("addr"));
    opts.timing.heartbeat = Duration::from_millis(100);
    opts.timing.election_min = Duration::from_millis(500);
    opts.timing.election_max = Duration::from_millis(1000);
    // Snapshot every 7 entries: 40 mutations leave a snapshot and a tail.
    opts.timing.snapshot_every = 7;
    opts
}

fn spec(name: &str) -> CheckSpec {
    CheckSpec {
        interval: Some("1h".into()),
        ..CheckSpec::new(name, CheckType::Tcp, "127.0.0.1:9")
    }
}

async fn wait_master(c: &Cluster) {
    for _ in 0..200 {
        if c.is_master() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no master within 10s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_snapshot_plus_log_equals_the_applied_state_and_recovery_keeps_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("a");
    init_node(
        &dir,
        InitOptions {
            node_id: Some("a".into()),
            bind_addr: Some("127.0.0.1".into()),
            ..InitOptions::default()
        },
    )
    .expect("init");
    let node = Cluster::start(options(&dir)).await.expect("start");
    wait_master(&node).await;
    for i in 0..40 {
        quptime::api::add_check(&node, spec(&format!("c{i}")))
            .await
            .expect("add");
    }
    // Removals and edits replay too.
    node.propose(Mutation::RemoveCheck { check: "c3".into() })
        .await
        .expect("remove");
    let applied = node.state();
    node.shutdown().await.expect("shutdown");
    assert!(
        dir.join("raft/snapshot.json").exists(),
        "no snapshot was taken"
    );

    let local = offline::read_state(&dir.join("raft")).await.expect("read");
    assert_eq!(local.state.checks, applied.checks);
    assert_eq!(local.state.version, applied.version);
    assert!(local.replayed > 0, "nothing after the snapshot: {local:?}");
    let b = Backup::of_stopped_node(&dir).await.expect("offline backup");
    assert_eq!(b.source, "storage");
    assert_eq!(b.checks.len(), 39);

    let (done, version) = backup::force_new_cluster(&dir).await.expect("recover");
    assert_eq!(version, applied.version);
    assert_eq!(done.checks, 39);
    let node = Cluster::start(options(&dir)).await.expect("restart");
    assert_eq!(
        node.state().checks,
        applied.checks,
        "the import is committed at start"
    );
    assert!(
        !dir.join("raft").join(offline::IMPORT_FILE).exists(),
        "the import file outlived its commit"
    );
    wait_master(&node).await;
    quptime::api::add_check(&node, spec("after"))
        .await
        .expect("write after recovery");
    node.shutdown().await.expect("shutdown");

    // A second start does not import again.
    let node = Cluster::start(options(&dir)).await.expect("restart 2");
    assert_eq!(node.state().checks.len(), 40);
    node.shutdown().await.expect("shutdown");
}
