//! Which members are reachable, seen from this node: a ping to every member
//! each second. Feeds `qu status` (LIVE, LAST_SEEN) and the master
//! preference (how long a lower NodeId has been continuously live).

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

/// How often members are pinged.
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
}

/// The liveness table; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Liveness {
    me: NodeId,
    started: Instant,
    /// This process's incarnation, random per start (never 0).
    boot: u64,
    table: Arc<Mutex<HashMap<NodeId, Seen>>>,
}

impl Liveness {
    pub(crate) fn new(me: NodeId) -> Liveness {
        Liveness {
            me,
            started: Instant::now(),
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
        let mut ticker = tokio::time::interval(PING_EVERY);
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
        let l = Liveness::new(me);
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
