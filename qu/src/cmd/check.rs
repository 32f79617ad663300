//! `qu check add|list|remove`.

use anyhow::Result;
use quptime::api::{AddCheck, CheckSpec, ListChecks, RemoveCheck};
use quptime::state::{CheckType, duration};

use crate::cli::{CheckAdd, CheckCmd, CheckCommon};
use crate::output::{json, table};

pub fn run(cmd: CheckCmd) -> Result<()> {
    match cmd {
        CheckCmd::Add(add) => {
            let spec = spec(add);
            // Refuse bad input here, before touching the daemon; the
            // daemon checks again at apply.
            spec.clone().into_check("local".into(), Vec::new())?;
            let name = spec.name.clone();
            let outcome = crate::client::call::<AddCheck>(&spec)?;
            println!(
                "added check {name} (id {}, config ver {})",
                outcome.id.unwrap_or_default(),
                outcome.version
            );
            Ok(())
        }
        CheckCmd::List(args) => {
            let checks = crate::client::call::<ListChecks>(&())?;
            if args.json {
                return json(&checks);
            }
            let rows: Vec<Vec<String>> = checks
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.name.clone(),
                        c.kind.as_str().into(),
                        c.target.clone(),
                        duration::format(c.interval),
                        duration::format(c.timeout),
                        if c.disabled {
                            "no".into()
                        } else {
                            "yes".into()
                        },
                    ]
                })
                .collect();
            println!(
                "{}",
                table(
                    &[
                        "ID", "NAME", "TYPE", "TARGET", "INTERVAL", "TIMEOUT", "ENABLED"
                    ],
                    &rows
                )
            );
            Ok(())
        }
        CheckCmd::Remove { check } => {
            let outcome = crate::client::call::<RemoveCheck>(&check)?;
            println!("removed check {check} (config ver {})", outcome.version);
            Ok(())
        }
    }
}

fn spec(add: CheckAdd) -> CheckSpec {
    let (kind, name, target, expect, body, common): (_, _, _, _, _, CheckCommon) = match add {
        CheckAdd::Http {
            name,
            url,
            expect,
            body_match,
            common,
        } => (CheckType::Http, name, url, expect, body_match, common),
        CheckAdd::Tcp {
            name,
            target,
            common,
        } => (CheckType::Tcp, name, target, None, None, common),
        CheckAdd::Icmp { name, host, common } => (CheckType::Icmp, name, host, None, None, common),
    };
    CheckSpec {
        name,
        kind,
        target,
        interval: common.interval,
        timeout: common.timeout,
        expect_status: expect,
        body_match: body,
        alerts: common.alerts,
    }
}
