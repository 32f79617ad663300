//! `qu node add|list|label|remove`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use quptime::api::{
    AddNode, AddNodeRequest, GetStatus, LabelNode, NodeLabelRequest, PreviewNode, RemoveNode,
};
use quptime::identity::NodeId;

use crate::cli::NodeCmd;
use crate::output::json;

pub fn run(cmd: NodeCmd) -> Result<()> {
    match cmd {
        NodeCmd::Add { addr, yes } => add(&addr, yes),
        NodeCmd::List(args) => {
            let status = crate::client::call::<GetStatus>(&())?;
            if args.json {
                return json(&status.peers);
            }
            println!("{}", crate::cmd::status::peers_table(&status));
            Ok(())
        }
        NodeCmd::Label {
            node_id,
            labels,
            remove,
        } => {
            if labels.is_empty() && remove.is_empty() {
                bail!("give labels to set (region=eu) or --remove KEY");
            }
            let req = NodeLabelRequest {
                node_id: NodeId::new(node_id)?,
                set: labels,
                remove,
            };
            let id = req.node_id.clone();
            let outcome = crate::client::call::<LabelNode>(&req)?;
            println!("labelled node {id} (config ver {})", outcome.version);
            Ok(())
        }
        NodeCmd::Remove { node_id } => {
            let id = NodeId::new(node_id)?;
            let outcome = crate::client::call_slow::<RemoveNode>(&id)?;
            println!("removed node {id} (config ver {})", outcome.version);
            Ok(())
        }
    }
}

fn add(addr: &str, yes: bool) -> Result<()> {
    quptime::store::node_file::check_host_port(addr)?;
    let preview = crate::client::call::<PreviewNode>(&addr.to_string())?;
    println!("node        {}", preview.node_id);
    println!("fingerprint {}", preview.fingerprint);
    println!("advertise   {}", preview.advertise);
    println!("version     {}", preview.version);
    if !yes && !confirm("Trust this node and add it to the cluster?")? {
        bail!("not added; nothing changed");
    }
    let outcome = crate::client::call_slow::<AddNode>(&AddNodeRequest {
        addr: addr.to_string(),
        fingerprint: preview.fingerprint,
    })?;
    println!(
        "added node {} (config ver {})",
        preview.node_id, outcome.version
    );
    Ok(())
}

/// Ask a yes/no question on the terminal; without one, refuse and say to use -y.
pub fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{question} needs a confirmation, but stdin is not a terminal: check the fingerprint above and re-run with -y"
        );
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}
