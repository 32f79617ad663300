//! Master duty for alerts: the driver of the delivery engine
//! ([`crate::engine::deliver`]).
//!
//! Runs on every node but acts only while the node holds master duty. It
//! feeds the engine the replicated state on a tick and whenever the state
//! changes, performs what the engine asks (each send in its own task, with
//! a timeout, so a slow receiver delays nothing else; proposals in tasks
//! too) and feeds every send's outcome back. The decisions (order per
//! check and channel, backoff, abandon, reminders) are the engine's. When
//! the node stops being master the engine is dropped; the next term starts
//! a fresh one from the replicated state, and outcomes of the old term's
//! sends are ignored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::cluster::Core;
use crate::engine::deliver::{Action, Deliverer, Now, Outcome};
use crate::metrics::DeliveryOutcome;
use crate::notify::{Notifiers, is_retryable, retry_after};
use crate::state::Mutation;

const TICK: Duration = Duration::from_millis(200);
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A send's outcome, tagged with the term (engine) that started it.
type Done = (u64, u64, Outcome);

fn now() -> Now {
    Now {
        at: Instant::now(),
        wall_ms: crate::state::mutation::now_ms(),
    }
}

pub(crate) async fn run(core: Arc<Core>, notifiers: Notifiers, mut stop: watch::Receiver<bool>) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut engine: Option<Deliverer> = None;
    let mut epoch = 0u64;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut changes = core.consensus.watch_state();
    loop {
        // Wake when the outbox may have grown (a transition was applied),
        // when a send ended, and on a tick for retries that came due.
        let mut actions = Vec::new();
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
            r = changes.changed() => if r.is_err() { return },
            Some((term, id, outcome)) = done_rx.recv() => {
                if let Some(e) = engine.as_mut().filter(|_| term == epoch) {
                    actions = e.on_delivery(id, outcome, now());
                }
            }
        }
        if !core.acting_master() {
            engine = None;
            continue;
        }
        let e = engine.get_or_insert_with(|| {
            epoch += 1;
            Deliverer::default()
        });
        actions.extend(e.on_tick(&core.state(), now()));
        for action in actions {
            perform(&core, &notifiers, &done_tx, epoch, action);
        }
    }
}

fn perform(
    core: &Arc<Core>,
    notifiers: &Notifiers,
    done: &mpsc::UnboundedSender<Done>,
    epoch: u64,
    action: Action,
) {
    match action {
        Action::Send {
            entry_ids,
            channel,
            notification,
        } => {
            let (notifiers, done) = (notifiers.clone(), done.clone());
            tokio::spawn(async move {
                let outcome = match tokio::time::timeout(
                    SEND_TIMEOUT,
                    notifiers.send(&channel, &notification),
                )
                .await
                {
                    Ok(Ok(_)) => Outcome::Delivered,
                    Ok(Err(e)) => Outcome::Failed {
                        retryable: is_retryable(&e),
                        why: e.to_string(),
                        retry_after: retry_after(&e),
                    },
                    Err(_) => Outcome::Failed {
                        retryable: true,
                        why: format!("no answer within {}s", SEND_TIMEOUT.as_secs()),
                        retry_after: None,
                    },
                };
                // A digest's outcome is each of its entries'.
                for id in entry_ids {
                    let _ = done.send((epoch, id, outcome.clone()));
                }
            });
        }
        Action::Propose(m) => {
            let core = core.clone();
            tokio::spawn(async move {
                let what = m.describe();
                let reminder = matches!(
                    m,
                    Mutation::QueueReminder { .. } | Mutation::QueueEscalation { .. }
                );
                if let Err(e) = core.submit(core.command(m)).await {
                    if reminder {
                        tracing::debug!(error = %e, "{what}: not queued");
                    } else {
                        tracing::warn!(error = %e, "{what}: could not record the delivery");
                    }
                }
            });
        }
        Action::Report {
            entry_id,
            channel,
            outcome,
            attempts,
            why,
            retry_in,
        } => {
            core.metrics.delivery(&channel, outcome);
            let why = why.unwrap_or_default();
            match outcome {
                DeliveryOutcome::Delivered => {
                    tracing::info!(alert = entry_id, channel = %channel, "alert delivered");
                }
                DeliveryOutcome::Retry => {
                    let backoff = retry_in.unwrap_or_default();
                    tracing::warn!(alert = entry_id, attempts, error = %why, "alert not delivered; retrying in {backoff:?}");
                }
                DeliveryOutcome::Abandoned => {
                    tracing::error!(alert = entry_id, attempts, error = %why, "alert abandoned");
                }
            }
        }
    }
}
