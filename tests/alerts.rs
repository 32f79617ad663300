//! Alert dispatch end to end: exactly one alert per transition per
//! channel, across a master failover and a receiver outage.

use std::time::{Duration, Instant};

use quptime::state::{Check, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::{add_hook_and_check, wait_up, web_check, webhook};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;

fn check(url: &str) -> Check {
    web_check("web", url)
}

/// Three nodes; a webhook channel and check `web` (on a real HTTP target)
/// added through node `via`, once `web` is up: (cluster, target,
/// receiver, that node).
async fn web_behind_a_hook(via: usize) -> (TestCluster, HttpTarget, Receiver, quptime::Cluster) {
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let receiver = Receiver::start().await;
    let node = tc.node(via).clone();
    add_hook_and_check(&node, &receiver.url(), check(&target.url())).await;
    wait_up(&node, "web").await;
    (tc, target, receiver, node)
}

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
            Instant::now() < deadline,
            "receiver got {:?}, expected {want:?}",
            kinds(r)
        );
        assert!(
            kinds(r).len() <= want.len(),
            "receiver got {:?}, expected {want:?}",
            kinds(r)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And nothing more arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(kinds(r), want, "no duplicate alerts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_down_and_one_recovered_per_transition_across_a_failover() {
    let (mut tc, target, receiver, _) = web_behind_a_hook(0).await;
    assert!(receiver.received().is_empty(), "unknown -> up is silent");

    target.set_status(503);
    let down_at = Instant::now();
    expect_kinds(&receiver, &["down"], Duration::from_secs(15)).await;
    eprintln!(
        "DOWN reached the receiver about {:?} after the target failed",
        down_at.elapsed()
    );
    let body = receiver.received()[0].json();
    assert_eq!(body["check"]["name"], "web");
    assert_eq!(body["from"], "up");
    assert_eq!(body["to"], "down");
    assert!(
        body["evidence"].as_array().is_some_and(|e| e.len() >= 2),
        "{body}"
    );

    // The master dies while the check is down: no second DOWN.
    let first = tc.master(Duration::from_secs(5)).await;
    tc.stop(first).await;
    tc.master(Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(kinds(&receiver), vec!["down"]);
    tc.restart(first).await;
    wait_for(
        "the restarted node to catch up",
        Duration::from_secs(10),
        || tc.node(first).state().outbox.len() == 1,
    )
    .await;

    // The target recovers while the next master is being replaced: exactly
    // one RECOVERED, sent by whichever node ends up master.
    let second = tc.master(Duration::from_secs(5)).await;
    tc.stop(second).await;
    target.set_status(200);
    expect_kinds(&receiver, &["down", "recovered"], Duration::from_secs(20)).await;
    // Every delivery is recorded in the replicated outbox.
    let survivor = tc.running()[0].clone();
    wait_for("deliveries recorded", Duration::from_secs(5), || {
        let s = survivor.state();
        s.outbox.len() == 2 && s.outbox.values().all(|e| e.delivered_at.is_some())
    })
    .await;
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_waits_out_a_receiver_outage_and_arrives_once() {
    let (tc, target, receiver, node) = web_behind_a_hook(1).await;
    // The receiver fails for 30 s, right when the check goes down.
    receiver.answer(500);
    target.set_status(503);
    wait_for("the DOWN to be decided", Duration::from_secs(15), || {
        node.state()
            .check_states
            .get("web")
            .is_some_and(|s| s.state.as_str() == "down")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(receiver.received().is_empty());
    assert!(
        node.state().outbox.values().all(|e| e.pending()),
        "still pending while the receiver fails"
    );
    receiver.answer(204);
    expect_kinds(&receiver, &["down"], Duration::from_secs(40)).await;
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_test_reports_the_receivers_answer() {
    let tc = TestCluster::form(&["n1"], fast_timing()).await;
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    node.propose(Mutation::AddAlert {
        alert: webhook(&receiver.url()),
    })
    .await
    .expect("alert");
    let ok = node.test_alert("hook").await.expect("delivered");
    assert!(ok.answer.contains("204"), "{ok:?}");
    assert_eq!(kinds(&receiver), vec!["test"]);
    receiver.answer(500);
    let err = node.test_alert("hook").await.expect_err("receiver fails");
    assert!(err.to_string().contains("500"), "{err}");
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_repeat_the_alert_while_the_check_stays_down() {
    let tc = TestCluster::form(&["n1"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    let mut c = check(&target.url());
    c.remind = Some(Duration::from_secs(2));
    add_hook_and_check(&node, &receiver.url(), c).await;
    wait_up(&node, "web").await;
    target.set_status(503);
    wait_for("a DOWN and two reminders", Duration::from_secs(20), || {
        kinds(&receiver) == ["down", "reminder", "reminder"]
    })
    .await;
    target.set_status(200);
    wait_for("the recovery", Duration::from_secs(15), || {
        kinds(&receiver).last().is_some_and(|k| k == "recovered")
    })
    .await;
    let n = kinds(&receiver).len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(kinds(&receiver).len(), n, "no reminders once recovered");
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_checks_alerts_arrive_in_transition_order_after_an_outage_and_a_hand_over() {
    let (mut tc, target, receiver, node) = web_behind_a_hook(0).await;
    let is = |n: &quptime::Cluster, want: &str| {
        n.state()
            .check_states
            .get("web")
            .is_some_and(|s| s.state.as_str() == want)
    };
    // The receiver fails while the check goes down, up and down again:
    // DOWN, RECOVERED and DOWN queue up, each with its own retry history.
    receiver.answer(500);
    for (status, want) in [(503, "down"), (200, "up"), (503, "down")] {
        target.set_status(status);
        wait_for(want, Duration::from_secs(15), || is(&node, want)).await;
    }
    let pending = || node.state().outbox.values().filter(|e| e.pending()).count();
    assert_eq!(pending(), 3, "{:?}", node.state().outbox);
    // The master hands over while all three wait; the new one starts
    // from the replicated outbox and meets the same failing receiver.
    let first = tc.master(Duration::from_secs(5)).await;
    tc.stop(first).await;
    let second = tc.master(Duration::from_secs(10)).await;
    let survivor = tc.node(second).clone();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty());
    receiver.answer(204);
    expect_kinds(
        &receiver,
        &["down", "recovered", "down"],
        Duration::from_secs(60),
    )
    .await;
    // In the order of the transitions they announce.
    let times: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["time"].as_str().unwrap_or("").to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "alerts out of transition order");
    wait_for("deliveries recorded", Duration::from_secs(5), || {
        survivor
            .state()
            .outbox
            .values()
            .all(|e| e.delivered_at.is_some())
    })
    .await;
    tc.shutdown().await;
}
