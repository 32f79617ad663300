//! Consensus: the only module that touches openraft.
//!
//! The original `qu` elected "the lowest live NodeID" from each node's own
//! heartbeat view and replicated `cluster.yaml` by last-writer-wins; it ran
//! two masters for minutes and lost acknowledged writes. Here every change
//! is a Raft log entry committed by a majority, and the Raft leader is the
//! master, with its duties gated on a valid leader lease.
//!
//! Pieces: [`types`] (the type config), [`log_store`] (crash-safe log),
//! [`state_machine`] (applies commands to the cluster state), [`network`]
//! (Raft RPCs over the mutual-TLS transport), [`controller`] (master duty
//! and hand-over to the preferred master, decided in `engine::leader`).
//! Partition injection is [`crate::Faults`], shared with the probe scheduler.

pub mod controller;
pub mod duty_log;

mod health;
mod indices;
pub mod log_store;
mod maint;
pub mod network;
pub mod offline;
mod reset;
pub mod state_machine;
mod timing;
mod trust_sync;
pub mod types;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver as _;
use openraft::errors::{ClientWriteError, ForwardReason, RaftError};
use openraft::{ChangeMembers, Config, Instant as _, ServerState, SnapshotPolicy};
use tokio::sync::watch;

pub use crate::faults::Faults;
pub use health::{DISK_RESERVE, DiskSpace, StorageFigures, disk_space, mount_point};
pub use indices::LogIndices;
pub use maint::{KEEP_BEHIND_SNAPSHOT, SnapshotDone};
use reset::Reopen;
pub use reset::move_aside;
pub use timing::Timing;
pub use types::{Member, Raft, TypeConfig};

use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::state::{ClusterState, Command, Outcome};
use crate::transport::Dialer;
use crate::trust::TrustStore;

/// Why a local write did not commit here.
#[derive(Debug)]
pub enum WriteError {
    /// Another node leads: send the command there.
    Forward(NodeId, Member),
    /// The write failed for good (or without quorum).
    Failed(Error),
}

/// A node's view of the Raft group, for status.
#[derive(Debug, Clone)]
pub struct RaftView {
    /// Current term.
    pub term: u64,
    /// The leader this node knows of.
    pub leader: Option<NodeId>,
    /// Voting members with how to reach them.
    pub voters: BTreeMap<NodeId, Member>,
    /// Non-voting members catching up.
    pub learners: BTreeMap<NodeId, Member>,
    /// This node's role.
    pub state: ServerState,
    /// Index of the last applied entry.
    pub last_applied: u64,
}

