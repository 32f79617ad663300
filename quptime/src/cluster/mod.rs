//! [`Cluster`]: the handle to a monitor node running inside this process.
//!
//! `Cluster::start` loads the node's identity and trust store, opens its
//! Raft storage, brings up the peer listener, and starts the background
//! tasks (liveness pings, the master controller, the `cluster.yaml`
//! exporter). The handle is cheap to clone; `shutdown` hands leadership to
//! another member when it can and stops everything the node started. The
//! library installs no signal handler or runtime: the embedding program owns
//! both.

mod absorb;
mod applied;
mod attempts;
mod canary;
mod dispatch;
mod enroll;
mod export;
mod import;
mod join;
mod liveness;
mod maint;
pub use maint::MAX_HOLD;
mod migrate;
mod observe;
mod ops;
mod options;
mod pool;
pub(crate) mod push;
mod reconcile;
mod rotate;
mod routes;
mod rpc;
mod status;
mod subscribe;
mod upgrade;
mod uptime;
mod verdict;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};

pub use absorb::{JOINING_FILE, holdings};
pub use join::NodePreview;
pub use maint::{SnapshotReport, disk_usage};
pub use options::NodeOptions;
pub use rotate::KeyRotation;
pub use status::{CheckStatus, PeerStatus, PinnedMaster, Status};
pub use subscribe::Subscription;
pub use verdict::Summary;

use crate::consensus::{Consensus, Member};
use crate::error::{Error, Result};
use crate::faults::Faults;
use crate::identity::{Fingerprint, Identity, NodeId};
use crate::state::{ClusterState, Command, Mutation, Outcome, PeerRecord};
use crate::store::NodeConfig;
use crate::transport::Server;
use crate::trust::{TrustStore, now_rfc3339};
use liveness::Liveness;
use pool::Pool;

/// Everything a running node shares between its tasks and handlers.
#[derive(Debug)]
pub(crate) struct Core {
    me: NodeId,
    /// The key this node presents (swapped by a key rotation).
    identity: crate::keyring::LiveIdentity,
    /// A rotation's new key waiting for its commit (after a crash).
    pending_key: std::sync::Mutex<Option<Identity>>,
    config: NodeConfig,
    /// The cluster secret now (a lone founder absorbed into another
    /// cluster takes that cluster's).
    secret: std::sync::RwLock<Option<String>>,
    /// Fires when the node stops (for tasks started after start-up).
    stopping: watch::Receiver<bool>,
    /// Set while (and after) this node is absorbed: one absorption at a
    /// time, and none once it left its own cluster.
    absorbing: std::sync::atomic::AtomicBool,
    advertise: String,
    trust: TrustStore,
    consensus: Consensus,
    pool: Pool,
    liveness: Liveness,
    faults: Faults,
    master: watch::Receiver<bool>,
    data_dir: PathBuf,
    verdicts: std::sync::Mutex<Option<crate::engine::evaluate::Evaluator>>,
    notifiers: crate::notify::Notifiers,
    metrics: Arc<crate::metrics::Metrics>,
    /// Join and enrollment attempts per source address.
    join_attempts: attempts::JoinAttempts,
    /// This node's raw probe results (`results.redb`).
    results: Arc<crate::results::ResultStore>,
    /// This node's own canary reference targets (`--canary-target`).
    canary_targets: Vec<String>,
    /// Why this node abstains now (its canary fails), if it does.
    abstain: std::sync::Mutex<Option<String>>,
}

/// A running node. Clone freely; all clones control the same node.
#[derive(Debug, Clone)]
pub struct Cluster {
    core: Arc<Core>,
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    http_tls: bool,
    running: Arc<Mutex<Option<Running>>>,
    /// Closed (sender dropped) once the node has shut down.
    stopped: watch::Receiver<bool>,
}

