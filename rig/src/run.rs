//! One run of the rig for one seed: build the namespaces, the target, the
//! receiver and a five-node cluster; run the workload while the schedule's
//! faults come and go; let the cluster settle; gather what every node
//! holds, every duty log and every alert received; hand it all to the
//! checker. Every wait is a bounded wait on a condition; the only sleeps
//! are the faults' own hold times, which are the schedule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use serde_json::Value;

use crate::checker::{self, History, Outage, Report};
use crate::faults::{self, Others, RECEIVER_PORT, TARGET_PORT};
use crate::netns::{self, Net};
use crate::node::RigNode;
use crate::procs::{must, wait_until};
use crate::schedule::{self, FaultKind, Step, Victim};
use crate::services;
use crate::workload::Workload;
use crate::{Result, RigError, now_ms};

/// The rig's own check and channel.
pub const CHECK: &str = "rig-http";
/// The webhook channel.
pub const CHANNEL: &str = "rig-hook";
/// Nodes in the cluster.
pub const NODES: usize = 5;
/// The target's host number.
pub const TARGET_HOST: u8 = 20;
/// The receiver's host number.
pub const RECEIVER_HOST: u8 = 30;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `qu` binary (the one under test).
    pub qu: PathBuf,
    /// The seed (printed; replays the schedule).
    pub seed: u64,
    /// Steps in the schedule.
    pub steps: usize,
    /// Workload workers.
    pub workers: usize,
}

/// The result of one seed.
#[derive(Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The schedule that ran.
    pub schedule: Vec<Step>,
    /// The checker's answer.
    pub report: Report,
}

struct Rig {
    // Drop order: daemons first, then helpers, then namespaces, then files.
    nodes: Vec<RigNode>,
    helpers: Vec<Child>,
    others: Others,
    // Held for its Drop: the namespaces go after the processes in them.
    _net: Net,
    dir: tempfile::TempDir,
    kills: Vec<(String, u64)>,
    /// Keep the directory (logs, duty logs, alerts): a seed that broke a
    /// promise, or `QU_RIG_KEEP` set.
    keep: bool,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill9();
        }
        for h in &mut self.helpers {
            let _ = h.kill();
            let _ = h.wait();
        }
        if self.keep || std::env::var_os("QU_RIG_KEEP").is_some() {
            self.dir.disable_cleanup(true);
            eprintln!("qurig: kept {}", self.dir.path().display());
        }
    }
}

/// Run one seed end to end.
pub fn run_seed(cfg: &Config) -> Result<Outcome> {
    let schedule = schedule::generate(cfg.seed, cfg.steps, NODES);
    eprintln!(
        "qurig: seed {} ({} steps; replay with QU_RIG_SEED={})",
        cfg.seed, cfg.steps, cfg.seed
    );
    let mut rig = Rig::build(&cfg.qu)?;
    rig.form()?;
    let target_ip = netns::addr(TARGET_HOST);
    let workload = Workload::start(
        cfg.workers,
        rig.nodes.iter().map(RigNode::cli).collect(),
        cfg.seed,
        &target_ip,
    );
    let mut outages = Vec::new();
    let mut faults_run = Vec::new();
    let mut notes = Vec::new();
    for (k, step) in schedule.iter().enumerate() {
        match rig.step(k, step, &mut outages) {
            Ok(()) => faults_run.push(step.kind),
            Err(e) => {
                faults_run.push(step.kind);
                notes.push(format!("step {k} ({}): {e}", step.kind.name()));
                break;
            }
        }
    }
    let ops = workload.finish();
    if let Err(e) = rig.settle(Duration::from_secs(60), true) {
        notes.push(format!("the cluster did not settle at the end: {e}"));
    }
    let alerts_path = rig.dir.path().join("alerts.jsonl");
    let all_outages = outages.iter().filter(|o: &&Outage| o.all).count();
    // Every majority outage's RECOVERED is delivered (bounded; the checker
    // reports what is still missing).
    let _ = wait_until("every RECOVERED delivered", Duration::from_secs(40), || {
        services::read_alerts(&alerts_path)
            .iter()
            .filter(|a| a.kind == "recovered")
            .count()
            >= all_outages
    });
    let mut finals = BTreeMap::new();
    for n in &rig.nodes {
        match n.checks() {
            Ok(list) => {
                let m = list
                    .into_iter()
                    .filter(|(name, _)| name != CHECK)
                    .map(|(name, iv)| (name, parse_interval(&iv)))
                    .collect();
                finals.insert(n.name.clone(), m);
            }
            Err(e) => notes.push(format!("could not list {}'s checks: {e}", n.name)),
        }
    }
    let end_ms = now_ms();
    for n in &mut rig.nodes {
        n.signal(libc::SIGCONT);
    }
    let duty = rig
        .nodes
        .iter()
        .flat_map(|n| quptime::consensus::duty_log::read(&n.data()))
        .collect();
    let history = History {
        ops,
        finals,
        duty,
        kills: rig.kills.clone(),
        end_ms,
        outages,
        alerts: services::read_alerts(&alerts_path),
        faults: faults_run,
    };
    let mut report = checker::check(&history);
    report.violations.extend(notes);
    if !report.violations.is_empty() {
        rig.keep = true;
        eprintln!(
            "qurig: seed {} failed; replay with QU_RIG_SEED={}",
            cfg.seed, cfg.seed
        );
        for n in &rig.nodes {
            eprintln!("{}", n.log_tail(15));
        }
    }
    Ok(Outcome {
        seed: cfg.seed,
        schedule,
        report,
    })
}

