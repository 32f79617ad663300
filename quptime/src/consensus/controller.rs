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
//!   The cooldown protects an active incumbent only: a leadership won when
//!   no master had been known for a while (bootstrap, a full restart,
//!   quorum regained from nothing) hands over to the lowest live NodeId at
//!   once, as the original's change log specifies.
//!
//! Who should be master is [`crate::engine::leader`] (pure, shared with the
//! step-down and `qu leader transfer`); [`Incumbency`] tracks whether this
//! leadership started from empty from what the node observed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::consensus::Consensus;
use crate::consensus::duty_log::{DutyLog, DutyTracker};
use crate::engine::leader;
use crate::identity::NodeId;

/// How often the controller looks.
const TICK: Duration = Duration::from_millis(100);
/// Minimum time between two leadership hand-overs from this node.
const TRANSFER_BACKOFF: Duration = Duration::from_secs(10);
/// The same while a leadership that started from empty settles.
const BOOTSTRAP_BACKOFF: Duration = Duration::from_secs(1);
/// How long a leadership that started from empty hands over without the
/// cooldown: time enough for members started together to be seen live.
pub const BOOTSTRAP_GRACE: Duration = Duration::from_secs(10);

/// Whether this node's leadership started with no master known before it
/// (bootstrap, full restart, quorum regained from nothing), tracked from
/// what the node observes on each tick. A follower keeps knowing its old
/// leader until its own election timeout, so a failover shows a gap of
/// about one election; `empty_after` (twice the longest election timeout)
/// tells that apart from a cluster that had no master at all.
#[derive(Debug, Clone)]
pub struct Incumbency {
    empty_after: Duration,
    /// When a master (another node, or this one leading) was last known.
    last_master: Option<Instant>,
    /// The term this node leads, when it started, and whether it started
    /// from empty.
    leading: Option<(u64, Instant, bool)>,
}

impl Incumbency {
    /// Nothing observed yet: the first leadership starts from empty.
    pub fn new(empty_after: Duration) -> Incumbency {
        Incumbency {
            empty_after,
            last_master: None,
            leading: None,
        }
    }

    /// Record one tick: `leader` is the leader this node knows, `leading`
    /// whether it is that leader with a lease, in `term`.
    pub fn observe(&mut self, now: Instant, term: u64, leader_known: bool, leading: bool) {
        if leading {
            if self.leading.is_none_or(|(t, _, _)| t != term) {
                let from_empty = self
                    .last_master
                    .is_none_or(|t| now.duration_since(t) >= self.empty_after);
                self.leading = Some((term, now, from_empty));
            }
        } else {
            self.leading = None;
        }
        if leader_known || leading {
            self.last_master = Some(now);
        }
    }

    /// Whether the current leadership started from empty less than
    /// `grace` ago: lower live members take over without the cooldown.
    pub fn bootstrapping(&self, now: Instant, grace: Duration) -> bool {
        self.leading
            .is_some_and(|(_, since, empty)| empty && now.duration_since(since) < grace)
    }
}

/// How long each member has been continuously live, as seen from here.
pub trait LiveFor: Send + Sync + 'static {
    /// `None` when the member is not live now.
    fn live_for(&self, id: &NodeId) -> Option<Duration>;
}

