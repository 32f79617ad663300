//! Escalation, the storm digest and flap control end to end, on three
//! real nodes over loopback TLS with real HTTP targets and real webhook
//! receivers: 50 checks failing at once reach a channel as one digest (and
//! recover as one), a flapping target sends exactly one FLAPPING notice,
//! an escalation fires once after its delay even when the master is killed
//! in the middle of it, and a master killed in the middle of a maintenance
//! window sends the DOWN it held back once, when the window ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quptime::state::{Check, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::{wait_up, web_check, webhook};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;

/// What `r` got, as (kind, check name or digest size), in arrival order.
fn got(r: &Receiver) -> Vec<(String, String)> {
    r.received()
        .iter()
        .map(|x| {
            let j = x.json();
            let kind = j["kind"].as_str().unwrap_or("?").to_string();
            let what = match j["digest_total"].as_u64() {
                Some(n) => format!("digest of {n}"),
                None => j["check"]["name"].as_str().unwrap_or("?").to_string(),
            };
            (kind, what)
        })
        .collect()
}

async fn wait_count(what: &str, r: &Receiver, n: usize, within: Duration) {
    wait_for(what, within, || r.received().len() >= n).await;
}

/// Wait until every node probed `target` `n` more times (rounds, not a
/// fixed sleep: what must not arrive had its chances).
async fn rounds(target: &HttpTarget, per_round: u64, n: u64) {
    let from = target.hits();
    wait_for("more rounds of probes", Duration::from_secs(30), || {
        target.hits() >= from + per_round * n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_checks_failing_at_once_reach_the_channel_as_one_digest() {
    const N: usize = 50;
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    // The default threshold (10): 50 is a storm.
    node.propose(Mutation::AddAlert {
        alert: webhook(&receiver.url()),
    })
    .await
    .expect("add alert");
    for i in 0..N {
        let check = Check {
            name: format!("svc-{i:02}"),
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            ..web_check(&format!("c{i:02}"), &format!("{}/svc/{i}", target.url()))
        };
        node.propose(Mutation::AddCheck { check })
            .await
            .expect("add check");
    }
    for i in 0..N {
        wait_up(&node, &format!("c{i:02}")).await;
    }
    target.set_status(503);
    let failed_at = Instant::now();
    wait_count("the DOWN digest", &receiver, 1, Duration::from_secs(30)).await;
    eprintln!("digest arrived {:?} after the failure", failed_at.elapsed());
    // Every check is down and every entry delivered: still one message.
    wait_for("every DOWN delivered", Duration::from_secs(30), || {
        let s = node.state();
        s.outbox.len() == N && s.outbox.values().all(|e| e.delivered_at.is_some())
    })
    .await;
    assert_eq!(
        got(&receiver),
        vec![("down".into(), format!("digest of {N}"))]
    );
    let doc = receiver.received()[0].json();
    let mut names: Vec<String> = doc["digest"]
        .as_array()
        .expect("digest list")
        .iter()
        .map(|d| d["check"].as_str().unwrap_or("?").to_string())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N, "each check listed once: {names:?}");
    assert!(
        doc["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("50 checks are DOWN"),
        "{doc}"
    );
    // They recover together: one RECOVERED digest.
    target.set_status(200);
    wait_count(
        "the RECOVERED digest",
        &receiver,
        2,
        Duration::from_secs(30),
    )
    .await;
    rounds(&target, 3 * N as u64 / 2, 3).await;
    assert_eq!(
        got(&receiver),
        vec![
            ("down".into(), format!("digest of {N}")),
            ("recovered".into(), format!("digest of {N}"))
        ]
    );
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_alternating_every_round_sends_exactly_one_flapping_notice() {
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = Arc::new(HttpTarget::start().await);
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    node.propose(Mutation::AddAlert {
        alert: webhook(&receiver.url()),
    })
    .await
    .expect("add alert");
    let mut check = web_check("web", &target.url());
    // One verdict flips the state, so the alternation shows in every round.
    check.policy.fail_after = Some(1);
    check.policy.recover_after = Some(1);
    check.flap_threshold = Some(4);
    check.flap_window = Some(Duration::from_secs(60));
    node.propose(Mutation::AddCheck { check })
        .await
        .expect("add check");
    wait_up(&node, "web").await;
    // Alternate every round (the interval is 1 s) for 40 s.
    let flipper = {
        let target = target.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            for i in 0..40u32 {
                tick.tick().await;
                target.set_status(if i % 2 == 0 { 503 } else { 200 });
            }
            target.set_status(200);
        })
    };
    flipper.await.expect("flipper");
    let s = node.state();
    let changes = s.transitions.iter().filter(|t| t.check_id == "web").count();
    assert!(
        changes > 8,
        "the state kept updating: {changes} transitions"
    );
    assert!(s.check_states["web"].flapping, "still flapping");
    let kinds: Vec<String> = got(&receiver).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "flapping").count(),
        1,
        "exactly one FLAPPING notice: {kinds:?}"
    );
    let at = kinds
        .iter()
        .position(|k| k == "flapping")
        .expect("flapping");
    assert_eq!(at + 1, kinds.len(), "quiet after it: {kinds:?}");
    assert!(
        at <= 4,
        "at most the threshold's changes were announced first: {kinds:?}"
    );
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_fires_once_after_its_delay_across_a_master_failover() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let (ops, pager) = (Receiver::start().await, Receiver::start().await);
    let node = tc.node(0).clone();
    let mut oncall = webhook(&pager.url());
    oncall.id = "oncall".into();
    oncall.name = "oncall".into();
    node.propose(Mutation::AddAlert { alert: oncall })
        .await
        .expect("add oncall");
    let mut hook = webhook(&ops.url());
    for (k, v) in [("escalate_after", "8s"), ("escalate_to", "oncall")] {
        hook.settings.insert(k.into(), v.into());
    }
    node.propose(Mutation::AddAlert { alert: hook })
        .await
        .expect("add hook");
    node.propose(Mutation::AddCheck {
        check: web_check("web", &target.url()),
    })
    .await
    .expect("add check");
    wait_up(&node, "web").await;
    target.set_status(503);
    wait_count("the DOWN", &ops, 1, Duration::from_secs(20)).await;
    let down_at = Instant::now();
    // Kill the master once the DOWN's delivery is committed, in the
    // middle of the escalation delay.
    let master = tc.master(Duration::from_secs(5)).await;
    let other = tc.node((master + 1) % 3).clone();
    wait_for("the DOWN marked delivered", Duration::from_secs(10), || {
        other
            .state()
            .outbox
            .values()
            .all(|e| e.delivered_at.is_some())
    })
    .await;
    tc.stop(master).await;
    assert!(
        down_at.elapsed() < Duration::from_secs(8),
        "the failover is inside the delay"
    );
    wait_count("the escalation", &pager, 1, Duration::from_secs(30)).await;
    // The delay counts from when the DOWN was queued (`down_ms`, this
    // machine's clock), before the channel's digest gathering and the send.
    let since_queued = quptime::state::mutation::now_ms()
        .saturating_sub(other.state().check_states["web"].down_ms);
    eprintln!(
        "escalated {since_queued} ms after the DOWN was queued, {:?} after it arrived",
        down_at.elapsed()
    );
    assert!(
        since_queued >= 8_000,
        "not before its delay: {since_queued} ms"
    );
    // A few rounds more: nothing twice, on either channel.
    rounds(&target, 2, 5).await;
    assert_eq!(got(&ops), vec![("down".into(), "web".into())]);
    assert_eq!(got(&pager), vec![("reminder".into(), "web".into())]);
    let doc = pager.received()[0].json();
    assert_eq!(
        doc["incident"],
        ops.received()[0].json()["incident"],
        "the escalation carries the DOWN's incident"
    );
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_in_the_middle_of_a_window_sends_the_held_down_once() {
    use quptime::state::maintenance::{MaintenanceWindow, When};
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let target = HttpTarget::start().await;
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    node.propose(Mutation::AddAlert {
        alert: webhook(&receiver.url()),
    })
    .await
    .expect("add alert");
    node.propose(Mutation::AddCheck {
        check: web_check("web", &target.url()),
    })
    .await
    .expect("add check");
    wait_up(&node, "web").await;
    // A 10 s window from now; the target fails inside it.
    let window = MaintenanceWindow {
        id: "w1".into(),
        checks: vec!["web".into()],
        when: When::Once {
            start_ms: quptime::state::mutation::now_ms(),
        },
        duration_ms: 10_000,
        reason: "failover drill".into(),
        silence: false,
    };
    let opened = Instant::now();
    node.propose(Mutation::AddMaintenance { window })
        .await
        .expect("add window");
    target.set_status(503);
    wait_for("web down and held", Duration::from_secs(8), || {
        node.state()
            .check_states
            .get("web")
            .is_some_and(|r| r.state.as_str() == "down" && r.held)
    })
    .await;
    // Kill the master inside the window.
    let master = tc.master(Duration::from_secs(5)).await;
    tc.stop(master).await;
    assert!(
        opened.elapsed() < Duration::from_secs(10),
        "inside the window"
    );
    assert!(receiver.received().is_empty(), "held: {:?}", got(&receiver));
    wait_count("the released DOWN", &receiver, 1, Duration::from_secs(30)).await;
    assert!(
        opened.elapsed() >= Duration::from_secs(9),
        "not before the window ended: {:?}",
        opened.elapsed()
    );
    rounds(&target, 2, 5).await;
    assert_eq!(got(&receiver), vec![("down".into(), "web".into())]);
    tc.shutdown().await;
}
