//! Probe throughput, cost and scheduling accuracy on this machine.
//!
//! `cargo bench -p quptime --bench probes` prints:
//! - sustained probes per second per node against a local HTTP target and a
//!   local TCP port, and CPU seconds per 1,000 probes;
//! - 10,000 HTTP checks at a 10 s interval on one node: CPU use (cores),
//!   RSS, and schedule lag (probe start minus due time) p50/p99;
//! - 1,000 HTTP checks at 1 s, plain and with three conditions (status,
//!   a JSON path and the response time), and the ratio of their CPU per
//!   probe (the target is at most 1.3).
//!
//! The targets run in a child process (this binary re-executed), so the
//! figures are the node's alone. Numbers are printed, not asserted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quptime::Faults;
use quptime::probe::Probers;
use quptime::schedule::{ScheduleOptions, Scheduler};
use quptime::state::probe_condition::Condition;
use quptime::state::{Check, CheckType, ClusterState, Probe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TARGET_ENV: &str = "QUPTIME_BENCH_TARGET";

/// What the target answers to every request: a small JSON document, so
/// the conditions scenario has a path to look at.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
content-length: 35\r\nconnection: close\r\n\r\n{\"status\":\"ok\",\"queue\":{\"depth\":3}}";

/// The conditions of the conditions scenario: one of each costly kind.
const CONDITIONS: [&str; 3] = [
    "status == 200",
    "json $.queue.depth < 100",
    "response_time < 2s",
];

fn main() {
    if let Ok(port) = std::env::var(TARGET_ENV) {
        return serve_target(port.parse().expect("port"));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

/// The child: an HTTP/1.1 server answering 200 to everything, also used as
/// the open TCP port.
fn serve_target(port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                if let Ok(n) = s.read(&mut buf).await
                    && n > 0
                {
                    let _ = s.write_all(RESPONSE).await;
                }
            });
        }
    });
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn checks(n: usize, kind: CheckType, target: &str, interval: Duration) -> ClusterState {
    let mut state = ClusterState::default();
    let checks: BTreeMap<String, Check> = (0..n)
        .map(|i| {
            let id = format!("c{i}");
            let check = Check {
                id: id.clone(),
                name: id.clone(),
                target: target.to_string(),
                interval,
                timeout: Duration::from_secs(5),
                ..Check::blank(kind)
            };
            (id, check)
        })
        .collect();
    state.checks = checks;
    state
}

/// `checks` with [`CONDITIONS`] on every HTTP check.
fn with_conditions(mut state: ClusterState) -> ClusterState {
    let conditions: Vec<Condition> = CONDITIONS
        .iter()
        .map(|c| Condition::parse(c).expect("condition"))
        .collect();
    for check in state.checks.values_mut() {
        if let Probe::Http(p) = &mut check.probe {
            p.conditions = conditions.clone();
        }
    }
    state
}

struct Run {
    probes: usize,
    failures: usize,
    secs: f64,
    cpu: f64,
    lags: Vec<Duration>,
    rss: f64,
}

async fn run(state: ClusterState, warm: Duration, measure: Duration) -> Run {
    let probers = Probers::new().expect("probers");
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(state));
    let (sched, mut obs) = Scheduler::start(probers, rx, Faults::new(), ScheduleOptions::default());
    let warm_until = tokio::time::Instant::now() + warm;
    while tokio::time::Instant::now() < warm_until {
        let _ = tokio::time::timeout(Duration::from_millis(50), obs.recv()).await;
        while obs.try_recv().is_ok() {}
    }
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let (mut probes, mut failures, mut lags) = (0, 0, Vec::new());
    let end = tokio::time::Instant::now() + measure;
    while let Ok(Some(o)) = tokio::time::timeout_at(end, obs.recv()).await {
        probes += 1;
        failures += usize::from(!o.result.ok);
        lags.push(o.started.saturating_duration_since(o.due));
    }
    let run = Run {
        probes,
        failures,
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu0,
        lags,
        rss: rss_mb(),
    };
    drop(sched);
    run
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn bench() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let _child = Child(
        std::process::Command::new(std::env::current_exe().expect("exe"))
            .env(TARGET_ENV, port.to_string())
            .spawn()
            .expect("spawn target"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "target did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://127.0.0.1:{port}/");
    let hostport = format!("127.0.0.1:{port}");
    // Figures of failing probes mean nothing: one probe of each scenario's
    // kind must be up first.
    let probers = Probers::new().expect("probers");
    for state in [
        checks(1, CheckType::Http, &url, Duration::from_secs(1)),
        with_conditions(checks(1, CheckType::Http, &url, Duration::from_secs(1))),
        checks(1, CheckType::Tcp, &hostport, Duration::from_secs(1)),
    ] {
        let check = state.checks.values().next().expect("a check");
        let r = probers.probe(check).await;
        assert!(
            r.ok,
            "the bench target fails a {:?} probe: {}",
            check.kind(),
            r.detail
        );
    }
    println!(
        "quptime probe bench ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<44} {:>10} {:>12} {:>9} {:>10} {:>10} {:>8}",
        "scenario", "probes/s", "cpu s/1000", "cores", "lag p50", "lag p99", "RSS MB"
    );
    let scenarios: Vec<(&str, ClusterState)> = vec![
        (
            "HTTP, 2,000 checks @ 1 s (saturation)",
            checks(2000, CheckType::Http, &url, Duration::from_secs(1)),
        ),
        (
            "TCP, 4,000 checks @ 1 s (saturation)",
            checks(4000, CheckType::Tcp, &hostport, Duration::from_secs(1)),
        ),
        (
            "HTTP, 10,000 checks @ 10 s (target load)",
            checks(10_000, CheckType::Http, &url, Duration::from_secs(10)),
        ),
        (
            "HTTP, 1,000 checks @ 1 s, plain",
            checks(1000, CheckType::Http, &url, Duration::from_secs(1)),
        ),
        (
            "HTTP, 1,000 checks @ 1 s, 3 conditions",
            with_conditions(checks(1000, CheckType::Http, &url, Duration::from_secs(1))),
        ),
    ];
    let mut per_probe = Vec::new();
    for (name, state) in scenarios {
        let mut r = run(state, Duration::from_secs(3), Duration::from_secs(12)).await;
        per_probe.push(r.cpu / r.probes.max(1) as f64);
        let rate = r.probes as f64 / r.secs;
        println!(
            "{:<44} {:>10.0} {:>12.3} {:>9.2} {:>10.1?} {:>10.1?} {:>8.1}{}",
            name,
            rate,
            r.cpu / (r.probes.max(1) as f64 / 1000.0),
            r.cpu / r.secs,
            pct(&mut r.lags, 0.5),
            pct(&mut r.lags, 0.99),
            r.rss,
            if r.failures > 0 {
                format!("  ({} failed probes)", r.failures)
            } else {
                String::new()
            },
        );
    }
    if let [.., plain, conditions] = per_probe[..] {
        println!(
            "conditions / plain CPU per probe: {:.2} (target: at most 1.30)",
            conditions / plain.max(f64::MIN_POSITIVE)
        );
    }
}
