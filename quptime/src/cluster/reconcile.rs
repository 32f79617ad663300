//! Makes Raft membership follow the replicated peers table, on the master:
//! the driver of [`crate::engine::members`].
//!
//! Once a second while this node holds the lease, it hands the engine the
//! replicated state, the Raft view (voters, learners and their lag) and
//! the wall clock, and performs what the engine asks in order: revoke an
//! expired token, add a recorded peer as a learner (only once the peer
//! answers a ping), promote a learner that caught up, remove a member whose
//! peer record was removed. A step that fails is logged and tried again on
//! the next pass. The decisions are the engine's.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cluster::Core;
use crate::consensus::Member;
use crate::engine::members::{Action, RaftMembers, reconcile};
use crate::enroll::unix_now;
use crate::transport::Ping;

const EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
        }
        if !core.consensus.has_lease() {
            continue;
        }
        pass(&core).await;
    }
}

async fn pass(core: &Core) {
    let state = core.state();
    let view = core.consensus.view();
    let raft = RaftMembers {
        voters: view.voters.keys().cloned().collect(),
        learners: view
            .learners
            .keys()
            .map(|id| (id.clone(), core.consensus.lag(id)))
            .collect(),
    };
    for action in reconcile(&state, &raft, unix_now()) {
        perform(core, action).await;
    }
}

async fn perform(core: &Core, action: Action) {
    match action {
        Action::Propose(m) => {
            if let Err(err) = core.submit(core.command(*m)).await {
                tracing::debug!(error = %err, "pruning an expired token");
            }
        }
        Action::AddLearner {
            id,
            addr,
            fingerprint,
        } => {
            let member = Member { addr, fingerprint };
            let reachable = async {
                let conn = core.pool.get(&id, &member).await?;
                conn.call_with_timeout::<Ping>(&(), Duration::from_secs(1))
                    .await
            };
            if reachable.await.is_ok() {
                tracing::info!(node = %id, "adding a recorded peer to the Raft membership");
                if let Err(e) = core.consensus.add_learner(id.clone(), member).await {
                    tracing::debug!(node = %id, error = %e, "add learner deferred");
                }
            }
        }
        Action::Promote(id) => {
            if let Err(e) = core.consensus.promote(&id).await {
                tracing::debug!(node = %id, error = %e, "promotion deferred");
            }
        }
        Action::Remove(id) => {
            tracing::info!(node = %id, "removing a removed peer from the Raft membership");
            if let Err(e) = core.consensus.remove_member(&id).await {
                tracing::debug!(node = %id, error = %e, "removal deferred");
            }
        }
    }
}
