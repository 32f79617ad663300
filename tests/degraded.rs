//! Degraded alerting per channel, end to end: three nodes on loopback, one
//! of them seeing the check fail (the existing probe fault injection). A
//! channel that routes `degraded` gets one DEGRADED notice when the flag
//! appears (after the check's rounds) and one when it clears; a channel
//! without an `events` setting hears nothing new, and nobody gets a DOWN.

use std::time::{Duration, Instant};

use quptime::state::Mutation;
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::{wait_up, web_check, webhook};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;

fn kinds(r: &Receiver) -> Vec<String> {
    r.received()
        .iter()
        .map(|x| x.json()["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

async fn expect_kinds(r: &Receiver, want: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    while kinds(r) != want {
        assert!(
            Instant::now() < deadline && kinds(r).len() <= want.len(),
            "receiver got {:?}, expected {want:?}",
            kinds(r)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        assert_eq!(kinds(r), want, "no further notice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_routing_degraded_hears_once_when_it_appears_and_once_when_it_clears() {
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let asks = Receiver::start().await;
    let plain = Receiver::start().await;
    let node = tc.node(0).clone();
    let mut hook = webhook(&asks.url());
    hook.settings
        .insert("events".into(), "down,recovered,degraded".into());
    node.propose(Mutation::AddAlert { alert: hook })
        .await
        .expect("add alert");
    let mut other = webhook(&plain.url());
    other.id = "plain".into();
    other.name = "plain".into();
    node.propose(Mutation::AddAlert { alert: other })
        .await
        .expect("add alert");
    let mut check = web_check("web", &target.url());
    check.alerts = vec!["hook".into(), "plain".into()];
    node.propose(Mutation::AddCheck { check })
        .await
        .expect("add check");
    wait_up(&node, "web").await;

    tc.node(2).faults().fail_probes("web");
    expect_kinds(&asks, &["degraded"], Duration::from_secs(20)).await;
    let body = asks.received()[0].json();
    assert_eq!(body["check"]["name"], "web");
    assert_eq!(body["from"], "up");
    assert_eq!(body["to"], "up");
    let failing: Vec<String> = body["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter(|e| e["ok"] == false)
        .map(|e| e["node"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(failing, ["n3"], "{body}");
    assert!(node.state().check_states["web"].degraded);

    tc.node(2).faults().heal_probes();
    expect_kinds(
        &asks,
        &["degraded", "degraded-cleared"],
        Duration::from_secs(20),
    )
    .await;
    wait_for("the flag to clear", Duration::from_secs(5), || {
        !node.state().check_states["web"].degraded
    })
    .await;
    assert_eq!(
        node.state().check_states["web"].state.as_str(),
        "up",
        "up all along"
    );
    assert!(plain.received().is_empty(), "{:?}", kinds(&plain));
    tc.shutdown().await;
}
