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
        let text = read_capped(std::io::stdin().lock(), "<stdin>")?;
        (text, "<stdin>".to_string())
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("read {}; check the path", args.file))?;
        let text = read_capped(file, &args.file)?;
        (text, args.file.clone())
    };
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

/// Read at most one byte past the cap, so `/dev/zero` or a huge file
/// fails at once instead of filling memory.
fn read_capped(source: impl Read, name: &str) -> Result<String> {
    let cap = quptime::declare::MAX_FILE;
    let mut bytes = Vec::new();
    source.take(cap as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > cap {
        anyhow::bail!(
            "{name} is more than {cap} bytes; a declaration may have at most {cap} bytes (1 MiB): \
             split the configuration or remove what it does not need"
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name} is not UTF-8 text (invalid byte at offset {}): save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
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
