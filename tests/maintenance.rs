//! Maintenance over real loopback TLS: bounded disk after many mutations
//! (snapshot + log purge, restart from snapshot + log with identical
//! state), config as code through the control API (applying twice is a
//! no-op, a malformed file changes nothing, every node agrees), and a
//! manual master transfer that the lowest-NodeId preference respects.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quptime::api::{ApplyRequest, apply_config};
use quptime::cluster::disk_usage;
use quptime::state::{Check, CheckType, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};

/// The bound on one node's data directory after 10,000 configuration
/// mutations and a snapshot (also stated in docs/operations.md): the
/// snapshot holds the state (20 checks, the 4,096 remembered request ids,
/// ~0.3 MiB) and the log keeps 100 entries behind it. Measured: 0.33 MiB.
/// Before the forced snapshot, with only the automatic policy (every 1,000
/// entries), the log holds up to ~2,200 entries more: under twice that.
const DATA_DIR_BOUND: u64 = 1 << 20;
const MUTATIONS: usize = 10_000;
const CHECKS: usize = 20;

fn check(i: usize, version: usize) -> Check {
    Check {
        id: format!("c{i:02}"),
        name: format!("check-{i:02}"),
        target: format!("http://127.0.0.1:9/health/{version}"),
        // Disabled: nothing probes, so only these mutations touch the log.
        disabled: true,
        ..Check::blank(CheckType::Http)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mutations_then_a_snapshot_stay_under_the_bound_and_restart_identically() {
    let mut tc = TestCluster::form(&["a", "b", "c"], fast_timing()).await;
    let node = tc.node(0).clone();
    for i in 0..CHECKS {
        node.propose(Mutation::AddCheck { check: check(i, 0) })
            .await
            .expect("add check");
    }
    let started = Instant::now();
    // 10,000 updates, 100 proposers at a time on the master (it batches
    // appends into one write and one fsync).
    let master = tc.node(tc.master(Duration::from_secs(5)).await).clone();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let c = master.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= MUTATIONS {
                    return;
                }
                let m = Mutation::UpdateCheck {
                    check: check(n % CHECKS, n + 1),
                };
                c.propose(m).await.expect("update check");
            }
        }));
    }
    for t in tasks {
        t.await.expect("proposer");
    }
    let wrote = started.elapsed();
    let version = node.state().version;
    assert_eq!(
        version,
        (CHECKS + MUTATIONS) as u64 + 3,
        "3 AddPeer, the checks, the updates"
    );
    let nodes = tc.running();
    wait_for(
        "every node to apply everything",
        Duration::from_secs(20),
        || nodes.iter().all(|n| n.state().version == version),
    )
    .await;
    let before: Vec<u64> = tc.dirs.iter().map(|d| disk_usage(d)).collect();
    for (i, b) in before.iter().enumerate() {
        assert!(
            *b < 2 * DATA_DIR_BOUND,
            "node {i}: {b} B with the automatic snapshot policy alone"
        );
    }
    // A snapshot on every node; the log behind it is purged.
    for (i, n) in nodes.iter().enumerate() {
        let r = n.snapshot().await.expect("snapshot");
        eprintln!(
            "node {i}: snapshot at {} purged to {}; raft {} B, data dir {} B (before {} B)",
            r.index, r.purged, r.raft_bytes, r.data_dir_bytes, before[i]
        );
        assert!(
            r.index >= version,
            "the snapshot covers every mutation: {r:?}"
        );
        assert!(
            r.purged + quptime::KEEP_BEHIND_SNAPSHOT >= r.index,
            "the log behind the snapshot is purged: {r:?}"
        );
        assert!(
            r.data_dir_bytes < DATA_DIR_BOUND,
            "node {i}: data dir {} B is over the bound of {DATA_DIR_BOUND} B",
            r.data_dir_bytes
        );
    }
    // A few more entries after the snapshot, so a restart needs both the
    // snapshot and the log.
    for v in 0..25 {
        node.propose(Mutation::UpdateCheck {
            check: check(v % CHECKS, MUTATIONS + 1 + v),
        })
        .await
        .expect("update after snapshot");
    }
    let version = node.state().version;
    wait_for(
        "every node to apply the tail",
        Duration::from_secs(10),
        || nodes.iter().all(|n| n.state().version == version),
    )
    .await;
    let expected = tc.node(1).state();
    tc.stop(1).await;
    tc.restart(1).await;
    let recovered = tc.node(1).state();
    assert_eq!(
        *recovered, *expected,
        "the restarted node rebuilt the same state from snapshot + log"
    );
    assert_eq!(*recovered, *tc.node(0).state(), "and it matches the others");
    assert_eq!(
        recovered.checks["c00"].target,
        format!("http://127.0.0.1:9/health/{}", MUTATIONS + 1 + 20),
        "the last update of c00 came after the snapshot"
    );
    eprintln!(
        "{MUTATIONS} mutations in {wrote:?}; whole test {:?}",
        started.elapsed()
    );
    tc.shutdown().await;
}

