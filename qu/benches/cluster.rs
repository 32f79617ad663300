//! Cluster figures with real `qu serve` processes on loopback:
//!
//! - failover time after `kill -9` of the master, with the DEFAULT Raft
//!   timings (heartbeat 400ms, election timeout 0.8–1.6 s), over 10 runs,
//!   and how long the survivors still show the killed node LIVE (the
//!   status states a bound of one heartbeat plus the election timeout);
//! - `check add` latency through a follower's control socket;
//! - `qu status` latency through the socket and as a real CLI process.
//!
//! Run: `cargo bench -p qu --bench cluster`. It prints figures and asserts
//! nothing about them (it only stops when the cluster misbehaves, e.g. no
//! new master within 30 s).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use quptime::api::{AddCheck, CheckSpec, GetStatus};
use quptime::control::BlockingControlClient;
use quptime::state::CheckType;
use support::{Cluster, percentile, wait_for};

const FAILOVER_RUNS: usize = 10;
const ADDS: usize = 200;
const STATUS_CALLS: usize = 200;
const CLI_STATUS_CALLS: usize = 50;
const POLL: Duration = Duration::from_millis(10);

fn main() {
    let t_all = Instant::now();
    eprintln!("forming a 3-node cluster with default timings…");
    let mut c = Cluster::formed(3, &[]);
    let failover = failover_runs(&mut c);
    let latency = latencies(&c);
    let lost = quorum_loss(&mut c);

    println!();
    println!("quptime cluster bench: 3 nodes, loopback, release build of `qu`");
    println!();
    println!(
        "failover after kill -9 of the master (default timings: heartbeat 400ms, election timeout 0.8s-1.6s), {FAILOVER_RUNS} runs"
    );
    println!("  {:<44} {:>9} {:>9} {:>9}", "", "median", "min", "max");
    row("  kill -> a survivor reports a new master", &failover.first);
    row("  kill -> both survivors agree", &failover.both);
    row(
        "  kill -> both survivors show it LIVE false",
        &failover.dead,
    );
    println!();
    println!(
        "control-socket and CLI latency (follower node; the status calls run with the {ADDS} checks in place)"
    );
    println!("  {:<44} {:>9} {:>9} {:>9}", "", "p50", "p99", "max");
    pct_row(
        &format!("  check add via socket ({ADDS} sequential)"),
        &latency.add,
    );
    pct_row(
        &format!("  status via socket ({STATUS_CALLS} calls)"),
        &latency.status,
    );
    pct_row(
        &format!("  `qu status` CLI process ({CLI_STATUS_CALLS} runs)"),
        &latency.cli,
    );
    println!();
    println!(
        "kill -9 of two nodes -> the survivor shows quorum false: {}",
        fmt(lost)
    );
    println!();
    println!("per-run failover (ms): {}", ms_list(&failover.first));
    println!("total bench time: {:.1?}", t_all.elapsed());
}

struct Failover {
    /// Kill to the first survivor reporting a live master with quorum.
    first: Vec<Duration>,
    /// Kill to both survivors reporting the same new master.
    both: Vec<Duration>,
    /// Kill to both survivors showing the killed node not live.
    dead: Vec<Duration>,
}

fn failover_runs(c: &mut Cluster) -> Failover {
    let all = [0, 1, 2];
    let mut out = Failover {
        first: Vec::new(),
        both: Vec::new(),
        dead: Vec::new(),
    };
    for run in 1..=FAILOVER_RUNS {
        let before = c.wait_agreement(&all, 0, Duration::from_secs(60));
        let m = c.index_of(&before.master);
        let survivors: Vec<usize> = all.into_iter().filter(|&i| i != m).collect();
        let clients: Vec<BlockingControlClient> =
            survivors.iter().map(|&i| c.nodes[i].client()).collect();

        let t0 = Instant::now();
        c.nodes[m].kill9();
        let mut first = None;
        let mut both = None;
        let mut dead = None;
        let (both, dead) = loop {
            let statuses: Vec<_> = clients
                .iter()
                .map(|cl| {
                    cl.call_with_timeout::<GetStatus>(&(), Duration::from_secs(2))
                        .ok()
                })
                .collect();
            let seen: Vec<Option<String>> = statuses
                .iter()
                .map(|s| {
                    s.as_ref()
                        .filter(|s| s.quorum)
                        .and_then(|s| s.master.as_ref())
                        .map(|id| id.to_string())
                        .filter(|id| *id != before.master)
                })
                .collect();
            let gone = statuses.iter().all(|s| {
                s.as_ref().is_some_and(|s| {
                    s.peers
                        .iter()
                        .any(|p| p.node_id.as_str() == before.master && !p.live)
                })
            });
            let now = t0.elapsed();
            if first.is_none() && seen.iter().any(Option::is_some) {
                first = Some(now);
            }
            if both.is_none() && seen[0].is_some() && seen[0] == seen[1] {
                both = Some(now);
            }
            if dead.is_none() && gone {
                dead = Some(now);
            }
            if let (Some(b), Some(d)) = (both, dead) {
                break (b, d);
            }
            assert!(
                now < Duration::from_secs(30),
                "run {run}: no new master 30 s after killing {}",
                before.master
            );
            std::thread::sleep(POLL);
        };
        let first = first.unwrap_or(both);
        eprintln!(
            "run {run:>2}: killed {}, new master after {:>7.1?} (both survivors {:>7.1?})",
            before.master, first, both
        );
        out.first.push(first);
        out.both.push(both);
        out.dead.push(dead);

        // Bring the killed node back as a live voter before the next run.
        c.nodes[m].start_ready();
        c.wait_agreement(&all, 0, Duration::from_secs(60));
    }
    out
}

