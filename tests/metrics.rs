//! The metrics endpoint of a running 3-node cluster, scraped over real
//! loopback HTTP: the documented series carry the right values before and
//! after a check goes down (state, votes, probe failures, alert deliveries,
//! Raft term and leader), and `/readyz` follows the quorum.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use quptime::state::{Check, CheckState};
use quptime_tests::cluster::{TestCluster, fast_timing};
use quptime_tests::fixtures::{add_hook_and_check, web_check};
use quptime_tests::receiver::Receiver;
use quptime_tests::target::HttpTarget;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` over a fresh connection: (status code, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the metrics listener");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut raw))
        .await
        .expect("an answer within 5 s")
        .expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|l| l.trim().parse().ok())
        .expect("content-length");
    assert_eq!(body.len(), length, "body length");
    (code, body.to_string())
}

/// The scraped series: `name{labels}` → value.
#[derive(Debug)]
struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    async fn of(addr: SocketAddr) -> Scrape {
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200, "{body}");
        assert!(body.ends_with("# EOF\n"), "not OpenMetrics: {body}");
        let mut out = BTreeMap::new();
        for line in body.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("series and value");
            out.insert(series.to_string(), value.parse().expect("a number"));
        }
        Scrape(out)
    }

    /// The value of `name` with all of `labels` (and possibly others).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0.iter().find_map(|(series, v)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            let all = labels
                .iter()
                .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\"")));
            (n == name && all).then_some(*v)
        })
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in {:#?}", self.0))
    }
}

fn check(url: &str) -> Check {
    web_check("id-web", url)
}

/// Scrape `addrs` until `cond` holds for the scrapes; fail after `within`.
async fn scrape_until(
    what: &str,
    addrs: &[SocketAddr],
    within: Duration,
    cond: impl Fn(&[Scrape]) -> bool,
) -> Vec<Scrape> {
    let deadline = Instant::now() + within;
    loop {
        let mut all = Vec::new();
        for a in addrs {
            all.push(Scrape::of(*a).await);
        }
        if cond(&all) {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}; last scrapes: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_series_follow_a_check_going_down_and_readiness_follows_quorum() {
    let names = ["n1", "n2", "n3"];
    let mut tc = TestCluster::form_with(&names, fast_timing(), true).await;
    let target = HttpTarget::start().await;
    let receiver = Receiver::start().await;
    let addrs: Vec<SocketAddr> = (0..3)
        .map(|i| tc.node(i).metrics_addr().expect("metrics enabled"))
        .collect();
    let node = tc.node(0).clone();
    add_hook_and_check(&node, &receiver.url(), check(&target.url())).await;

    // Up: every node shows the agreed state and its own probes.
    let up = scrape_until(
        "web up on every node",
        &addrs,
        Duration::from_secs(20),
        |s| {
            s.iter().all(|s| {
                s.get("quptime_check_state", &[("check", "web"), ("state", "up")]) == Some(1.0)
            })
        },
    )
    .await;
    for (s, name) in up.iter().zip(names) {
        let me = [("node", name)];
        assert_eq!(s.value("quptime_node_info", &me), 1.0);
        assert_eq!(s.value("quptime_raft_voters", &me), 3.0);
        assert!(s.value("quptime_raft_term", &me) >= 1.0);
        assert!(s.value("quptime_raft_applied_index", &me) >= 1.0);
        assert!(
            s.value("quptime_raft_commit_index", &me) >= s.value("quptime_raft_applied_index", &me)
        );
        let web = [("node", name), ("check", "web")];
        assert!(s.value("quptime_probes_total", &web) >= 1.0);
        assert_eq!(s.value("quptime_probe_failures_total", &web), 0.0);
        assert_eq!(
            s.value("quptime_probe_duration_seconds_count", &web),
            s.value("quptime_probes_total", &web),
            "one latency observation per probe on {name}"
        );
    }
    for (addr, name) in addrs.iter().zip(names) {
        let (code, body) = get(*addr, "/readyz").await;
        assert_eq!((code, body.as_str()), (200, "ready\n"), "{name}");
        assert_eq!(get(*addr, "/healthz").await, (200, "ok\n".to_string()));
    }

    // The target fails for every node: DOWN, voted by all three. The
    // receiver refuses the first attempts (counted as retries), then
    // accepts: one delivery.
    receiver.answer(500);
    target.set_status(503);
    scrape_until(
        "a failed delivery counted for retry, its alert waiting in the outbox",
        &addrs,
        Duration::from_secs(30),
        |s| {
            s.iter().any(|s| {
                s.get(
                    "quptime_alert_failures_total",
                    &[("channel", "hook"), ("outcome", "retry")],
                )
                .is_some_and(|n| n >= 1.0)
                    && s.get("quptime_outbox_pending", &[]) == Some(1.0)
                    && s.get("quptime_outbox_oldest_pending_seconds", &[])
                        .is_some_and(|age| age >= 1.0)
            })
        },
    )
    .await;
    receiver.answer(204);
    let down = scrape_until(
        "web down everywhere, voted down by 3, its alert delivered",
        &addrs,
        Duration::from_secs(30),
        |s| {
            s.iter().all(|s| {
                s.get(
                    "quptime_check_state",
                    &[("check", "web"), ("state", "down")],
                ) == Some(1.0)
                    && s.get("quptime_outbox_pending", &[]) == Some(0.0)
            }) && s.iter().any(|s| {
                s.get("quptime_check_votes", &[("check", "web"), ("vote", "down")]) == Some(3.0)
                    && s.get("quptime_alert_deliveries_total", &[("channel", "hook")]) == Some(1.0)
            })
        },
    )
    .await;
    assert!(
        tc.running()
            .iter()
            .all(|n| n.state().check_states["id-web"].state == CheckState::Down)
    );
    assert_eq!(receiver.received().len(), 1, "one DOWN alert");
    let sum = |name: &str| down.iter().map(|s| s.value(name, &[])).sum::<f64>();
    assert_eq!(sum("quptime_raft_leader"), 1.0, "exactly one Raft leader");
    assert_eq!(sum("quptime_master"), 1.0, "exactly one master");
    assert_eq!(sum("quptime_quorum"), 3.0);
    let master = down
        .iter()
        .position(|s| s.value("quptime_master", &[]) == 1.0)
        .expect("a master");
    assert_eq!(down[master].value("quptime_raft_leader", &[]), 1.0);
    assert_eq!(
        down[master].value("quptime_check_votes", &[("check", "web"), ("vote", "up")]),
        0.0
    );
    let term = down[0].value("quptime_raft_term", &[]);
    for (i, (s, name)) in down.iter().zip(names).enumerate() {
        assert_eq!(
            s.value("quptime_raft_term", &[]),
            term,
            "same term on {name}"
        );
        assert_eq!(s.value("quptime_peers_live", &[]), 2.0, "{name}");
        assert_eq!(
            s.value("quptime_check_state", &[("check", "web"), ("state", "up")]),
            0.0
        );
        let web = [("node", name), ("check", "web")];
        assert!(
            s.value("quptime_probe_failures_total", &web) >= 2.0,
            "{name} counted its own failed probes"
        );
        if i != master {
            assert_eq!(
                s.get("quptime_check_votes", &[]),
                None,
                "votes only on the master"
            );
            assert_eq!(s.get("quptime_alert_deliveries_total", &[]), None);
        }
    }
    assert!(
        down.iter()
            .map(|s| s
                .get(
                    "quptime_mutation_duration_seconds_count",
                    &[("result", "ok")]
                )
                .unwrap_or(0.0))
            .sum::<f64>()
            >= 3.0,
        "proposals were timed"
    );

    // Two members stop: the survivor is alive but not ready, and says why.
    let survivor = (master + 1) % 3;
    for i in (0..3).filter(|i| *i != survivor) {
        tc.stop(i).await;
    }
    let addr = addrs[survivor];
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, body) = get(addr, "/readyz").await;
        if code == 503 {
            assert!(body.starts_with("not ready: no quorum"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still ready without quorum: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get(addr, "/healthz").await, (200, "ok\n".to_string()));
    let alone = scrape_until(
        "no quorum and no live peer",
        &[addr],
        Duration::from_secs(10),
        |s| {
            s[0].get("quptime_quorum", &[]) == Some(0.0)
                && s[0].get("quptime_peers_live", &[]) == Some(0.0)
        },
    )
    .await;
    assert_eq!(alone[0].value("quptime_master", &[]), 0.0);
    assert_eq!(alone[0].value("quptime_raft_voters", &[]), 3.0);
    let stopped = addrs[(survivor + 1) % 3];
    assert!(
        tokio::net::TcpStream::connect(stopped).await.is_err(),
        "a stopped node's metrics listener is closed"
    );
    tc.shutdown().await;
}
