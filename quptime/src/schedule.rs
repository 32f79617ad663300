//! Running every enabled check on this node at its interval.
//!
//! One lightweight task per check, so a slow target delays nothing but
//! itself; a semaphore caps how many probes run at once. The first probe of
//! a check fires within interval/10 (a quick first verdict); the second
//! comes at a random point of the following interval, and from then on
//! every interval. Checks added together therefore spread evenly over the
//! interval instead of firing in one burst each round. A probe that overruns
//! its slot skips the missed ticks instead of bursting. The check
//! list comes from the replicated state: an added, edited, enabled,
//! disabled or removed check takes effect as soon as the change is applied,
//! and only that check's task is started, restarted or stopped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::faults::Faults;
use crate::probe::{ProbeResult, Probers};
use crate::state::{Check, ClusterState};

/// Scheduler bounds.
#[derive(Debug, Clone)]
pub struct ScheduleOptions {
    /// Probes allowed to run at the same time (default 512).
    pub max_concurrent: usize,
    /// Capacity of the result channel; when full, results are dropped and
    /// counted rather than stalling probes (default 65 536).
    pub queue: usize,
    /// This node, so checks whose `nodes` selector does not match its
    /// labels are not probed here (unset: every check is probed).
    pub node: Option<crate::identity::NodeId>,
}

impl Default for ScheduleOptions {
    fn default() -> ScheduleOptions {
        ScheduleOptions {
            max_concurrent: 512,
            queue: 65_536,
            node: None,
        }
    }
}

/// One probe's outcome, with its timing.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The check probed.
    pub check_id: String,
    /// What the probe found.
    pub result: ProbeResult,
    /// When the probe was due.
    pub due: Instant,
    /// When it actually started (after waiting for a slot).
    pub started: Instant,
}

/// A running scheduler; dropping it stops every check task.
#[derive(Debug)]
pub struct Scheduler {
    task: JoinHandle<()>,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scheduler {
    /// Schedule the enabled checks of `state` (following its changes) with
    /// `probers`; observations arrive on the returned receiver.
    pub fn start(
        probers: Probers,
        state: watch::Receiver<Arc<ClusterState>>,
        faults: Faults,
        opts: ScheduleOptions,
    ) -> (Scheduler, mpsc::Receiver<Observation>) {
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let slots = Arc::new(Semaphore::new(opts.max_concurrent.max(1)));
        let me = opts.node;
        let task = tokio::spawn(supervise(probers, state, faults, tx, slots, me));
        (Scheduler { task }, rx)
    }
}

struct Running {
    check: Check,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn supervise(
    probers: Probers,
    mut state: watch::Receiver<Arc<ClusterState>>,
    faults: Faults,
    tx: mpsc::Sender<Observation>,
    slots: Arc<Semaphore>,
    me: Option<crate::identity::NodeId>,
) {
    let mut running: HashMap<String, Running> = HashMap::new();
    loop {
        let current = state.borrow_and_update().clone();
        probers.set_dns_resolvers(&current.dns_resolvers);
        // Push checks are never probed: their beats reach the master.
        let here = |c: &Check| {
            !c.disabled
                && c.kind() != crate::state::CheckType::Push
                && probed_here(&current, me.as_ref(), c)
        };
        running.retain(|id, r| {
            current
                .checks
                .get(id)
                .is_some_and(|c| here(c) && *c == r.check)
        });
        for check in current.checks.values().filter(|c| here(c)) {
            if running.contains_key(&check.id) {
                continue;
            }
            let task = tokio::spawn(check_loop(
                check.clone(),
                probers.clone(),
                faults.clone(),
                tx.clone(),
                slots.clone(),
            ));
            running.insert(
                check.id.clone(),
                Running {
                    check: check.clone(),
                    task,
                },
            );
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// Whether node `me` probes `check`: always without a `nodes` selector,
/// else when its member labels match (a node not yet a member probes
/// nothing selected; its results would not count anyway).
pub fn probed_here(
    state: &ClusterState,
    me: Option<&crate::identity::NodeId>,
    check: &Check,
) -> bool {
    if check.policy.nodes.is_empty() {
        return true;
    }
    match me {
        None => true,
        Some(me) => state
            .peers
            .get(me)
            .is_some_and(|p| check.policy.selects(&p.labels)),
    }
}

/// A random delay in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    let nanos = max.as_nanos();
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((uuid::Uuid::new_v4().as_u128() % nanos) as u64)
}

async fn check_loop(
    check: Check,
    probers: Probers,
    faults: Faults,
    tx: mpsc::Sender<Observation>,
    slots: Arc<Semaphore>,
) {
    let mut due = Instant::now() + jitter(check.interval / 10);
    let mut first = true;
    loop {
        tokio::time::sleep_until(due).await;
        let Ok(permit) = slots.acquire().await else {
            return;
        };
        let started = Instant::now();
        let result = match faults.probe_fault(&check) {
            Some(detail) => ProbeResult {
                ok: false,
                latency: Duration::ZERO,
                detail,
            },
            None => probers.probe(&check).await,
        };
        drop(permit);
        let obs = Observation {
            check_id: check.id.clone(),
            result,
            due,
            started,
        };
        if tx.try_send(obs).is_err() && tx.is_closed() {
            return;
        }
        due += if first {
            // Settle on a random phase within the interval (at least a tenth
            // of it after the first probe).
            first = false;
            jitter(check.interval).max(check.interval / 10)
        } else {
            check.interval
        };
        let now = Instant::now();
        if due < now {
            // Overran: skip the missed slots rather than burst.
            let behind = now - due;
            let skip = behind.as_nanos() / check.interval.as_nanos().max(1) + 1;
            due += check.interval * skip as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_below_its_bound() {
        for _ in 0..1000 {
            assert!(jitter(Duration::from_millis(100)) < Duration::from_millis(100));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_node_probes_only_the_checks_its_labels_are_selected_for() {
        use crate::identity::NodeId;
        use crate::state::{CheckType, PeerRecord};
        let me = NodeId::new("n1").expect("id");
        let mut state = ClusterState::default();
        state.peers.insert(
            me.clone(),
            PeerRecord {
                node_id: me.clone(),
                advertise: "127.0.0.1:1".into(),
                fingerprint: crate::identity::Fingerprint::of_spki(b"n1"),
                cert_pem: String::new(),
                added_at: String::new(),
                labels: [("region".into(), "eu".into())].into(),
            },
        );
        let mut check = Check::blank(CheckType::Tcp);
        assert!(probed_here(&state, Some(&me), &check), "no selector");
        check.policy.nodes = [("region".into(), "eu".into())].into();
        assert!(probed_here(&state, Some(&me), &check));
        check.policy.nodes = [("region".into(), "us".into())].into();
        assert!(!probed_here(&state, Some(&me), &check));
        let other = NodeId::new("n2").expect("id");
        assert!(!probed_here(&state, Some(&other), &check), "not a member");
    }
}
