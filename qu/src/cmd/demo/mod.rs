//! `qu demo`: a whole 3-node cluster in this process, for a first look.
//!
//! Three nodes start on loopback with temporary data directories, free
//! ports and real mutual TLS, formed exactly as an operator would (the
//! founder previews and adds the other two). A local target flips between
//! 200 and 503; an HTTP check watches it, and a webhook alert channel points
//! at a receiver in this process that prints every alert. The status table
//! and each committed transition are printed until Ctrl-C (or `--duration`),
//! then the nodes stop and the directories are removed.

mod web;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use quptime::Timing;
use quptime::init::{InitOptions, init_node};
use quptime::state::{AlertChannel, Check, CheckType, Mutation, TransitionRecord, duration};
use quptime::{Cluster, NodeOptions};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep_until, timeout};

use crate::cli::DemoArgs;
use web::{AlertReceiver, Target};

/// The nodes' ids.
const NAMES: [&str; 3] = ["demo-1", "demo-2", "demo-3"];
/// How long forming the cluster may take before the demo gives up.
const FORM_WITHIN: Duration = Duration::from_secs(30);
/// How long one node may take to stop.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// The parsed flags.
struct Plan {
    flip: Duration,
    status_every: Duration,
    stop_after: Option<Duration>,
}

pub fn run(args: DemoArgs) -> Result<()> {
    let plan = plan(&args)?;
    install_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("qu-demo")
        .build()
        .context("start the async runtime")?;
    runtime.block_on(demo(plan))
}

fn plan(args: &DemoArgs) -> Result<Plan> {
    let parse = |flag: &str, v: &str| -> Result<Duration> {
        let d = duration::parse(v).map_err(|e| anyhow::anyhow!("--{flag}: {}", e.message()))?;
        if d.is_zero() {
            bail!("--{flag}: must be more than 0s, such as 10s");
        }
        Ok(d)
    };
    Ok(Plan {
        flip: parse("flip", &args.flip)?,
        status_every: parse("status-every", &args.status_every)?,
        stop_after: args
            .duration
            .as_deref()
            .map(|d| parse("duration", d))
            .transpose()?,
    })
}

/// Warnings and errors only, so the demo's own output stays readable; the
/// Raft engine's warnings (replication retries under load) are noise here,
/// so only its errors show. QUPTIME_LOG overrides, as for `qu serve`.
fn install_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUPTIME_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,openraft=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Raft timings for three nodes on one machine: fast failover.
fn timing() -> Timing {
    Timing {
        heartbeat: Duration::from_millis(100),
        election_min: Duration::from_millis(500),
        election_max: Duration::from_secs(1),
        ..Timing::default()
    }
}

async fn demo(plan: Plan) -> Result<()> {
    // Signals first: Ctrl-C at any point stops the nodes and cleans up.
    let mut signals = Signals::new()?;
    let root = tempfile::Builder::new()
        .prefix("qu-demo-")
        .tempdir()
        .context("create a temporary directory for the demo nodes")?;
    let target = Target::start().await.context("start the demo target")?;
    let receiver = AlertReceiver::start(print_alert)
        .await
        .context("start the alert receiver")?;
    say(&format!(
        "qu demo: a 3-node quptime cluster in this process (Ctrl-C to stop)\n  \
         data dirs  {} (removed on exit)\n  \
         target     {} (flips between 200 and 503 every {})\n  \
         alerts     webhook channel \"terminal\" -> {} (printed here)",
        root.path().display(),
        target.url(),
        duration::format(plan.flip),
        receiver.url(),
    ));

    let mut nodes: Vec<Cluster> = Vec::new();
    let deadline = plan.stop_after.map(|d| Instant::now() + d);
    let outcome = {
        let body = async {
            let formed = timeout(FORM_WITHIN, form(root.path(), &mut nodes)).await;
            formed.map_err(|_| {
                anyhow::anyhow!("the demo cluster did not form within {FORM_WITHIN:?}")
            })??;
            let founder = nodes[0].clone();
            configure(&founder, &target, &receiver).await?;
            watch(&founder, &target, &plan).await
        };
        tokio::select! {
            r = body => r,
            why = signals.next() => { say(why); Ok(()) }
            _ = async { sleep_until(deadline.expect("a deadline")).await }, if deadline.is_some() => {
                say(&format!("--duration {} reached", duration::format(plan.stop_after.unwrap_or_default())));
                Ok(())
            }
        }
    };

    say("stopping the nodes (Ctrl-C again to quit at once)…");
    let path = root.path().display().to_string();
    let stop_all = async {
        for node in nodes.iter().rev() {
            let id = node.node_id().clone();
            match timeout(STOP_WITHIN, node.shutdown()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("warning: stopping {id}: {e}"),
                Err(_) => eprintln!("warning: {id} did not stop within {STOP_WITHIN:?}"),
            }
        }
    };
    tokio::select! {
        () = stop_all => {}
        why = signals.next() => {
            say(&format!("{why} again: quitting without waiting for the nodes"));
            let _ = std::fs::remove_dir_all(root.path());
            std::process::exit(130);
        }
    }
    root.close()
        .with_context(|| format!("remove the demo directory {path}"))?;
    outcome?;
    say(&format!("stopped; removed {path}"));
    Ok(())
}

/// SIGINT and SIGTERM, handled (not fatal) from the demo's first moment.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("install the SIGINT handler")?,
            term: signal(SignalKind::terminate()).context("install the SIGTERM handler")?,
        })
    }

    /// The next signal's name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "Ctrl-C",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

