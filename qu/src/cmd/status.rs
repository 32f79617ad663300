//! `qu status`: the stable, grep-able layout of the original, or JSON.

use anyhow::Result;
use quptime::api::GetStatus;
use quptime::cluster::Status;

use crate::cli::JsonArg;
use crate::output::{json, table};

pub fn run(args: JsonArg) -> Result<()> {
    let status = crate::client::call::<GetStatus>(&())?;
    if args.json {
        return json(&status);
    }
    print!("{}", render(&status));
    Ok(())
}

/// The human layout (tested against golden output).
pub fn render(s: &Status) -> String {
    let master = s
        .master
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_else(|| "(none — no quorum or election in progress)".into());
    let mut out = format!(
        "node       {}\nterm       {}\nmaster     {}\nquorum     {} (need {})\nconfig ver {}\n\nPEERS\n",
        s.node_id, s.term, master, s.quorum, s.need, s.config_version
    );
    out.push_str(&peers_table(s));
    out.push_str("\n(* = this node)\n\nCHECKS\n");
    let rows: Vec<Vec<String>> = s
        .checks
        .iter()
        .map(|c| {
            let state = if c.disabled {
                format!("(disabled) {}", c.state)
            } else {
                c.state.clone()
            };
            vec![
                c.id.clone(),
                c.name.clone(),
                state,
                format!("{}/{}", c.ok, c.total),
                if c.alerts.is_empty() {
                    "-".into()
                } else {
                    c.alerts.join(",")
                },
                c.detail.clone(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["ID", "NAME", "STATE", "OK/TOTAL", "ALERTS", "DETAIL"],
        &rows,
    ));
    out.push('\n');
    out
}

/// The members with liveness; `*` marks this node.
pub fn peers_table(s: &Status) -> String {
    let rows: Vec<Vec<String>> = s
        .peers
        .iter()
        .map(|p| {
            vec![
                if p.this_node {
                    "*".into()
                } else {
                    String::new()
                },
                p.node_id.to_string(),
                p.advertise.clone(),
                p.live.to_string(),
                p.last_seen.clone().unwrap_or_else(|| "-".into()),
                if p.voter {
                    "voter".into()
                } else {
                    "learner".into()
                },
            ]
        })
        .collect();
    table(
        &["", "NODE_ID", "ADVERTISE", "LIVE", "LAST_SEEN", "ROLE"],
        &rows,
    )
}
