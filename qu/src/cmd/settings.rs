//! `qu settings show|set`: the cluster-wide settings (the uptime
//! history's retention).

use anyhow::Result;
use quptime::api::{GetSettings, SetSettings, SettingsPatch};

use crate::cli::SettingsCmd;
use crate::output::json;

pub fn run(cmd: SettingsCmd) -> Result<()> {
    match cmd {
        SettingsCmd::Show(args) => {
            let settings = crate::client::call::<GetSettings>(&())?;
            if args.json {
                return json(&settings);
            }
            println!("history days: {}", settings.history_days);
            Ok(())
        }
        SettingsCmd::Set { history_days } => {
            let patch = SettingsPatch { history_days };
            let outcome = crate::client::call::<SetSettings>(&patch)?;
            if let Some(days) = history_days {
                println!(
                    "uptime history now keeps {days} days per check (config ver {})",
                    outcome.version
                );
            }
            Ok(())
        }
    }
}