const FILE: &str = "\
alerts:
  - name: hook
    type: webhook
    settings:
      url: http://127.0.0.1:9/hook
checks:
  - name: web
    type: http
    target: http://127.0.0.1:9/health
    interval: 15s
    alerts: [hook]
    disabled: true
  - name: db
    type: tcp
    target: 127.0.0.1:9
    disabled: true
";

fn req(yaml: &str, prune: bool, dry_run: bool) -> ApplyRequest {
    ApplyRequest {
        yaml: yaml.into(),
        prune,
        dry_run,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_twice_is_a_no_op_and_a_malformed_file_changes_nothing() {
    let tc = TestCluster::form(&["a", "b", "c"], fast_timing()).await;
    let (a, b) = (tc.node(0).clone(), tc.node(1).clone());
    let dry = apply_config(&b, req(FILE, false, true))
        .await
        .expect("dry run");
    assert_eq!(dry.changes.len(), 3, "{:?}", dry.changes);
    assert!(
        !dry.applied && a.state().checks.is_empty(),
        "a dry run changes nothing"
    );
    // Through a follower: one mutation, replicated.
    let v0 = a.state().version;
    let first = apply_config(&b, req(FILE, false, false))
        .await
        .expect("apply");
    assert!(first.applied);
    assert_eq!(first.version, v0 + 1, "the whole file is one mutation");
    let nodes = tc.running();
    wait_for(
        "every node to apply the file",
        Duration::from_secs(5),
        || nodes.iter().all(|n| n.state().version == first.version),
    )
    .await;
    assert!(
        nodes
            .iter()
            .all(|n| n.state().checks.len() == 2 && n.state().alerts.len() == 1)
    );
    let second = apply_config(&a, req(FILE, true, false))
        .await
        .expect("again");
    assert!(
        second.changes.is_empty() && !second.applied,
        "{:?}",
        second.changes
    );
    assert_eq!(a.state().version, first.version);
    // Malformed: an unknown field, a bad value, a bad check among good ones.
    let before = a.state();
    for (bad, needle) in [
        (FILE.replace("interval: 15s", "intervall: 15s"), "line 10"),
        (FILE.replace("interval: 15s", "interval: 1ms"), "line 7"),
        (FILE.replace("127.0.0.1:9\n", "127.0.0.1\n"), "line 13"),
        (FILE.replace("alerts: [hook]", "alerts: [nope]"), "line 7"),
    ] {
        let e = apply_config(&a, req(&bad, true, false))
            .await
            .expect_err("malformed");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    assert_eq!(*a.state(), *before, "nothing changed");
    // export → apply is a no-op.
    let text = quptime::api::export_config(&a).expect("export");
    let again = apply_config(&b, req(&text, true, false))
        .await
        .expect("re-apply export");
    assert!(again.changes.is_empty(), "{:?}\n{text}", again.changes);
    // --prune with a file without `db`: one removal.
    let pruned = FILE.split("  - name: db").next().expect("head").to_string();
    let r = apply_config(&a, req(&pruned, true, false))
        .await
        .expect("prune");
    assert_eq!(r.changes.len(), 1, "{:?}", r.changes);
    assert_eq!(r.changes[0].to_string(), "- check db");
    assert!(a.state().find_check("db").is_err());
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_transfer_holds_against_the_lowest_id_preference() {
    let mut timing = fast_timing();
    // A short cooldown: without the pin, `a` (lowest) would take the role
    // straight back.
    timing.master_cooldown = Duration::from_secs(1);
    let tc = TestCluster::form(&["a", "b", "c"], timing).await;
    wait_for("a to be master", Duration::from_secs(10), || {
        tc.node(0).is_master()
    })
    .await;
    // Asked on a follower, without naming a node: the lowest other live voter.
    let to = tc
        .node(2)
        .transfer_master(None, Duration::from_secs(600))
        .await
        .expect("transfer");
    assert_eq!(to.as_str(), "b");
    wait_for("b to act as master", Duration::from_secs(5), || {
        tc.node(1).is_master()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(tc.node(1).is_master(), "b keeps the role while pinned");
    assert!(!tc.node(0).is_master());
    // Clearing the pin: the preference hands the role back to a.
    tc.node(1).clear_master_pin().await.expect("clear");
    wait_for("a to take the role back", Duration::from_secs(15), || {
        tc.node(0).is_master()
    })
    .await;
    tc.shutdown().await;
}

/// What a [`Sampler`] saw: rounds, how many had more than one node saying
/// `is_master` (the first 20 of them), and the masters seen in turn.
type Sampled = (u64, u64, Vec<(u64, Vec<String>)>, Vec<String>);

/// Samples `is_master` in every node's status in a tight, bounded loop on
/// its own thread until stopped.
struct Sampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    /// Rounds completed so far, for waiting on the sampler itself.
    done: Arc<std::sync::atomic::AtomicU64>,
    thread: std::thread::JoinHandle<Sampled>,
}

impl Sampler {
    fn start(nodes: Vec<quptime::Cluster>) -> Sampler {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = done.clone();
        let thread = std::thread::spawn(move || {
            let (mut rounds, mut twice, mut doubled, mut seen) =
                (0u64, 0u64, Vec::new(), Vec::<String>::new());
            // Bounded: about a minute of sampling at most.
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && rounds < 300_000 {
                rounds += 1;
                let masters: Vec<String> = nodes
                    .iter()
                    .filter(|n| n.status().is_master)
                    .map(|n| n.node_id().to_string())
                    .collect();
                if masters.len() == 1 && seen.last() != Some(&masters[0]) {
                    seen.push(masters[0].clone());
                }
                if masters.len() > 1 {
                    twice += 1;
                    if doubled.len() < 20 {
                        doubled.push((rounds, masters));
                    }
                }
                counter.store(rounds, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
            (rounds, twice, doubled, seen)
        });
        Sampler { stop, done, thread }
    }

    /// Wait until the sampler has completed a round that began after now,
    /// so it has seen the cluster as it is at this point.
    async fn catch_up(&self) {
        let now = self.done.load(std::sync::atomic::Ordering::Relaxed);
        wait_for(
            "the sampler to finish a round",
            Duration::from_secs(10),
            || self.done.load(std::sync::atomic::Ordering::Relaxed) >= now + 2,
        )
        .await;
    }

    fn finish(self) -> Sampled {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("sampler")
    }
}

/// Status and `quptime_master` report mastership from the lease that gates
/// the duties: sampled on every node in a tight loop during repeated
/// hand-overs (manual transfers, then a master stepping down as it stops),
/// no round sees two nodes saying `is_master` (the shipped
/// QuptimeSeveralMasters rule, `sum(quptime_master) > 1`, would fire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_never_shows_two_masters_during_transfers() {
    let mut tc = TestCluster::form(&["a", "b", "c"], fast_timing()).await;
    wait_for("a to be master", Duration::from_secs(10), || {
        tc.node(0).is_master()
    })
    .await;
    let nodes = tc.running();
    let sampler = Sampler::start(nodes.clone());
    // Each hand-over comes from a different node (a → b → c → a), so no
    // node's transfer back-off delays the next.
    for to in ["b", "c", "a", "b"] {
        let to = quptime::identity::NodeId::new(to).expect("id");
        let got = nodes[2]
            .transfer_master(Some(to.clone()), Duration::from_secs(600))
            .await
            .expect("transfer");
        assert_eq!(got, to);
        let i = nodes.iter().position(|n| *n.node_id() == to).expect("node");
        wait_for(
            "the target to act as master",
            Duration::from_secs(5),
            || nodes[i].status().is_master,
        )
        .await;
    }
    sampler.catch_up().await;
    let (rounds, twice, doubled, seen) = sampler.finish();
    eprintln!("transfers: {rounds} sampling rounds, masters in turn: {seen:?}");
    assert!(seen.len() >= 5, "the sampler saw every hand-over: {seen:?}");
    assert_eq!(
        twice, 0,
        "rounds of {rounds} where two nodes said is_master: {doubled:?}"
    );
    // The gauge is the same answer: `sum(quptime_master)` reads 1.
    let gauges: usize = nodes
        .iter()
        .filter(|n| {
            n.metrics_text().lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next()
                    .is_some_and(|m| m.split('{').next() == Some("quptime_master"))
                    && w.next() == Some("1")
            })
        })
        .count();
    assert_eq!(
        gauges,
        1,
        "nodes with quptime_master 1: {}",
        nodes[0].metrics_text()
    );
    tc.node(0).clear_master_pin().await.expect("clear");
    // A master that stops hands its role over first (step-down). Before
    // the shared gate it kept saying is_master until its controller's next
    // tick, so the new master's tick could come first: in about one
    // step-down in 15, hence 20 of them (this failed 3 of 5 runs then).
    for _ in 0..20 {
        let m = tc.master(Duration::from_secs(10)).await;
        let sampler = Sampler::start(tc.running());
        tc.stop(m).await;
        let next = tc.master(Duration::from_secs(10)).await;
        wait_for("the new master's status", Duration::from_secs(5), || {
            tc.node(next).status().is_master
        })
        .await;
        let (rounds, twice, doubled, seen) = sampler.finish();
        eprintln!("step-down of {m}: {rounds} rounds, masters in turn: {seen:?}");
        assert_eq!(
            twice, 0,
            "rounds of {rounds} where two nodes said is_master while {m} stepped down: \
             {doubled:?}"
        );
        tc.restart(m).await;
    }
    drop(nodes);
    tc.shutdown().await;
}
