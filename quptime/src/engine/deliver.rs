//! Alert delivery, decided without I/O: what to send next, when to retry,
//! when to give up, and when a reminder is due.
//!
//! The replicated outbox says what must be announced; this engine is the
//! master's own memory of how sending goes (attempts, backoff, what is in
//! flight). Its rules:
//! - **Order.** For one (check, channel) pair at most one entry is in
//!   flight, and the next one (by transition, then queue position) leaves
//!   only once the earlier one is delivered or abandoned. A receiver that
//!   keys on the last message it got therefore never sees a DOWN overtaken
//!   by the RECOVERED before it (or the reverse) after an outage or a
//!   hand-over. Different checks and channels go in parallel.
//! - **Retries.** A retryable failure waits 1 s, doubling to 30 s, or the
//!   receiver's Retry-After; after [`MAX_ATTEMPTS`] failures, or at the
//!   first permanent one, the entry is abandoned with the last answer.
//! - **Reminders.** The rule is [`outbox::reminder_due`], the same one
//!   applying `QueueReminder` asks; none is due inside a maintenance
//!   window.
//! - **Maintenance.** A DOWN decided inside a window is held back by the
//!   state (`CheckRuntime::held`); once no window holds the check at the
//!   wall clock and it is still down, this engine proposes `ReleaseHeld`,
//!   which queues that DOWN, once (applying asks the same rule with the
//!   proposer's time). A parent that is down holds a DOWN the same way
//!   (`state::depends`).
//! - **Flapping.** `engine::flap` proposes `SetFlapping` as `state::flap`
//!   says; the FLAPPING notice is an outbox entry like any other.
//! - **Escalation.** `engine::escalate` proposes `QueueEscalation` as
//!   `state::escalate` says; the target's entry is like any other.
//! - **Storm digest.** The free heads of a channel's pairs that are DOWNs
//!   (or RECOVEREDs) gather briefly and, when more than the channel's
//!   threshold, leave as one message (`engine::digest`); each entry is
//!   still marked on its own.
//!
//! The book is the master's alone: a new master builds a fresh engine and
//! sends every pending entry at once (delivery is at least once).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, UNIX_EPOCH};

use super::digest;
use crate::metrics::DeliveryOutcome;
use crate::notify::{Notification, expectation};
use crate::state::{
    AlertChannel, AlertKind, CheckType, ClusterState, Mutation, OutboxEntry, TransitionRecord,
    outbox,
};

/// The first retry waits this long; each next one twice as long.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts (without Retry-After).
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Retryable failures tolerated before an entry is abandoned (about 1.5 h
/// at the capped backoff).
pub(crate) const MAX_ATTEMPTS: u32 = 200;
/// A proposal (a delivery mark, a reminder) that has not shown in the
/// state after this long is proposed again: the first may have been lost.
pub(crate) const REPROPOSE_AFTER: Duration = Duration::from_secs(10);

/// The time, passed in: the monotonic clock for backoff, the wall clock
/// (ms since the epoch) for reminders and the dates alerts carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) at: Instant,
    pub(crate) wall_ms: u64,
}

/// How one send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The receiver accepted it.
    Delivered,
    /// It did not; `retryable` says whether trying again can help.
    Failed {
        retryable: bool,
        why: String,
        retry_after: Option<Duration>,
    },
}