#[derive(Debug)]
struct Running {
    scheduler: crate::schedule::Scheduler,
    server: Server,
    metrics: Option<crate::metrics::MetricsServer>,
    web: Option<crate::web::WebServer>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Cluster {
    /// Load the node in `opts.data_dir` and start it.
    pub async fn start(opts: NodeOptions) -> Result<Cluster> {
        // Timings no cluster can work with fail before anything starts.
        opts.timing.validate()?;
        // An absorption into another cluster that a crash interrupted is
        // finished before anything reads the node's files.
        let absorbing = absorb::resume(&opts.data_dir)?;
        // The original qu's cluster.yaml, checked and kept aside before
        // this node's export could overwrite it.
        let original = migrate::prepare(&opts.data_dir)?;
        let config = if opts.env_overrides {
            NodeConfig::load_with_env(&opts.data_dir)?
        } else {
            NodeConfig::load(&opts.data_dir)?
        };
        let me = NodeId::new(config.node_id.as_str())?;
        // The current key, or a rotation's new one when the old files were
        // half replaced; a pending key is settled once the state is known.
        let (identity, pending_key) = crate::keyring::choose(&opts.data_dir, &me, None)?;
        let results = Arc::new(crate::results::ResultStore::open(
            &opts.data_dir.join(crate::results::FILE),
            opts.results_max_bytes,
        )?);
        let identity = crate::keyring::LiveIdentity::new(identity);
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
        // A wrong certificate or key fails here, before anything runs.
        let http_tls = match &opts.http_tls {
            Some(t) => Some(t.server_config()?),
            None => None,
        };
        let metrics_listener = match opts.metrics_addr {
            Some(a) => Some(
                std::net::TcpListener::bind(a)
                    .map_err(|e| crate::metrics::MetricsServer::bind_error(a, e))?,
            ),
            None => None,
        };
        let http_listener = match opts.http_addr {
            Some(a) => Some(
                std::net::TcpListener::bind(a)
                    .map_err(|e| crate::web::WebServer::bind_error(a, e))?,
            ),
            None => None,
        };
        let advertise = if config.advertise.is_empty() && opts.listen.is_some() {
            local_addr.to_string()
        } else {
            config.advertise_addr()
        };
        options::warn_if_ports_differ(&config, &advertise, local_addr);

        let dialer = crate::transport::Dialer::new(&identity, opts.limits.clone());
        // A restore or a forced recovery left an import: this node founds a
        // new cluster and commits it before anything else runs.
        let raft_dir = opts.data_dir.join("raft");
        let pending = crate::consensus::offline::PendingImport::load(&raft_dir)?;
        let consensus = Consensus::open(
            &raft_dir,
            me.clone(),
            dialer.clone(),
            trust.clone(),
            opts.faults.clone(),
            opts.timing.clone(),
        )
        .await?;
        let (duty_tx, duty_rx) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let notifiers = opts
            .notifiers
            .clone()
            .map_or_else(crate::notify::Notifiers::new, Ok)?;
        let canary_targets = crate::state::canary::validate("canary_target", &opts.canary_targets)?;
        let core = Arc::new(Core {
            pool: Pool::new(dialer, opts.faults.clone(), consensus.watch_state()),
            liveness: Liveness::new(me.clone(), liveness::live_within(&opts.timing)),
            me: me.clone(),
            identity,
            pending_key: std::sync::Mutex::new(pending_key),
            secret: std::sync::RwLock::new(config.secret.clone()),
            stopping: stop_rx.clone(),
            absorbing: std::sync::atomic::AtomicBool::new(absorbing.is_some()),
            config,
            advertise,
            trust: trust.clone(),
            consensus: consensus.clone(),
            faults: opts.faults.clone(),
            master: duty_rx,
            data_dir: opts.data_dir.clone(),
            verdicts: std::sync::Mutex::new(None),
            notifiers: notifiers.clone(),
            metrics: Arc::new(crate::metrics::Metrics::new(me.as_str())),
            join_attempts: attempts::JoinAttempts::default(),
            results,
            canary_targets,
            abstain: std::sync::Mutex::new(None),
        });
        let router = crate::consensus::network::routes(
            routes::routes(&core),
            consensus.clone(),
            opts.faults.clone(),
        );
        let server = Server::from_listener(
            listener,
            &core.identity,
            Arc::new(trust),
            router,
            opts.limits.clone(),
        )?;

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
            crate::consensus::duty_log::DutyLog::new(&opts.data_dir),
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(export::run(
            opts.data_dir.clone(),
            consensus.watch_state(),
            stop_rx.clone(),
        )));
        if (core.config.bootstrap || pending.is_some()) && !consensus.is_initialized().await? {
            consensus
                .bootstrap(Member {
                    addr: core.advertise.clone(),
                    fingerprint: core.identity.fingerprint(),
                })
                .await?;
            tracing::info!(node = %me, "founded a new cluster");
        }
        if let Some(import) = pending
            && let Err(e) = core.commit_import(&raft_dir, import).await
        {
            let _ = stop.send(true);
            consensus.shutdown().await;
            return Err(e);
        }
        tasks.push(tokio::spawn(reconcile::run(core.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(rotate::settle(core.clone(), stop_rx.clone())));
        if let Some(original) = original {
            tasks.push(tokio::spawn(migrate::run(
                core.clone(),
                original,
                stop_rx.clone(),
            )));
        }
        if let Some(file) = absorbing {
            tasks.push(tokio::spawn(absorb::finish(
                core.clone(),
                file,
                stop_rx.clone(),
            )));
        }
        let probers = crate::probe::Probers::new()?;
        tasks.push(tokio::spawn(canary::run(
            core.clone(),
            probers.clone(),
            stop_rx.clone(),
        )));
        let (scheduler, observations) = crate::schedule::Scheduler::start(
            probers,
            consensus.watch_state(),
            opts.faults.clone(),
            crate::schedule::ScheduleOptions {
                node: Some(core.me().clone()),
                ..opts.schedule.clone()
            },
        );
        tasks.push(tokio::spawn(verdict::run_reporter(
            core.clone(),
            observations,
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(verdict::run_evaluator(
            core.clone(),
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(uptime::run(core.clone(), stop_rx.clone())));
        tasks.push(tokio::spawn(dispatch::run(
            core.clone(),
            notifiers,
            stop_rx.clone(),
        )));
        let metrics = match metrics_listener {
            Some(l) => Some(crate::metrics::MetricsServer::from_listener_tls(
                l,
                Arc::new(observe::NodeSource(core.clone())),
                http_tls.clone(),
            )?),
            None => None,
        };
        let metrics_addr = metrics.as_ref().map(|m| m.local_addr());
        let web = match http_listener {
            // The API's handle shares the node's core but not its `running`
            // (which holds this server): no cycle, and it cannot stop the node.
            Some(l) => Some(crate::web::WebServer::with_api(
                l,
                Arc::new(observe::PageSource(core.clone())),
                Cluster {
                    core: core.clone(),
                    local_addr,
                    metrics_addr,
                    http_addr: None,
                    http_tls: http_tls.is_some(),
                    running: Arc::new(Mutex::new(None)),
                    stopped: stop_rx.clone(),
                },
                http_tls.clone(),
            )?),
            None => None,
        };
        let http_addr = web.as_ref().map(|w| w.local_addr());
        let stop_rx_for_subs = stop_rx.clone();
        tasks.push(tokio::spawn(ops::register_self(core.clone(), stop_rx)));
        tracing::info!(node = %me, addr = %local_addr, "node started");
        Ok(Cluster {
            core,
            local_addr,
            metrics_addr,
            http_addr,
            http_tls: http_tls.is_some(),
            stopped: stop_rx_for_subs,
            running: Arc::new(Mutex::new(Some(Running {
                scheduler,
                server,
                metrics,
                web,
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
    pub fn fingerprint(&self) -> Fingerprint {
        self.core.identity.fingerprint()
    }

    /// The address the peer listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the metrics listener is bound to, when it runs.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Whether the status page and metrics listeners speak HTTPS
    /// ([`NodeOptions::http_tls`]).
    pub fn http_is_tls(&self) -> bool {
        self.http_tls
    }

    /// The address the status page listener is bound to, when it runs.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// This node's metrics in the OpenMetrics text format, sampled now
    /// (what `/metrics` serves), for embedders with their own HTTP server.
    pub fn metrics_text(&self) -> String {
        self.core.metrics_text()
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
        self.core.acting_master()
    }

    /// A receiver that flips whenever this node gains or loses master duty.
    pub fn watch_master(&self) -> watch::Receiver<bool> {
        self.core.master.clone()
    }

    /// Commit `mutation` through the master (forwarded if this node is not
    /// the master). Fails with `ErrorKind::NoQuorum` within a few seconds
    /// when a majority cannot be reached; nothing is half-applied.
    pub async fn propose(&self, mutation: Mutation) -> Result<Outcome> {
        self.core.check_levels(&mutation)?;
        self.core.found_if_lone().await?;
        self.core
            .submit(Command::new(self.core.me().clone(), mutation))
            .await
    }

    /// Give this node a new key pair (`qu key rotate`): written beside the
    /// old one, announced by one replicated change proposed over the old
    /// key's connection, swapped in after the commit; the old key is
    /// trusted nowhere after that. Should the outcome be unknown (a
    /// timeout), the new key stays pending and is swapped in once the
    /// cluster is seen to trust it.
    pub async fn rotate_key(&self) -> Result<KeyRotation> {
        let res = self.core.rotate_key().await;
        if res.is_err() {
            tokio::spawn(rotate::settle(
                self.core.clone(),
                self.core.stopping.clone(),
            ));
        }
        res
    }

    /// Who answers at `addr` (TOFU preview for `qu node add`).
    pub async fn preview_node(&self, addr: &str) -> Result<NodePreview> {
        self.core.preview_node(addr).await
    }

    /// Invite the node at `addr` (which must prove `fingerprint`) into the
    /// cluster and wait until it is a voting member.
    pub async fn add_node(&self, addr: &str, fingerprint: &Fingerprint) -> Result<Outcome> {
        self.core.found_if_lone().await?;
        self.core.add_node(addr, fingerprint).await
    }

    /// Remove a member: it stops voting and every member revokes its key.
    pub async fn remove_node(&self, node_id: &NodeId) -> Result<Outcome> {
        self.core.evict(node_id.clone()).await
    }

    /// Create a single-use enrollment token valid for `ttl`.
    pub async fn create_enrollment(
        &self,
        name: Option<String>,
        ttl: Duration,
        auto_approve: bool,
    ) -> Result<(crate::enroll::Token, crate::state::Enrollment)> {
        self.core.found_if_lone().await?;
        self.core.create_enrollment(name, ttl, auto_approve).await
    }

    /// Approve the join request made with token `id`.
    pub async fn approve_enrollment(&self, id: &str) -> Result<Outcome> {
        self.propose(Mutation::ApproveEnrollment { id: id.to_string() })
            .await
    }

    /// Delete token `id` (unused tokens can no longer be presented).
    pub async fn revoke_enrollment(&self, id: &str) -> Result<Outcome> {
        self.propose(Mutation::RevokeEnrollment { id: id.to_string() })
            .await
    }

    /// Status as `qu status` shows it. Per-check tallies (OK/TOTAL,
    /// DETAIL) are filled in on the master; see [`Cluster::status_live`].
    pub fn status(&self) -> Status {
        self.core
            .status(self.core.local_summaries().unwrap_or_default())
    }

    /// Status with the master's live per-check tallies, asked from the
    /// master when this node is not it.
    pub async fn status_live(&self) -> Status {
        let summaries = self.core.summaries().await;
        self.core.status(summaries)
    }

    /// Send the test alert through channel `name` (id or name) from this
    /// node, and report the receiver's answer.
    pub async fn test_alert(&self, name: &str) -> Result<crate::notify::Delivery> {
        let channel = self.state().find_alert(name)?.clone();
        self.core
            .notifiers
            .send(&channel, &crate::notify::Notification::test(self.node_id()))
            .await
    }

    /// Fire a synthetic `to` transition of check `name` through its
    /// channels from this node (nothing is recorded); one result per channel.
    pub async fn test_check(
        &self,
        name: &str,
        to: crate::state::CheckState,
    ) -> Result<Vec<(String, Result<crate::notify::Delivery>)>> {
        use crate::state::CheckState;
        let state = self.state();
        let check = state.find_check(name)?.clone();
        let from = if to == CheckState::Up {
            CheckState::Down
        } else {
            CheckState::Up
        };
        let record = crate::state::TransitionRecord {
            seq: 0,
            check_id: check.id.clone(),
            check_name: check.name.clone(),
            target: check.target.clone(),
            from,
            to,
            at: crate::trust::now_rfc3339(),
            master: self.node_id().clone(),
            term: 0,
            evidence: Vec::new(),
        };
        let n = crate::notify::Notification::from_transition(
            &record,
            check.kind(),
            crate::notify::expectation(&check),
        )
        .ok_or_else(|| Error::invalid("--state: use down or recovered (up)"))?;
        let mut out = Vec::new();
        for id in crate::state::outbox::channels_for(&state, &check) {
            if let Some(ch) = state.alerts.get(&id) {
                out.push((ch.name.clone(), self.core.notifiers.send(ch, &n).await));
            }
        }
        Ok(out)
    }

    /// Committed check state transitions from now on, in order. Every node
    /// yields the same sequence.
    pub fn subscribe(&self) -> Subscription {
        Subscription::new(self.core.consensus.watch_state(), self.stopped.clone())
    }

    /// Whether [`Cluster::shutdown`] has been called (on any clone).
    pub fn is_stopped(&self) -> bool {
        self.stopped.has_changed().is_err() || *self.stopped.borrow()
    }

    /// Stop the node: hand leadership to another live member if this node
    /// leads, then stop Raft, the listener and every task. Idempotent.
    pub async fn shutdown(&self) -> Result<()> {
        let Some(running) = self.running.lock().await.take() else {
            return Ok(());
        };
        self.core.step_down().await;
        drop(running.scheduler);
        // Stop the node's own tasks first and let in-flight proposals
        // finish (Raft and the listener still run), so a clean stop logs
        // no errors; a task that does not finish in time is aborted.
        let _ = running.stop.send(true);
        for t in running.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(4), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.core.consensus.shutdown().await;
        self.core.results.close();
        running.server.shutdown().await;
        if let Some(m) = running.metrics {
            m.shutdown().await;
        }
        if let Some(w) = running.web {
            w.shutdown().await;
        }
        tracing::info!(node = %self.node_id(), "node stopped");
        Ok(())
    }
}

impl Cluster {
    /// Why this node abstains now (its connectivity canary fails), if it
    /// does (`engine::canary`).
    pub fn abstaining(&self) -> Option<String> {
        self.core.abstain_reason()
    }

    /// This node's own canary reference targets (`--canary-target`).
    pub fn canary_targets(&self) -> Vec<String> {
        self.core.canary_targets.clone()
    }
}

impl Core {
    pub(crate) fn me(&self) -> &NodeId {
        &self.me
    }

    pub(crate) fn state(&self) -> Arc<ClusterState> {
        self.consensus.state()
    }

    /// This node as a member record.
    pub(crate) fn own_record(&self) -> PeerRecord {
        PeerRecord {
            node_id: self.me().clone(),
            advertise: self.advertise.clone(),
            fingerprint: self.identity.fingerprint(),
            cert_pem: self.identity.cert_pem(),
            added_at: now_rfc3339(),
            labels: self.config.labels.clone(),
        }
    }
}
