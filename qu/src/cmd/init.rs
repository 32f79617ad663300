//! `qu init`: create this node's identity and node.yaml.

use anyhow::Result;
use quptime::init::{InitOptions, init_node};

use crate::cli::InitArgs;

pub fn run(args: InitArgs) -> Result<()> {
    let dir = quptime::paths::data_dir();
    let done = init_node(
        &dir,
        InitOptions {
            node_id: args.node_id,
            bind_addr: Some(args.bind),
            bind_port: args.port,
            advertise: args.advertise,
            secret: args.secret,
            labels: quptime::state::policy::parse_labels("--label", &args.labels)?,
        },
    )?;
    println!("initialised node {}", done.identity.node_id());
    println!("data dir: {}", done.data_dir.display());
    println!("advertise: {}", done.config.advertise_addr());
    println!("fingerprint: {}", done.identity.fingerprint());
    if done.secret_generated
        && let Some(secret) = &done.config.secret
    {
        println!("cluster secret: {secret}");
        println!(
            "  (nodes joining this cluster run `qu init --secret <that secret>`; keep it safe)"
        );
    }
    Ok(())
}
