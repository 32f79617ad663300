//! The connectivity canary end to end: three nodes on loopback, each with
//! its own reference target (a real local listener, `--canary-target`).
//! Closing a node's listener is that node losing its uplink, through the
//! production path: its canary fails, it abstains, and the master stops
//! counting its results.
//!
//! One node losing its uplink changes nothing (the check stays up, status
//! shows it abstaining, nobody is paged). Two of three losing theirs turn
//! every check UNKNOWN (not DOWN) and send exactly one "monitor degraded"
//! notice to the default channel; restoring them sends one "monitor
//! recovered" and the checks come back up without a DOWN or RECOVERED.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use quptime::Cluster;
use quptime::state::{Check, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::{wait_up, web_check, webhook};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A node's uplink: a real TCP listener on loopback that accepts and
/// drops connections while open.
struct Uplink {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Uplink {
    async fn open() -> Uplink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        Uplink {
            addr,
            task: Some(serve(listener)),
        }
    }

    /// Close the listener: connects are refused from now on.
    async fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        assert!(
            tokio::net::TcpStream::connect(self.addr).await.is_err(),
            "the uplink is cut"
        );
    }

    /// Listen on the same address again (bounded retries: the port is
    /// ours, but the kernel may hold it for a moment).
    async fn restore(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "rebind {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.task = Some(serve(listener));
    }
}

fn serve(listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            drop(conn);
        }
    })
}

fn kinds(r: &Receiver) -> Vec<String> {
    r.received()
        .iter()
        .map(|x| x.json()["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn states(node: &Cluster) -> Vec<String> {
    let s = node.state();
    ["web", "api"]
        .iter()
        .map(|id| {
            s.check_states
                .get(*id)
                .map_or("unknown", |r| r.state.as_str())
                .to_string()
        })
        .collect()
}

/// `cond` holds all through `span` (sampled every 50 ms).
async fn holds(what: &str, span: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + span;
    while Instant::now() < end {
        assert!(cond(), "{what} stopped holding");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until `r` has received exactly `want`, then check that nothing
/// more arrives for 3 s.
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
    holds("no further notice", Duration::from_secs(3), || {
        kinds(r) == want
    })
    .await;
}

/// The abstain reason `node`'s status gives for member `who`.
async fn abstain_in_status(node: &Cluster, who: &str) -> Option<String> {
    node.status_live()
        .await
        .peers
        .into_iter()
        .find(|p| p.node_id.as_str() == who)
        .and_then(|p| p.abstain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uplink_loss_abstains_and_only_a_minority_of_voters_makes_the_monitor_degraded() {
    let mut uplinks = [
        Uplink::open().await,
        Uplink::open().await,
        Uplink::open().await,
    ];
    let canaries: Vec<Vec<String>> = uplinks.iter().map(|u| vec![u.addr.to_string()]).collect();
    let tc = TestCluster::form_with_canaries(&["n1", "n2", "n3"], &canaries, fast_timing()).await;
    let target = HttpTarget::start().await;
    let receiver = Receiver::start().await;
    let node = tc.node(0).clone();
    // The hook is a default channel: the monitor's notices go there, and
    // it is also both checks' own channel, so any DOWN would too.
    let mut hook = webhook(&receiver.url());
    hook.default = true;
    node.propose(Mutation::AddAlert { alert: hook })
        .await
        .expect("add alert");
    for (id, name) in [("web", "web"), ("api", "api")] {
        let check = Check {
            name: name.into(),
            ..web_check(id, &target.url())
        };
        node.propose(Mutation::AddCheck { check })
            .await
            .expect("add check");
    }
    wait_up(&node, "web").await;
    wait_up(&node, "api").await;
    assert!(tc.running().iter().all(|n| n.abstaining().is_none()));

    // One node loses its uplink: it abstains, and nothing else changes.
    uplinks[2].cut().await;
    let n3 = tc.node(2).clone();
    wait_for("n3 to abstain", Duration::from_secs(15), || {
        n3.abstaining().is_some()
    })
    .await;
    let why = n3.abstaining().expect("abstains");
    assert!(why.contains("no reference target answers"), "{why}");
    assert!(why.contains(&uplinks[2].addr.to_string()), "{why}");
    assert!(
        n3.metrics_text()
            .contains("quptime_node_abstaining{node=\"n3\"} 1"),
        "the gauge shows it"
    );
    let master = tc.node(tc.master(Duration::from_secs(5)).await).clone();
    let deadline = Instant::now() + Duration::from_secs(15);
    while abstain_in_status(&master, "n3").await.is_none() {
        assert!(
            Instant::now() < deadline,
            "the master's status shows n3 abstaining"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(abstain_in_status(&master, "n1").await, None);
    holds(
        "both checks up, no notice, monitor healthy",
        Duration::from_secs(6),
        || {
            states(&node) == ["up", "up"]
                && receiver.received().is_empty()
                && !node.state().monitor.as_ref().is_some_and(|m| m.degraded)
        },
    )
    .await;
    let web = node
        .status_live()
        .await
        .checks
        .into_iter()
        .find(|c| c.id == "web")
        .expect("web");
    assert!(!web.degraded, "an abstaining node's failure is no vote");

    // A second node loses its uplink: fewer than a majority can vote.
    uplinks[1].cut().await;
    let lost_at = Instant::now();
    wait_for("every check to be unknown", Duration::from_secs(30), || {
        states(&node) == ["unknown", "unknown"]
    })
    .await;
    expect_kinds(&receiver, &["monitor-degraded"], Duration::from_secs(30)).await;
    eprintln!(
        "monitor degraded announced about {:?} after the second uplink was cut",
        lost_at.elapsed()
    );
    let body = receiver.received()[0].json();
    assert!(body["check"].is_null(), "{body}");
    let text = body["text"].as_str().unwrap_or_default();
    assert!(text.contains("n2") && text.contains("n3"), "{text}");
    assert!(
        body["subject"]
            .as_str()
            .unwrap_or_default()
            .contains("MONITOR DEGRADED")
    );
    let health = node.state().monitor.clone().expect("health");
    assert!(health.degraded);
    let mut who: Vec<String> = health.abstaining.iter().map(|n| n.to_string()).collect();
    who.sort();
    assert_eq!(who, ["n2", "n3"]);
    let status = node.status_live().await;
    let web = status.checks.iter().find(|c| c.id == "web").expect("web");
    assert_eq!(web.state, "unknown");
    assert!(
        web.reason.as_deref().is_some_and(|r| r.contains("abstain")),
        "{:?}",
        web.reason
    );

    // Both come back: one "monitor recovered", checks up, no DOWN ever.
    uplinks[1].restore().await;
    uplinks[2].restore().await;
    wait_for("both checks up again", Duration::from_secs(30), || {
        states(&node) == ["up", "up"]
    })
    .await;
    expect_kinds(
        &receiver,
        &["monitor-degraded", "monitor-recovered"],
        Duration::from_secs(30),
    )
    .await;
    assert!(!node.state().monitor.as_ref().expect("health").degraded);
    assert!(tc.running().iter().all(|n| n.abstaining().is_none()));
    tc.shutdown().await;
}