/// The Raft group as one node runs it.
#[derive(Debug, Clone)]
pub struct Consensus {
    /// The running Raft; replaced once when a lone node is absorbed into
    /// another cluster ([`Consensus::reset`]), so every clone sees the new one.
    raft: Arc<std::sync::RwLock<Raft>>,
    me: NodeId,
    state: watch::Receiver<Arc<ClusterState>>,
    timing: Timing,
    reopen: Arc<Reopen>,
    /// A read handle on the running Raft's log store (replaced with it).
    log: Arc<std::sync::RwLock<log_store::LogReader<TypeConfig>>>,
    /// The last append (log entries or heartbeat) a leader sent here, and
    /// from whom: "the log reaches this node" (a restored vote names an old
    /// leader too, so openraft's own view cannot tell).
    last_append: Arc<std::sync::Mutex<Option<(NodeId, std::time::Instant)>>>,
    /// When this node last handed its leadership away ([`Consensus::hand_over`]).
    handed_over: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl Consensus {
    /// Open (or create) the Raft storage under `dir` and start the Raft node.
    pub async fn open(
        dir: &Path,
        me: NodeId,
        dialer: Dialer,
        trust: TrustStore,
        faults: Faults,
        timing: Timing,
    ) -> Result<Consensus> {
        crate::store::ensure_dir(dir, 0o700)?;
        let ms = crate::state::duration::millis;
        let config = Config {
            cluster_name: "quptime".into(),
            heartbeat_interval: ms(timing.heartbeat),
            election_timeout_min: ms(timing.election_min),
            election_timeout_max: ms(timing.election_max),
            enable_pre_vote: Some(true),
            quorum_loss_probe_interval: Some(ms(timing.election_max) * 2 + ms(timing.election_min)),
            install_snapshot_timeout: 60_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(timing.snapshot_every),
            max_in_snapshot_log_to_keep: maint::KEEP_BEHIND_SNAPSHOT,
            purge_batch_size: 64,
            ..Default::default()
        }
        .validate()
        .map_err(|e| Error::invalid(format!("raft timings: {e}")))?;
        let (published, state) = watch::channel(Arc::new(ClusterState::default()));
        let network = network::Network {
            me: me.clone(),
            dialer,
            faults,
            state: state.clone(),
        };
        let reopen = Arc::new(Reopen {
            dir: dir.to_path_buf(),
            config: Arc::new(config),
            network,
            trust,
            published,
        });
        let (raft, log) = reopen.start(&me).await?;
        Ok(Consensus {
            raft: Arc::new(std::sync::RwLock::new(raft)),
            log: Arc::new(std::sync::RwLock::new(log)),
            me,
            state,
            timing,
            reopen,
            last_append: Arc::default(),
            handed_over: Arc::default(),
        })
    }

    /// Note an append accepted from `leader` (called by the Raft handler).
    pub fn note_append(&self, leader: &NodeId) {
        if let Ok(mut l) = self.last_append.lock() {
            *l = Some((leader.clone(), std::time::Instant::now()));
        }
    }

    /// How long ago `id` last acknowledged this leader's log or heartbeat
    /// (`None` unless this node leads and `id` answered).
    pub fn acked_age(&self, id: &NodeId) -> Option<Duration> {
        let m = self.raft().metrics().borrow_watched().clone();
        let t = *m.heartbeat.as_ref()?.get(id)?.as_ref()?;
        Some(t.elapsed())
    }

    /// How long ago the last append (or leadership hand-over) from any
    /// leader arrived.
    pub fn last_append_age(&self) -> Option<Duration> {
        let l = self.last_append.lock().ok()?;
        l.as_ref().map(|(_, t)| t.elapsed())
    }

    /// When the last append from `leader` arrived, if one did.
    pub fn last_append_from(&self, leader: &NodeId) -> Option<std::time::Instant> {
        let l = self.last_append.lock().ok()?;
        l.as_ref().filter(|(id, _)| id == leader).map(|(_, t)| *t)
    }

    /// The openraft handle (cheap clone of the running one).
    pub fn raft(&self) -> Raft {
        match self.raft.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The timings in force.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// The latest applied cluster state.
    pub fn state(&self) -> Arc<ClusterState> {
        self.state.borrow().clone()
    }

    /// A receiver that sees every newly applied state.
    pub fn watch_state(&self) -> watch::Receiver<Arc<ClusterState>> {
        self.state.clone()
    }

    /// Whether this node has joined or founded a cluster.
    pub async fn is_initialized(&self) -> Result<bool> {
        self.raft()
            .is_initialized()
            .await
            .map_err(|e| Error::new(ErrorKind::Shutdown, e.to_string()))
    }

    /// Found a new cluster with this node as its only voter.
    pub async fn bootstrap(&self, me: Member) -> Result<()> {
        let mut members = BTreeMap::new();
        members.insert(self.me.clone(), me);
        match self.raft().initialize(members).await {
            Ok(()) => Ok(()),
            Err(RaftError::APIError(e)) => {
                tracing::debug!("already initialised: {e}");
                Ok(())
            }
            Err(e) => Err(Error::new(ErrorKind::Shutdown, e.to_string())),
        }
    }

    /// This node's view of the group.
    pub fn view(&self) -> RaftView {
        let m = self.raft().metrics().borrow_watched().clone();
        let membership = m.membership_config.membership();
        let voter_ids: Vec<NodeId> = membership.voter_ids().collect();
        let mut voters = BTreeMap::new();
        let mut learners = BTreeMap::new();
        for (id, node) in membership.nodes() {
            if voter_ids.contains(id) {
                voters.insert(id.clone(), node.clone());
            } else {
                learners.insert(id.clone(), node.clone());
            }
        }
        RaftView {
            term: m.current_term,
            leader: m.current_leader.clone(),
            voters,
            learners,
            state: m.state,
            last_applied: m.last_applied.as_ref().map_or(0, |l| l.index),
        }
    }

    /// Whether this node is the leader with a valid lease: the gate for
    /// every master duty. An isolated old leader stays `Leader` in openraft
    /// until it hears of a newer term, but its lease runs out, so it stops
    /// acting. The lease used here is the minimum election timeout, shorter
    /// than the time followers wait before electing someone else.
    pub fn has_lease(&self) -> bool {
        let m = self.raft().metrics().borrow_watched().clone();
        if m.state != ServerState::Leader || m.current_leader.as_ref() != Some(&self.me) {
            return false;
        }
        // A sole voter is its own quorum: nobody can be elected beside it.
        let membership = m.membership_config.membership();
        let mut voters = membership.voter_ids();
        if voters.next().as_ref() == Some(&self.me) && voters.next().is_none() {
            return true;
        }
        // The fault rig's planted bug (never in default features): act as
        // master without a lease, so an isolated old leader keeps acting.
        if cfg!(feature = "planted-bug-skip-lease") {
            return true;
        }
        m.last_quorum_acked
            .is_some_and(|t| t.elapsed() < self.timing.election_min)
    }

    /// When the lease [`Consensus::has_lease`] grants runs out (for the
    /// duty log); None when no lease bounds it (a sole voter, or not
    /// leading).
    pub fn lease_until(&self) -> Option<std::time::Instant> {
        if cfg!(feature = "planted-bug-skip-lease") {
            return None;
        }
        let m = self.raft().metrics().borrow_watched().clone();
        if m.state != ServerState::Leader {
            return None;
        }
        let membership = m.membership_config.membership();
        let mut voters = membership.voter_ids();
        if voters.next().as_ref() == Some(&self.me) && voters.next().is_none() {
            return None;
        }
        let now = std::time::Instant::now();
        m.last_quorum_acked
            .map(|t| now.checked_sub(t.elapsed()).unwrap_or(now) + self.timing.election_min)
    }

    /// Whether this node may act as master *now*: the one gate that master
    /// duty, `qu status` and the `quptime_master` gauge all ask, so no node
    /// reports the role longer than it holds it. That is the lease, except
    /// for one election time after this node handed the role away: the
    /// target may win while this node's lease still looks valid (a
    /// transfer bypasses the followers' lease).
    pub fn master_duty(&self) -> bool {
        let handed = self.handed_over.lock().ok().and_then(|h| *h);
        self.has_lease() && handed.is_none_or(|t| t.elapsed() >= self.timing.election_max)
    }

    /// Hand the leadership to `to` and stop counting as master at once
    /// (see [`Consensus::master_duty`]); a no-op unless this node leads.
    pub async fn hand_over(&self, to: &NodeId) -> Result<()> {
        if let Ok(mut h) = self.handed_over.lock() {
            *h = Some(std::time::Instant::now());
        }
        self.transfer_leadership(to).await
    }

    /// Commit `cmd` if this node leads; otherwise say where to send it.
    pub async fn write(&self, cmd: Command) -> std::result::Result<Outcome, WriteError> {
        // Every entry this node appends as leader passes here: one over the
        // cap could never be replicated and would stop all later commits.
        cmd.check_size().map_err(WriteError::Failed)?;
        // A full disk refuses here, before Raft could be left fatal by it.
        self.room().map_err(WriteError::Failed)?;
        let what = cmd.to_string();
        let raft = self.raft();
        let fut = raft.client_write(cmd);
        let res = tokio::time::timeout(self.timing.propose_timeout, fut).await;
        let res = match res {
            Err(_) => {
                return Err(WriteError::Failed(no_quorum(format!(
                    "{what} was not committed within {}; fewer than a majority of members answer \
                     (it may still commit once they do)",
                    humantime::format_duration(self.timing.propose_timeout)
                ))));
            }
            Ok(r) => r,
        };
        match res {
            Ok(resp) => resp.data.map_err(|r| WriteError::Failed(Error::from(r))),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))
            | Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(f))) => match (f.leader_id, f.leader_node) {
                (Some(id), Some(node)) if id != self.me => Err(WriteError::Forward(id, node)),
                _ => Err(WriteError::Failed(no_quorum(match f.reason {
                    ForwardReason::LeaseExpired => {
                        "this node is the master but a majority of members has not answered recently".to_string()
                    }
                    ForwardReason::LeadershipTransfer => "leadership is moving to another node".to_string(),
                    ForwardReason::NotLeader => "no master is known (election in progress or too few members reachable)".to_string(),
                }))),
            },
            Err(RaftError::APIError(e)) => Err(WriteError::Failed(Error::new(ErrorKind::InvalidInput, e.to_string()))),
            Err(RaftError::Fatal(e)) => Err(WriteError::Failed(Error::new(ErrorKind::Shutdown, format!("raft stopped: {e}")))),
        }
    }

    /// Add `id` as a learner, wait until it caught up, then make it a voter.
    /// Must run on the leader.
    pub async fn add_voter(&self, id: NodeId, member: Member) -> Result<()> {
        self.room()?;
        self.raft()
            .add_learner(id.clone(), member, true)
            .await
            .map_err(|e| membership_error("add learner", e))?;
        self.raft()
            .change_membership(
                ChangeMembers::AddVoterIds([id].into_iter().collect()),
                false,
            )
            .await
            .map_err(|e| membership_error("promote to voter", e))?;
        Ok(())
    }

    /// Add `id` as a learner without waiting for it to catch up.
    pub async fn add_learner(&self, id: NodeId, member: Member) -> Result<()> {
        self.room()?;
        self.raft()
            .add_learner(id, member, false)
            .await
            .map(|_| ())
            .map_err(|e| membership_error("add learner", e))
    }

    /// Make learner `id` a voter.
    pub async fn promote(&self, id: &NodeId) -> Result<()> {
        self.room()?;
        self.raft()
            .change_membership(
                ChangeMembers::AddVoterIds([id.clone()].into_iter().collect()),
                false,
            )
            .await
            .map(|_| ())
            .map_err(|e| membership_error("promote to voter", e))
    }

    /// How many entries `id` is behind the leader's log (leader only).
    pub fn lag(&self, id: &NodeId) -> Option<u64> {
        let m = self.raft().metrics().borrow_watched().clone();
        let last = m.last_log_index?;
        let matched = m
            .replication
            .as_ref()?
            .get(id)?
            .as_ref()
            .map_or(0, |l| l.index);
        Some(last.saturating_sub(matched))
    }

    /// Remove `id` from the voters and from the membership. Must run on the leader.
    pub async fn remove_member(&self, id: &NodeId) -> Result<()> {
        self.room()?;
        let view = self.view();
        if view.voters.contains_key(id) {
            self.raft()
                .change_membership(
                    ChangeMembers::RemoveVoters([id.clone()].into_iter().collect()),
                    false,
                )
                .await
                .map_err(|e| membership_error("remove voter", e))?;
        }
        if self.view().learners.contains_key(id) {
            self.raft()
                .change_membership(
                    ChangeMembers::RemoveNodes([id.clone()].into_iter().collect()),
                    false,
                )
                .await
                .map_err(|e| membership_error("remove node", e))?;
        }
        Ok(())
    }

    /// Ask the leader to hand leadership to `to` (no-op unless this node leads).
    async fn transfer_leadership(&self, to: &NodeId) -> Result<()> {
        self.raft()
            .trigger()
            .transfer_leader(to.clone())
            .await
            .map_err(|e| Error::new(ErrorKind::Shutdown, e.to_string()))
    }

    /// Force a snapshot now.
    pub async fn snapshot(&self) -> Result<()> {
        self.room()?;
        self.raft()
            .trigger()
            .snapshot()
            .await
            .map_err(|e| Error::new(ErrorKind::Shutdown, e.to_string()))
    }

    /// Stop the Raft node.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft().shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }
}

/// An error whose text starts with `no quorum:`, as operators grep for.
pub fn no_quorum(why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::NoQuorum, format!("no quorum: {why}"))
}

fn membership_error(what: &str, e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> Error {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_))
        | RaftError::APIError(ClientWriteError::LogEntryDiscarded(_)) => no_quorum(format!(
            "{what}: this node is not the master (or has no quorum)"
        )),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            openraft::errors::ChangeMembershipError::InProgress(p),
        )) => Error::new(
            ErrorKind::Timeout,
            format!("{what}: another membership change is still in progress ({p}); retry"),
        ),
        other => Error::new(ErrorKind::Internal, format!("{what}: {other}")),
    }
}
