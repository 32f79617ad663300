//! Unit tests of the delivery engine, with virtual time: a simulated
//! receiver answers every send one 100 ms step later, newest first (so
//! sends that were allowed to overlap would overtake each other), and every
//! proposal is applied to the state at once by the real `apply`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::deliver::{Action, Deliverer, MAX_ATTEMPTS, Now, Outcome};
use crate::identity::NodeId;
use crate::notify::{Notification, NotificationKind};
use crate::state::{
    AlertChannel, Check, CheckState, CheckType, ClusterState, Command, Mutation, OutboxEntry,
};

const STEP: Duration = Duration::from_millis(100);
const WALL0: u64 = 1_750_000_000_000;

pub(super) type Answer = Box<dyn FnMut(&str, &Notification, Duration) -> Outcome>;

/// One attempt the receiver saw: when, on which channel, about what.
#[derive(Debug, Clone)]
pub(super) struct Attempt {
    pub(super) at: Duration,
    pub(super) channel: String,
    pub(super) check: String,
    pub(super) kind: NotificationKind,
    pub(super) incident: Option<String>,
    pub(super) delivered: bool,
}

pub(super) struct Sim {
    pub(super) state: ClusterState,
    pub(super) engine: Deliverer,
    t0: Instant,
    pub(super) elapsed: Duration,
    wire: Vec<(Vec<u64>, AlertChannel, Notification)>,
    answer: Answer,
    pub(super) attempts: Vec<Attempt>,
    /// What each attempt said, in the same order.
    pub(super) sent: Vec<Notification>,
    /// The wall clock at `t0` (ms since the epoch).
    pub(super) wall0: u64,
}

fn node(s: &str) -> NodeId {
    NodeId::new(s).expect("id")
}

/// A webhook channel with the storm digest off: these tests time single
/// sends to the step, and the digest's gathering has tests of its own
/// (`digest_tests.rs`, which use [`channel_with`]).
fn channel(id: &str) -> AlertChannel {
    channel_with(id, &[("digest_threshold", "0")])
}

pub(super) fn channel_with(id: &str, extra: &[(&str, &str)]) -> AlertChannel {
    let mut settings: std::collections::BTreeMap<String, String> =
        [("url".to_string(), format!("http://127.0.0.1:9/{id}"))]
            .into_iter()
            .collect();
    for (k, v) in extra {
        settings.insert(k.to_string(), v.to_string());
    }
    AlertChannel {
        id: id.into(),
        name: id.into(),
        kind: "webhook".into(),
        default: true,
        disabled: false,
        settings,
    }
}

pub(super) fn check(id: &str) -> Check {
    Check {
        id: id.into(),
        name: id.into(),
        target: "db.internal:5432".into(),
        ..Check::blank(CheckType::Tcp)
    }
}

pub(super) fn accept() -> Answer {
    Box::new(|_, _, _| Outcome::Delivered)
}

fn fail(retryable: bool, why: &str) -> Outcome {
    Outcome::Failed {
        retryable,
        why: why.into(),
        retry_after: None,
    }
}

impl Sim {
    pub(super) fn new(channels: &[&str], checks: Vec<Check>, answer: Answer) -> Sim {
        let mut sim = Sim {
            state: ClusterState::default(),
            engine: Deliverer::default(),
            t0: Instant::now(),
            elapsed: Duration::ZERO,
            wire: Vec::new(),
            answer,
            attempts: Vec::new(),
            sent: Vec::new(),
            wall0: WALL0,
        };
        for c in channels {
            sim.apply(Mutation::AddAlert { alert: channel(c) })
                .expect("channel");
        }
        for c in checks {
            let id = c.id.clone();
            sim.apply(Mutation::AddCheck { check: c }).expect("check");
            // unknown → up: silent.
            sim.transition(&id, CheckState::Unknown, CheckState::Up);
        }
        assert!(sim.state.outbox.is_empty());
        sim
    }

    pub(super) fn now(&self) -> Now {
        Now {
            at: self.t0 + self.elapsed,
            wall_ms: self.wall0 + self.elapsed.as_millis() as u64,
        }
    }

    pub(super) fn apply(&mut self, m: Mutation) -> Result<(), String> {
        let cmd = Command {
            at_ms: self.now().wall_ms,
            ..Command::new(node("a"), m)
        };
        self.state.apply(&cmd).map(|_| ()).map_err(|e| e.message)
    }

