//! Master duty for checks: stream every member's probe results to the
//! master, and drive the evaluation engine ([`crate::engine::evaluate`]).
//!
//! Every node runs the [`crate::schedule`] scheduler; the reporter batches
//! its observations and streams them to the master, tagged with the term it
//! believes in. The master names the sender from its TLS key, never from
//! the message, and hands the batch to the engine with the time of arrival
//! (the engine drops results of another term and does not count
//! non-voters'). The evaluator task ticks the engine while this node holds
//! master duty and commits the transitions it proposes. The rules (warm-up,
//! cadence, hysteresis, following the agreed state) are the engine's; a
//! new master builds a fresh engine from the replicated check states, and
//! the engine is dropped when duty ends.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::cluster::Core;
use crate::consensus::no_quorum;
pub use crate::engine::evaluate::Summary;
use crate::engine::evaluate::{Action, Evaluator, Heard};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::probe::ProbeResult;
use crate::schedule::Observation;
use crate::transport::Rpc;

/// How often the evaluator looks for due checks.
const TICK: Duration = Duration::from_millis(200);
/// How long results are gathered before a batch is sent.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

/// A node sends its latest results to the master.
#[derive(Debug)]
pub enum ReportRpc {}
impl Rpc for ReportRpc {
    const METHOD: &'static str = "checks.report";
    type Request = ReportBatch;
    type Response = ();
}

/// Results of one node, for one term.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportBatch {
    /// The term of the master the sender reports to.
    pub term: u64,
    /// `(check id, result)`.
    pub results: Vec<(String, ProbeResult)>,
    /// Why the sender abstains (its connectivity canary fails), if it
    /// does (older nodes never say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abstain: Option<String>,
}

/// A follower asks the master for the live per-check tallies (for status).
#[derive(Debug)]
pub enum SummaryRpc {}
impl Rpc for SummaryRpc {
    const METHOD: &'static str = "checks.summary";
    type Request = ();
    type Response = HashMap<String, Summary>;
}

impl Core {
    /// Record `from`'s results (master only).
    pub(crate) fn record_results(&self, from: &NodeId, batch: ReportBatch) -> Result<()> {
        if !self.acting_master() {
            return Err(no_quorum("this node is not the master"));
        }
        let mut guard = self
            .verdicts
            .lock()
            .map_err(|_| Error::internal("verdict lock"))?;
        let Some(engine) = guard.as_mut() else {
            return Err(no_quorum("this node is not the master yet"));
        };
        let voters: BTreeSet<NodeId> = self.consensus.view().voters.into_keys().collect();
        let heard = engine.on_batch(
            from,
            batch.term,
            batch.results,
            batch.abstain,
            &voters,
            Instant::now(),
        );
        // Results reach the master: that is part of being live (learners
        // too), though only voters' results count in verdicts.
        if heard != Heard::OtherTerm {
            self.liveness.record_results(from);
        }
        Ok(())
    }

    /// Live tallies per check: from the local aggregator on the master,
    /// else asked from the master (empty if it cannot be reached quickly).
    pub(crate) async fn summaries(&self) -> HashMap<String, Summary> {
        if let Some(s) = self.local_summaries() {
            return s;
        }
        let Ok((leader, member)) = self.leader() else {
            return HashMap::new();
        };
        let ask = async {
            let conn = self.pool.get(&leader, &member).await?;
            conn.call_with_timeout::<SummaryRpc>(&(), Duration::from_millis(500))
                .await
        };
        tokio::time::timeout(Duration::from_secs(1), ask)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default()
    }

    pub(crate) fn local_summaries(&self) -> Option<HashMap<String, Summary>> {
        let guard = self.verdicts.lock().ok()?;
        let engine = guard.as_ref()?;
        let members: BTreeSet<NodeId> = self.consensus.view().voters.into_keys().collect();
        Some(engine.summaries(&self.state(), &members, Instant::now()))
    }

    /// One evaluator pass while master: returns the transitions to commit.
    fn evaluate_due(&self) -> Vec<Action> {
        let state = self.state();
        let view = self.consensus.view();
        let members: BTreeSet<NodeId> = view.voters.keys().cloned().collect();
        let Ok(mut guard) = self.verdicts.lock() else {
            return Vec::new();
        };
        let engine = guard.get_or_insert_with(|| {
            tracing::info!(term = view.term, "master duty: evaluating checks");
            Evaluator::new(&state, view.term, Instant::now())
        });
        let now = Instant::now();
        let mut actions = engine.on_tick(&state, &members, now);
        actions.extend(engine.on_push_tick(&state, self.me(), now));
        actions
    }
}

/// Evaluate checks while this node is master; commit what changes.
pub(crate) async fn run_evaluator(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
        }
        if !core.acting_master() {
            if let Ok(mut g) = core.verdicts.lock()
                && g.take().is_some()
            {
                tracing::info!("master duty ended: stopped evaluating checks");
            }
            continue;
        }
        for Action::Propose(m) in core.evaluate_due() {
            let what = m.describe();
            // The monitor's health is new in level 6: while an older member
            // could not apply it, it is not proposed (checks still go
            // unknown; only the notice waits for the upgrade).
            if let Err(e) = core.check_levels(&m) {
                tracing::warn!(error = %e, "not proposing {what}");
                continue;
            }
            match core.submit(core.command(m)).await {
                Ok(_) => tracing::info!("{what}"),
                Err(e) => tracing::warn!(error = %e, "could not commit {what}"),
            }
        }
    }
}

/// Stream this node's observations to the master in small batches.
pub(crate) async fn run_reporter(
    core: Arc<Core>,
    mut rx: mpsc::Receiver<Observation>,
    mut stop: watch::Receiver<bool>,
) {
    // With nothing to report, an empty batch still goes out this often:
    // the master counts a member live only while its results arrive.
    let keepalive = core.liveness.every();
    loop {
        let first = tokio::select! {
            _ = stop.changed() => return,
            o = rx.recv() => match o { Some(o) => Some(o), None => return },
            _ = tokio::time::sleep(keepalive) => None,
        };
        let mut results: Vec<(String, ProbeResult)> =
            first.into_iter().map(|o| (o.check_id, o.result)).collect();
        let window = tokio::time::sleep(BATCH_WINDOW);
        tokio::pin!(window);
        while !results.is_empty() && results.len() < 1000 {
            tokio::select! {
                _ = &mut window => break,
                o = rx.recv() => match o {
                    Some(o) => results.push((o.check_id, o.result)),
                    None => break,
                },
            }
        }
        for (check, r) in &results {
            core.record_probe(check, r);
        }
        core.keep_results(&results);
        let term = core.consensus.view().term;
        let abstain = core.abstain_reason();
        let batch = ReportBatch {
            term,
            results,
            abstain,
        };
        if let Err(e) = deliver(&core, batch).await {
            tracing::debug!(error = %e, "results not delivered to the master");
        }
    }
}

async fn deliver(core: &Core, batch: ReportBatch) -> Result<()> {
    if core.acting_master() {
        return core.record_results(core.me(), batch);
    }
    let (leader, member) = core.leader()?;
    if leader == *core.me() {
        return Err(Error::new(
            ErrorKind::NoQuorum,
            "this node leads but holds no lease",
        ));
    }
    let conn = core.pool.get(&leader, &member).await?;
    let res = conn
        .call_with_timeout::<ReportRpc>(&batch, Duration::from_secs(2))
        .await;
    match &res {
        Ok(()) => core.liveness.record_delivered(&leader),
        Err(_) => core.pool.drop_conn(&leader),
    }
    res
}
