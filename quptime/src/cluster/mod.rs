//! [`Cluster`]: the handle to a monitor node running inside this process.
//!
//! `Cluster::start` loads the node's identity and trust store, opens its
//! Raft storage, brings up the peer listener, and starts the background
//! tasks (liveness pings, the master controller, the `cluster.yaml`
//! exporter). The handle is cheap to clone; `shutdown` hands leadership to
//! another member when it can and stops everything the node started. The
//! library installs no signal handler or runtime: the embedding program owns
//! both.

mod export;
mod join;
mod liveness;
mod pool;
mod rpc;
mod status;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};

pub use join::NodePreview;
pub use status::{PeerStatus, Status};

use crate::consensus::{Consensus, Faults, Member, Timing, WriteError, no_quorum};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, Identity, NodeId};
use crate::state::{ClusterState, Command, Mutation, Outcome, PeerRecord};
use crate::store::NodeConfig;
use crate::transport::{
    Hello, Limits, NodeInfo, PROTOCOL_VERSION, Peer, Ping, Pong, Router, Server,
};
use crate::trust::{TrustStore, now_rfc3339};
use liveness::Liveness;
use pool::Pool;
use rpc::{AdmitRpc, EvictRpc, JoinInviteRpc, ProposeRpc};

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The node's data directory (holding `node.yaml`, `keys/`, `trust.yaml`, `raft/`).
    pub data_dir: PathBuf,
    /// Apply the `QUPTIME_*` environment overrides to `node.yaml` (the
    /// daemon does; embedders may prefer not to).
    pub env_overrides: bool,
    /// Listen here instead of `node.yaml`'s bind address and port (port 0
    /// picks a free port; see [`Cluster::local_addr`]). When `node.yaml`
    /// has no advertise address, the bound address is advertised.
    pub listen: Option<SocketAddr>,
    /// Transport bounds.
    pub limits: Limits,
    /// Raft timings and the master cooldown.
    pub timing: Timing,
    /// Fault injection (for partition tests and chaos drills).
    pub faults: Faults,
}

impl NodeOptions {
    /// Options for the node in `data_dir`, with defaults for the rest.
    pub fn new(data_dir: impl Into<PathBuf>) -> NodeOptions {
        NodeOptions {
            data_dir: data_dir.into(),
            env_overrides: false,
            listen: None,
            limits: Limits::default(),
            timing: Timing::default(),
            faults: Faults::new(),
        }
    }
}

/// Everything a running node shares between its tasks and handlers.
#[derive(Debug)]
pub(crate) struct Core {
    identity: Identity,
    config: NodeConfig,
    advertise: String,
    trust: TrustStore,
    consensus: Consensus,
    pool: Pool,
    liveness: Liveness,
    faults: Faults,
    master: watch::Receiver<bool>,
    data_dir: PathBuf,
}

/// A running node. Clone freely; all clones control the same node.
#[derive(Debug, Clone)]
pub struct Cluster {
    core: Arc<Core>,
    local_addr: SocketAddr,
    running: Arc<Mutex<Option<Running>>>,
}

