//! `qu resolvers list|set|clear`: the cluster-wide DNS resolvers.

use anyhow::Result;
use quptime::api::{GetResolvers, SetResolvers};

use crate::cli::ResolversCmd;
use crate::output::json;

pub fn run(cmd: ResolversCmd) -> Result<()> {
    match cmd {
        ResolversCmd::List(args) => {
            let list = crate::client::call::<GetResolvers>(&())?;
            if args.json {
                return json(&list);
            }
            if list.is_empty() {
                println!("system (each node's own resolver configuration)");
            }
            for server in list {
                println!("{server}");
            }
            Ok(())
        }
        ResolversCmd::Set { servers } => {
            // Validate here too, so a typo is reported before any dialling.
            let list = quptime::state::resolvers::validate(&servers)?;
            let outcome = crate::client::call::<SetResolvers>(&list)?;
            println!(
                "dns checks without --resolver now ask {} (config ver {})",
                list.join(", "),
                outcome.version
            );
            Ok(())
        }
        ResolversCmd::Clear => {
            let outcome = crate::client::call::<SetResolvers>(&Vec::new())?;
            println!(
                "dns checks without --resolver now use each node's system resolvers (config ver {})",
                outcome.version
            );
            Ok(())
        }
    }
}
