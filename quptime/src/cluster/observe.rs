//! The node side of [`crate::metrics`] and [`crate::web`]: what a scrape
//! samples from the node's state, what `/readyz` means, what the status
//! page shows, and the recording hooks the node's tasks call (probe
//! results, alert deliveries, proposals).
//!
//! Sampling at scrape time (rather than updating gauges as things change)
//! keeps the hooks in the rest of the node to three one-liners and makes a
//! scrape show exactly the state `qu status` would show at that moment.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::cluster::Core;
use crate::metrics::{CheckSample, Sample, Source, StorageSample};
use crate::probe::ProbeResult;

impl Core {
    /// Count one probe result of this node.
    pub(crate) fn record_probe(&self, check_id: &str, r: &ProbeResult) {
        let state = self.state();
        let name = state.checks.get(check_id).map_or(check_id, |c| &c.name);
        self.metrics.probe(name, r.ok, r.latency);
    }

    /// Keep a batch of this node's results in its raw store, stamped now
    /// (a check probed twice in one batch gets consecutive milliseconds),
    /// off the runtime's threads.
    pub(crate) fn keep_results(&self, results: &[(String, ProbeResult)]) {
        let now = crate::state::mutation::now_ms();
        let mut batch: Vec<(String, crate::results::RawResult)> = Vec::with_capacity(results.len());
        for (check, r) in results {
            let seen = batch.iter().filter(|(c, _)| c == check).count() as u64;
            batch.push((
                check.clone(),
                crate::results::RawResult {
                    at_ms: now + seen,
                    ok: r.ok,
                    latency_ms: u32::try_from(r.latency.as_millis()).unwrap_or(u32::MAX),
                },
            ));
        }
        let store = self.results.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.write(&batch) {
                tracing::warn!(error = %e, "raw results not kept");
            }
        });
    }

    /// This node's last `n` raw results of `check_id`, oldest first.
    pub(crate) fn recent_results(
        &self,
        check_id: &str,
        n: usize,
    ) -> Vec<crate::results::RawResult> {
        self.results.recent(check_id, n).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "raw results not read");
            Vec::new()
        })
    }

    /// The node's state for the sampled gauges.
    pub(crate) fn sample(&self) -> Sample {
        let summaries = self.local_summaries();
        let status = self.status(summaries.clone().unwrap_or_default());
        let idx = self.consensus.indices();
        let voters = self.consensus.view().voters.len() as u64;
        let state = self.state();
        let checks = status
            .checks
            .iter()
            .map(|c| CheckSample {
                name: c.name.clone(),
                state: c.state.clone(),
                votes: summaries
                    .as_ref()
                    .and_then(|s| s.get(&c.id))
                    .map(|t| (t.ok, t.total.saturating_sub(t.ok))),
                degraded: c.degraded,
                in_maintenance: c.maintenance,
            })
            .collect();
        let now = SystemTime::now();
        let mut pending = 0;
        let mut oldest = Duration::ZERO;
        for entry in state.outbox.values().filter(|e| e.pending()) {
            pending += 1;
            let at = state
                .transitions
                .iter()
                .find(|t| t.seq == entry.transition)
                .and_then(|t| humantime::parse_rfc3339_weak(&t.at).ok());
            if let Some(age) = at.and_then(|at| now.duration_since(at).ok()) {
                oldest = oldest.max(age);
            }
        }
        Sample {
            checks,
            outbox_pending: pending,
            outbox_oldest_seconds: oldest.as_secs_f64(),
            term: status.term,
            leader: idx.leader,
            master: status.is_master,
            quorum: status.quorum,
            last_log_index: idx.last_log,
            commit_index: idx.committed,
            applied_index: idx.applied,
            voters,
            peers: status
                .peers
                .iter()
                .filter(|p| !p.this_node)
                .map(|p| (p.node_id.to_string(), p.live))
                .collect(),
            config_version: status.config_version,
            storage: self.storage_sample(),
        }
    }

    /// The data directory, disk and Raft log figures, and health.
    fn storage_sample(&self) -> StorageSample {
        let figures = self.consensus.storage();
        StorageSample {
            data_dir_bytes: super::disk_usage(&self.data_dir),
            disk_free_bytes: figures.disk.as_ref().map_or(0, |d| d.free),
            disk_size_bytes: figures.disk.as_ref().map_or(0, |d| d.size),
            raft_log_bytes: figures.log_bytes,
            raft_log_entries: figures.log_entries,
            healthy: self.consensus.health().is_ok(),
        }
    }

    /// The OpenMetrics text of this node, sampled now.
    pub(crate) fn metrics_text(&self) -> String {
        self.metrics.render(&self.sample())
    }

    /// Ready = a voting member of a cluster that has a quorum.
    pub(crate) fn readiness(&self) -> Result<(), String> {
        if !self.consensus.view().voters.contains_key(self.me()) {
            return Err("this node is not a voting member of a cluster (yet)".into());
        }
        if !self.status(Default::default()).quorum {
            return Err("no quorum: no master holding a lease is reachable from this node".into());
        }
        Ok(())
    }
}

/// What the metrics listener serves for a node.
#[derive(Debug)]
pub(crate) struct NodeSource(pub(crate) Arc<Core>);

impl Source for NodeSource {
    fn metrics(&self) -> String {
        self.0.metrics_text()
    }
    fn ready(&self) -> Result<(), String> {
        self.0.readiness()
    }
    fn health(&self) -> Result<(), String> {
        self.0.consensus.health()
    }
}

/// What the status page shows for a node: its status with the master's
/// live votes (asked of the master, within a second, on a follower).
#[derive(Debug)]
pub(crate) struct PageSource(pub(crate) Arc<Core>);

impl crate::web::StatusSource for PageSource {
    fn status(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = super::Status> + Send + '_>> {
        Box::pin(async move { self.0.status(self.0.summaries().await) })
    }

    fn state(&self) -> Option<Arc<crate::state::ClusterState>> {
        Some(self.0.state())
    }

    fn recent_results(&self, check_id: &str, n: usize) -> Vec<crate::results::RawResult> {
        self.0.recent_results(check_id, n)
    }

    fn subscribe(&self) -> Option<super::Subscription> {
        Some(super::Subscription::new(
            self.0.consensus.watch_state(),
            self.0.stopping.clone(),
        ))
    }
}