    pub(super) fn transition(&mut self, check: &str, from: CheckState, to: CheckState) {
        self.apply(Mutation::RecordTransition {
            check_id: check.into(),
            from,
            to,
            term: 1,
            evidence: vec![],
        })
        .expect("transition");
    }

    fn perform(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send {
                    entry_ids,
                    channel,
                    notification,
                } => {
                    let pair = (notification.check.clone(), channel.name.clone());
                    assert!(
                        !self
                            .wire
                            .iter()
                            .any(|(_, c, n)| (n.check.clone(), c.name.clone()) == pair),
                        "two entries of {pair:?} in flight at {:?}",
                        self.elapsed
                    );
                    self.wire.push((entry_ids, channel, notification));
                }
                Action::Propose(m) => {
                    // A reminder proposed but no longer due is refused, as
                    // on a real node; anything else must apply.
                    let reminder = matches!(
                        m,
                        Mutation::QueueReminder { .. } | Mutation::QueueEscalation { .. }
                    );
                    if let Err(e) = self.apply(m) {
                        assert!(reminder, "proposal refused: {e}");
                    }
                }
                Action::Report { .. } => {}
            }
        }
    }

    /// One step: answer what is on the wire (newest first), then tick.
    fn step(&mut self) {
        let wire = std::mem::take(&mut self.wire);
        for (ids, ch, n) in wire.into_iter().rev() {
            let outcome = (self.answer)(&ch.name, &n, self.elapsed);
            self.attempts.push(Attempt {
                at: self.elapsed,
                channel: ch.name.clone(),
                check: n.check.clone(),
                kind: n.kind,
                incident: n.incident.clone(),
                delivered: outcome == Outcome::Delivered,
            });
            self.sent.push(n.clone());
            for id in ids {
                let actions = self.engine.on_delivery(id, outcome.clone(), self.now());
                self.perform(actions);
            }
        }
        let actions = self.engine.on_tick(&self.state, self.now());
        self.perform(actions);
        self.elapsed += STEP;
    }

    pub(super) fn run_for(&mut self, d: Duration) {
        let end = self.elapsed + d;
        while self.elapsed < end {
            self.step();
        }
    }

    /// Every send attempted, as (kind, incident key).
    pub(super) fn sent_with_incident(&self) -> Vec<(NotificationKind, Option<String>)> {
        self.attempts
            .iter()
            .map(|a| (a.kind, a.incident.clone()))
            .collect()
    }

    /// What the receiver accepted, as (check, kind).
    pub(super) fn delivered(&self) -> Vec<(String, NotificationKind)> {
        self.attempts
            .iter()
            .filter(|a| a.delivered)
            .map(|a| (a.check.clone(), a.kind))
            .collect()
    }

    fn entries(&self) -> Vec<OutboxEntry> {
        self.state.outbox.values().cloned().collect()
    }
}

#[test]
fn a_receiver_failing_then_recovering_gets_the_alert_once_with_backoff() {
    let until = Duration::from_secs(10);
    let answer: Answer = Box::new(move |_, _, at| {
        if at < until {
            fail(true, "webhook: 500 Internal Server Error")
        } else {
            Outcome::Delivered
        }
    });
    let mut sim = Sim::new(&["hook"], vec![check("c1")], answer);
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.run_for(Duration::from_secs(40));
    let times: Vec<u64> = sim
        .attempts
        .iter()
        .map(|a| a.at.as_millis() as u64)
        .collect();
    // Sent at 0 (answered at 100 ms), then 1 s, 2 s, 4 s, 8 s after each
    // failure: the fifth attempt is the first after the outage.
    assert_eq!(times, vec![100, 1200, 3300, 7400, 15500]);
    assert_eq!(
        sim.delivered(),
        vec![("c1".to_string(), NotificationKind::Down)]
    );
    assert!(sim.entries()[0].delivered_at.is_some(), "delivery recorded");
}

#[test]
fn backoff_doubles_to_thirty_seconds_or_follows_retry_after() {
    use super::deliver::backoff;
    let waits: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    let mut e = Deliverer::default();
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    sim.transition("c1", CheckState::Up, CheckState::Down);
    let now = sim.now();
    let sent = e.on_tick(&sim.state, now);
    assert!(matches!(sent.as_slice(), [Action::Send { .. }]), "{sent:?}");
    let out = Outcome::Failed {
        retryable: true,
        why: "discord: 429 rate limited, retry after 7s".into(),
        retry_after: Some(Duration::from_secs(7)),
    };
    e.on_delivery(1, out, now);
    let at = |s: u64| Now {
        at: now.at + Duration::from_millis(s),
        ..now
    };
    assert!(e.on_tick(&sim.state, at(6_900)).is_empty(), "waits 7 s");
    assert_eq!(e.on_tick(&sim.state, at(7_000)).len(), 1, "then sends");
}

