//! The flap rule on the real `apply`: start after more than the threshold
//! of changes within the window, quiet while flapping, end after a stable
//! window announcing the current state if it differs from what was heard.

use std::time::Duration;

use super::*;
use crate::identity::NodeId;
use crate::state::{CheckType, Command, Mutation, Rejected};

const T0: u64 = 1_750_000_000_000;

fn apply(s: &mut ClusterState, at_ms: u64, m: Mutation) -> std::result::Result<(), Rejected> {
    let cmd = Command {
        at_ms,
        ..Command::new(NodeId::new("a").expect("id"), m)
    };
    s.apply(&cmd).map(|_| ())
}

fn flip(s: &mut ClusterState, at_ms: u64) {
    let from = s
        .check_states
        .get("c1")
        .map_or(CheckState::Unknown, |r| r.state);
    let to = if from == CheckState::Up {
        CheckState::Down
    } else {
        CheckState::Up
    };
    let m = Mutation::RecordTransition {
        check_id: "c1".into(),
        from,
        to,
        term: 1,
        evidence: vec![],
    };
    apply(s, at_ms, m).expect("transition");
}

fn state(threshold: Option<u32>) -> ClusterState {
    let mut s = ClusterState::default();
    let hook = crate::state::AlertChannel {
        id: "hook".into(),
        name: "hook".into(),
        kind: "webhook".into(),
        default: true,
        disabled: false,
        settings: [("url".to_string(), "http://127.0.0.1:9/".to_string())]
            .into_iter()
            .collect(),
    };
    apply(&mut s, T0, Mutation::AddAlert { alert: hook }).expect("hook");
    let check = Check {
        id: "c1".into(),
        name: "c1".into(),
        target: "db.internal:5432".into(),
        flap_threshold: threshold,
        flap_window: Some(Duration::from_secs(60)),
        ..Check::blank(CheckType::Tcp)
    };
    apply(&mut s, T0, Mutation::AddCheck { check }).expect("check");
    s
}

fn kinds(s: &ClusterState) -> Vec<AlertKind> {
    s.outbox.values().map(|e| e.kind).collect()
}

#[test]
fn more_changes_than_the_threshold_start_flapping_once() {
    let mut s = state(Some(3));
    // unknown→up, up→down (DOWN), down→up (RECOVERED): 3 changes, not more.
    for i in 0..3 {
        flip(&mut s, T0 + i * 1000);
    }
    assert_eq!(s.flap_due("c1", T0 + 3000), None);
    flip(&mut s, T0 + 3000); // up→down: DOWN; 4 changes
    assert_eq!(s.flap_due("c1", T0 + 3000), Some(true));
    apply(
        &mut s,
        T0 + 3000,
        Mutation::SetFlapping {
            check_id: "c1".into(),
            flapping: true,
        },
    )
    .expect("start");
    // Replayed (a second master): refused, nothing queued twice.
    let again = Mutation::SetFlapping {
        check_id: "c1".into(),
        flapping: true,
    };
    assert!(apply(&mut s, T0 + 3500, again).is_err());
    use AlertKind::*;
    assert_eq!(kinds(&s), vec![Down, Recovered, Down, Flapping]);
    // While flapping, transitions are recorded but not announced.
    for i in 4..10 {
        flip(&mut s, T0 + i * 1000);
    }
    assert_eq!(kinds(&s).len(), 4);
    assert_eq!(s.check_states["c1"].state, CheckState::Down);
    assert_eq!(s.transitions.len(), 10, "the state keeps updating");
    // Not stable yet 59 s after the last change; stable at 60 s.
    assert_eq!(s.flap_due("c1", T0 + 9000 + 59_000), None);
    let end = T0 + 9000 + 61_000;
    assert_eq!(s.flap_due("c1", end), Some(false));
    apply(
        &mut s,
        end,
        Mutation::SetFlapping {
            check_id: "c1".into(),
            flapping: false,
        },
    )
    .expect("end");
    // It ended down, and the last thing said was a DOWN: nothing more.
    assert_eq!(kinds(&s), vec![Down, Recovered, Down, Flapping]);
    assert!(!s.check_states["c1"].flapping);
}

#[test]
fn the_end_announces_the_state_receivers_did_not_hear() {
    let mut s = state(Some(2));
    for i in 0..3 {
        flip(&mut s, T0 + i * 1000); // up, down, up
    }
    apply(
        &mut s,
        T0 + 2000,
        Mutation::SetFlapping {
            check_id: "c1".into(),
            flapping: true,
        },
    )
    .expect("start");
    flip(&mut s, T0 + 3000); // down, unannounced
    let end = T0 + 3000 + 61_000;
    apply(
        &mut s,
        end,
        Mutation::SetFlapping {
            check_id: "c1".into(),
            flapping: false,
        },
    )
    .expect("end");
    use AlertKind::*;
    assert_eq!(kinds(&s), vec![Down, Recovered, Flapping, Down]);
    let rt = &s.check_states["c1"];
    assert!(rt.alerted_down && rt.incident == 4, "{rt:?}");
}

#[test]
fn zero_turns_it_off_and_settings_are_bounded_and_need_level_5() {
    let mut s = state(Some(0));
    for i in 0..20 {
        flip(&mut s, T0 + i * 1000);
    }
    assert_eq!(s.flap_due("c1", T0 + 20_000), None);
    let mut c = s.checks["c1"].clone();
    assert_eq!(
        Mutation::UpdateCheck { check: c.clone() }.required_level(),
        5
    );
    c.flap_threshold = Some(MAX_THRESHOLD + 1);
    let e = c.validate().expect_err("too high");
    assert_eq!(e.field(), Some("flap_threshold"), "{e}");
    c.flap_threshold = None;
    c.flap_window = Some(Duration::from_secs(1));
    let e = c.validate().expect_err("too short");
    assert_eq!(e.field(), Some("flap_window"), "{e}");
    c.flap_window = None;
    assert_eq!(
        Mutation::UpdateCheck { check: c.clone() }.required_level(),
        1
    );
    assert!(!serde_json::to_string(&c).expect("json").contains("flap"));
}
