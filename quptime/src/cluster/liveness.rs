//! Which members are reachable, seen from this node: a ping to every member
//! a few times per liveness window, plus what the cluster's real traffic
//! shows. Feeds `qu status` (LIVE, LAST_SEEN) and the master preference
//! (how long a lower NodeId has been continuously live).
//!
//! LIVE means the member takes part, not that it answers pings: on the
//! master, its results arrive (every node reports at least every third of
//! the window, with an empty batch when it has nothing to say) and it
//! acknowledges the log; on a follower, the master's appends arrive and
//! this node's results are delivered to it. Only between two followers is
//! a ping the evidence. The window ([`live_within`]) is one heartbeat plus
//! the longest election timeout, so what `qu status` shows is never older.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::cluster::pool::Pool;
use crate::consensus::Member;
use crate::consensus::controller::LiveFor;
use crate::identity::NodeId;
use crate::state::ClusterState;
use crate::transport::{Ping, Pong};

/// How often members are pinged (at most; see [`Liveness::new`]).
pub(crate) const PING_EVERY: Duration = Duration::from_secs(1);
/// A member not heard from for this long is not live.
pub(crate) const DEAD_AFTER: Duration = Duration::from_secs(3);
/// A member that reports its incarnation counts as continuously live only
/// while its last pong is this fresh: a restart shorter than
/// [`DEAD_AFTER`] must not look like continuity to the master preference.
const PONG_FRESH: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Default)]
struct Seen {
    last_ok: Option<Instant>,
    last_seen: Option<SystemTime>,
    live_since: Option<Instant>,
    /// The peer's software version and state level, from its last pong.
    release: Option<(String, u32)>,
    /// The peer's incarnation (0: it does not say), when it was first
    /// seen, and the last pong.
    boot: u64,
    boot_since: Option<Instant>,
    last_pong: Option<Instant>,
    /// A batch of its results reached this node (as master).
    last_results: Option<Instant>,
    /// This node's results reached it (as master).
    last_delivered: Option<Instant>,
}

/// How long evidence of a member's liveness stays good: one heartbeat plus
/// the longest election timeout.
pub(crate) fn live_within(timing: &crate::consensus::Timing) -> Duration {
    timing.heartbeat + timing.election_max
}

/// How a member relates to this node, which decides what proves it live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// This node.
    Myself,
    /// This node is the master and the member follows it.
    Follower,
    /// The member is this node's master.
    Master,
    /// Both follow someone else (or nobody).
    Fellow,
}

/// How long ago each kind of evidence last came.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ages {
    /// Any contact (pings either way).
    pub(crate) contact: Option<Duration>,
    /// The member acknowledged the log (this node leads).
    pub(crate) acked: Option<Duration>,
    /// Its results arrived (this node leads).
    pub(crate) results: Option<Duration>,
    /// Its appends arrived (it leads).
    pub(crate) appended: Option<Duration>,
    /// This node's results were delivered to it (it leads).
    pub(crate) delivered: Option<Duration>,
}

/// Whether a member is live, from the evidence its relation calls for.
pub(crate) fn judge(rel: Relation, ages: Ages, within: Duration) -> bool {
    let fresh = |a: Option<Duration>| a.is_some_and(|a| a < within);
    match rel {
        Relation::Myself => true,
        Relation::Follower => fresh(ages.acked) && fresh(ages.results),
        Relation::Master => fresh(ages.appended) && fresh(ages.delivered),
        Relation::Fellow => fresh(ages.contact),
    }
}

/// The liveness table; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    me: NodeId,
    started: Instant,
    /// Ping period: a third of the liveness window, at most [`PING_EVERY`].
    every: Duration,
    /// This process's incarnation, random per start (never 0).
    boot: u64,
    table: Arc<Mutex<HashMap<NodeId, Seen>>>,
}

impl Liveness {
    pub(crate) fn new(me: NodeId, within: Duration) -> Liveness {
        Liveness {
            me,
            started: Instant::now(),
            every: (within / 3).clamp(Duration::from_millis(100), PING_EVERY),
            boot: (uuid::Uuid::new_v4().as_u128() as u64) | 1,
            table: Arc::default(),
        }
    }

    /// Note a successful contact with `id` (either direction).
    pub(crate) fn record_ok(&self, id: &NodeId) {
        let now = Instant::now();
        if let Ok(mut t) = self.table.lock() {
            let seen = t.entry(id.clone()).or_default();
            let was_live = seen
                .last_ok
                .is_some_and(|l| now.duration_since(l) < DEAD_AFTER);
            if !was_live {
                seen.live_since = Some(now);
            }
            seen.last_ok = Some(now);
            seen.last_seen = Some(SystemTime::now());
        }
    }

    /// Note a batch of results from `id` (this node is master).
    pub(crate) fn record_results(&self, id: &NodeId) {
        if let Ok(mut t) = self.table.lock() {
            t.entry(id.clone()).or_default().last_results = Some(Instant::now());
        }
    }

    /// Note this node's results delivered to the master `id`.
    pub(crate) fn record_delivered(&self, id: &NodeId) {
        if let Ok(mut t) = self.table.lock() {
            t.entry(id.clone()).or_default().last_delivered = Some(Instant::now());
        }
    }

    /// The ping period, which is also how often results are reported.
    pub(crate) fn every(&self) -> Duration {
        self.every
    }

    /// This node's own evidence about `id` (the Raft parts are added by
    /// the caller).
    pub(crate) fn ages(&self, id: &NodeId) -> Ages {
        let Some(seen) = self.table.lock().ok().and_then(|t| t.get(id).cloned()) else {
            return Ages::default();
        };
        let age = |t: Option<Instant>| t.map(|t| t.elapsed());
        Ages {
            contact: age(seen.last_ok),
            results: age(seen.last_results),
            delivered: age(seen.last_delivered),
            ..Ages::default()
        }
    }

