//! `qu apply`, `qu export`, `qu snapshot`, `qu leader transfer`: config as
//! code and maintenance, each one control-API call.

use std::io::Read;

use anyhow::{Context, Result};
use quptime::NodeId;
use quptime::api::{
    ApplyConfig, ApplyReport, ApplyRequest, ExportConfig, TakeSnapshot, TransferLeader,
    TransferRequest,
};

use crate::cli::{ApplyArgs, ExportArgs, JsonArg, LeaderCmd};
use crate::output::json;

pub fn apply(args: ApplyArgs) -> Result<()> {
    let (yaml, name) = if args.file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read the declaration from standard input")?;
        (text, "<stdin>".to_string())
    } else {
        let text = std::fs::read_to_string(&args.file)
            .with_context(|| format!("read {}; check the path", args.file))?;
        (text, args.file.clone())
    };
    if yaml.len() > quptime::declare::MAX_FILE {
        anyhow::bail!(
            "{name} is {} bytes; a declaration may have at most {} bytes: split the \
             configuration or remove what it does not need",
            yaml.len(),
            quptime::declare::MAX_FILE
        );
    }
    let req = ApplyRequest {
        yaml,
        prune: args.prune,
        dry_run: args.dry_run,
    };
    let report = crate::client::call_slow::<ApplyConfig>(&req).with_context(|| name.clone())?;
    if args.json {
        return json(&report);
    }
    print!("{}", render_apply(&report, &name, args.dry_run));
    Ok(())
}

/// The human report of `qu apply` (the diff, then what happened).
pub fn render_apply(r: &ApplyReport, file: &str, dry_run: bool) -> String {
    let mut out = String::new();
    for c in &r.changes {
        out.push_str(&c.to_string());
        out.push('\n');
    }
    if !r.unmanaged.is_empty() {
        out.push_str(&format!(
            "not in {file}, kept (--prune deletes them): {}\n",
            r.unmanaged.join(", ")
        ));
    }
    let n = r.changes.len();
    let what = if n == 1 { "change" } else { "changes" };
    out.push_str(&if n == 0 {
        format!(
            "no changes: the cluster matches {file} (config ver {})\n",
            r.version
        )
    } else if dry_run {
        format!("dry run: {n} {what} not applied (run without --dry-run to apply)\n")
    } else {
        format!(
            "applied {n} {what} as one mutation (config ver {})\n",
            r.version
        )
    });
    out
}

pub fn export(args: ExportArgs) -> Result<()> {
    let text = crate::client::call::<ExportConfig>(&())?;
    match args.output {
        None => print!("{text}"),
        Some(path) => {
            quptime::store::write_atomic(std::path::Path::new(&path), text.as_bytes(), 0o600)?;
            eprintln!("wrote {path} (mode 0600: it contains alert secrets)");
        }
    }
    Ok(())
}

pub fn snapshot(args: JsonArg) -> Result<()> {
    let r = crate::client::call_slow::<TakeSnapshot>(&())?;
    if args.json {
        return json(&r);
    }
    println!(
        "snapshot up to entry {}; log purged up to entry {}\nraft dir {} bytes, data dir {} bytes",
        r.index, r.purged, r.raft_bytes, r.data_dir_bytes
    );
    Ok(())
}

pub fn leader(cmd: LeaderCmd) -> Result<()> {
    let LeaderCmd::Transfer {
        node_id,
        hold,
        clear,
        json: as_json,
    } = cmd;
    let to = node_id.map(|n| NodeId::new(n.as_str())).transpose()?;
    let r = crate::client::call_slow::<TransferLeader>(&TransferRequest { to, hold, clear })?;
    if as_json {
        return json(&r);
    }
    match (&r.master, &r.until) {
        (Some(m), Some(until)) => println!(
            "master is now {m}; it keeps the role until {until} \
             (`qu leader transfer --clear` ends that early)"
        ),
        _ => println!("the master preference is cleared: the lowest live NodeID leads again"),
    }
    Ok(())
}
