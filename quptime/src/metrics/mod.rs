//! Prometheus/OpenMetrics metrics of one node, and the small HTTP server
//! that exposes them beside `/healthz` and `/readyz`.
//!
//! Every node owns its own [`Metrics`] (never a process-wide registry:
//! several nodes can run in one process, as the tests and `qu demo` do),
//! and every series carries a `node` label so the scrapes of a whole
//! cluster can be summed and compared. Two kinds of series live here:
//! events counted where they happen (probe results, alert deliveries,
//! mutation latency) and gauges sampled from the node's state at scrape
//! time ([`Sample`]: check states and votes, Raft term and indices, leader
//! and master flags, live peers, outbox depth), so a scrape always shows
//! the state the node holds at that moment. `docs/metrics.md` documents
//! every series; [`SERIES`] is the same list, kept in step by a test.

mod server;
mod storage;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

pub use server::{MetricsServer, Source};
pub use storage::StorageSample;

/// Every exposed series name (as scraped, with the `_total`, `_bucket`,
/// `_sum` and `_count` suffixes left off), in the order of `docs/metrics.md`.
pub const SERIES: &[&str] = &[
    "quptime_node_info",
    "quptime_check_state",
    "quptime_check_votes",
    "quptime_check_degraded",
    "quptime_check_in_maintenance",
    "quptime_probes",
    "quptime_probe_failures",
    "quptime_probe_duration_seconds",
    "quptime_alert_deliveries",
    "quptime_alert_failures",
    "quptime_outbox_pending",
    "quptime_outbox_oldest_pending_seconds",
    "quptime_raft_term",
    "quptime_raft_leader",
    "quptime_master",
    "quptime_quorum",
    "quptime_raft_last_log_index",
    "quptime_raft_commit_index",
    "quptime_raft_applied_index",
    "quptime_raft_voters",
    "quptime_peers_live",
    "quptime_peer_up",
    "quptime_node_abstaining",
    "quptime_config_version",
    "quptime_mutation_duration_seconds",
    "quptime_data_dir_bytes",
    "quptime_disk_free_bytes",
    "quptime_disk_size_bytes",
    "quptime_raft_log_bytes",
    "quptime_raft_log_entries",
    "quptime_healthy",
];

/// Probe latency buckets (seconds): 5 ms to 30 s.
const PROBE_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0,
];
/// Mutation latency buckets (seconds): 1 ms to 5 s (proposals give up
/// after the proposal timeout, 3 s by default).
const MUTATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    version: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckStateLabels {
    check: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VoteLabels {
    check: String,
    vote: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    channel: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

type HistFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// What happened to an alert delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Delivered,
    /// It failed and will be retried.
    Retry,
    /// It failed for good (permanent failure or too many attempts).
    Abandoned,
}

/// One check as sampled at scrape time.
#[derive(Debug, Clone, Default)]
pub struct CheckSample {
    /// Check name.
    pub name: String,
    /// `up`, `down` or `unknown`.
    pub state: String,
    /// Fresh successes and failures in the master's tally (`None` on a
    /// node that is not the master).
    pub votes: Option<(usize, usize)>,
    /// Up with some judging nodes failing (exported with the votes).
    pub degraded: bool,
    /// Inside a maintenance window or silence now.
    pub in_maintenance: bool,
}

/// The node's state as sampled at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The checks.
    pub checks: Vec<CheckSample>,
    /// Outbox entries not yet delivered or abandoned.
    pub outbox_pending: u64,
    /// Age of the oldest pending outbox entry, in seconds (0 if none).
    pub outbox_oldest_seconds: f64,
    /// Raft term.
    pub term: u64,
    /// This node is the Raft leader.
    pub leader: bool,
    /// This node performs master duty (leader with a lease).
    pub master: bool,
    /// This node sees a quorum (it is the master, or the leader is live).
    pub quorum: bool,
    /// Index of the last log entry.
    pub last_log_index: u64,
    /// Index of the last committed entry.
    pub commit_index: u64,
    /// Index of the last applied entry.
    pub applied_index: u64,
    /// Number of voters.
    pub voters: u64,
    /// Members (other than this node) and whether they are reachable.
    pub peers: Vec<(String, bool)>,
    /// Applied configuration version.
    pub config_version: u64,
    /// Data directory, disk and Raft log figures.
    pub storage: StorageSample,
}

/// The metrics of one node. Cheap to share behind an `Arc`; recording is
/// a few atomic operations.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    check_state: Family<CheckStateLabels, Gauge>,
    check_votes: Family<VoteLabels, Gauge>,
    check_degraded: Family<CheckLabels, Gauge>,
    check_in_maintenance: Family<CheckLabels, Gauge>,
    probes: Family<CheckLabels, Counter>,
    probe_failures: Family<CheckLabels, Counter>,
    probe_duration: HistFamily<CheckLabels>,
    deliveries: Family<ChannelLabels, Counter>,
    delivery_failures: Family<FailureLabels, Counter>,
    outbox_pending: Gauge,
    outbox_oldest: Gauge<f64, std::sync::atomic::AtomicU64>,
    term: Gauge,
    leader: Gauge,
    master: Gauge,
    quorum: Gauge,
    last_log: Gauge,
    commit: Gauge,
    applied: Gauge,
    voters: Gauge,
    peers_live: Gauge,
    peer_up: Family<PeerLabels, Gauge>,
    node_abstaining: Gauge,
    config_version: Gauge,
    mutation_duration: HistFamily<ResultLabels>,
    storage: storage::StorageGauges,
    /// Checks with probe series, to drop those of removed checks.
    probed: Mutex<BTreeSet<String>>,
    /// One scrape at a time: a scrape clears and refills sampled families.
    scrape: Mutex<()>,
}

