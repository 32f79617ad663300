//! [`Cluster`]: the handle to a monitor node running inside this process.
//!
//! `Cluster::start` loads the node's identity and trust store from its data
//! directory and brings up the peer listener; the handle is cheap to clone
//! and `shutdown` stops everything the node started. The library installs
//! no signal handler or runtime: the embedding program owns both (the `qu`
//! daemon wires SIGINT/SIGTERM to [`Cluster::shutdown`]).
//!
//! Today a node answers identification (`hello`, open to anyone) and `ping`
//! (trusted peers only); replicated state, probes and alerts build on this.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::identity::{Fingerprint, Identity, NodeId};
use crate::store::NodeConfig;
use crate::transport::{
    Hello, Limits, NodeInfo, PROTOCOL_VERSION, Peer, Ping, Pong, Router, Server,
};
use crate::trust::TrustStore;

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The node's data directory (holding `node.yaml`, `keys/`, `trust.yaml`).
    pub data_dir: PathBuf,
    /// Apply the `QUPTIME_*` environment overrides to `node.yaml` (the
    /// daemon does; embedders may prefer not to).
    pub env_overrides: bool,
    /// Listen here instead of `node.yaml`'s bind address and port (port 0
    /// picks a free port; see [`Cluster::local_addr`]).
    pub listen: Option<SocketAddr>,
    /// Transport bounds.
    pub limits: Limits,
}

impl NodeOptions {
    /// Options for the node in `data_dir`, with defaults for the rest.
    pub fn new(data_dir: impl Into<PathBuf>) -> NodeOptions {
        NodeOptions {
            data_dir: data_dir.into(),
            env_overrides: false,
            listen: None,
            limits: Limits::default(),
        }
    }
}

/// A running node. Clone freely; all clones control the same node.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    identity: Identity,
    config: NodeConfig,
    trust: TrustStore,
    local_addr: SocketAddr,
    server: Mutex<Option<Server>>,
}

impl Cluster {
    /// Load the node in `opts.data_dir` and start serving peers.
    pub async fn start(opts: NodeOptions) -> Result<Cluster> {
        let config = if opts.env_overrides {
            NodeConfig::load_with_env(&opts.data_dir)?
        } else {
            NodeConfig::load(&opts.data_dir)?
        };
        let node_id = NodeId::new(config.node_id.as_str())?;
        let identity = Identity::load(&opts.data_dir, node_id)?;
        let trust = TrustStore::load(&opts.data_dir)?;
        let listen = match opts.listen {
            Some(a) => a,
            None => {
                let ip: IpAddr = config.bind_addr.parse().map_err(|_| {
                    Error::invalid(format!(
                        "bind_addr {:?} in node.yaml is not an IP address",
                        config.bind_addr
                    ))
                })?;
                SocketAddr::new(ip, config.bind_port)
            }
        };
        let router = base_router(&identity, &config);
        let server = Server::bind(
            listen,
            &identity,
            Arc::new(trust.clone()),
            router,
            opts.limits.clone(),
        )
        .await?;
        tracing::info!(node = %identity.node_id(), addr = %server.local_addr(), "listening for peers");
        Ok(Cluster {
            inner: Arc::new(Inner {
                local_addr: server.local_addr(),
                identity,
                config,
                trust,
                server: Mutex::new(Some(server)),
            }),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        self.inner.identity.node_id()
    }

    /// The fingerprint peers pin this node by.
    pub fn fingerprint(&self) -> &Fingerprint {
        self.inner.identity.fingerprint()
    }

    /// The address the peer listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// The address peers are told to dial.
    pub fn advertise(&self) -> String {
        self.inner.config.advertise_addr()
    }

    /// This node's trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.inner.trust
    }

    /// Stop serving and close every connection. Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        if let Some(server) = self.inner.server.lock().await.take() {
            server.shutdown().await;
            tracing::info!(node = %self.node_id(), "node stopped");
        }
        Ok(())
    }
}

fn base_router(identity: &Identity, config: &NodeConfig) -> Router {
    let me = identity.node_id().clone();
    let info = NodeInfo {
        node_id: me.clone(),
        advertise: config.advertise_addr(),
        version: crate::VERSION.to_string(),
        protocol: PROTOCOL_VERSION,
    };
    Router::new()
        .route::<Ping, _, _>(move |_peer: Peer, ()| {
            let me = me.clone();
            async move {
                Ok(Pong {
                    node_id: me,
                    version: crate::VERSION.to_string(),
                })
            }
        })
        .route::<Hello, _, _>(move |_peer: Peer, ()| {
            let info = info.clone();
            async move { Ok(info) }
        })
}