/// Initialise, start and join the three nodes (pushed to `nodes` as they
/// start, so the caller stops whatever did start).
async fn form(root: &std::path::Path, nodes: &mut Vec<Cluster>) -> Result<()> {
    let mut secret = None;
    for name in NAMES {
        let dir = root.join(name);
        let done = init_node(
            &dir,
            InitOptions {
                node_id: Some(name.to_string()),
                bind_addr: Some("127.0.0.1".into()),
                secret: secret.clone(),
                ..InitOptions::default()
            },
        )
        .with_context(|| format!("initialise {name}"))?;
        if secret.is_none() {
            secret = done.config.secret.clone();
        }
        let mut opts = NodeOptions::new(&dir);
        opts.listen = Some("127.0.0.1:0".parse().expect("a socket address"));
        opts.timing = timing();
        // Every node serves the status page, on a free loopback port.
        opts.http_addr = Some("127.0.0.1:0".parse().expect("a socket address"));
        let node = Cluster::start(opts)
            .await
            .with_context(|| format!("start {name}"))?;
        say(&format!(
            "started {name} on {} (key {})",
            node.local_addr(),
            node.fingerprint()
        ));
        if let Some(page) = node.http_addr() {
            say(&format!(
                "status page of {name}: http://{page}/ (open it in a browser)"
            ));
        }
        nodes.push(node);
    }
    let founder = nodes[0].clone();
    let mut master = founder.watch_master();
    master
        .wait_for(|m| *m)
        .await
        .context("the founder stopped before it became master")?;
    say(&format!("{} founded the cluster and is master", NAMES[0]));
    for node in &nodes[1..] {
        let addr = node.local_addr().to_string();
        let preview = founder.preview_node(&addr).await?;
        let outcome = founder.add_node(&addr, &preview.fingerprint).await?;
        say(&format!(
            "{} added {} at {addr}: trusted its key {} (config ver {})",
            NAMES[0], preview.node_id, preview.fingerprint, outcome.version
        ));
    }
    Ok(())
}

/// The alert channel and the check, committed through the founder.
async fn configure(founder: &Cluster, target: &Target, receiver: &AlertReceiver) -> Result<()> {
    let mut settings = BTreeMap::new();
    settings.insert("url".to_string(), receiver.url());
    let alert = AlertChannel {
        id: "terminal".into(),
        name: "terminal".into(),
        kind: "webhook".into(),
        default: false,
        disabled: false,
        settings,
    };
    founder.propose(Mutation::AddAlert { alert }).await?;
    let check = Check {
        id: "web".into(),
        name: "web".into(),
        target: target.url(),
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        alerts: vec!["terminal".into()],
        ..Check::blank(CheckType::Http)
    };
    let outcome = founder.propose(Mutation::AddCheck { check }).await?;
    say(&format!(
        "added http check \"web\" on {} every 2s, alerting \"terminal\" (config ver {})\n  \
         same as: qu check add http web {} --interval 2s --timeout 1s --alerts terminal",
        target.url(),
        outcome.version,
        target.url()
    ));
    // A write token to log in to the dashboard with (shown once, as
    // `qu token create` shows it).
    let spec = quptime::api::TokenSpec {
        name: "demo".into(),
        role: "write".into(),
    };
    let created = quptime::api::create_token(founder, spec).await?;
    if let Some(page) = founder.http_addr() {
        say(&format!(
            "dashboard: http://{page}/dashboard (log in with the write token {})\n  \
             same as: qu token create --role write demo",
            created.token
        ));
    }
    Ok(())
}

/// Print status and transitions and flip the target, until the node stops
/// (the caller ends this on Ctrl-C or `--duration`).
async fn watch(node: &Cluster, target: &Target, plan: &Plan) -> Result<()> {
    let mut transitions = node.subscribe();
    let start = Instant::now();
    let mut flips = interval_at(start + plan.flip, plan.flip);
    let mut status = interval_at(start + Duration::from_secs(3), plan.status_every);
    flips.set_missed_tick_behavior(MissedTickBehavior::Delay);
    status.set_missed_tick_behavior(MissedTickBehavior::Delay);
    say("watching: the status every few seconds, transitions and alerts as they happen");
    loop {
        tokio::select! {
            _ = flips.tick() => {
                let what = match target.flip() {
                    200 => "healthy again: 200 OK",
                    _ => "now failing: 503 Service Unavailable",
                };
                say(&format!("target {what}"));
            }
            _ = status.tick() => {
                let s = node.status_live().await;
                let table = crate::cmd::status::render(&s);
                say(&format!("status of {}:\n{}", s.node_id, indent(&table)));
            }
            t = transitions.next() => match t {
                Some(t) => say(&transition_line(&t)),
                None => bail!("the node stopped unexpectedly"),
            },
        }
    }
}

fn transition_line(t: &TransitionRecord) -> String {
    format!(
        "TRANSITION {} {} -> {} ({}; decided by {} in term {})",
        t.check_name,
        t.from,
        t.to,
        t.evidence_summary(),
        t.master,
        t.term
    )
}

/// The receiver's callback: one alert document, as the webhook sent it.
fn print_alert(doc: serde_json::Value) {
    let field = |k: &str| doc[k].as_str().unwrap_or("").to_string();
    let mut text = format!("ALERT {}", field("subject"));
    let body = field("text");
    if !body.is_empty() {
        text.push('\n');
        text.push_str(&indent(&body));
    }
    say(&text);
}

/// Print one message, starting with the time of day (UTC).
fn say(text: &str) {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let clock = now.get(11..19).unwrap_or(&now);
    println!("[{clock}] {text}");
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
