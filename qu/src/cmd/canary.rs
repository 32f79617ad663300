//! `qu canary show|set|clear`: the connectivity canary's reference targets.

use anyhow::Result;
use quptime::api::{GetCanary, SetCanary};

use crate::cli::CanaryCmd;
use crate::output::json;

pub fn run(cmd: CanaryCmd) -> Result<()> {
    match cmd {
        CanaryCmd::Show(args) => {
            let view = crate::client::call::<GetCanary>(&())?;
            if args.json {
                return json(&view);
            }
            if view.targets.is_empty() {
                println!("reference targets: none (each node's peers are its canary)");
            } else {
                println!("reference targets: {}", view.targets.join(", "));
            }
            if !view.node_targets.is_empty() {
                println!("{}'s own: {}", view.node, view.node_targets.join(", "));
            }
            match &view.abstain {
                Some(why) => println!("{}: ABSTAINS ({why})", view.node),
                None => println!("{}: votes (its canary passes)", view.node),
            }
            match &view.monitor {
                Some(m) if m.degraded => println!("monitor: DEGRADED ({})", m.reason),
                _ => println!("monitor: ok"),
            }
            Ok(())
        }
        CanaryCmd::Set { targets } => {
            // Validate here too, so a typo is reported before any dialling.
            let list = quptime::state::canary::validate("targets", &targets)
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let outcome = crate::client::call::<SetCanary>(&list)?;
            println!(
                "every node's canary now probes {} (config ver {})",
                list.join(", "),
                outcome.version
            );
            Ok(())
        }
        CanaryCmd::Clear => {
            let outcome = crate::client::call::<SetCanary>(&Vec::new())?;
            println!(
                "the canary's reference targets are cleared: each node's peers are its canary \
                 (config ver {})",
                outcome.version
            );
            Ok(())
        }
    }
}