#[test]
fn queued_down_and_recovered_leave_in_transition_order_after_an_outage_and_a_hand_over() {
    let open_at = Duration::from_secs(20);
    let answer: Answer = Box::new(move |_, _, at| {
        if at < open_at {
            fail(true, "webhook: 503 Service Unavailable")
        } else {
            Outcome::Delivered
        }
    });
    let mut sim = Sim::new(&["hook"], vec![check("c1")], answer);
    // During the outage: DOWN, RECOVERED, DOWN again, each with its own
    // retry history.
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.run_for(Duration::from_secs(5));
    sim.transition("c1", CheckState::Down, CheckState::Up);
    sim.run_for(Duration::from_secs(3));
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.run_for(Duration::from_secs(4));
    // A hand-over: the new master's engine knows only the replicated state.
    sim.engine = Deliverer::default();
    sim.wire.clear();
    sim.run_for(Duration::from_secs(60));
    use NotificationKind::*;
    let c1 = |k| ("c1".to_string(), k);
    assert_eq!(sim.delivered(), vec![c1(Down), c1(Recovered), c1(Down)]);
    // Only the oldest entry was ever attempted during the outage.
    let kinds: HashSet<NotificationKind> = sim
        .attempts
        .iter()
        .filter(|a| a.at < open_at)
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, [Down].into_iter().collect());
    assert!(sim.entries().iter().all(|e| e.delivered_at.is_some()));
}

#[test]
fn a_rebuilt_engine_resends_only_what_is_pending() {
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.run_for(Duration::from_secs(2));
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(2));
    sim.transition("c1", CheckState::Down, CheckState::Unknown);
    sim.transition("c1", CheckState::Unknown, CheckState::Up);
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(2));
    use NotificationKind::*;
    let c1 = |k| ("c1".to_string(), k);
    assert_eq!(sim.delivered(), vec![c1(Down), c1(Recovered)]);
    // Two rebuilds, three engines: each entry was sent exactly once.
    assert_eq!(sim.attempts.len(), 2, "{:?}", sim.attempts);
    // An outcome for a send the new engine did not start changes nothing.
    assert!(
        sim.engine
            .on_delivery(1, Outcome::Delivered, sim.now())
            .is_empty()
    );
}

#[test]
fn a_recovered_says_down_to_up_whatever_the_path() {
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.transition("c1", CheckState::Down, CheckState::Unknown);
    sim.transition("c1", CheckState::Unknown, CheckState::Up);
    let mut sent = Vec::new();
    for _ in 0..4 {
        let acts = sim.engine.on_tick(&sim.state, sim.now());
        for a in &acts {
            if let Action::Send {
                entry_ids,
                notification,
                ..
            } = a
            {
                sent.push(notification.clone());
                for id in entry_ids {
                    let acts = sim.engine.on_delivery(*id, Outcome::Delivered, sim.now());
                    sim.perform(acts);
                }
            }
        }
    }
    let said: Vec<_> = sent.iter().map(|n| (n.kind, n.from, n.to)).collect();
    use CheckState::*;
    assert_eq!(
        said,
        vec![
            (NotificationKind::Down, Some(Up), Some(Down)),
            (NotificationKind::Recovered, Some(Down), Some(Up)),
        ]
    );
}

#[test]
fn reminders_go_out_at_their_period() {
    let mut c = check("c1");
    c.remind = Some(Duration::from_secs(60));
    let mut sim = Sim::new(&["hook"], vec![c], accept());
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.run_for(Duration::from_secs(200));
    sim.transition("c1", CheckState::Down, CheckState::Up);
    sim.run_for(Duration::from_secs(200));
    let got: Vec<(u64, NotificationKind)> = sim
        .attempts
        .iter()
        .map(|a| (a.at.as_secs(), a.kind))
        .collect();
    use NotificationKind::*;
    assert_eq!(
        got,
        vec![
            (0, Down),
            (60, Reminder),
            (120, Reminder),
            (180, Reminder),
            (200, Recovered)
        ]
    );
    // One QueueReminder per period reached the state: three reminders.
    let reminders = sim
        .entries()
        .iter()
        .filter(|e| e.kind == crate::state::AlertKind::Reminder)
        .count();
    assert_eq!(reminders, 3);
}