/// Run the controller until `stop` fires; `duty` carries the master-duty
/// signal.
pub async fn run(
    consensus: Consensus,
    me: NodeId,
    liveness: Arc<dyn LiveFor>,
    duty: watch::Sender<bool>,
    duty_log: DutyLog,
    mut stop: watch::Receiver<bool>,
) {
    let mut tracker = DutyTracker::new(duty_log, me.to_string());
    let mut last_transfer: Option<Instant> = None;
    let mut incumbency = Incumbency::new(consensus.timing().election_max * 2);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticker.tick() => {}
        }
        // The same gate status asks (see `Consensus::master_duty`).
        let lease = consensus.has_lease();
        let leading = consensus.master_duty();
        duty.send_if_modified(|d| {
            let changed = *d != leading;
            *d = leading;
            changed
        });
        let view = consensus.view();
        tracker.observe(leading, view.term, consensus.lease_until());
        let now = Instant::now();
        // A master is known when its appends reach this node (openraft
        // restores an old leader from the stored vote at start-up).
        // A hand-over to this node counts too (see the Transfer handler).
        let heard = consensus
            .last_append_age()
            .is_some_and(|a| a < consensus.timing().election_max);
        incumbency.observe(now, view.term, heard, lease);
        let bootstrapping = incumbency.bootstrapping(now, BOOTSTRAP_GRACE);
        let backoff = if bootstrapping {
            BOOTSTRAP_BACKOFF
        } else {
            TRANSFER_BACKOFF
        };
        if !leading || last_transfer.is_some_and(|t| t.elapsed() < backoff) {
            continue;
        }
        let voters: Vec<NodeId> = view.voters.into_keys().collect();
        let live: BTreeMap<NodeId, Duration> = voters
            .iter()
            .filter_map(|v| liveness.live_for(v).map(|d| (v.clone(), d)))
            .collect();
        let state = consensus.state();
        let situation = leader::Situation {
            voters: &voters,
            live_for: &live,
            pin: state.master_pin.as_ref(),
            leader: Some(&me),
            // No incumbent to protect: the lowest live member takes over now.
            cooldown: if bootstrapping {
                Duration::ZERO
            } else {
                consensus.timing().master_cooldown
            },
            now_ms: crate::state::mutation::now_ms(),
        };
        if let Some(target) = leader::hand_over_to(&me, &situation) {
            if situation.pinned() == Some(&target) {
                tracing::info!(%target, "handing the master role to the node the operator chose");
            } else {
                tracing::info!(%target, "handing the master role to the lowest live NodeId");
            }
            last_transfer = Some(Instant::now());
            duty.send_if_modified(|d| std::mem::replace(d, false));
            tracker.stop();
            if let Err(e) = consensus.hand_over(&target).await {
                tracing::warn!(error = %e, "leadership transfer failed");
            }
        }
    }
    duty.send_replace(false);
    tracker.stop();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_leadership_won_from_empty_skips_the_cooldown() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let empty_after = ms(3200);
        // Fresh process: never knew a master, wins the first election.
        let mut inc = Incumbency::new(empty_after);
        inc.observe(t0, 1, false, false);
        inc.observe(t0 + ms(900), 1, true, true);
        assert!(inc.bootstrapping(t0 + ms(1000), BOOTSTRAP_GRACE));
        assert!(!inc.bootstrapping(t0 + ms(900) + BOOTSTRAP_GRACE, BOOTSTRAP_GRACE));

        // Failover: the follower knew the old master until its election.
        let mut inc = Incumbency::new(empty_after);
        inc.observe(t0, 3, true, false);
        inc.observe(t0 + ms(1500), 4, false, false);
        inc.observe(t0 + ms(2000), 4, true, true);
        assert!(!inc.bootstrapping(t0 + ms(2100), BOOTSTRAP_GRACE));

        // Quorum regained after a long time without any master.
        let mut inc = Incumbency::new(empty_after);
        inc.observe(t0, 3, true, false);
        inc.observe(t0 + ms(100), 5, false, false);
        inc.observe(t0 + ms(60_000), 6, true, true);
        assert!(inc.bootstrapping(t0 + ms(60_100), BOOTSTRAP_GRACE));

        // A later term of the same node, after losing the lease briefly,
        // is not from empty.
        inc.observe(t0 + ms(70_000), 6, true, false);
        inc.observe(t0 + ms(71_000), 7, true, true);
        assert!(!inc.bootstrapping(t0 + ms(71_100), BOOTSTRAP_GRACE));
    }
}
