//! What a node does to change the cluster: commit or forward proposals
//! (retrying with the same request id, so a retry never applies twice),
//! admit and evict members on the master, and step down before stopping.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::cluster::Core;
use crate::cluster::rpc::{AdmitRpc, EvictRpc, ProposeRpc};
use crate::consensus::{Member, WriteError, no_quorum};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::state::{Command, Mutation, Outcome, PeerRecord};

impl Core {
    /// Commit `cmd` here if this node leads, else forward it to the leader;
    /// retried (same request id, so never applied twice) until the
    /// proposal timeout.
    pub(crate) async fn submit(&self, cmd: Command) -> Result<Outcome> {
        // Before anything is sent: a proposal over the cap would otherwise
        // travel to the leader only to be refused there.
        cmd.check_size()?;
        let started = Instant::now();
        let res = self.submit_timed(cmd).await;
        self.metrics.mutation(started.elapsed(), res.is_ok());
        res
    }

    async fn submit_timed(&self, cmd: Command) -> Result<Outcome> {
        let deadline = Instant::now() + self.consensus.timing().propose_timeout;
        loop {
            let attempt = match self.consensus.write(cmd.clone()).await {
                Ok(outcome) => return Ok(outcome),
                Err(WriteError::Forward(leader, member)) => {
                    let res = self.forward(&leader, &member, &cmd).await;
                    if let Ok(outcome) = &res {
                        self.await_local_apply(outcome.version, deadline).await;
                    }
                    res
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

    /// Read-your-writes through the node written to: a forwarded write is
    /// acknowledged by the leader once committed, but this node may not
    /// have applied it yet, so a read right after it here would miss it.
    /// Wait (until `deadline`) for the local apply; the write stands
    /// either way, so a slow follower only delays the answer.
    async fn await_local_apply(&self, version: u64, deadline: Instant) {
        let mut states = self.consensus.watch_state();
        let wait = async {
            while states.borrow_and_update().version < version {
                if states.changed().await.is_err() {
                    return;
                }
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left.max(Duration::from_secs(1)), wait).await;
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
        // The master may change during the admission (a cluster that just
        // formed hands the role to its lowest NodeId at once), and the
        // membership reconciler may be promoting the node already: retry
        // where the master is now. Every step is idempotent.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.admit_once(peer.clone()).await {
                Err(e) if retryable(&e) && Instant::now() < deadline => {
                    tracing::debug!(error = %e, node = %peer.node_id, "admission retried");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    async fn admit_once(&self, peer: PeerRecord) -> Result<Outcome> {
        // Right after start-up no master may be known yet: wait for one as
        // proposals do, then admit there.
        let deadline = Instant::now() + self.consensus.timing().propose_timeout;
        loop {
            if self.consensus.has_lease() {
                return self.admit_here(peer).await;
            }
            match self.leader() {
                Ok((leader, member)) if leader != *self.me() => {
                    let conn = self.pool.get(&leader, &member).await?;
                    return conn
                        .call_with_timeout::<AdmitRpc>(&peer, Duration::from_secs(60))
                        .await;
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                _ if Instant::now() >= deadline => {
                    return Err(no_quorum("this node leads but holds no lease"));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub(crate) async fn admit_here(&self, peer: PeerRecord) -> Result<Outcome> {
        let member = Member {
            addr: peer.advertise.clone(),
            fingerprint: peer.fingerprint.clone(),
        };
        let id = peer.node_id.clone();
        self.record_self_first().await?;
        let outcome = self
            .submit(Command::new(self.me().clone(), Mutation::AddPeer { peer }))
            .await?;
        self.consensus.add_voter(id.clone(), member).await?;
        tracing::info!(node = %id, "admitted a new member");
        Ok(outcome)
    }

    /// Record this node before a member it admits. The founder records
    /// itself once it is master ([`register_self`]), but a `node add` or a
    /// token join can come first; the joiner would then replicate a table
    /// that records it and not the founder and, trusting exactly the
    /// recorded others (`consensus/trust_sync.rs`), refuse the founder's
    /// Raft. A removed node is not recorded again (its id is a tombstone).
    pub(crate) async fn record_self_first(&self) -> Result<()> {
        let state = self.state();
        if state.peers.contains_key(self.me()) || state.removed.contains(self.me()) {
            return Ok(());
        }
        let peer = self.own_record();
        self.submit(Command::new(self.me().clone(), Mutation::AddPeer { peer }))
            .await
            .map(|_| ())
    }

    /// Remove `id` from the membership, then revoke its key everywhere.
    pub(crate) async fn evict(&self, id: NodeId) -> Result<Outcome> {
        if !self.state().peers.contains_key(&id) && !self.consensus.view().voters.contains_key(&id)
        {
            return Err(
                Error::new(ErrorKind::NotFound, format!("no node {id} in this cluster"))
                    .with_hint("list them with `qu node list`"),
            );
        }
        // Mastership can move between the lease check and the membership
        // change (a hand-over to the preferred node), and an earlier
        // membership change (a learner's promotion) may not be committed
        // yet: then the change is refused here, and asked again, of the
        // master then, until the proposal timeout.
        let deadline = Instant::now() + self.consensus.timing().propose_timeout;
        loop {
            let attempt = if self.consensus.has_lease() {
                self.consensus.remove_member(&id).await
            } else {
                match self.leader() {
                    Ok((leader, member)) => {
                        let conn = self.pool.get(&leader, &member).await?;
                        return conn
                            .call_with_timeout::<EvictRpc>(&id, Duration::from_secs(30))
                            .await;
                    }
                    Err(e) => Err(e),
                }
            };
            match attempt {
                Ok(()) => break,
                Err(e)
                    if matches!(e.kind(), ErrorKind::NoQuorum | ErrorKind::Timeout)
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
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

    pub(crate) fn leader(&self) -> Result<(NodeId, Member)> {
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

    /// Whether this node performs master duty now: its controller turned
    /// the duty on and the lease still holds. The duties and the status
    /// (and so the `quptime_master` gauge) all ask this, so the old master
    /// stops saying so no later than it stops acting.
    pub(crate) fn acting_master(&self) -> bool {
        *self.master.borrow() && self.consensus.master_duty()
    }

    /// The voters, and those of them live now with how long each has been
    /// (a live member whose continuity is not known yet counts as just live).
    pub(crate) fn live_voters(&self) -> (Vec<NodeId>, BTreeMap<NodeId, Duration>) {
        use crate::consensus::controller::LiveFor;
        let voters: Vec<NodeId> = self.consensus.view().voters.into_keys().collect();
        let live = voters
            .iter()
            .filter_map(|v| {
                let d = self.liveness.live_for(v);
                let d = d.or_else(|| self.liveness.get(v).0.then_some(Duration::ZERO));
                d.map(|d| (v.clone(), d))
            })
            .collect();
        (voters, live)
    }

    /// If this node leads, hand leadership to the preferred other voter
    /// (the operator's pin included) and wait briefly for it to take over.
    pub(crate) async fn step_down(&self) {
        if !self.consensus.has_lease() {
            return;
        }
        let (voters, live_for) = self.live_voters();
        let state = self.state();
        let situation = crate::engine::leader::Situation {
            voters: &voters,
            live_for: &live_for,
            pin: state.master_pin.as_ref(),
            leader: None,
            cooldown: Duration::ZERO,
            now_ms: crate::state::mutation::now_ms(),
        };
        let Some(target) = crate::engine::leader::step_down_to(self.me(), &situation) else {
            return;
        };
        tracing::info!(%target, "shutting down: handing the master role over");
        if self.consensus.hand_over(&target).await.is_err() {
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

/// Make sure this node's own record is in the replicated peers table and
/// names where it listens now: the founder adds itself as soon as it is
/// master, whatever joined meanwhile (joiners are recorded by the member
/// that admitted them), and a member restarted on another address (an
/// embedded node on port 0) records the new one, so the others dial it
/// there. A removed node cannot re-add itself: its id is a tombstone.
pub(crate) async fn register_self(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut master = core.master.clone();
    loop {
        let recorded = core.state().peers.get(core.me()).cloned();
        match recorded {
            Some(r) if r.advertise == core.advertise => return,
            Some(mut r) => {
                let from = std::mem::replace(&mut r.advertise, core.advertise.clone());
                match core.propose_anywhere(Mutation::AddPeer { peer: r }).await {
                    Ok(_) => {
                        tracing::info!(from = %from, to = %core.advertise, "recorded this node's new address");
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "could not record this node's new address yet")
                    }
                }
            }
            None if *master.borrow_and_update() => {
                let peer = core.own_record();
                match core
                    .submit(Command::new(core.me().clone(), Mutation::AddPeer { peer }))
                    .await
                {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not record this node as a member yet")
                    }
                }
            }
            None => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = master.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

impl Core {
    /// Commit `m` through the master, or, when this node knows none (the
    /// others still dial its old address, so no heartbeat reaches it),
    /// through whichever voter of its membership view accepts it: the
    /// master does.
    async fn propose_anywhere(&self, m: Mutation) -> Result<Outcome> {
        let cmd = Command::new(self.me().clone(), m);
        if self.consensus.view().leader.is_some() {
            return self.submit(cmd).await;
        }
        let mut last = no_quorum("no member accepted the change");
        for (id, member) in self.consensus.view().voters {
            if id == *self.me() {
                continue;
            }
            let res = async {
                let conn = self.pool.get(&id, &member).await?;
                conn.call_with_timeout::<ProposeRpc>(&cmd, self.consensus.timing().propose_timeout)
                    .await
            };
            match res.await {
                Ok(o) => return Ok(o),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}