fn probe_histogram() -> Histogram {
    Histogram::new(PROBE_BUCKETS)
}

fn mutation_histogram() -> Histogram {
    Histogram::new(MUTATION_BUCKETS)
}

impl Metrics {
    /// Whether this node abstains now (the canary's driver sets it).
    pub fn set_abstaining(&self, on: bool) {
        self.node_abstaining.set(i64::from(on));
    }

    /// The metrics of node `node`; every series is labelled `node="<node>"`.
    pub fn new(node: &str) -> Metrics {
        let labels = [(Cow::Borrowed("node"), Cow::Owned(node.to_string()))];
        let mut r = Registry::with_prefix_and_labels("quptime", labels.into_iter());
        let info = Family::<InfoLabels, Gauge>::default();
        info.get_or_create(&InfoLabels {
            version: crate::VERSION.to_string(),
        })
        .set(1);
        r.register("node_info", "Always 1; the library version", info);
        let m = Metrics {
            check_state: Family::default(),
            check_votes: Family::default(),
            check_degraded: Family::default(),
            check_in_maintenance: Family::default(),
            probes: Family::default(),
            probe_failures: Family::default(),
            probe_duration: HistFamily::new_with_constructor(probe_histogram),
            deliveries: Family::default(),
            delivery_failures: Family::default(),
            outbox_pending: Gauge::default(),
            outbox_oldest: Gauge::default(),
            term: Gauge::default(),
            leader: Gauge::default(),
            master: Gauge::default(),
            quorum: Gauge::default(),
            last_log: Gauge::default(),
            commit: Gauge::default(),
            applied: Gauge::default(),
            voters: Gauge::default(),
            node_abstaining: Gauge::default(),
            peers_live: Gauge::default(),
            peer_up: Family::default(),
            config_version: Gauge::default(),
            mutation_duration: HistFamily::new_with_constructor(mutation_histogram),
            storage: storage::StorageGauges::default(),
            probed: Mutex::new(BTreeSet::new()),
            scrape: Mutex::new(()),
            registry: Registry::default(),
        };
        r.register(
            "check_state",
            "1 for the agreed state of each check (up, down, unknown), 0 for the others",
            m.check_state.clone(),
        );
        r.register(
            "check_votes",
            "Members whose fresh result says up or down, as the master tallies them (master only)",
            m.check_votes.clone(),
        );
        r.register(
            "check_degraded",
            "1 while a check is up but some of its judging nodes fail (master only)",
            m.check_degraded.clone(),
        );
        r.register(
            "check_in_maintenance",
            "1 while a check is inside a maintenance window or silence (its DOWN is held back), else 0",
            m.check_in_maintenance.clone(),
        );
        r.register(
            "probes",
            "Probes this node ran, per check",
            m.probes.clone(),
        );
        r.register(
            "probe_failures",
            "Probes of this node that failed, per check",
            m.probe_failures.clone(),
        );
        r.register_with_unit(
            "probe_duration",
            "Probe latency on this node, per check",
            Unit::Seconds,
            m.probe_duration.clone(),
        );
        r.register(
            "alert_deliveries",
            "Alerts delivered by this node (as master), per channel",
            m.deliveries.clone(),
        );
        r.register(
            "alert_failures",
            "Failed alert deliveries per channel; outcome retry or abandoned",
            m.delivery_failures.clone(),
        );
        r.register(
            "outbox_pending",
            "Alerts in the replicated outbox not yet delivered or abandoned",
            m.outbox_pending.clone(),
        );
        r.register_with_unit(
            "outbox_oldest_pending",
            "Age of the oldest pending alert (0 when none)",
            Unit::Seconds,
            m.outbox_oldest.clone(),
        );
        r.register("raft_term", "Current Raft term", m.term.clone());
        r.register(
            "raft_leader",
            "1 if this node is the Raft leader",
            m.leader.clone(),
        );
        r.register(
            "master",
            "1 if this node performs master duty (leader holding a lease)",
            m.master.clone(),
        );
        r.register(
            "quorum",
            "1 if this node sees a quorum (it is the master, or the leader is reachable)",
            m.quorum.clone(),
        );
        r.register(
            "raft_last_log_index",
            "Index of the last entry in this node's Raft log",
            m.last_log.clone(),
        );
        r.register(
            "raft_commit_index",
            "Index of the last committed Raft entry known to this node",
            m.commit.clone(),
        );
        r.register(
            "raft_applied_index",
            "Index of the last Raft entry applied on this node",
            m.applied.clone(),
        );
        r.register("raft_voters", "Voting members", m.voters.clone());
        r.register(
            "peers_live",
            "Other members reachable from this node",
            m.peers_live.clone(),
        );
        r.register(
            "peer_up",
            "1 if the member is reachable from this node",
            m.peer_up.clone(),
        );
        r.register(
            "node_abstaining",
            "1 while this node abstains: its connectivity canary fails and its results are not counted",
            m.node_abstaining.clone(),
        );
        r.register(
            "config_version",
            "Applied configuration version (mutations)",
            m.config_version.clone(),
        );
        r.register_with_unit(
            "mutation_duration",
            "Time to commit a proposal through the master; result ok or error",
            Unit::Seconds,
            m.mutation_duration.clone(),
        );
        m.storage.register(&mut r);
        Metrics { registry: r, ..m }
    }

