//! Replicated state over real loopback TLS: forming a cluster with the
//! secret handshake, agreement, no lost writes, a single master, no-quorum
//! behaviour, removal and catch-up.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use quptime::ErrorKind;
use quptime::identity::NodeId;
use quptime::state::{Check, CheckType, Mutation};
use quptime_tests::cluster::{DutyLog, TestCluster, fast_timing, wait_for};

fn tcp_check(name: &str) -> Mutation {
    Mutation::AddCheck {
        check: Check {
            id: format!("id-{name}"),
            name: name.to_string(),
            target: "127.0.0.1:9".into(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            ..Check::blank(CheckType::Tcp)
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_form_and_agree_on_master_and_version() {
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let nodes = tc.running();
    // Every member trusts every other one, and all are voters (the last
    // join reaches the followers a replication round after the founder).
    wait_for(
        "every node to see three voters",
        Duration::from_secs(5),
        || {
            nodes.iter().all(|n| {
                let s = n.status();
                s.peers.len() == 3 && s.peers.iter().all(|p| p.voter)
            })
        },
    )
    .await;
    // A mutation through a follower shows up everywhere within 2 s.
    let master = tc.master(Duration::from_secs(5)).await;
    let follower = (master + 1) % 3;
    let outcome = tc
        .node(follower)
        .propose(tcp_check("db"))
        .await
        .expect("propose via follower");
    let started = Instant::now();
    wait_for(
        "every node to apply the mutation",
        Duration::from_secs(2),
        || nodes.iter().all(|n| n.state().version == outcome.version),
    )
    .await;
    eprintln!("converged in {:?}", started.elapsed());
    // Same master and version in every status report.
    wait_for(
        "identical status on every node",
        Duration::from_secs(3),
        || {
            let all: Vec<_> = nodes.iter().map(|n| n.status()).collect();
            all.iter().all(|s| s.quorum && s.master == all[0].master)
        },
    )
    .await;
    let mut masters = BTreeSet::new();
    let mut versions = BTreeSet::new();
    for n in &nodes {
        let s = n.status();
        masters.insert(s.master.clone());
        versions.insert(s.config_version);
        assert!(s.quorum, "{s:?}");
        assert_eq!(s.need, 2);
    }
    assert_eq!(masters.len(), 1, "{masters:?}");
    assert_eq!(versions.len(), 1, "{versions:?}");
    // cluster.yaml is exported on every node.
    for dir in &tc.dirs {
        wait_for("cluster.yaml export", Duration::from_secs(2), || {
            std::fs::read_to_string(dir.join("cluster.yaml")).is_ok_and(|t| t.contains("name: db"))
        })
        .await;
    }
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_through_all_nodes_are_never_lost() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let mut tasks = Vec::new();
    for client in 0..3 {
        for k in 0..30 {
            let node = tc.node(k % 3).clone();
            tasks.push(tokio::spawn(async move {
                node.propose(tcp_check(&format!("c{client}-{k}"))).await
            }));
        }
    }
    let mut versions = BTreeSet::new();
    for t in tasks {
        let outcome = t.await.expect("join").expect("every add is acknowledged");
        assert!(
            versions.insert(outcome.version),
            "duplicate version {}",
            outcome.version
        );
    }
    assert_eq!(versions.len(), 90);
    let expect = |tc: &TestCluster| tc.running().iter().all(|n| n.state().checks.len() == 90);
    wait_for("90 checks everywhere", Duration::from_secs(5), || {
        expect(&tc)
    })
    .await;

    // Restart the master, then every node: nothing acknowledged is lost.
    let master = tc.master(Duration::from_secs(5)).await;
    tc.stop(master).await;
    tc.restart(master).await;
    wait_for(
        "90 checks after a master restart",
        Duration::from_secs(10),
        || expect(&tc),
    )
    .await;
    for i in 0..3 {
        tc.stop(i).await;
    }
    for i in 0..3 {
        tc.restart(i).await;
    }
    tc.master(Duration::from_secs(10)).await;
    wait_for(
        "90 checks after a full restart",
        Duration::from_secs(10),
        || expect(&tc),
    )
    .await;
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_quorum_mutations_fail_fast_and_change_nothing() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    tc.node(0)
        .propose(tcp_check("before"))
        .await
        .expect("with quorum");
    let survivor = 2;
    tc.stop(0).await;
    tc.stop(1).await;
    let node = tc.node(survivor).clone();
    let before = node.state();
    let started = Instant::now();
    let err = node
        .propose(tcp_check("after"))
        .await
        .expect_err("no quorum");
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::NoQuorum, "{err}");
    assert!(err.to_string().starts_with("no quorum:"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(node.state().version, before.version);
    assert!(node.state().find_check("after").is_err());
    let s = node.status();
    assert!(!s.quorum && s.master.is_none(), "{s:?}");
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_one_master_when_the_master_is_partitioned() {
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let mut duty = DutyLog::default();
    for n in tc.running() {
        duty.watch(&n);
    }
    let old = tc.master(Duration::from_secs(5)).await;
    let old_id = tc.node(old).node_id().clone();
    // Cut the master off from both others, in both directions.
    for (i, n) in tc.running().iter().enumerate() {
        if i == old {
            for other in tc.running() {
                if other.node_id() != &old_id {
                    n.faults().cut(other.node_id());
                }
            }
        } else {
            n.faults().cut(&old_id);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        let m: Vec<usize> = (0..3)
            .filter(|i| *i != old && tc.node(*i).is_master())
            .collect();
        if let Some(m) = m.first() {
            break *m;
        }
        assert!(
            Instant::now() < deadline,
            "no new master after the partition"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        !tc.node(old).is_master(),
        "the isolated old master must have stopped acting"
    );
    // A write on the majority side works; on the isolated side it fails.
    tc.node(new)
        .propose(tcp_check("majority"))
        .await
        .expect("majority side writes");
    let err = tc
        .node(old)
        .propose(tcp_check("minority"))
        .await
        .expect_err("minority side");
    assert_eq!(err.kind(), ErrorKind::NoQuorum, "{err}");
    // Heal: the old master rejoins as a follower and catches up.
    for n in tc.running() {
        n.faults().heal();
    }
    wait_for(
        "the old master to catch up",
        Duration::from_secs(10),
        || tc.node(old).state().find_check("majority").is_ok(),
    )
    .await;
    duty.assert_no_overlap();
    assert!(
        duty.spans().len() >= 2,
        "expected a hand-over, got {:?}",
        duty.spans()
    );
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_node_revokes_it_everywhere() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let victim = NodeId::new("n3").expect("id");
    let fp = tc.node(2).fingerprint().clone();
    tc.node(1)
        .remove_node(&victim)
        .await
        .expect("remove via a follower or the master");
    wait_for(
        "every remaining node to drop n3",
        Duration::from_secs(5),
        || {
            (0..2).all(|i| {
                let n = tc.node(i);
                !n.state().peers.contains_key(&victim) && n.trust().get(&victim).is_none()
            })
        },
    )
    .await;
    for i in 0..2 {
        let s = tc.node(i).status();
        assert_eq!(s.need, 2);
        assert!(s.peers.iter().all(|p| p.node_id != victim), "{s:?}");
        let _ = &fp;
    }
    // The remaining two still commit.
    tc.node(0)
        .propose(tcp_check("after-removal"))
        .await
        .expect("two members commit");
    tc.stop(2).await;
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_was_down_catches_up_within_seconds() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let master = tc.master(Duration::from_secs(5)).await;
    let lagger = (master + 1) % 3;
    tc.stop(lagger).await;
    let live = (0..3).find(|i| *i != lagger).expect("live");
    for k in 0..20 {
        tc.node(live)
            .propose(tcp_check(&format!("while-down-{k}")))
            .await
            .expect("propose");
    }
    let want = tc.node(live).state().version;
    tc.restart(lagger).await;
    let started = Instant::now();
    loop {
        let got = tc.node(lagger).state().version;
        if got == want {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the returning node is at version {got}, the cluster at {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("caught up in {:?}", started.elapsed());
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staggered_start_never_has_two_masters() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    tc.node(0)
        .propose(tcp_check("before"))
        .await
        .expect("propose");
    for i in 0..3 {
        tc.stop(i).await;
    }
    let mut duty = DutyLog::default();
    // Highest id first, the preferred node last, 700 ms apart.
    for i in [2, 1, 0] {
        tc.restart(i).await;
        duty.watch(tc.node(i));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    tc.master(Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    duty.assert_no_overlap();
    assert!(!duty.spans().is_empty());
    // The cluster works and kept its state.
    tc.node(1)
        .propose(tcp_check("after"))
        .await
        .expect("propose after restart");
    assert!(tc.node(2).state().find_check("before").is_ok());
    tc.shutdown().await;
}
