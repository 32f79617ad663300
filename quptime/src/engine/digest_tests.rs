//! The storm digest: the pure plan, the bounded message, and through the
//! delivery engine with virtual time (the `deliver_tests` simulator).

use std::time::{Duration, Instant};

use super::*;
use crate::engine::deliver::{Deliverer, Outcome};
use crate::engine::deliver_tests::{Answer, Sim, accept, channel_with, check};
use crate::notify::NotificationKind;
use crate::state::CheckState::{Down, Up};
use crate::state::Mutation;

#[test]
fn plan_gathers_while_they_keep_coming_then_digests_over_the_threshold() {
    let t0 = Instant::now();
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let ids: Vec<u64> = (1..=11).collect();
    let seen = vec![ms(0); 11];
    assert_eq!(plan(ids.clone(), &seen, 10, ms(1999)), Plan::Gather);
    assert_eq!(
        plan(ids.clone(), &seen, 10, ms(2000)),
        Plan::Digest(ids.clone())
    );
    assert_eq!(
        plan(ids.clone(), &seen, 11, ms(2000)),
        Plan::Each(ids.clone())
    );
    assert_eq!(plan(ids.clone(), &seen, 0, ms(0)), Plan::Each(ids.clone()));
    // Arrivals every 900 ms keep it gathering, up to the window.
    let trickle: Vec<Instant> = (0..11).map(|i| ms(i * 900)).collect();
    assert_eq!(plan(ids.clone(), &trickle, 10, ms(9600)), Plan::Gather);
    assert_eq!(
        plan(ids.clone(), &trickle, 10, ms(10_000)),
        Plan::Digest(ids)
    );
}

#[test]
fn the_threshold_setting_is_checked_and_defaults_by_kind() {
    let mut c = channel_with("hook", &[]);
    assert_eq!(threshold(&c), DEFAULT_THRESHOLD);
    c.kind = "pagerduty".into();
    assert_eq!(threshold(&c), 0, "incident-keyed receivers default to off");
    c.settings.insert(THRESHOLD_KEY.into(), "3".into());
    assert_eq!(threshold(&c), 3);
    assert!(validate(&c).is_ok());
    for bad in ["-1", "ten", "10001"] {
        c.settings.insert(THRESHOLD_KEY.into(), bad.into());
        let e = validate(&c).unwrap_err();
        assert_eq!(e.field(), Some(THRESHOLD_KEY), "{bad}: {e}");
    }
}

#[test]
fn a_digest_lists_a_bounded_number_of_bounded_lines() {
    let mut sim = storm(80, &[]);
    sim.run_for(Duration::from_secs(3));
    assert_eq!(sim.attempts.len(), 1);
    let n = &sim.sent[0];
    assert_eq!((n.digest.len(), n.digest_total), (MAX_LINES, 80));
    assert!(n.digest.iter().all(|d| d.detail.len() <= MAX_LINE));
    assert_eq!(n.check, "80 checks");
    let body = crate::notify::message::render(n).body;
    assert!(body.starts_with("80 checks are DOWN:"), "{body}");
    assert!(body.contains("- c01 (db.internal:5432)"), "{body}");
    assert!(body.contains("- and 30 more"), "{body}");
    assert_eq!(n.digest[0].incident.as_deref(), Some("quptime-c01-81"));
}

/// `n` checks on a webhook channel `hook` with `extra` settings, all going
/// down in the same instant.
fn storm(n: usize, extra: &[(&str, &str)]) -> Sim {
    let checks = (1..=n).map(|i| check(&format!("c{i:02}"))).collect();
    let mut sim = Sim::new(&[], checks, accept());
    sim.apply(Mutation::AddAlert {
        alert: channel_with("hook", extra),
    })
    .expect("channel");
    for i in 1..=n {
        sim.transition(&format!("c{i:02}"), Up, Down);
    }
    sim
}

#[test]
fn fifty_checks_down_at_once_go_as_one_digest_and_recover_as_one() {
    let mut sim = storm(50, &[]);
    sim.run_for(Duration::from_millis(1900));
    assert!(sim.attempts.is_empty(), "gathering");
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.attempts.len(), 1, "one message: {:?}", sim.attempts);
    assert_eq!(sim.attempts[0].kind, NotificationKind::Down);
    assert_eq!(sim.sent[0].digest_total, 50);
    assert!(
        sim.state.outbox.values().all(|e| e.delivered_at.is_some()),
        "every entry is marked on its own"
    );
    assert_eq!(sim.state.outbox.len(), 50);
    for i in 1..=50 {
        sim.transition(&format!("c{i:02}"), Down, Up);
    }
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.attempts.len(), 2);
    assert_eq!(sim.attempts[1].kind, NotificationKind::Recovered);
    assert_eq!(sim.sent[1].digest_total, 50);
    // A new master finds everything marked: nothing again.
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.attempts.len(), 2);
}

#[test]
fn at_or_under_the_threshold_each_goes_on_its_own() {
    let mut sim = storm(10, &[]);
    sim.run_for(Duration::from_secs(3));
    assert_eq!(sim.attempts.len(), 10);
    assert!(sim.sent.iter().all(|n| n.digest.is_empty()));
    let mut off = storm(30, &[("digest_threshold", "0")]);
    off.run_for(Duration::from_millis(150));
    assert_eq!(off.attempts.len(), 30, "off: no gathering either");
}

#[test]
fn a_failed_digest_is_retried_as_a_digest_and_nothing_is_lost() {
    let checks = (1..=20).map(|i| check(&format!("c{i:02}"))).collect();
    let mut failures = 2;
    let answer: Answer = Box::new(move |_, _, _| {
        if failures > 0 {
            failures -= 1;
            Outcome::Failed {
                retryable: true,
                why: "503".into(),
                retry_after: None,
            }
        } else {
            Outcome::Delivered
        }
    });
    let mut sim = Sim::new(&[], checks, answer);
    sim.apply(Mutation::AddAlert {
        alert: channel_with("hook", &[]),
    })
    .expect("channel");
    for i in 1..=20 {
        sim.transition(&format!("c{i:02}"), Up, Down);
    }
    sim.run_for(Duration::from_secs(10));
    assert_eq!(sim.attempts.len(), 3, "{:?}", sim.attempts);
    assert!(sim.sent.iter().all(|n| n.digest_total == 20));
    assert!(sim.state.outbox.values().all(|e| e.delivered_at.is_some()));
}

#[test]
fn a_failover_mid_gathering_sends_one_digest() {
    let mut sim = storm(30, &[]);
    sim.run_for(Duration::from_millis(500));
    sim.engine = Deliverer::default();
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.attempts.len(), 1, "{:?}", sim.attempts);
    assert_eq!(sim.sent[0].digest_total, 30);
}