    /// Record one probe result of check `check`.
    pub fn probe(&self, check: &str, ok: bool, latency: Duration) {
        if let Ok(mut p) = self.probed.lock()
            && !p.contains(check)
        {
            p.insert(check.to_string());
        }
        let l = CheckLabels {
            check: check.to_string(),
        };
        self.probes.get_or_create(&l).inc();
        // Created at the first probe, so a healthy check shows 0 failures.
        let failures = self.probe_failures.get_or_create(&l);
        if !ok {
            failures.inc();
        }
        self.probe_duration
            .get_or_create(&l)
            .observe(latency.as_secs_f64());
    }

    /// Record an alert delivery attempt through `channel`.
    pub fn delivery(&self, channel: &str, outcome: DeliveryOutcome) {
        let channel = channel.to_string();
        let outcome = match outcome {
            DeliveryOutcome::Delivered => {
                self.deliveries
                    .get_or_create(&ChannelLabels { channel })
                    .inc();
                return;
            }
            DeliveryOutcome::Retry => "retry",
            DeliveryOutcome::Abandoned => "abandoned",
        };
        self.delivery_failures
            .get_or_create(&FailureLabels {
                channel,
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Record how long a proposal took and whether it committed.
    pub fn mutation(&self, took: Duration, ok: bool) {
        let result = if ok { "ok" } else { "error" }.to_string();
        self.mutation_duration
            .get_or_create(&ResultLabels { result })
            .observe(took.as_secs_f64());
    }

    /// Set the sampled gauges from `s`; series of checks and peers that are
    /// gone disappear (a removed or renamed check stops being exported).
    pub fn set(&self, s: &Sample) {
        if let Ok(mut probed) = self.probed.lock() {
            probed.retain(|name| {
                let keep = s.checks.iter().any(|c| c.name == *name);
                if !keep {
                    let l = CheckLabels {
                        check: name.clone(),
                    };
                    self.probes.remove(&l);
                    self.probe_failures.remove(&l);
                    self.probe_duration.remove(&l);
                }
                keep
            });
        }
        self.check_state.clear();
        self.check_votes.clear();
        self.check_degraded.clear();
        self.check_in_maintenance.clear();
        for c in &s.checks {
            self.check_in_maintenance
                .get_or_create(&CheckLabels {
                    check: c.name.clone(),
                })
                .set(i64::from(c.in_maintenance));
            for state in ["up", "down", "unknown"] {
                self.check_state
                    .get_or_create(&CheckStateLabels {
                        check: c.name.clone(),
                        state: state.to_string(),
                    })
                    .set(i64::from(c.state == state));
            }
            if let Some((up, down)) = c.votes {
                let l = CheckLabels {
                    check: c.name.clone(),
                };
                self.check_degraded
                    .get_or_create(&l)
                    .set(i64::from(c.degraded));
                for (vote, n) in [("up", up), ("down", down)] {
                    self.check_votes
                        .get_or_create(&VoteLabels {
                            check: c.name.clone(),
                            vote: vote.to_string(),
                        })
                        .set(n as i64);
                }
            }
        }
        let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.outbox_pending.set(int(s.outbox_pending));
        self.outbox_oldest.set(s.outbox_oldest_seconds);
        self.term.set(int(s.term));
        self.leader.set(i64::from(s.leader));
        self.master.set(i64::from(s.master));
        self.quorum.set(i64::from(s.quorum));
        self.last_log.set(int(s.last_log_index));
        self.commit.set(int(s.commit_index));
        self.applied.set(int(s.applied_index));
        self.voters.set(int(s.voters));
        self.peers_live
            .set(s.peers.iter().filter(|(_, live)| *live).count() as i64);
        self.peer_up.clear();
        for (peer, live) in &s.peers {
            self.peer_up
                .get_or_create(&PeerLabels { peer: peer.clone() })
                .set(i64::from(*live));
        }
        self.config_version.set(int(s.config_version));
        self.storage.set(&s.storage);
    }

    /// Set the sampled gauges from `s` and encode, as one step (two
    /// scrapes at once never see each other's half-filled families).
    pub fn render(&self, s: &Sample) -> String {
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.set(s);
        self.encode()
    }

    /// The OpenMetrics text exposition of every series.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests;
