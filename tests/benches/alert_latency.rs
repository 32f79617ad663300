//! Time from a target going down (for every node) to the DOWN alert
//! arriving at the receiver, and the same for RECOVERED, on a 3-node
//! in-process cluster over loopback TLS with a 1 s check interval and the
//! default hysteresis (2 rounds). Target: under 2 intervals + 1 s.
//!
//! `cargo bench -p quptime-tests --bench alert_latency` prints the figures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use quptime::state::{AlertChannel, Check, CheckType, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;

const ROUNDS: usize = 8;

fn kinds(r: &Receiver) -> usize {
    r.received().len()
}

async fn until_count(r: &Receiver, n: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    while kinds(r) < n {
        assert!(Instant::now() < deadline, "alert never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Instant::now()
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let med = v[v.len() / 2];
    format!(
        "median {:>8.2?}  min {:>8.2?}  max {:>8.2?}",
        med,
        v[0],
        v[v.len() - 1]
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
        let target = HttpTarget::start().await;
        let receiver = Receiver::start().await;
        let node = tc.node(0).clone();
        let mut settings = BTreeMap::new();
        settings.insert("url".to_string(), receiver.url());
        let alert = AlertChannel {
            id: "hook".into(),
            name: "hook".into(),
            kind: "webhook".into(),
            default: true,
            disabled: false,
            settings,
        };
        node.propose(Mutation::AddAlert { alert })
            .await
            .expect("alert");
        let check = Check {
            id: "web".into(),
            name: "web".into(),
            target: target.url(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(800),
            ..Check::blank(CheckType::Http)
        };
        node.propose(Mutation::AddCheck { check })
            .await
            .expect("check");
        wait_for("up", Duration::from_secs(20), || {
            node.state()
                .check_states
                .get("web")
                .is_some_and(|s| s.state.as_str() == "up")
        })
        .await;
        let (mut down, mut up) = (Vec::new(), Vec::new());
        for i in 0..ROUNDS {
            target.set_status(503);
            let t0 = Instant::now();
            down.push(until_count(&receiver, 2 * i + 1).await - t0);
            tokio::time::sleep(Duration::from_millis(500)).await;
            target.set_status(200);
            let t1 = Instant::now();
            up.push(until_count(&receiver, 2 * i + 2).await - t1);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "alert latency, 3 nodes, interval 1 s, hysteresis 2, {ROUNDS} rounds (target < 3 s)"
        );
        println!("  target down -> DOWN at receiver:      {}", stats(down));
        println!("  target up   -> RECOVERED at receiver: {}", stats(up));
        tc.shutdown().await;
    });
}
