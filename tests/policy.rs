//! A check's decision policy on a real three-node cluster over loopback:
//! labels given at init reach the member records, a check limited to the
//! EU nodes is probed and judged by those two only (a failure on the
//! third never counts), and one failing EU node leaves it `up` but
//! `degraded` until it recovers.

use std::time::Duration;

use quptime::Cluster;
use quptime::state::{Check, CheckType, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::target::HttpTarget;

fn eu_check(url: &str) -> Check {
    let mut c = Check {
        id: "id-eu".into(),
        name: "eu".into(),
        target: url.into(),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(800),
        ..Check::blank(CheckType::Http)
    };
    c.policy.nodes = [("region".to_string(), "eu".to_string())].into();
    c
}

/// The check `eu` in `node`'s live status.
async fn eu_status(node: &Cluster) -> quptime::cluster::CheckStatus {
    node.status_live()
        .await
        .checks
        .into_iter()
        .find(|c| c.name == "eu")
        .expect("eu in status")
}

/// The nodes whose votes `node`'s live status shows for `eu`.
async fn voters_of_eu(node: &Cluster) -> Vec<(String, bool)> {
    eu_status(node)
        .await
        .votes
        .iter()
        .map(|e| (e.node.to_string(), e.ok))
        .collect()
}

/// Poll `node`'s live status until `cond` holds for `eu` (at most 15 s).
async fn wait_status(
    node: &Cluster,
    what: &str,
    cond: impl Fn(&quptime::cluster::CheckStatus) -> bool,
) -> quptime::cluster::CheckStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let s = eu_status(node).await;
        if cond(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_for_eu_nodes_is_judged_by_them_alone_and_degrades_on_one_failure() {
    let labels: &[&[&str]] = &[&["region=eu"], &["region=eu", "tier=1"], &["region=us"]];
    let tc = TestCluster::form_labelled(&["n1", "n2", "n3"], labels, fast_timing(), false).await;
    let nodes = tc.running();
    wait_for(
        "every member record with its labels",
        Duration::from_secs(10),
        || {
            nodes.iter().all(|n| {
                let s = n.state();
                s.peers.len() == 3 && s.peers.values().all(|p| p.labels.contains_key("region"))
            })
        },
    )
    .await;
    let state = tc.node(0).state();
    let region = |n: &str| state.peers[&quptime::NodeId::new(n).unwrap()].labels["region"].clone();
    assert_eq!(
        (region("n1"), region("n2"), region("n3")),
        ("eu".into(), "eu".into(), "us".into())
    );

    let target = HttpTarget::start().await;
    // n3 (not in the EU) fails every probe of the check, were it to probe.
    tc.node(2).faults().fail_probes("eu");
    tc.node(1)
        .propose(Mutation::AddCheck {
            check: eu_check(&target.url()),
        })
        .await
        .expect("add check (level 4)");
    let up = wait_status(tc.node(0), "the check up", |s| s.state == "up").await;
    assert_eq!((up.ok, up.total), (2, 2), "only the EU nodes count: {up:?}");
    assert!(!up.degraded, "{up:?}");
    // A few more rounds: n3 never votes, the state never leaves up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..3 {
        assert_eq!(
            voters_of_eu(tc.node(i)).await,
            [("n1".to_string(), true), ("n2".to_string(), true)],
            "node {i}"
        );
    }
    assert!(
        tc.node(0)
            .state()
            .transitions
            .iter()
            .all(|t| t.check_id != "id-eu" || t.to == quptime::state::CheckState::Up),
        "no other transition"
    );
    // n3 is not selected: it does not even probe (no probe series), while
    // the EU nodes do.
    let probed = |i: usize| {
        tc.node(i)
            .metrics_text()
            .lines()
            .any(|l| l.starts_with("quptime_probes_total{") && l.contains("check=\"eu\""))
    };
    assert!(probed(0) && probed(1), "the EU nodes probe");
    assert!(
        !probed(2),
        "n3 does not probe: {}",
        tc.node(2).metrics_text()
    );

    // One EU node fails: with two judging nodes a DOWN needs both, so the
    // check stays up, degraded.
    tc.node(0).faults().fail_probes("eu");
    let s = wait_status(tc.node(2), "degraded", |s| s.degraded).await;
    assert_eq!(s.state, "up", "{s:?}");
    assert!(s.detail.contains("injected fault"), "{s:?}");
    tc.node(0).faults().heal_probes();
    let s = wait_status(tc.node(2), "degraded cleared", |s| !s.degraded && s.ok == 2).await;
    assert_eq!(s.state, "up", "{s:?}");
    tc.shutdown().await;
}