#[test]
fn a_permanent_failure_is_abandoned_and_frees_the_next_entry() {
    let answer: Answer = Box::new(|_, n, _| match n.kind {
        NotificationKind::Down => fail(false, "webhook: 404 Not Found"),
        _ => Outcome::Delivered,
    });
    let mut sim = Sim::new(&["hook"], vec![check("c1")], answer);
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.transition("c1", CheckState::Down, CheckState::Up);
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.attempts.len(), 2, "{:?}", sim.attempts);
    let entries = sim.entries();
    assert_eq!(entries[0].failed.as_deref(), Some("webhook: 404 Not Found"));
    assert!(entries[1].delivered_at.is_some());
}

#[test]
fn a_failure_that_never_ends_is_abandoned_after_max_attempts() {
    let answer: Answer = Box::new(|_, _, _| Outcome::Failed {
        retryable: true,
        why: "webhook: 500 Internal Server Error".into(),
        retry_after: Some(Duration::from_millis(100)),
    });
    let mut sim = Sim::new(&["hook"], vec![check("c1")], answer);
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.run_for(STEP * (3 * MAX_ATTEMPTS));
    assert_eq!(sim.attempts.len(), MAX_ATTEMPTS as usize);
    let e = &sim.entries()[0];
    assert_eq!(
        e.failed.as_deref(),
        Some("webhook: 500 Internal Server Error")
    );
}

#[test]
fn a_removed_channel_abandons_its_entries() {
    let mut sim = Sim::new(&["hook"], vec![check("c1")], accept());
    sim.transition("c1", CheckState::Up, CheckState::Down);
    let mut hook = channel("hook");
    hook.disabled = true;
    sim.apply(Mutation::UpdateAlert { alert: hook })
        .expect("disable");
    sim.run_for(Duration::from_secs(1));
    assert!(sim.attempts.is_empty());
    assert_eq!(
        sim.entries()[0].failed.as_deref(),
        Some("the channel was removed or disabled")
    );
}

#[test]
fn two_checks_and_two_channels_go_in_parallel() {
    // "slow" fails for a minute; "ok" accepts at once.
    let answer: Answer = Box::new(|ch, _, at| {
        if ch == "slow" && at < Duration::from_secs(60) {
            fail(true, "webhook: 502 Bad Gateway")
        } else {
            Outcome::Delivered
        }
    });
    let mut sim = Sim::new(&["ok", "slow"], vec![check("c1"), check("c2")], answer);
    sim.transition("c1", CheckState::Up, CheckState::Down);
    sim.transition("c2", CheckState::Up, CheckState::Down);
    // The first tick sends all four entries at once.
    let first = sim.engine.on_tick(&sim.state, sim.now());
    let sends = first
        .iter()
        .filter(|a| matches!(a, Action::Send { .. }))
        .count();
    assert_eq!(sends, 4);
    sim.perform(first);
    sim.run_for(Duration::from_secs(2));
    // Both checks reached "ok" although "slow" keeps failing.
    let on_ok: Vec<String> = sim
        .attempts
        .iter()
        .filter(|a| a.channel == "ok" && a.delivered)
        .map(|a| a.check.clone())
        .collect();
    let mut on_ok_sorted = on_ok.clone();
    on_ok_sorted.sort();
    assert_eq!(on_ok_sorted, vec!["c1", "c2"]);
    sim.run_for(Duration::from_secs(120));
    assert_eq!(sim.delivered().len(), 4);
}

#[test]
fn a_recovered_carries_the_incident_key_of_the_down_it_ends() {
    use CheckState::*;
    let mut sim = Sim::new(&["pd"], vec![check("c1")], accept());
    // Seq 1 was unknown → up; the DOWN is seq 2; seq 4 re-enters down
    // within the same outage and must not become the key.
    for (from, to) in [(Up, Down), (Down, Unknown), (Unknown, Down), (Down, Up)] {
        sim.transition("c1", from, to);
    }
    sim.run_for(Duration::from_secs(2));
    let sent = sim.sent_with_incident();
    let key = Some("quptime-c1-2".to_string());
    assert_eq!(
        sent,
        vec![
            (NotificationKind::Down, key.clone()),
            (NotificationKind::Recovered, key)
        ]
    );
}
