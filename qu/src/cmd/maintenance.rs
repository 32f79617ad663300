//! `qu maintenance add|list|remove` and `qu silence`.

use anyhow::Result;
use quptime::api::{
    AddMaintenance, ClearSilence, ListMaintenance, MaintenanceSpec, RemoveMaintenance, Silence,
    SilenceSpec,
};

use crate::cli::{MaintenanceCmd, SilenceArgs};
use crate::output::{json, table};

pub fn run(cmd: MaintenanceCmd) -> Result<()> {
    match cmd {
        MaintenanceCmd::Add(a) => {
            let weekly = !a.every.is_empty();
            let spec = MaintenanceSpec {
                checks: a.checks,
                start: a.start,
                every: a.every,
                at: a.at,
                tz: weekly.then_some(a.tz),
                duration: a.duration,
                reason: a.reason,
            };
            let outcome = crate::client::call::<AddMaintenance>(&spec)?;
            println!(
                "maintenance window {} added (config ver {})",
                outcome.id.unwrap_or_default(),
                outcome.version
            );
            Ok(())
        }
        MaintenanceCmd::List(args) => {
            let list = crate::client::call::<ListMaintenance>(&())?;
            if args.json {
                return json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|w| {
                    vec![
                        w.id.clone(),
                        if w.silence { "silence" } else { "window" }.into(),
                        w.checks.join(","),
                        w.describe_when(),
                        if w.reason.is_empty() {
                            "-".into()
                        } else {
                            w.reason.clone()
                        },
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["ID", "KIND", "CHECKS", "WHEN", "REASON"], &rows)
            );
            println!();
            Ok(())
        }
        MaintenanceCmd::Remove { id } => {
            let outcome = crate::client::call::<RemoveMaintenance>(&id)?;
            println!(
                "maintenance window {id} removed (config ver {})",
                outcome.version
            );
            Ok(())
        }
    }
}

pub fn silence(args: SilenceArgs) -> Result<()> {
    if args.clear {
        let outcome = crate::client::call::<ClearSilence>(&args.check)?;
        println!(
            "check {} is no longer silenced (config ver {}); a DOWN held back is sent now if it is still down",
            args.check, outcome.version
        );
        return Ok(());
    }
    let duration = args.duration.unwrap_or_default();
    let spec = SilenceSpec {
        check: args.check.clone(),
        duration: duration.clone(),
    };
    let outcome = crate::client::call::<Silence>(&spec)?;
    println!(
        "check {} silenced for {duration}: window {} (config ver {})",
        args.check,
        outcome.id.unwrap_or_default(),
        outcome.version
    );
    Ok(())
}
