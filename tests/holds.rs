//! Holds end to end, on three real nodes over loopback TLS with real HTTP
//! targets and a real webhook receiver: a dependency holds back the
//! child's DOWN while its parent is down, and the child alerts once when
//! the parent recovers and it is still down.

use std::time::{Duration, Instant};

use quptime::state::{Check, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::{wait_up, web_check, webhook};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;

fn named(id: &str, url: &str) -> Check {
    Check {
        name: id.into(),
        ..web_check(id, url)
    }
}

/// What the receiver got, as (check name, kind), in arrival order.
fn got(r: &Receiver) -> Vec<(String, String)> {
    r.received()
        .iter()
        .map(|x| {
            let j = x.json();
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_string();
            (s(&j["check"]["name"]), s(&j["kind"]))
        })
        .collect()
}

async fn wait_got(r: &Receiver, want: &[(&str, &str)], within: Duration) {
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    want.sort();
    let sorted = |r: &Receiver| {
        let mut v = got(r);
        v.sort();
        v
    };
    let deadline = Instant::now() + within;
    while sorted(r) != want {
        assert!(
            Instant::now() < deadline && got(r).len() <= want.len(),
            "receiver got {:?}, expected {want:?}",
            got(r)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until every node probed `target` `n` more times (rounds, not a
/// fixed sleep: what must not arrive had its chances).
async fn rounds(target: &HttpTarget, n: u64) {
    let from = target.hits();
    wait_for("more rounds of probes", Duration::from_secs(15), || {
        target.hits() >= from + 3 * n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_that_is_down_holds_back_its_child_until_it_recovers() {
    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let (gw_target, web_target) = (HttpTarget::start().await, HttpTarget::start().await);
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    node.propose(Mutation::AddAlert {
        alert: webhook(&receiver.url()),
    })
    .await
    .expect("add alert");
    node.propose(Mutation::AddCheck {
        check: named("gw", &gw_target.url()),
    })
    .await
    .expect("add gw");
    let web = Check {
        depends_on: vec!["gw".into()],
        ..named("web", &web_target.url())
    };
    node.propose(Mutation::AddCheck { check: web })
        .await
        .expect("add web");
    wait_up(&node, "gw").await;
    wait_up(&node, "web").await;

    // The gateway fails; once the cluster agrees it is down, web fails.
    gw_target.set_status(503);
    wait_got(&receiver, &[("gw", "down")], Duration::from_secs(15)).await;
    web_target.set_status(503);
    wait_for("web to be down and held", Duration::from_secs(15), || {
        node.state()
            .check_states
            .get("web")
            .is_some_and(|r| r.state.as_str() == "down" && r.held)
    })
    .await;
    let status = node.status_live().await;
    let web = status.checks.iter().find(|c| c.id == "web").expect("web");
    assert_eq!(web.blocked_by, vec!["gw".to_string()], "{web:?}");
    // Held back: a few rounds later still only the gateway's DOWN.
    rounds(&web_target, 3).await;
    assert_eq!(got(&receiver), vec![("gw".into(), "down".into())]);

    // The gateway recovers while web stays down: web alerts then, once.
    let recovered_at = Instant::now();
    gw_target.set_status(200);
    let want = [("gw", "down"), ("gw", "recovered"), ("web", "down")];
    wait_got(&receiver, &want, Duration::from_secs(20)).await;
    eprintln!(
        "web's DOWN arrived {:?} after the gateway recovered",
        recovered_at.elapsed()
    );
    rounds(&web_target, 3).await;
    assert_eq!(
        got(&receiver).len(),
        3,
        "nothing twice: {:?}",
        got(&receiver)
    );
    assert!(
        node.status_live()
            .await
            .checks
            .iter()
            .all(|c| c.blocked_by.is_empty())
    );
    tc.shutdown().await;
}
