//! Master duty and the master preference.
//!
//! Two jobs on a short tick:
//! - publish whether this node may act as master *now* (leader with a valid
//!   lease). Aggregation and alert dispatch start and stop on this signal,
//!   so an isolated old leader stops acting before anyone else can be
//!   elected;
//! - keep the original's deterministic master: when this node leads and a
//!   member with a lower NodeId has been continuously live for the master
//!   cooldown, hand leadership to it. A node returning from a restart
//!   therefore takes over again only after the cooldown, not at once.
//!
//! The decision is a pure function of (me, voters, how long each has been
//! live, now), unit-tested without I/O.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::consensus::Consensus;
use crate::identity::NodeId;

/// How often the controller looks.
const TICK: Duration = Duration::from_millis(100);
/// Minimum time between two leadership hand-overs from this node.
const TRANSFER_BACKOFF: Duration = Duration::from_secs(10);

/// How long each member has been continuously live, as seen from here.
pub trait LiveFor: Send + Sync + 'static {
    /// `None` when the member is not live now.
    fn live_for(&self, id: &NodeId) -> Option<Duration>;
}

/// The member leadership should move to, if any: the lowest voter below
/// `me` that has been live for at least `cooldown`.
pub fn preferred_master(
    me: &NodeId,
    voters: &[NodeId],
    live_for: &BTreeMap<NodeId, Duration>,
    cooldown: Duration,
) -> Option<NodeId> {
    let mut lower: Vec<&NodeId> = voters.iter().filter(|v| *v < me).collect();
    lower.sort();
    lower
        .into_iter()
        .find(|v| live_for.get(*v).is_some_and(|d| *d >= cooldown))
        .cloned()
}

/// Like [`preferred_master`], but an operator's pin (`qu leader transfer`)
/// wins while it holds: the pinned node keeps the role, and another leader
/// hands it to the pinned node when that node is a live voter.
pub fn preferred_with_pin(
    me: &NodeId,
    voters: &[NodeId],
    live_for: &BTreeMap<NodeId, Duration>,
    cooldown: Duration,
    pinned: Option<&NodeId>,
) -> Option<NodeId> {
    match pinned {
        Some(p) if p == me => None,
        Some(p) if voters.contains(p) && live_for.contains_key(p) => Some(p.clone()),
        _ => preferred_master(me, voters, live_for, cooldown),
    }
}

/// Run the controller until `stop` fires; `duty` carries the master-duty
/// signal.
pub async fn run(
    consensus: Consensus,
    me: NodeId,
    liveness: Arc<dyn LiveFor>,
    duty: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_transfer: Option<Instant> = None;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticker.tick() => {}
        }
        let leading = consensus.has_lease();
        duty.send_if_modified(|d| {
            let changed = *d != leading;
            *d = leading;
            changed
        });
        if !leading || last_transfer.is_some_and(|t| t.elapsed() < TRANSFER_BACKOFF) {
            continue;
        }
        let voters: Vec<NodeId> = consensus.view().voters.into_keys().collect();
        let live: BTreeMap<NodeId, Duration> = voters
            .iter()
            .filter_map(|v| liveness.live_for(v).map(|d| (v.clone(), d)))
            .collect();
        let state = consensus.state();
        let pinned = state.pinned_master(crate::state::mutation::now_ms());
        if let Some(target) = preferred_with_pin(
            &me,
            &voters,
            &live,
            consensus.timing().master_cooldown,
            pinned,
        ) {
            if pinned == Some(&target) {
                tracing::info!(%target, "handing the master role to the node the operator chose");
            } else {
                tracing::info!(%target, "handing the master role to the lowest live NodeId");
            }
            last_transfer = Some(Instant::now());
            if let Err(e) = consensus.transfer_leadership(&target).await {
                tracing::warn!(error = %e, "leadership transfer failed");
            }
        }
    }
    duty.send_replace(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("id")
    }

    #[test]
    fn hands_over_only_to_a_lower_member_live_past_the_cooldown() {
        let voters = vec![id("a"), id("b"), id("c")];
        let cd = Duration::from_secs(120);
        let mut live = BTreeMap::new();
        live.insert(id("b"), Duration::from_secs(300));
        live.insert(id("c"), Duration::from_secs(300));
        // a is not live: b leads and stays.
        assert_eq!(preferred_master(&id("b"), &voters, &live, cd), None);
        // a is back but only for 30 s: no hand-over yet.
        live.insert(id("a"), Duration::from_secs(30));
        assert_eq!(preferred_master(&id("b"), &voters, &live, cd), None);
        // Past the cooldown: hand over to a.
        live.insert(id("a"), Duration::from_secs(121));
        assert_eq!(
            preferred_master(&id("b"), &voters, &live, cd),
            Some(id("a"))
        );
        // c leading prefers the lowest live one, a.
        assert_eq!(
            preferred_master(&id("c"), &voters, &live, cd),
            Some(id("a"))
        );
        // The lowest never hands over.
        assert_eq!(preferred_master(&id("a"), &voters, &live, cd), None);
    }

    #[test]
    fn an_operator_pin_wins_while_it_holds() {
        let voters = vec![id("a"), id("b"), id("c")];
        let cd = Duration::from_secs(120);
        let mut live = BTreeMap::new();
        live.insert(id("a"), Duration::from_secs(300));
        live.insert(id("c"), Duration::from_secs(300));
        // Pinned to b: b keeps the role although a is lower and live.
        assert_eq!(
            preferred_with_pin(&id("b"), &voters, &live, cd, Some(&id("b"))),
            None
        );
        // a leads: it hands over to the pinned c.
        assert_eq!(
            preferred_with_pin(&id("a"), &voters, &live, cd, Some(&id("c"))),
            Some(id("c"))
        );
        // The pinned b is not live: the usual preference applies.
        assert_eq!(
            preferred_with_pin(&id("c"), &voters, &live, cd, Some(&id("b"))),
            Some(id("a"))
        );
        assert_eq!(preferred_with_pin(&id("a"), &voters, &live, cd, None), None);
    }

    #[test]
    fn a_lower_node_that_is_not_a_voter_is_ignored() {
        let mut live = BTreeMap::new();
        live.insert(id("a"), Duration::from_secs(1000));
        let voters = vec![id("b"), id("c")];
        assert_eq!(
            preferred_master(&id("b"), &voters, &live, Duration::ZERO),
            None
        );
    }
}