/// Kill two of the three nodes; how long the survivor still says quorum.
fn quorum_loss(c: &mut Cluster) -> Duration {
    let all = [0, 1, 2];
    c.wait_agreement(&all, 0, Duration::from_secs(60));
    let client = c.nodes[2].client();
    let t0 = Instant::now();
    c.nodes[0].kill9();
    c.nodes[1].kill9();
    wait_for(
        Duration::from_secs(30),
        POLL,
        "the survivor to report quorum false",
        || {
            client
                .call_with_timeout::<GetStatus>(&(), Duration::from_secs(2))
                .ok()
                .filter(|s| !s.quorum)
                .map(|_| t0.elapsed())
        },
    )
}

struct Latency {
    add: Vec<Duration>,
    status: Vec<Duration>,
    cli: Vec<Duration>,
}

fn latencies(c: &Cluster) -> Latency {
    let all = [0, 1, 2];
    let a = c.wait_agreement(&all, 0, Duration::from_secs(60));
    let f = all
        .into_iter()
        .find(|&i| c.nodes[i].id != a.master)
        .expect("a follower");
    let follower = &c.nodes[f];
    eprintln!(
        "latency through follower {} (master {})",
        follower.name, a.master
    );
    let client = follower.client();

    let mut add = Vec::with_capacity(ADDS);
    for i in 0..ADDS {
        let spec = spec(&format!("bench-{i:03}"));
        let t = Instant::now();
        client
            .call::<AddCheck>(&spec)
            .unwrap_or_else(|e| panic!("check add {i}: {e}"));
        add.push(t.elapsed());
    }

    let mut status = Vec::with_capacity(STATUS_CALLS);
    for _ in 0..STATUS_CALLS {
        let t = Instant::now();
        client.call::<GetStatus>(&()).expect("status");
        status.push(t.elapsed());
    }

    let mut cli = Vec::with_capacity(CLI_STATUS_CALLS);
    for _ in 0..CLI_STATUS_CALLS {
        let t = Instant::now();
        let out = follower.qu(&["status"]);
        cli.push(t.elapsed());
        assert!(out.status.success(), "qu status failed");
    }
    // The adds all landed everywhere (a sanity check, not a figure).
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "adds replicated",
        || (c.nodes.iter().all(|n| n.check_names().len() == ADDS)).then_some(()),
    );
    Latency { add, status, cli }
}

/// A tcp check spec.
fn spec(name: &str) -> CheckSpec {
    CheckSpec::new(name, CheckType::Tcp, "127.0.0.1:9")
}

fn sorted(v: &[Duration]) -> Vec<Duration> {
    let mut s = v.to_vec();
    s.sort();
    s
}

fn fmt(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// Median (mean of the two middle values for an even count).
fn median(s: &[Duration]) -> Duration {
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2
    }
}

fn row(label: &str, v: &[Duration]) {
    let s = sorted(v);
    println!(
        "{label:<46} {:>9} {:>9} {:>9}",
        fmt(median(&s)),
        fmt(s[0]),
        fmt(s[s.len() - 1])
    );
}

fn pct_row(label: &str, v: &[Duration]) {
    let s = sorted(v);
    println!(
        "{label:<46} {:>9} {:>9} {:>9}",
        fmt(percentile(&s, 50.0)),
        fmt(percentile(&s, 99.0)),
        fmt(s[s.len() - 1])
    );
}

fn ms_list(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}
