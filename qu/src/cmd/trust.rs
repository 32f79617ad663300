//! `qu trust list|remove`.

use anyhow::Result;
use quptime::api::{ListTrust, RemoveTrust};
use quptime::identity::NodeId;

use crate::cli::TrustCmd;
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
