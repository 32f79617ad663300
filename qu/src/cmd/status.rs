//! `qu status`: the stable, grep-able layout of the original, or JSON.

use anyhow::Result;
use quptime::api::GetStatus;
use quptime::cluster::Status;

use crate::cli::StatusArgs;
use crate::output::{json, table};

pub fn run(args: StatusArgs) -> Result<()> {
    if args.watch {
        return watch(&args);
    }
    let status = crate::client::call::<GetStatus>(&())?;
    if args.json {
        return json(&status);
    }
    print!("{}", render(&status));
    Ok(())
}

/// `qu status --watch`: redraw every interval until Ctrl-C (or `--count`).
/// On a terminal the screen is cleared before each frame; otherwise frames
/// follow each other after a timestamp line, with no escape codes. A daemon
/// that does not answer is shown as an error frame, and watching goes on.
fn watch(args: &StatusArgs) -> Result<()> {
    use std::io::{IsTerminal, Write};
    let interval = quptime::state::duration::parse(&args.interval)
        .map_err(|e| anyhow::anyhow!("--interval: {}", e.message()))?;
    if interval < std::time::Duration::from_millis(100) {
        anyhow::bail!(
            "--interval {}: use at least 100ms, such as 2s",
            args.interval
        );
    }
    let tty = std::io::stdout().is_terminal();
    let mut frame = 0u64;
    let mut failed = 0u64;
    loop {
        frame += 1;
        let body = match crate::client::call::<GetStatus>(&()) {
            Ok(s) if args.json => serde_json::to_string(&s)? + "\n",
            Ok(s) => render(&s),
            Err(e) => {
                failed += 1;
                format!("error: {}\n", crate::render(&e))
            }
        };
        let now = quptime::trust::now_rfc3339();
        let mut out = std::io::stdout().lock();
        if args.json {
            write!(out, "{body}")?;
        } else if tty {
            write!(
                out,
                "\x1b[H\x1b[2J--- qu status every {} ({now}); Ctrl-C stops ---\n{body}",
                args.interval
            )?;
        } else {
            write!(out, "--- {now} ---\n{body}")?;
        }
        out.flush()?;
        drop(out);
        if let Some(n) = args.count
            && frame >= n
        {
            // A scripted `--count` run says whether every frame was real.
            if failed > 0 {
                anyhow::bail!(
                    "{failed} of {frame} status frames failed (see the error frames above)"
                );
            }
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}

/// The human layout (tested against golden output).
pub fn render(s: &Status) -> String {
    let master = s
        .master
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_else(|| "(none — no quorum or election in progress)".into());
    let master = match &s.pinned_master {
        Some(p) => format!(
            "{master} (held by {} until {}: `qu leader transfer --clear` ends it)",
            p.node_id, p.until
        ),
        None => master,
    };
    let mut out = format!(
        "node       {}\nterm       {}\nmaster     {}\nquorum     {} (need {})\nconfig ver {}\n\nPEERS\n",
        s.node_id, s.term, master, s.quorum, s.need, s.config_version
    );
    if let Some(why) = &s.unhealthy {
        out.insert_str(
            out.len() - "\nPEERS\n".len(),
            &format!("UNHEALTHY  {why}\n"),
        );
    }
    out.push_str(&peers_table(s));
    // Abstaining nodes in lines of their own, so the PEERS columns stay
    // the original's.
    for p in s.peers.iter() {
        if let Some(why) = &p.abstain {
            out.push_str(&format!(
                "ABSTAINS   {}: {why} (its results are not counted)\n",
                p.node_id
            ));
        }
    }
    out.push_str(&format!(
        "\n(* = this node; LIVE and quorum are at most {} old)\n\nCHECKS\n",
        staleness(s.live_within_ms)
    ));
    let rows: Vec<Vec<String>> = s
        .checks
        .iter()
        .map(|c| {
            let state = if c.disabled {
                format!("(disabled) {}", c.state)
            } else if c.maintenance {
                format!("maintenance ({})", c.state)
            } else if !c.blocked_by.is_empty() {
                format!("{} (blocked by {})", c.state, c.blocked_by.join(","))
            } else if c.degraded {
                format!("{} (degraded)", c.state)
            } else {
                c.state.clone()
            };
            let detail = match &c.reason {
                Some(why) if c.detail.is_empty() => why.clone(),
                Some(why) => format!("{why}; {}", c.detail),
                None => c.detail.clone(),
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
                detail,
            ]
        })
        .collect();
    out.push_str(&table(
        &["ID", "NAME", "STATE", "OK/TOTAL", "ALERTS", "DETAIL"],
        &rows,
    ));
    out.push('\n');
    // Open incidents in a section of their own, so the CHECKS columns stay
    // the original's: the key the DOWN and its RECOVERED carry, to find
    // them in the receivers (PagerDuty dedup key, Opsgenie alias, …).
    let open: Vec<Vec<String>> = s
        .checks
        .iter()
        .filter_map(|c| {
            let key = c.incident.clone()?;
            Some(vec![
                c.name.clone(),
                key,
                c.since.clone().unwrap_or_default(),
            ])
        })
        .collect();
    if !open.is_empty() {
        out.push_str("\nINCIDENTS\n");
        out.push_str(&table(&["CHECK", "INCIDENT", "SINCE"], &open));
        out.push('\n');
    }
    out
}

/// `2s`, `1.1s`: the bound on LIVE's age.
fn staleness(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// The members with liveness; `*` in SELF marks this node.
pub fn peers_table(s: &Status) -> String {
    // LABELS is shown only when some member has labels, so the table of a
    // cluster without them is the original's.
    let labelled = s.peers.iter().any(|p| !p.labels.is_empty());
    let rows: Vec<Vec<String>> = s
        .peers
        .iter()
        .map(|p| {
            let mut row = vec![
                p.node_id.to_string(),
                p.advertise.clone(),
                p.live.to_string(),
                p.last_seen.clone().unwrap_or_else(|| "-".into()),
                if p.this_node { "*" } else { "-" }.into(),
                if p.voter {
                    "voter".into()
                } else {
                    "learner".into()
                },
            ];
            if labelled {
                row.push(quptime::state::policy::format_labels(&p.labels));
            }
            row
        })
        .collect();
    // The original's four columns come first, in its order, so scripts
    // that read columns by position keep working.
    let mut headers = vec!["NODE_ID", "ADVERTISE", "LIVE", "LAST_SEEN", "SELF", "ROLE"];
    if labelled {
        headers.push("LABELS");
    }
    table(&headers, &rows)
}
