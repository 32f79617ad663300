//! Makes Raft membership follow the replicated peers table, on the master.
//!
//! `AddPeer` records who should be a member (every node trusts it from
//! then on); this loop adds such a node to Raft once it answers, first as a
//! learner and, once it has caught up, as a voter. It finishes joins that
//! were interrupted (a crash between the two steps of `node add`) and the
//! token joins, whose daemon starts after the join was approved. It also
//! removes Raft members whose peer record was removed, and prunes expired
//! enrollment tokens a minute after they expire.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cluster::Core;
use crate::consensus::Member;
use crate::enroll::unix_now;
use crate::state::Mutation;
use crate::transport::Ping;

const EVERY: Duration = Duration::from_secs(1);
/// Seconds an expired token is kept before it is revoked: until then every
/// member refuses it by its expiry (the server-side check, which a joiner
/// that skips its own cannot get past), and the operator's `qu enroll list`
/// shows it as expired rather than gone.
pub(crate) const PRUNE_EXPIRED_AFTER: u64 = 60;
/// A learner this close to the leader's log is promoted.
const CAUGHT_UP: u64 = 10;

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

/// Whether a token that expires at `expires_at` is pruned at `now`.
fn prunable(expires_at: u64, now: u64) -> bool {
    expires_at.saturating_add(PRUNE_EXPIRED_AFTER) <= now
}

async fn pass(core: &Core) {
    let state = core.state();
    let view = core.consensus.view();
    for e in state.enrollments.values() {
        if prunable(e.expires_at, unix_now()) {
            let cmd = core.command(Mutation::RevokeEnrollment { id: e.id.clone() });
            if let Err(err) = core.submit(cmd).await {
                tracing::debug!(error = %err, "pruning an expired token");
            }
        }
    }
    for peer in state.peers.values() {
        let id = &peer.node_id;
        let member = Member {
            addr: peer.advertise.clone(),
            fingerprint: peer.fingerprint.clone(),
        };
        if view.voters.contains_key(id) {
            continue;
        }
        if view.learners.contains_key(id) {
            if core.consensus.lag(id).is_some_and(|lag| lag <= CAUGHT_UP)
                && let Err(e) = core.consensus.promote(id).await
            {
                tracing::debug!(node = %id, error = %e, "promotion deferred");
            }
            continue;
        }
        let reachable = async {
            let conn = core.pool.get(id, &member).await?;
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
    for id in view.voters.keys().chain(view.learners.keys()) {
        if state.removed.contains(id) && !state.peers.contains_key(id) {
            tracing::info!(node = %id, "removing a removed peer from the Raft membership");
            if let Err(e) = core.consensus.remove_member(id).await {
                tracing::debug!(node = %id, error = %e, "removal deferred");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_tokens_are_pruned_a_minute_later() {
        let t = 1_000_000;
        assert!(!prunable(t, t));
        assert!(!prunable(t, t + PRUNE_EXPIRED_AFTER - 1));
        assert!(prunable(t, t + PRUNE_EXPIRED_AFTER));
        assert!(!prunable(u64::MAX, u64::MAX - 1));
    }
}