fn parse_interval(text: &str) -> u64 {
    quptime::state::duration::parse(text).map_or(0, |d| d.as_secs())
}

impl Rig {
    fn build(qu: &Path) -> Result<Rig> {
        let dir = tempfile::Builder::new()
            .prefix("qurig-")
            .tempdir()
            .map_err(|e| RigError::new(format!("tempdir: {e}")))?;
        let mut net = Net::new()?;
        let mut nodes = Vec::new();
        for i in 0..NODES {
            let name = format!("n{}", i + 1);
            let host = 11 + i as u8;
            let ns = net.add(&name, host)?;
            nodes.push(RigNode::new(
                dir.path(),
                &name,
                &ns,
                &netns::addr(host),
                qu,
            )?);
        }
        let others = Others {
            target_ns: net.add("tgt", TARGET_HOST)?,
            receiver_ns: net.add("rcv", RECEIVER_HOST)?,
        };
        let helpers = services::start(dir.path(), &others)?;
        let rig = Rig {
            nodes,
            helpers,
            others,
            _net: net,
            dir,
            kills: Vec::new(),
            keep: false,
        };
        for (host, port) in [(TARGET_HOST, TARGET_PORT), (RECEIVER_HOST, RECEIVER_PORT)] {
            let ns = rig.nodes[0].ns.clone();
            let probe = format!(
                "import socket; socket.create_connection(('{}', {port}), 1).close()",
                netns::addr(host)
            );
            wait_until(
                &format!("10.77.0.{host}:{port} to answer from n1"),
                Duration::from_secs(15),
                || must("ip", &["netns", "exec", &ns, "python3", "-c", &probe]).is_ok(),
            )?;
        }
        Ok(rig)
    }

    fn form(&mut self) -> Result<()> {
        let secret = self.nodes[0].init(None)?;
        for n in &self.nodes[1..] {
            n.init(Some(&secret))?;
        }
        for n in &mut self.nodes {
            n.start()?;
        }
        for n in &mut self.nodes {
            n.wait_ready(Duration::from_secs(30))?;
        }
        let founder = &self.nodes[0];
        wait_until("n1 to found the cluster", Duration::from_secs(20), || {
            founder.status().is_some_and(|s| {
                s["is_master"] == Value::Bool(true) && s["config_version"].as_u64() >= Some(1)
            })
        })?;
        for n in &self.nodes[1..] {
            let out = founder.qu(&["node", "add", &n.addr(), "-y"])?;
            let err = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() && !err.contains("already undergoing a configuration change") {
                return Err(RigError::new(format!(
                    "node add {}: {}",
                    n.name,
                    err.trim()
                )));
            }
        }
        self.settle(Duration::from_secs(40), true)?;
        founder_cmd(
            &self.nodes[0],
            &[
                "alert",
                "add",
                "webhook",
                CHANNEL,
                "--url",
                &format!("http://{}:{RECEIVER_PORT}/hook", netns::addr(RECEIVER_HOST)),
            ],
        )?;
        founder_cmd(
            &self.nodes[0],
            &[
                "check",
                "add",
                "http",
                CHECK,
                &format!("http://{}:{TARGET_PORT}/", netns::addr(TARGET_HOST)),
                "--interval",
                "1s",
                "--timeout",
                "800ms",
                "--alerts",
                CHANNEL,
                // Flap control off: each outage is judged on its own (with it
                // on, changes past the 5th in 10 min are recorded, not announced).
                "--flap-threshold",
                "0",
            ],
        )?;
        self.wait_check("up", Duration::from_secs(30))
    }

    /// Position of the master every node agrees on, once all five agree
    /// (on the config version too, with `same_version`: only once the
    /// workload has stopped).
    fn agreement(&self, same_version: bool) -> Option<usize> {
        let mut seen: Option<(String, u64)> = None;
        for n in &self.nodes {
            let s = n.status()?;
            if s["quorum"] != Value::Bool(true) {
                return None;
            }
            let peers = s["peers"].as_array()?;
            if peers.len() != NODES
                || peers
                    .iter()
                    .any(|p| p["live"] != Value::Bool(true) || p["voter"] != Value::Bool(true))
            {
                return None;
            }
            let version = if same_version {
                s["config_version"].as_u64()?
            } else {
                0
            };
            let here = (s["master"].as_str()?.to_string(), version);
            match &seen {
                Some(a) if *a != here => return None,
                _ => seen = Some(here),
            }
        }
        let (master, _) = seen?;
        self.nodes.iter().position(|n| n.name == master)
    }