/// What the driver is to do.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// Send `notification` on `channel` and report the outcome with
    /// [`Deliverer::on_delivery`].
    /// (More than one entry: a storm digest, `engine::digest`; report
    /// the outcome for each.)
    Send {
        entry_ids: Vec<u64>,
        channel: AlertChannel,
        notification: Notification,
    },
    /// Propose this mutation (`MarkDelivered`, `QueueReminder`).
    Propose(Mutation),
    /// Count and log an attempt's fate.
    Report {
        entry_id: u64,
        /// The channel's name (its id if it is gone).
        channel: String,
        outcome: DeliveryOutcome,
        /// Failed attempts so far.
        attempts: u32,
        /// Why it failed, for a retry or an abandon.
        why: Option<String>,
        /// For a retry: when the next attempt starts.
        retry_in: Option<Duration>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Retry {
    attempts: u32,
    next: Instant,
}

/// The delivery engine of one master term.
#[derive(Debug, Default)]
pub(crate) struct Deliverer {
    /// Failed attempts and when the next may start, by entry.
    retry: HashMap<u64, Retry>,
    /// Entries being sent, with their channel's name.
    in_flight: HashMap<u64, String>,
    /// Entries whose fate is known and proposed but not yet committed: the
    /// mark and when it was proposed. They no longer hold their pair back.
    settled: HashMap<u64, (Option<String>, Instant)>,
    /// Reminders proposed: check id → the `last_alert_ms` they follow,
    /// and when.
    reminders: HashMap<String, (u64, Instant)>,
    /// Held DOWNs whose release was proposed, and when.
    releases: HashMap<String, Instant>,
    /// Flap changes proposed (`engine::flap`).
    flaps: super::flap::FlapBook,
    /// Escalations proposed (`engine::escalate`).
    escalations: super::escalate::EscalationBook,
    /// When each gathering digest candidate was first seen.
    seen: digest::Seen,
}

/// The notice a monitor entry announces: its reason and time from the
/// health on record when that is still the change it announces (a later
/// change keeps only its own), `None` when no health is on record.
fn monitor_notice(state: &ClusterState, entry: &OutboxEntry, now: Now) -> Option<Notification> {
    let m = state.monitor.as_ref()?;
    let degraded = entry.kind == crate::state::AlertKind::MonitorDegraded;
    let (reason, time) = if m.seq == entry.transition {
        (m.reason.as_str(), m.since_ms)
    } else {
        ("", now.wall_ms)
    };
    Some(Notification::monitor(
        degraded,
        entry.transition,
        reason,
        &m.master,
        rfc3339(time),
    ))
}

/// The wait after `attempts` failures without Retry-After.
pub(crate) fn backoff(attempts: u32) -> Duration {
    (FIRST_BACKOFF * 2u32.saturating_pow(attempts.clamp(1, 6) - 1)).min(MAX_BACKOFF)
}

impl Deliverer {
    /// What to do now: reminders that came due, marks to propose again,
    /// and the next entry of every (check, channel) pair that is free.
    pub(crate) fn on_tick(&mut self, state: &ClusterState, now: Now) -> Vec<Action> {
        let mut out = Vec::new();
        self.reminders_due(state, now, &mut out);
        self.releases_due(state, now, &mut out);
        out.extend(self.flaps.due(state, now).into_iter().map(Action::Propose));
        out.extend(
            self.escalations
                .due(state, now)
                .into_iter()
                .map(Action::Propose),
        );
        self.forget_committed(state, now, &mut out);
        let records: HashMap<u64, _> = state.transitions.iter().map(|t| (t.seq, t)).collect();
        // Pending entries by (check, channel), in transition order.
        let mut pairs: BTreeMap<(&str, &str), Vec<&OutboxEntry>> = BTreeMap::new();
        for entry in state.outbox.values().filter(|e| e.pending()) {
            if entry.kind.is_monitor() {
                // The monitor's notices form their own pair per channel
                // (no check id is empty), in order like any other.
                pairs
                    .entry(("", entry.channel.as_str()))
                    .or_default()
                    .push(entry);
                continue;
            }
            match records.get(&entry.transition) {
                Some(t) => pairs
                    .entry((t.check_id.as_str(), entry.channel.as_str()))
                    .or_default()
                    .push(entry),
                None if !self.busy(entry.id) => {
                    let why = "the transition is no longer retained";
                    self.abandon(entry.id, entry.channel.clone(), why, now, &mut out);
                }
                None => {}
            }
        }
        // The head of every free pair, to send now or to gather.
        let mut ready: Vec<(&OutboxEntry, &AlertChannel)> = Vec::new();
        for entries in pairs.values_mut() {
            entries.sort_by_key(|e| (e.transition, e.id));
            for entry in entries.iter() {
                if self.settled.contains_key(&entry.id) {
                    continue;
                }
                if self.in_flight.contains_key(&entry.id)
                    || self.retry.get(&entry.id).is_some_and(|r| r.next > now.at)
                {
                    break;
                }
                let Some(channel) = state.alerts.get(&entry.channel).filter(|c| !c.disabled) else {
                    let why = "the channel was removed or disabled";
                    self.abandon(entry.id, entry.channel.clone(), why, now, &mut out);
                    continue;
                };
                ready.push((entry, channel));
                break;
            }
        }
        // DOWNs and RECOVEREDs of a channel with the digest on gather by
        // (channel, kind) (`engine::digest`); the others leave now.
        let mut groups: BTreeMap<(&str, bool), Vec<&OutboxEntry>> = BTreeMap::new();
        for (entry, channel) in ready {
            if digest::digestible(entry.kind) && digest::threshold(channel) > 0 {
                let key = (channel.id.as_str(), entry.kind == AlertKind::Down);
                groups.entry(key).or_default().push(entry);
            } else {
                self.send(state, &records, entry, channel, now, &mut out);
            }
        }
        let gathered: HashSet<u64> = groups.values().flatten().map(|e| e.id).collect();
        // A digest being sent or waiting to retry keeps its time: its
        // retry leaves as a digest again without gathering anew.
        let (in_flight, retry) = (&self.in_flight, &self.retry);
        self.seen.retain(|id| {
            gathered.contains(&id) || in_flight.contains_key(&id) || retry.contains_key(&id)
        });
        for ((channel_id, _), mut entries) in groups {
            entries.sort_by_key(|e| e.id);
            let channel = &state.alerts[channel_id];
            let ids: Vec<u64> = entries.iter().map(|e| e.id).collect();
            let seen = self.seen.note(&ids, now.at);
            match digest::plan(ids, &seen, digest::threshold(channel), now.at) {
                digest::Plan::Gather => {}
                digest::Plan::Each(_) => {
                    for entry in entries {
                        self.send(state, &records, entry, channel, now, &mut out);
                    }
                }
                digest::Plan::Digest(_) => {
                    self.send_digest(state, &records, &entries, channel, now, &mut out);
                }
            }
        }
        out
    }

    /// The notification `entry` stands for.
    fn notification(
        state: &ClusterState,
        records: &HashMap<u64, &TransitionRecord>,
        entry: &OutboxEntry,
        now: Now,
    ) -> Notification {
        let record = records[&entry.transition];
        let check = state.checks.get(&record.check_id);
        let notification = Notification::announcing(
            entry.kind,
            record,
            check.map_or(CheckType::Http, |c| c.kind()),
            check.and_then(expectation),
            &rfc3339(now.wall_ms),
        )
        // The incident key: the DOWN's seq (older entries: their own).
        .with_incident(&record.check_id, entry.incident.unwrap_or(entry.transition));
        match entry.kind {
            // What the nodes saw when it became degraded.
            AlertKind::Degraded => notification.with_evidence(
                state
                    .check_states
                    .get(&record.check_id)
                    .map(|r| r.degraded_votes.clone())
                    .unwrap_or_default(),
            ),
            _ => notification,
        }
    }

    /// Send `entry` on its own.
    fn send(
        &mut self,
        state: &ClusterState,
        records: &HashMap<u64, &TransitionRecord>,
        entry: &OutboxEntry,
        channel: &AlertChannel,
        now: Now,
        out: &mut Vec<Action>,
    ) {
        let notification = if entry.kind.is_monitor() {
            // The monitor's notices stand for no transition.
            let Some(n) = monitor_notice(state, entry, now) else {
                let why = "the monitor's health is not on record";
                self.abandon(entry.id, entry.channel.clone(), why, now, out);
                return;
            };
            n
        } else {
            Self::notification(state, records, entry, now)
        };
        self.in_flight.insert(entry.id, channel.name.clone());
        out.push(Action::Send {
            entry_ids: vec![entry.id],
            channel: channel.clone(),
            notification,
        });
    }

    /// Send `entries` (one channel, one kind) as one digest.
    fn send_digest(
        &mut self,
        state: &ClusterState,
        records: &HashMap<u64, &TransitionRecord>,
        entries: &[&OutboxEntry],
        channel: &AlertChannel,
        now: Now,
        out: &mut Vec<Action>,
    ) {
        let each: Vec<Notification> = entries
            .iter()
            .map(|e| Self::notification(state, records, e, now))
            .collect();
        let notification = digest::combine(&each, &rfc3339(now.wall_ms));
        for e in entries {
            self.in_flight.insert(e.id, channel.name.clone());
        }
        out.push(Action::Send {
            entry_ids: entries.iter().map(|e| e.id).collect(),
            channel: channel.clone(),
            notification,
        });
    }

    /// A send of `entry_id` ended with `outcome`. Outcomes of sends this
    /// engine did not start (an earlier term's) are ignored.
    pub(crate) fn on_delivery(&mut self, entry_id: u64, outcome: Outcome, now: Now) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(channel) = self.in_flight.remove(&entry_id) else {
            return out;
        };
        match outcome {
            Outcome::Delivered => {
                let attempts = self.retry.remove(&entry_id).map_or(0, |r| r.attempts);
                self.settle(entry_id, None, now, &mut out);
                out.push(Action::Report {
                    entry_id,
                    channel,
                    outcome: DeliveryOutcome::Delivered,
                    attempts,
                    why: None,
                    retry_in: None,
                });
            }
            Outcome::Failed {
                retryable,
                why,
                retry_after,
            } => {
                let attempts = self.retry.get(&entry_id).map_or(0, |r| r.attempts) + 1;
                if retryable && attempts < MAX_ATTEMPTS {
                    let wait = retry_after.unwrap_or_else(|| backoff(attempts));
                    let next = now.at + wait;
                    self.retry.insert(entry_id, Retry { attempts, next });
                    out.push(Action::Report {
                        entry_id,
                        channel,
                        outcome: DeliveryOutcome::Retry,
                        attempts,
                        why: Some(why),
                        retry_in: Some(wait),
                    });
                } else {
                    self.retry.remove(&entry_id);
                    self.abandon(entry_id, channel, &why, now, &mut out);
                    if let Some(Action::Report { attempts: a, .. }) = out.last_mut() {
                        *a = attempts;
                    }
                }
            }
        }
        out
    }

    /// Whether the engine holds `id` (in flight or settled).
    fn busy(&self, id: u64) -> bool {
        self.in_flight.contains_key(&id) || self.settled.contains_key(&id)
    }

    fn abandon(&mut self, id: u64, channel: String, why: &str, now: Now, out: &mut Vec<Action>) {
        let why = crate::state::fields::cut(why, crate::aggregate::MAX_DETAIL);
        self.settle(id, Some(why.clone()), now, out);
        out.push(Action::Report {
            entry_id: id,
            channel,
            outcome: DeliveryOutcome::Abandoned,
            attempts: 0,
            why: Some(why),
            retry_in: None,
        });
    }

    fn settle(&mut self, id: u64, failed: Option<String>, now: Now, out: &mut Vec<Action>) {
        out.push(Action::Propose(Mutation::MarkDelivered {
            id,
            failed: failed.clone(),
        }));
        self.settled.insert(id, (failed, now.at));
    }

    /// Drop what the state shows done; propose again marks that have not
    /// shown up for a while.
    fn forget_committed(&mut self, state: &ClusterState, now: Now, out: &mut Vec<Action>) {
        let pending = |id: &u64| state.outbox.get(id).is_some_and(|e| e.pending());
        self.retry.retain(|id, _| pending(id));
        self.settled.retain(|id, _| pending(id));
        for (id, (failed, at)) in &mut self.settled {
            if now.at.saturating_duration_since(*at) >= REPROPOSE_AFTER {
                *at = now.at;
                out.push(Action::Propose(Mutation::MarkDelivered {
                    id: *id,
                    failed: failed.clone(),
                }));
            }
        }
    }

    /// Propose a reminder for every check that stays down past its
    /// interval, once per due reminder (again only if it did not commit).
    fn reminders_due(&mut self, state: &ClusterState, now: Now, out: &mut Vec<Action>) {
        self.reminders.retain(|id, (last, _)| {
            state
                .check_states
                .get(id)
                .is_some_and(|rt| rt.last_alert_ms == *last)
        });
        for check in state.checks.values() {
            let rt = state.check_states.get(&check.id);
            if !outbox::reminder_due(check, rt, now.wall_ms)
                || state.in_maintenance(&check.id, now.wall_ms).is_some()
            {
                continue;
            }
            let last = rt.map_or(0, |r| r.last_alert_ms);
            if self.reminders.get(&check.id).is_some_and(|(l, at)| {
                *l == last && now.at.saturating_duration_since(*at) < REPROPOSE_AFTER
            }) {
                continue;
            }
            self.reminders.insert(check.id.clone(), (last, now.at));
            out.push(Action::Propose(Mutation::QueueReminder {
                check_id: check.id.clone(),
            }));
        }
    }
}

impl Deliverer {
    /// Propose the release of every held DOWN whose windows are over while
    /// its check is still down (again only if it did not commit).
    fn releases_due(&mut self, state: &ClusterState, now: Now, out: &mut Vec<Action>) {
        let held = |id: &str| {
            state
                .check_states
                .get(id)
                .is_some_and(|r| r.held && r.state == crate::state::CheckState::Down)
        };
        self.releases.retain(|id, _| held(id));
        for id in state.checks.keys() {
            if !held(id) || state.holds_back(id, now.wall_ms) {
                continue;
            }
            if self
                .releases
                .get(id)
                .is_some_and(|at| now.at.saturating_duration_since(*at) < REPROPOSE_AFTER)
            {
                continue;
            }
            self.releases.insert(id.clone(), now.at);
            out.push(Action::Propose(Mutation::ReleaseHeld {
                check_id: id.clone(),
            }));
        }
    }
}

/// `ms` since the epoch as RFC 3339 UTC to the second.
fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}
