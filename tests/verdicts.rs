//! Quorum verdicts end to end: three nodes probe a real local HTTP target;
//! one node alone seeing a failure changes nothing, a majority seeing it
//! produces exactly one DOWN (and later one RECOVERED) on every node's
//! subscription, also across a master failover.

use std::time::{Duration, Instant};

use quptime::state::{Check, CheckState, CheckType, Mutation, TransitionRecord};
use quptime::{Cluster, cluster::Subscription};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::target::HttpTarget;

fn http_check(name: &str, url: &str) -> Check {
    Check {
        id: format!("id-{name}"),
        name: name.into(),
        target: url.into(),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(800),
        ..Check::blank(CheckType::Http)
    }
}

/// Wait for the next transition on `sub`, at most `within`.
async fn next(sub: &mut Subscription, within: Duration) -> TransitionRecord {
    tokio::time::timeout(within, sub.next())
        .await
        .expect("a transition within the deadline")
        .expect("node running")
}

fn state_everywhere(nodes: &[Cluster], id: &str, want: CheckState) -> bool {
    nodes.iter().all(|n| {
        n.state()
            .check_states
            .get(id)
            .is_some_and(|r| r.state == want)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_failure_is_outvoted_and_a_majority_failure_goes_down_once() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let nodes = tc.running();
    let mut subs: Vec<Subscription> = nodes.iter().map(|n| n.subscribe()).collect();
    tc.node(1)
        .propose(Mutation::AddCheck {
            check: http_check("web", &target.url()),
        })
        .await
        .expect("add check");
    // unknown -> up, on every node.
    for s in subs.iter_mut() {
        let t = next(s, Duration::from_secs(15)).await;
        assert_eq!(
            (t.from, t.to),
            (CheckState::Unknown, CheckState::Up),
            "{t:?}"
        );
        assert!(
            t.evidence.iter().all(|e| e.ok && e.detail.contains("200")),
            "{t:?}"
        );
    }
    assert!(target.hits() >= 3, "every node probes the target");

    // One node's uplink breaks: it alone sees the target fail.
    tc.node(2).faults().fail_probes("web");
    tokio::time::sleep(Duration::from_secs(5)).await;
    for s in subs.iter_mut() {
        assert_eq!(
            s.try_next(),
            None,
            "a lone failure must not change the state"
        );
    }
    assert!(state_everywhere(&nodes, "id-web", CheckState::Up));
    let status = tc.node(0).status_live().await;
    let web = status
        .checks
        .iter()
        .find(|c| c.name == "web")
        .expect("web in status");
    assert_eq!(
        (web.state.as_str(), web.ok, web.total),
        ("up", 2, 3),
        "{web:?}"
    );
    assert!(web.detail.contains("injected fault"), "{web:?}");
    // Every node's status (followers ask the master) names each member's
    // vote, and the transition that brought the check up.
    for i in 0..3 {
        let status = tc.node(i).status_live().await;
        let web = status
            .checks
            .iter()
            .find(|c| c.name == "web")
            .expect("web in status");
        let votes: Vec<(String, bool)> = web
            .votes
            .iter()
            .map(|e| (e.node.to_string(), e.ok))
            .collect();
        assert_eq!(
            votes,
            [
                ("n1".into(), true),
                ("n2".into(), true),
                ("n3".into(), false)
            ],
            "node {i}: {web:?}"
        );
        let last = web.last_transition.as_ref().expect("the transition to up");
        assert_eq!((last.from, last.to), (CheckState::Unknown, CheckState::Up));
        assert_eq!(web.since.as_deref(), Some(last.at.as_str()), "{web:?}");
    }
    tc.node(2).faults().heal_probes();

    // The service really goes down: every node sees it.
    target.set_status(503);
    let started = Instant::now();
    let mut seqs = Vec::new();
    for s in subs.iter_mut() {
        let t = next(s, Duration::from_secs(15)).await;
        assert_eq!((t.from, t.to), (CheckState::Up, CheckState::Down), "{t:?}");
        assert!(t.evidence.iter().filter(|e| !e.ok).count() >= 2, "{t:?}");
        assert!(
            t.evidence_summary().contains("status 503"),
            "{}",
            t.evidence_summary()
        );
        seqs.push(t.seq);
    }
    eprintln!(
        "DOWN committed {:?} after the target failed",
        started.elapsed()
    );
    assert!(
        seqs.windows(2).all(|w| w[0] == w[1]),
        "same transition everywhere: {seqs:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    for s in subs.iter_mut() {
        assert_eq!(s.try_next(), None, "exactly one DOWN");
    }

    // Master failover while down: no second DOWN; recovery is announced once.
    let master = tc.master(Duration::from_secs(5)).await;
    tc.stop(master).await;
    let survivors: Vec<usize> = (0..3).filter(|i| *i != master).collect();
    tc.master(Duration::from_secs(10)).await;
    target.set_status(200);
    for i in &survivors {
        let t = next(&mut subs[*i], Duration::from_secs(20)).await;
        assert_eq!((t.from, t.to), (CheckState::Down, CheckState::Up), "{t:?}");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in &survivors {
        assert_eq!(subs[*i].try_next(), None, "exactly one RECOVERED");
    }
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_take_effect_without_restarting_other_checks() {
    let tc = TestCluster::form(&["n1"], fast_timing()).await;
    let a = HttpTarget::start().await;
    let b = HttpTarget::start().await;
    let node = tc.node(0).clone();
    node.propose(Mutation::AddCheck {
        check: http_check("a", &a.url()),
    })
    .await
    .expect("a");
    node.propose(Mutation::AddCheck {
        check: http_check("b", &b.url()),
    })
    .await
    .expect("b");
    wait_for("both probed", Duration::from_secs(5), || {
        a.hits() >= 2 && b.hits() >= 2
    })
    .await;
    // Disable b: its probes stop within a second, a's continue.
    let mut off = node.state().checks["id-b"].clone();
    off.disabled = true;
    node.propose(Mutation::UpdateCheck { check: off })
        .await
        .expect("disable");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (a0, b0) = (a.hits(), b.hits());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(b.hits(), b0, "a disabled check is not probed");
    assert!(a.hits() >= a0 + 2, "other checks keep running");
    // Removing a stops it too.
    node.propose(Mutation::RemoveCheck { check: "a".into() })
        .await
        .expect("remove");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let a1 = a.hits();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(a.hits(), a1);
    tc.shutdown().await;
}
