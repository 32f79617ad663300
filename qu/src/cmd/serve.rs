//! `qu serve`: run the daemon until SIGINT or SIGTERM, or until the node
//! fails for good (a fatal Raft or storage error): then it exits non-zero
//! with the cause, so the service manager restarts it from durable storage
//! instead of leaving a process that answers but can never commit.

use std::time::Duration;

use anyhow::{Context, Result};
use quptime::Cluster;
use quptime::Timing;
use quptime::control::ControlServer;
use quptime::init::{InitOptions, is_initialised, open_or_init};
use quptime::state::duration;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::ServeArgs;

pub fn run(args: ServeArgs) -> Result<()> {
    crate::logging::init(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("qu-worker")
        .build()
        .context("start the async runtime")?;
    let timing = timing(&args)?;
    let results_max = quptime::results::parse_size("--results-max-size", &args.results_max_size)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let tls = quptime::web::HttpTls::from_flags(args.http_tls_cert, args.http_tls_key)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let canary = quptime::state::canary::validate("--canary-target", &args.canary_targets)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    runtime.block_on(serve(
        timing,
        args.metrics_addr,
        (args.http_addr, tls),
        results_max,
        canary,
    ))
}

/// Raft timings from the flags, validated before anything starts.
fn timing(args: &ServeArgs) -> Result<Timing> {
    // Bounds keep every timer (and `election * 2`) far from overflow and
    // the cluster usable: heartbeats from 10ms to 10s, elections to 1m.
    let ms = Duration::from_millis;
    let parse = |flag: &str, v: &str, range: (Duration, Duration), example: &str| {
        duration::parse_within(&format!("--{flag}"), v, range, example)
            .map_err(|e| anyhow::anyhow!("{}", e.message()))
    };
    let heartbeat = parse("heartbeat", &args.heartbeat, (ms(10), ms(10_000)), "400ms")?;
    let election = parse(
        "election-timeout",
        &args.election_timeout,
        (ms(20), ms(60_000)),
        "1s",
    )?;
    let timing = Timing {
        heartbeat,
        election_min: election,
        election_max: election * 2,
        master_cooldown: parse(
            "master-cooldown",
            &args.master_cooldown,
            (Duration::ZERO, Duration::from_secs(86_400)),
            "2m",
        )?,
        snapshot_every: args.snapshot_every,
        ..Timing::default()
    };
    // The library's rules (election at least twice the heartbeat …), named
    // by flag: `--election-timeout: …`.
    timing.validate()?;
    Ok(timing)
}

async fn serve(
    timing: Timing,
    metrics_addr: Option<std::net::SocketAddr>,
    (http_addr, http_tls): (Option<std::net::SocketAddr>, Option<quptime::web::HttpTls>),
    results_max_bytes: u64,
    canary_targets: Vec<String>,
) -> Result<()> {
    // First, so a signal during start-up is a clean shutdown, not a kill.
    let mut term = signal(SignalKind::terminate()).context("install SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("install SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("install SIGHUP handler")?;
    let dir = quptime::paths::data_dir();
    let fresh = !is_initialised(&dir)?;
    let init = if fresh {
        // First start of a provisioned host: initialise from QUPTIME_* (the
        // same variables `qu init` reads), as the original did. A node that
        // exists takes them as overrides instead (`env_overrides`).
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let port = match env("QUPTIME_BIND_PORT") {
            Some(p) => Some(p.parse::<u16>().with_context(|| {
                format!("QUPTIME_BIND_PORT={p:?} is not a port: use an integer from 1 to 65535")
            })?),
            None => None,
        };
        InitOptions {
            node_id: env("QUPTIME_NODE_ID"),
            bind_addr: env("QUPTIME_BIND_ADDR"),
            bind_port: port,
            advertise: env("QUPTIME_ADVERTISE"),
            secret: env("QUPTIME_CLUSTER_SECRET"),
            labels: Default::default(),
        }
    } else {
        InitOptions::default()
    };
    let mut opts = open_or_init(&dir, init, timing).map_err(|e| {
        let e = anyhow::Error::new(e);
        if fresh {
            e.context("no identity yet, and initialising one from the environment failed")
        } else {
            e
        }
    })?;
    if fresh {
        tracing::info!(dir = %dir.display(), "initialised node from the environment");
    }
    opts.env_overrides = true;
    opts.metrics_addr = metrics_addr;
    opts.http_addr = http_addr;
    opts.http_tls = http_tls;
    opts.results_max_bytes = results_max_bytes;
    opts.canary_targets = canary_targets;
    let cluster = Cluster::start(opts).await?;
    let scheme = if cluster.http_is_tls() {
        "https"
    } else {
        "http"
    };
    if let Some(addr) = cluster.metrics_addr() {
        tracing::info!(%addr, "metrics at {scheme}://{addr}/metrics (and /healthz, /readyz)");
    }
    if let Some(addr) = cluster.http_addr() {
        tracing::info!(%addr, "status page at {scheme}://{addr}/");
    }
    let socket = quptime::paths::socket_path();
    let control =
        match ControlServer::bind(&socket, quptime::api::control_router(cluster.clone())).await {
            Ok(c) => c,
            Err(e) => {
                cluster.shutdown().await?;
                return Err(e.into());
            }
        };
    tracing::info!(socket = %socket.display(), "control socket ready");
    tracing::info!(
        node = %cluster.node_id(),
        fingerprint = %cluster.fingerprint(),
        advertise = %cluster.advertise(),
        "qu serve running"
    );
    let failed = cluster.failed();
    tokio::pin!(failed);
    let fatal = loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break None }
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break None }
            // Logs go to stderr (journald under systemd): there is no file
            // to reopen, and a hangup must not stop the monitor.
            _ = hup.recv() => tracing::info!("SIGHUP: logs go to stderr, nothing to reopen"),
            e = &mut failed => break Some(e),
        }
    };
    if let Some(e) = &fatal {
        tracing::error!("{e}; exiting so that the service manager restarts qu serve");
    }
    control.shutdown().await;
    // A failed node may not stop cleanly: bounded, the exit comes anyway.
    let stopped = tokio::time::timeout(Duration::from_secs(10), cluster.shutdown()).await;
    if let Some(e) = fatal {
        return Err(anyhow::Error::new(e).context(
            "qu serve stopped: the node failed for good; restart it (systemd does, with \
             Restart=on-failure) and see the log above for the cause",
        ));
    }
    match stopped {
        Ok(r) => r?,
        Err(_) => anyhow::bail!("the node did not stop within 10s"),
    }
    Ok(())
}
