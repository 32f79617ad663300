//! Start a quptime node inside this program, then talk to it over mutual
//! TLS the way another node would.
//!
//! Run with: `cargo run -p quptime-examples --example node`

use quptime::identity::{Identity, NodeId};
use quptime::init::{InitOptions, init_node};
use quptime::transport::{Dialer, Hello, Limits};
use quptime::{Cluster, NodeOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A throw-away data directory; a real program would use
    // `quptime::paths::data_dir()` or its own.
    let dir = std::env::temp_dir().join(format!("quptime-example-{}", std::process::id()));
    init_node(&dir, InitOptions::default())?;

    let mut opts = NodeOptions::new(&dir);
    opts.listen = Some("127.0.0.1:0".parse()?);
    let node = Cluster::start(opts).await?;
    println!("node {} listening on {}", node.node_id(), node.local_addr());
    println!("fingerprint {}", node.fingerprint());

    // Another identity dials it without pinning (trust on first use) and
    // asks who it is: the key comes from the TLS handshake, not the reply.
    let visitor = Identity::generate(NodeId::random())?;
    let conn = Dialer::new(&visitor, Limits::default())
        .connect(&node.local_addr().to_string(), None)
        .await?;
    let info = conn.call::<Hello>(&()).await?;
    println!(
        "hello from {} (key {}), qu {}",
        info.node_id,
        conn.peer_fingerprint(),
        info.version
    );

    node.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
