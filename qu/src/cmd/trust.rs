//! `qu trust list|remove` and `qu key rotate`.

use anyhow::Result;
use quptime::api::{ListTrust, RemoveTrust};
use quptime::identity::NodeId;

use crate::cli::{KeyCmd, TrustCmd};
use crate::output::{json, table};

pub fn run(cmd: TrustCmd) -> Result<()> {
    match cmd {
        TrustCmd::List(args) => {
            let entries = crate::client::call::<ListTrust>(&())?;
            if args.json {
                return json(&entries);
            }
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.node_id.to_string(),
                        e.address.clone(),
                        e.fingerprint.to_string(),
                        e.added_at.clone(),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["NODE_ID", "ADDRESS", "FINGERPRINT", "ADDED_AT"], &rows)
            );
            Ok(())
        }
        TrustCmd::Remove { node_id } => {
            let id = NodeId::new(node_id)?;
            if crate::client::call::<RemoveTrust>(&id)? {
                println!("no longer trusting {id}");
            } else {
                anyhow::bail!("{id} is not in the trust store (see `qu trust list`)");
            }
            Ok(())
        }
    }
}

/// `qu key rotate`.
pub fn key(cmd: KeyCmd) -> Result<()> {
    match cmd {
        KeyCmd::Rotate(args) => {
            let r = crate::client::call::<quptime::api::RotateKey>(&())?;
            if args.json {
                return json(&r);
            }
            println!(
                "rotated this node's key (config ver {}):\n  old {} (no longer trusted)\n  new {}",
                r.version, r.old, r.new
            );
            Ok(())
        }
    }
}
