//! Master duty for alerts: send what the outbox holds, retry what fails,
//! record what was delivered.
//!
//! Runs on every node but acts only while the node holds master duty. Each
//! pending entry is sent by its own task (a slow receiver delays nothing
//! else) with a timeout; a retryable failure backs off (1 s doubling to
//! 30 s, or the receiver's Retry-After), a permanent one is recorded as
//! abandoned with the receiver's answer. The backoff is the master's own
//! memory: a new master starts sending pending entries at once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::cluster::Core;
use crate::metrics::DeliveryOutcome;
use crate::notify::{Notification, Notifiers, expectation, is_retryable, retry_after};
use crate::state::{ClusterState, Mutation, OutboxEntry};

const TICK: Duration = Duration::from_millis(200);
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Retryable failures tolerated before an entry is abandoned (about 1.5 h
/// at the capped backoff).
const MAX_ATTEMPTS: u32 = 200;

#[derive(Debug, Default)]
struct Book {
    in_flight: HashSet<u64>,
    retry: HashMap<u64, (u32, Instant)>,
}

/// The notification for an outbox entry, or why there can be none.
fn notification_for(state: &ClusterState, entry: &OutboxEntry) -> Result<Notification, String> {
    let record = state
        .transitions
        .iter()
        .find(|t| t.seq == entry.transition)
        .ok_or("the transition is no longer retained")?;
    let check = state.checks.get(&record.check_id);
    let kind = check.map_or(crate::state::CheckType::Http, |c| c.kind);
    // A RECOVERED queued for down → unknown → up announces the way back
    // from the DOWN that went out.
    let mut record = record.clone();
    if entry.kind == crate::state::AlertKind::Recovered {
        record.from = crate::state::CheckState::Down;
    }
    let n = Notification::from_transition(&record, kind, check.and_then(expectation))
        .ok_or_else(|| "the transition calls for no alert".to_string())?;
    Ok(match entry.kind {
        // A reminder repeats the DOWN it follows, dated now.
        crate::state::AlertKind::Reminder => n.reminder(crate::trust::now_rfc3339()),
        _ => n,
    })
}

/// Propose a reminder for every check that stays down past its interval.
async fn queue_due_reminders(core: &Core, state: &ClusterState) {
    let now_ms = crate::state::mutation::now_ms();
    for check in state.checks.values() {
        let (Some(remind), Some(rt)) = (check.remind, state.check_states.get(&check.id)) else {
            continue;
        };
        let due = rt.state == crate::state::CheckState::Down
            && rt.alerted_down
            && now_ms.saturating_sub(rt.last_alert_ms) >= crate::state::duration::millis(remind);
        if due {
            let cmd = core.command(Mutation::QueueReminder {
                check_id: check.id.clone(),
            });
            if let Err(e) = core.submit(cmd).await {
                tracing::debug!(check = %check.name, error = %e, "reminder not queued");
            }
        }
    }
}

pub(crate) async fn run(core: Arc<Core>, notifiers: Notifiers, mut stop: watch::Receiver<bool>) {
    let book = Arc::new(Mutex::new(Book::default()));
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut changes = core.consensus.watch_state();
    loop {
        // Wake when the outbox may have grown (a transition was applied),
        // and on a tick for retries that came due.
        tokio::select! {
            _ = stop.changed() => return,
            _ = ticker.tick() => {}
            r = changes.changed() => if r.is_err() { return },
        }
        if !core.acting_master() {
            if let Ok(mut b) = book.lock() {
                b.retry.clear();
            }
            continue;
        }
        let state = core.state();
        queue_due_reminders(&core, &state).await;
        let state = core.state();
        let now = Instant::now();
        for entry in state.outbox.values().filter(|e| e.pending()) {
            {
                let Ok(mut b) = book.lock() else { return };
                if b.in_flight.contains(&entry.id)
                    || b.retry.get(&entry.id).is_some_and(|(_, at)| *at > now)
                {
                    continue;
                }
                b.in_flight.insert(entry.id);
            }
            let channel = state
                .alerts
                .get(&entry.channel)
                .filter(|c| !c.disabled)
                .cloned();
            let label = channel
                .as_ref()
                .map_or_else(|| entry.channel.clone(), |c| c.name.clone());
            let notification = notification_for(&state, entry);
            let (core, notifiers, book, id) =
                (core.clone(), notifiers.clone(), book.clone(), entry.id);
            tokio::spawn(async move {
                let outcome = match (channel, notification) {
                    (None, _) => Err((
                        false,
                        "the channel was removed or disabled".to_string(),
                        None,
                    )),
                    (_, Err(why)) => Err((false, why, None)),
                    (Some(ch), Ok(n)) => {
                        match tokio::time::timeout(SEND_TIMEOUT, notifiers.send(&ch, &n)).await {
                            Ok(Ok(_)) => Ok(ch.name),
                            Ok(Err(e)) => Err((is_retryable(&e), e.to_string(), retry_after(&e))),
                            Err(_) => Err((
                                true,
                                format!("no answer within {}s", SEND_TIMEOUT.as_secs()),
                                None,
                            )),
                        }
                    }
                };
                let mark = match outcome {
                    Ok(name) => {
                        core.metrics.delivery(&label, DeliveryOutcome::Delivered);
                        tracing::info!(alert = id, channel = %name, "alert delivered");
                        Some(None)
                    }
                    Err((retryable, why, after)) => {
                        let attempts = book
                            .lock()
                            .ok()
                            .and_then(|b| b.retry.get(&id).map(|r| r.0))
                            .unwrap_or(0)
                            + 1;
                        if retryable && attempts < MAX_ATTEMPTS {
                            let backoff = after.unwrap_or_else(|| {
                                (Duration::from_secs(1) * 2u32.saturating_pow(attempts.min(5) - 1))
                                    .min(MAX_BACKOFF)
                            });
                            core.metrics.delivery(&label, DeliveryOutcome::Retry);
                            tracing::warn!(alert = id, attempts, error = %why, "alert not delivered; retrying in {backoff:?}");
                            if let Ok(mut b) = book.lock() {
                                b.retry.insert(id, (attempts, Instant::now() + backoff));
                            }
                            None
                        } else {
                            core.metrics.delivery(&label, DeliveryOutcome::Abandoned);
                            tracing::error!(alert = id, error = %why, "alert abandoned");
                            Some(Some(why))
                        }
                    }
                };
                if let Some(failed) = mark {
                    let failed = failed
                        .map(|why| crate::state::fields::cut(&why, crate::aggregate::MAX_DETAIL));
                    let cmd = core.command(Mutation::MarkDelivered { id, failed });
                    if let Err(e) = core.submit(cmd).await {
                        tracing::warn!(alert = id, error = %e, "could not record the delivery");
                    }
                    if let Ok(mut b) = book.lock() {
                        b.retry.remove(&id);
                    }
                }
                if let Ok(mut b) = book.lock() {
                    b.in_flight.remove(&id);
                }
            });
        }
    }
}
