//! The canary rule, its hysteresis and the monitor's health, with virtual
//! time.

use super::*;

fn refs(list: &[(&str, bool)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(t, ok)| (t.to_string(), (!ok).then(|| "connection refused".to_string())))
        .collect()
}

#[test]
fn without_references_the_peers_decide() {
    let r = |peers, reached| Round {
        peers,
        reached,
        refs: vec![],
    };
    assert_eq!(round_fails(&r(0, 0)), None, "a lone node never abstains");
    assert_eq!(round_fails(&r(2, 1)), None, "half is enough");
    assert_eq!(round_fails(&r(2, 2)), None);
    assert_eq!(
        round_fails(&r(2, 0)).as_deref(),
        Some("reaches 0 of its 2 peers")
    );
    assert!(round_fails(&r(4, 1)).is_some());
    assert_eq!(round_fails(&r(4, 2)), None);
}

#[test]
fn with_references_any_answer_passes_and_peers_do_not_matter() {
    let r = |reached, list: &[(&str, bool)]| Round {
        peers: 2,
        reached,
        refs: refs(list),
    };
    assert_eq!(round_fails(&r(0, &[("a:1", false), ("b:2", true)])), None);
    let why = round_fails(&r(2, &[("a:1", false), ("b:2", false)])).expect("fails");
    assert!(why.starts_with("no reference target answers"), "{why}");
    assert!(why.contains("a:1: connection refused"), "{why}");
    assert!(why.contains("b:2"), "{why}");
}

#[test]
fn the_canary_changes_after_two_equal_rounds() {
    let mut c = Canary::default();
    assert_eq!(c.observe(None), None);
    assert_eq!(c.observe(Some("x".into())), None, "one failing round");
    assert_eq!(c.observe(None), None, "the streak restarts");
    assert_eq!(c.observe(Some("x".into())), None);
    assert_eq!(c.observe(Some("y".into())), Some("y"));
    assert_eq!(c.observe(Some("z".into())), Some("z"), "reason follows");
    assert_eq!(c.observe(None), Some("z"), "one passing round");
    assert_eq!(c.observe(Some("w".into())), Some("w"));
    assert_eq!(c.observe(None), Some("w"));
    assert_eq!(c.observe(None), None);
    assert_eq!(c.abstain(), None);
}

#[test]
fn the_monitor_is_degraded_when_fewer_than_a_majority_can_vote() {
    assert!(!monitor_degraded(0, 0));
    assert!(!monitor_degraded(3, 0));
    assert!(!monitor_degraded(3, 1), "one of three alone changes nothing");
    assert!(monitor_degraded(3, 2));
    assert!(monitor_degraded(3, 3));
    assert!(!monitor_degraded(5, 2));
    assert!(monitor_degraded(5, 3));
    assert!(monitor_degraded(4, 2), "2 of 4 is no majority");
    assert!(monitor_degraded(1, 1));
}

#[test]
fn a_health_change_is_proposed_after_the_hold_and_again_if_not_agreed() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut w = HealthWatch::default();
    assert!(!w.observe(false, false, at(0)));
    assert!(!w.observe(true, false, at(1)));
    assert!(!w.observe(true, false, at(3)), "held 2 s only");
    assert!(w.observe(true, false, at(4)));
    assert!(!w.observe(true, false, at(5)), "proposed already");
    assert!(w.observe(true, false, at(15)), "not agreed: again");
    assert!(!w.observe(true, true, at(16)), "agreed");
    // A blip shorter than the hold proposes nothing.
    assert!(!w.observe(false, true, at(17)));
    assert!(!w.observe(true, true, at(18)));
    assert!(!w.observe(false, true, at(19)));
    assert!(!w.observe(false, true, at(21)));
    assert!(w.observe(false, true, at(22)));
}