#[derive(Debug)]
struct Running {
    server: Server,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Cluster {
    /// Load the node in `opts.data_dir` and start it.
    pub async fn start(opts: NodeOptions) -> Result<Cluster> {
        let config = if opts.env_overrides {
            NodeConfig::load_with_env(&opts.data_dir)?
        } else {
            NodeConfig::load(&opts.data_dir)?
        };
        let me = NodeId::new(config.node_id.as_str())?;
        let identity = Identity::load(&opts.data_dir, me.clone())?;
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
        // Bind first: a taken port must fail before anything else starts.
        let listener =
            std::net::TcpListener::bind(listen).map_err(|e| Server::bind_error(listen, e))?;
        let local_addr = listener.local_addr()?;
        let advertise = if config.advertise.is_empty() && opts.listen.is_some() {
            local_addr.to_string()
        } else {
            config.advertise_addr()
        };

        let dialer = crate::transport::Dialer::new(&identity, opts.limits.clone());
        let consensus = Consensus::open(
            &opts.data_dir.join("raft"),
            me.clone(),
            dialer.clone(),
            trust.clone(),
            opts.faults.clone(),
            opts.timing.clone(),
        )
        .await?;
        let (duty_tx, duty_rx) = watch::channel(false);
        let core = Arc::new(Core {
            pool: Pool::new(dialer, opts.faults.clone()),
            liveness: Liveness::new(me.clone()),
            identity,
            config,
            advertise,
            trust: trust.clone(),
            consensus: consensus.clone(),
            faults: opts.faults.clone(),
            master: duty_rx,
            data_dir: opts.data_dir.clone(),
        });
        let router = crate::consensus::network::routes(
            routes(&core),
            consensus.raft().clone(),
            opts.faults.clone(),
        );
        let server = Server::from_listener(
            listener,
            &core.identity,
            Arc::new(trust),
            router,
            opts.limits.clone(),
        )?;

        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let members_of = {
            let c = consensus.clone();
            move || {
                let v = c.view();
                v.voters
                    .into_iter()
                    .chain(v.learners)
                    .collect::<Vec<(NodeId, Member)>>()
            }
        };
        tasks.push(tokio::spawn(core.liveness.clone().run(
            core.pool.clone(),
            consensus.watch_state(),
            members_of,
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(crate::consensus::controller::run(
            consensus.clone(),
            me.clone(),
            Arc::new(core.liveness.clone()),
            duty_tx,
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(export::run(
            opts.data_dir.clone(),
            consensus.watch_state(),
            stop_rx.clone(),
        )));
        if core.config.bootstrap && !consensus.is_initialized().await? {
            consensus
                .bootstrap(Member {
                    addr: core.advertise.clone(),
                    fingerprint: core.identity.fingerprint().clone(),
                })
                .await?;
            tracing::info!(node = %me, "founded a new cluster");
        }
        tasks.push(tokio::spawn(register_self(core.clone(), stop_rx)));
        tracing::info!(node = %me, addr = %local_addr, "node started");
        Ok(Cluster {
            core,
            local_addr,
            running: Arc::new(Mutex::new(Some(Running {
                server,
                stop,
                tasks,
            }))),
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        self.core.me()
    }

    /// The fingerprint peers pin this node by.
    pub fn fingerprint(&self) -> &Fingerprint {
        self.core.identity.fingerprint()
    }

    /// The address the peer listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address peers are told to dial.
    pub fn advertise(&self) -> &str {
        &self.core.advertise
    }

    /// This node's trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.core.trust
    }

    /// The fault injector this node was started with.
    pub fn faults(&self) -> &Faults {
        &self.core.faults
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.core.data_dir
    }

    /// The latest cluster state applied on this node.
    pub fn state(&self) -> Arc<ClusterState> {
        self.core.state()
    }

    /// A receiver of every newly applied cluster state.
    pub fn watch_state(&self) -> watch::Receiver<Arc<ClusterState>> {
        self.core.consensus.watch_state()
    }

    /// Whether this node performs master duties right now.
    pub fn is_master(&self) -> bool {
        *self.core.master.borrow()
    }

    /// A receiver that flips whenever this node gains or loses master duty.
    pub fn watch_master(&self) -> watch::Receiver<bool> {
        self.core.master.clone()
    }

    /// Commit `mutation` through the master (forwarded if this node is not
    /// the master). Fails with `ErrorKind::NoQuorum` within a few seconds
    /// when a majority cannot be reached; nothing is half-applied.
    pub async fn propose(&self, mutation: Mutation) -> Result<Outcome> {
        self.core
            .submit(Command::new(self.core.me().clone(), mutation))
            .await
    }

    /// Who answers at `addr` (TOFU preview for `qu node add`).
    pub async fn preview_node(&self, addr: &str) -> Result<NodePreview> {
        self.core.preview_node(addr).await
    }

    /// Invite the node at `addr` (which must prove `fingerprint`) into the
    /// cluster and wait until it is a voting member.
    pub async fn add_node(&self, addr: &str, fingerprint: &Fingerprint) -> Result<Outcome> {
        self.core.add_node(addr, fingerprint).await
    }

    /// Remove a member: it stops voting and every member revokes its key.
    pub async fn remove_node(&self, node_id: &NodeId) -> Result<Outcome> {
        self.core.evict(node_id.clone()).await
    }

    /// Status as `qu status` shows it.
    pub fn status(&self) -> Status {
        self.core.status()
    }

    /// Stop the node: hand leadership to another live member if this node
    /// leads, then stop Raft, the listener and every task. Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        let Some(running) = self.running.lock().await.take() else {
            return Ok(());
        };
        self.core.step_down().await;
        let _ = running.stop.send(true);
        self.core.consensus.shutdown().await;
        running.server.shutdown().await;
        for t in running.tasks {
            let _ = t.await;
        }
        tracing::info!(node = %self.node_id(), "node stopped");
        Ok(())
    }
}

impl Core {
    pub(crate) fn me(&self) -> &NodeId {
        self.identity.node_id()
    }

    pub(crate) fn state(&self) -> Arc<ClusterState> {
        self.consensus.state()
    }

    /// This node as a member record.
    pub(crate) fn own_record(&self) -> PeerRecord {
        PeerRecord {
            node_id: self.me().clone(),
            advertise: self.advertise.clone(),
            fingerprint: self.identity.fingerprint().clone(),
            cert_pem: self.identity.cert_pem().to_string(),
            added_at: now_rfc3339(),
        }
    }

    /// Commit `cmd` here if this node leads, else forward it to the leader;
    /// retried (same request id, so never applied twice) until the
    /// proposal timeout.
    pub(crate) async fn submit(&self, cmd: Command) -> Result<Outcome> {
        let deadline = Instant::now() + self.consensus.timing().propose_timeout;
        loop {
            let attempt = match self.consensus.write(cmd.clone()).await {
                Ok(outcome) => return Ok(outcome),
                Err(WriteError::Forward(leader, member)) => {
                    self.forward(&leader, &member, &cmd).await
                }
                Err(WriteError::Failed(e)) => Err(e),
            };
            match attempt {
                Ok(outcome) => return Ok(outcome),
                Err(e) if retryable(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) if retryable(&e) => {
                    return Err(if e.kind() == ErrorKind::NoQuorum {
                        e
                    } else {
                        no_quorum(format!("the master is unreachable ({e})"))
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn forward(&self, leader: &NodeId, member: &Member, cmd: &Command) -> Result<Outcome> {
        let conn = self.pool.get(leader, member).await?;
        let res = conn
            .call_with_timeout::<ProposeRpc>(cmd, self.consensus.timing().propose_timeout)
            .await;
        if matches!(&res, Err(e) if e.kind() == ErrorKind::Transport) {
            self.pool.drop_conn(leader);
        }
        res
    }

    /// Record `peer` as a member and make it a voter (on the master, or
    /// forwarded there).
    pub(crate) async fn admit(&self, peer: PeerRecord) -> Result<Outcome> {
        if self.consensus.has_lease() {
            return self.admit_here(peer).await;
        }
        let (leader, member) = self.leader()?;
        let conn = self.pool.get(&leader, &member).await?;
        conn.call_with_timeout::<AdmitRpc>(&peer, Duration::from_secs(60))
            .await
    }

    async fn admit_here(&self, peer: PeerRecord) -> Result<Outcome> {
        let member = Member {
            addr: peer.advertise.clone(),
            fingerprint: peer.fingerprint.clone(),
        };
        let id = peer.node_id.clone();
        let outcome = self
            .submit(Command::new(self.me().clone(), Mutation::AddPeer { peer }))
            .await?;
        self.consensus.add_voter(id.clone(), member).await?;
        tracing::info!(node = %id, "admitted a new member");
        Ok(outcome)
    }

    /// Remove `id` from the membership, then revoke its key everywhere.
    pub(crate) async fn evict(&self, id: NodeId) -> Result<Outcome> {
        if !self.state().peers.contains_key(&id) && !self.consensus.view().voters.contains_key(&id)
        {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no node {id} in this cluster (list them with `qu node list`)"),
            ));
        }
        if !self.consensus.has_lease() {
            let (leader, member) = self.leader()?;
            let conn = self.pool.get(&leader, &member).await?;
            return conn
                .call_with_timeout::<EvictRpc>(&id, Duration::from_secs(30))
                .await;
        }
        self.consensus.remove_member(&id).await?;
        let outcome = self
            .submit(Command::new(
                self.me().clone(),
                Mutation::RemovePeer {
                    node_id: id.clone(),
                },
            ))
            .await?;
        tracing::info!(node = %id, "removed a member");
        Ok(outcome)
    }

    fn leader(&self) -> Result<(NodeId, Member)> {
        let view = self.consensus.view();
        let leader = view.leader.ok_or_else(|| {
            no_quorum("no master is known (election in progress or too few members reachable)")
        })?;
        let member = view.voters.get(&leader).cloned().ok_or_else(|| {
            no_quorum(format!(
                "the master {leader} is not in this node's membership view"
            ))
        })?;
        Ok((leader, member))
    }

    /// If this node leads, hand leadership to the lowest live voter and wait
    /// briefly for it to take over.
    async fn step_down(&self) {
        if !self.consensus.has_lease() {
            return;
        }
        let view = self.consensus.view();
        let target = view
            .voters
            .keys()
            .filter(|id| *id != self.me() && self.liveness.get(id).0)
            .min()
            .cloned();
        let Some(target) = target else { return };
        tracing::info!(%target, "shutting down: handing the master role over");
        if self.consensus.transfer_leadership(&target).await.is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self
                .consensus
                .view()
                .leader
                .as_ref()
                .is_some_and(|l| l != self.me())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn retryable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NoQuorum | ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Shutdown
    )
}

/// Make sure this node's own record is in the replicated peers table (the
/// founder adds itself; joiners are added by the member that admitted them).
async fn register_self(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut master = core.master.clone();
    loop {
        if core.state().peers.contains_key(core.me()) {
            return;
        }
        if *master.borrow_and_update() && core.consensus.view().voters.len() == 1 {
            let peer = core.own_record();
            match core
                .submit(Command::new(core.me().clone(), Mutation::AddPeer { peer }))
                .await
            {
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "could not record this node as a member yet"),
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = master.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// The methods this node answers (Raft's are added by the consensus module).
fn routes(core: &Arc<Core>) -> Router {
    let me = core.me().clone();
    let info = NodeInfo {
        node_id: me.clone(),
        advertise: core.advertise.clone(),
        version: crate::VERSION.to_string(),
        protocol: PROTOCOL_VERSION,
    };
    let (c1, c2, c3, c4, c5) = (
        core.clone(),
        core.clone(),
        core.clone(),
        core.clone(),
        core.clone(),
    );
    Router::new()
        .route::<Ping, _, _>(move |peer: Peer, ()| {
            let (me, core) = (me.clone(), c5.clone());
            async move {
                let id = peer.node_id()?;
                if core.faults.is_cut(id) {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        "traffic from this peer is cut (fault injection)",
                    ));
                }
                core.liveness.record_ok(id);
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
        .route::<ProposeRpc, _, _>(move |peer: Peer, cmd: Command| {
            let core = c1.clone();
            async move {
                if core.faults.is_cut(peer.node_id()?) {
                    return Err(Error::new(
                        ErrorKind::Transport,
                        "traffic from this peer is cut (fault injection)",
                    ));
                }
                match core.consensus.write(cmd).await {
                    Ok(o) => Ok(o),
                    Err(WriteError::Forward(leader, _)) => Err(no_quorum(format!(
                        "this node is no longer the master ({leader} is)"
                    ))),
                    Err(WriteError::Failed(e)) => Err(e),
                }
            }
        })
        .route::<AdmitRpc, _, _>(move |peer: Peer, record: PeerRecord| {
            let core = c2.clone();
            async move {
                peer.node_id()?;
                if !core.consensus.has_lease() {
                    return Err(no_quorum("this node is not the master"));
                }
                core.admit_here(record).await
            }
        })
        .route::<EvictRpc, _, _>(move |peer: Peer, id: NodeId| {
            let core = c3.clone();
            async move {
                peer.node_id()?;
                if !core.consensus.has_lease() {
                    return Err(no_quorum("this node is not the master"));
                }
                core.evict(id).await
            }
        })
        .route::<JoinInviteRpc, _, _>(move |peer: Peer, invite| {
            let core = c4.clone();
            async move { core.accept_invite(peer, invite).await }
        })
}