    /// This process's incarnation, sent in every pong.
    pub(crate) fn boot(&self) -> u64 {
        self.boot
    }

    /// Note a pong from `id`: it is live, runs this release, and is the
    /// incarnation `pong.boot` (a new one restarts its continuity).
    pub(crate) fn record_pong(&self, id: &NodeId, pong: Pong) {
        self.record_ok(id);
        let now = Instant::now();
        if let Ok(mut t) = self.table.lock() {
            let seen = t.entry(id.clone()).or_default();
            seen.release = Some((pong.version, pong.level));
            if seen.boot != pong.boot || seen.boot_since.is_none() {
                seen.boot = pong.boot;
                seen.boot_since = Some(now);
            }
            seen.last_pong = Some(now);
        }
    }

    /// The software version and state level `id` last reported.
    pub(crate) fn release(&self, id: &NodeId) -> Option<(String, u32)> {
        self.table.lock().ok()?.get(id)?.release.clone()
    }

    /// (live, last seen) of `id`.
    pub(crate) fn get(&self, id: &NodeId) -> (bool, Option<SystemTime>) {
        if *id == self.me {
            return (true, Some(SystemTime::now()));
        }
        let t = self.table.lock().ok();
        let seen = t
            .as_ref()
            .and_then(|t| t.get(id).cloned())
            .unwrap_or_default();
        (
            seen.last_ok.is_some_and(|l| l.elapsed() < DEAD_AFTER),
            seen.last_seen,
        )
    }

    /// Ping every member except this node until `stop` fires.
    pub(crate) async fn run(
        self,
        pool: Pool,
        mut state: watch::Receiver<Arc<ClusterState>>,
        members: impl Fn() -> Vec<(NodeId, Member)> + Send + 'static,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(self.every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Ping on every tick, and at once when the membership changes.
            tokio::select! {
                _ = stop.changed() => break,
                _ = ticker.tick() => {}
                _ = state.changed() => {}
            }
            for (id, member) in members() {
                if id == self.me {
                    continue;
                }
                let (pool, me) = (pool.clone(), self.clone());
                tokio::spawn(async move {
                    let ping = async {
                        let conn = pool.get(&id, &member).await?;
                        conn.call_with_timeout::<Ping>(&(), PING_EVERY).await
                    };
                    match ping.await {
                        Ok(pong) => me.record_pong(&id, pong),
                        Err(_) => pool.drop_conn(&id),
                    }
                });
            }
        }
    }
}

impl LiveFor for Liveness {
    fn live_for(&self, id: &NodeId) -> Option<Duration> {
        if *id == self.me {
            return Some(self.started.elapsed());
        }
        let t = self.table.lock().ok()?;
        let seen = t.get(id)?;
        let last = seen.last_ok?;
        if last.elapsed() >= DEAD_AFTER {
            return None;
        }
        // Continuity needs this node's own pongs: they name the peer's
        // incarnation, so a quick restart starts its clock again. Until the
        // first pong after a restart, a stale pong does not vouch for it.
        let boot_since = seen.boot_since?;
        if seen.boot != 0 && seen.last_pong.is_none_or(|p| p.elapsed() >= PONG_FRESH) {
            return None;
        }
        let since = seen.live_since.map_or(boot_since, |l| l.max(boot_since));
        Some(since.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_needs_the_evidence_of_the_relation() {
        let w = Duration::from_secs(2);
        let s = Duration::from_secs;
        let pings_only = Ages {
            contact: Some(s(0)),
            ..Ages::default()
        };
        // A member that only pings (its results or the log do not get
        // through) is not live on the master, nor is such a master.
        assert!(!judge(Relation::Follower, pings_only, w));
        assert!(!judge(Relation::Master, pings_only, w));
        assert!(judge(Relation::Fellow, pings_only, w));
        let follower = Ages {
            acked: Some(s(1)),
            results: Some(s(1)),
            ..pings_only
        };
        assert!(judge(Relation::Follower, follower, w));
        let stale = Ages {
            results: Some(s(2)),
            ..follower
        };
        assert!(!judge(Relation::Follower, stale, w), "results stopped");
        let master = Ages {
            appended: Some(s(0)),
            delivered: Some(Duration::from_millis(1900)),
            ..Ages::default()
        };
        assert!(judge(Relation::Master, master, w));
        assert!(judge(Relation::Myself, Ages::default(), w));
    }

    fn pong(id: &NodeId, boot: u64) -> Pong {
        Pong {
            node_id: id.clone(),
            version: crate::VERSION.into(),
            level: crate::state::STATE_LEVEL,
            boot,
        }
    }

    #[test]
    fn a_restart_starts_continuity_again_and_inbound_pings_alone_do_not_vouch() {
        let me = NodeId::new("a").expect("id");
        let peer = NodeId::new("b").expect("id");
        let l = Liveness::new(me, Duration::from_secs(2));
        l.record_ok(&peer);
        assert_eq!(l.live_for(&peer), None, "no pong yet: no continuity");
        l.record_pong(&peer, pong(&peer, 7));
        std::thread::sleep(Duration::from_millis(50));
        let before = l.live_for(&peer).expect("live");
        assert!(before >= Duration::from_millis(50));
        // Same incarnation: the clock keeps running.
        l.record_pong(&peer, pong(&peer, 7));
        assert!(l.live_for(&peer).expect("live") >= before);
        // A new incarnation within DEAD_AFTER: the clock starts again.
        l.record_pong(&peer, pong(&peer, 8));
        assert!(l.live_for(&peer).expect("live") < Duration::from_millis(50));
    }
}