    fn settle(&self, within: Duration, same_version: bool) -> Result<usize> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(m) = self.agreement(same_version) {
                return Ok(m);
            }
            if std::time::Instant::now() >= deadline {
                let st: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| {
                        format!(
                            "{}: {}",
                            n.name,
                            n.status().map_or("no answer".into(), |s| summary(&s))
                        )
                    })
                    .collect();
                return Err(RigError::new(format!(
                    "no agreement of all {NODES} nodes within {within:?}; statuses:\n{}",
                    st.join("\n")
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn check_state(&self) -> Option<String> {
        let m = self.agreement(false)?;
        let s = self.nodes[m].status()?;
        s["checks"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == CHECK)
            .and_then(|c| c["state"].as_str().map(str::to_string))
    }

    fn wait_check(&self, state: &str, within: Duration) -> Result<()> {
        wait_until(&format!("{CHECK} to be {state}"), within, || {
            self.check_state()
                .is_some_and(|s| s.eq_ignore_ascii_case(state))
        })
    }

    fn resolve(&self, victims: &[Victim], master: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for v in victims {
            let i = match v {
                Victim::Master => master,
                Victim::Node(i) => *i,
            };
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }

    fn kill(&mut self, i: usize) {
        self.nodes[i].kill9();
        self.kills.push((self.nodes[i].name.clone(), now_ms()));
    }

    fn step(&mut self, k: usize, step: &Step, outages: &mut Vec<Outage>) -> Result<()> {
        let master = self.settle(Duration::from_secs(40), false)?;
        let v = self.resolve(&step.victims, master);
        let names: Vec<&str> = v.iter().map(|&i| self.nodes[i].name.as_str()).collect();
        eprintln!(
            "qurig: step {k}: {} {:?} for {} ms (master {})",
            step.kind.name(),
            names,
            step.hold_ms,
            self.nodes[master].name
        );
        let hold = Duration::from_millis(step.hold_ms);
        let started = now_ms();
        match step.kind {
            FaultKind::Partition => faults::partition(&self.nodes, &v, true)?,
            FaultKind::Asymmetric => faults::partition(&self.nodes, &v, false)?,
            FaultKind::Loss => faults::loss(&self.nodes, v[0], 30)?,
            FaultKind::Pause => self.nodes[v[0]].signal(libc::SIGSTOP),
            FaultKind::KillRestart => self.kill(v[0]),
            FaultKind::TargetSome => faults::target_refuses(&self.others, &self.nodes, Some(&v))?,
            FaultKind::TargetAll | FaultKind::TargetAllMasterKill => {
                faults::target_refuses(&self.others, &self.nodes, None)?
            }
            FaultKind::ReceiverDown => faults::receiver_down(&self.others)?,
        }
        if step.kind == FaultKind::TargetAllMasterKill {
            // Kill the master mid-incident (around the DOWN), restart it.
            std::thread::sleep(Duration::from_millis(3_500));
            self.kill(master);
            std::thread::sleep(Duration::from_millis(1_500));
            self.nodes[master].start()?;
            std::thread::sleep(hold.saturating_sub(Duration::from_millis(5_000)));
        } else {
            std::thread::sleep(hold);
        }
        faults::heal_network(&self.nodes, &self.others)?;
        for n in &self.nodes {
            n.signal(libc::SIGCONT);
        }
        for n in &mut self.nodes {
            if !n.running() {
                n.start()?;
            }
        }
        for n in &mut self.nodes {
            n.wait_ready(Duration::from_secs(30))?;
        }
        match step.kind {
            FaultKind::TargetSome => outages.push(Outage {
                from_ms: started,
                to_ms: now_ms(),
                all: false,
            }),
            FaultKind::TargetAll | FaultKind::TargetAllMasterKill => outages.push(Outage {
                from_ms: started,
                to_ms: now_ms(),
                all: true,
            }),
            _ => {}
        }
        self.settle(Duration::from_secs(40), false)?;
        self.wait_check("up", Duration::from_secs(30))
    }
}

/// One line of a node's status for an error message.
fn summary(s: &Value) -> String {
    let peers: Vec<String> = s["peers"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|p| {
                    format!(
                        "{}{}{}",
                        p["node_id"].as_str().unwrap_or("?"),
                        if p["voter"] == Value::Bool(true) {
                            ""
                        } else {
                            "(learner)"
                        },
                        if p["live"] == Value::Bool(true) {
                            ""
                        } else {
                            "(down)"
                        }
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "term {} master {} quorum {} version {} peers [{}]",
        s["term"],
        s["master"],
        s["quorum"],
        s["config_version"],
        peers.join(" ")
    )
}

fn founder_cmd(n: &RigNode, args: &[&str]) -> Result<()> {
    n.qu_ok(args).map(|_| ())
}
