//! Embed a monitor node, add a check and print its state transitions.
//!
//! `cargo run -p quptime-examples --example monitor -- https://example.com`
//! probes the given URL until Ctrl-C. Without a URL it serves its own
//! flaky target on 127.0.0.1 (healthy, then failing, then healthy again)
//! and exits after the recovery, so it runs anywhere without a network.

use std::time::Duration;

use quptime::init::{InitOptions, init_node};
use quptime::state::{Check, CheckType, Mutation};
use quptime::{Cluster, NodeOptions};

mod flaky;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args().nth(1);
    let target = match &url {
        Some(_) => None,
        None => Some(flaky::Target::start().await?),
    };
    let url = url.unwrap_or_else(|| target.as_ref().map(|t| t.url()).unwrap_or_default());

    // A one-node cluster in a throw-away directory. Add more nodes with
    // `Cluster::add_node` (or `qu node add`) for quorum verdicts.
    let dir = std::env::temp_dir().join(format!("quptime-monitor-{}", std::process::id()));
    init_node(&dir, InitOptions::default())?;
    let mut opts = NodeOptions::new(&dir);
    opts.listen = Some("127.0.0.1:0".parse()?);
    let node = Cluster::start(opts).await?;

    // Subscribe first, then add the check: every committed transition
    // arrives, in order, on every node.
    let mut transitions = node.subscribe();
    let check = Check {
        id: "homepage".into(),
        name: "homepage".into(),
        target: url.clone(),
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        ..Check::blank(CheckType::Http)
    };
    node.propose(Mutation::AddCheck { check }).await?;
    println!("node {} is watching {url}", node.node_id());

    let mut seen = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            t = transitions.next() => {
                let Some(t) = t else { break };
                println!("{} {} {} -> {} ({})", t.at, t.check_name, t.from, t.to, t.evidence_summary());
                seen += 1;
                if target.is_some() && seen == 3 {
                    break; // up, down, recovered: the demo is done.
                }
            }
        }
    }
    node.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
