//! The dependency rules: references checked at apply, the hold while a
//! parent is down, removal, and the state level.

use super::*;
use crate::identity::NodeId;
use crate::state::{CheckType, Command, Mutation, Rejected};

fn check(id: &str, parents: &[&str]) -> Check {
    Check {
        id: id.into(),
        name: format!("n-{id}"),
        target: "db.internal:5432".into(),
        depends_on: parents.iter().map(|p| p.to_string()).collect(),
        ..Check::blank(CheckType::Tcp)
    }
}

fn apply(s: &mut ClusterState, m: Mutation) -> std::result::Result<(), Rejected> {
    let cmd = Command::new(NodeId::new("a").expect("id"), m);
    s.apply(&cmd).map(|_| ())
}

fn with(checks: &[Check]) -> ClusterState {
    let mut s = ClusterState::default();
    for c in checks {
        apply(&mut s, Mutation::AddCheck { check: c.clone() }).expect("add");
    }
    s
}

#[test]
fn a_parent_must_exist_and_not_be_the_check_itself() {
    let mut s = with(&[check("gw", &[])]);
    let e = apply(
        &mut s,
        Mutation::AddCheck {
            check: check("web", &["nope"]),
        },
    )
    .expect_err("unknown parent");
    assert_eq!(e.field.as_deref(), Some("depends_on"), "{e:?}");
    assert!(e.message.contains("nope"), "{e:?}");
    let e = apply(
        &mut s,
        Mutation::UpdateCheck {
            check: check("gw", &["gw"]),
        },
    )
    .expect_err("itself");
    assert!(e.message.contains("itself"), "{e:?}");
    assert!(s.checks["gw"].depends_on.is_empty(), "nothing changed");
}

#[test]
fn a_cycle_is_refused_and_changes_nothing() {
    let mut s = with(&[check("a", &[]), check("b", &["a"]), check("c", &["b"])]);
    let e = apply(
        &mut s,
        Mutation::UpdateCheck {
            check: check("a", &["c"]),
        },
    )
    .expect_err("a → c → b → a");
    assert!(e.message.contains("cycle"), "{e:?}");
    assert_eq!(e.field.as_deref(), Some("depends_on"));
    assert!(s.checks["a"].depends_on.is_empty());
    // A diamond is no cycle.
    apply(
        &mut s,
        Mutation::AddCheck {
            check: check("d", &["b", "c", "a"]),
        },
    )
    .expect("diamond");
}

#[test]
fn the_count_is_bounded() {
    let ids: Vec<String> = (0..=MAX_DEPENDS).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let e = check("web", &refs).validate().expect_err("too many");
    assert_eq!(e.field(), Some("depends_on"), "{e}");
    assert!(check("web", &refs[..MAX_DEPENDS]).validate().is_ok());
}

#[test]
fn blocked_while_a_parent_is_down_and_removal_forgets_the_parent() {
    let mut s = with(&[check("gw", &[]), check("web", &["gw"])]);
    assert!(s.blocked_by("web").is_empty());
    assert!(!s.holds_back("web", 0));
    let down = |s: &mut ClusterState, id: &str, from, to| {
        apply(
            s,
            Mutation::RecordTransition {
                check_id: id.into(),
                from,
                to,
                term: 1,
                evidence: vec![],
            },
        )
        .expect("transition");
    };
    down(&mut s, "gw", CheckState::Unknown, CheckState::Down);
    assert_eq!(s.blocked_by("web"), vec!["gw".to_string()]);
    assert!(s.holds_back("web", 0));
    down(&mut s, "web", CheckState::Unknown, CheckState::Down);
    let rt = &s.check_states["web"];
    assert!(rt.held && !rt.alerted_down, "{rt:?}");
    let web_entries = s
        .outbox
        .values()
        .filter(|e| {
            s.transitions
                .iter()
                .any(|t| t.seq == e.transition && t.check_id == "web")
        })
        .count();
    assert_eq!(web_entries, 0, "the child's DOWN is held back");
    // Nothing to release while the parent is down.
    let e = apply(
        &mut s,
        Mutation::ReleaseHeld {
            check_id: "web".into(),
        },
    );
    assert!(e.is_err());
    apply(&mut s, Mutation::RemoveCheck { check: "gw".into() }).expect("remove");
    assert!(s.checks["web"].depends_on.is_empty());
    assert!(!s.holds_back("web", 0));
    apply(
        &mut s,
        Mutation::ReleaseHeld {
            check_id: "web".into(),
        },
    )
    .expect("released");
}

#[test]
fn dependencies_need_level_5_and_none_serialize_as_before() {
    let plain = check("web", &[]);
    assert_eq!(
        Mutation::AddCheck {
            check: plain.clone()
        }
        .required_level(),
        1
    );
    let json = serde_json::to_string(&plain).expect("json");
    assert!(!json.contains("depends_on"), "{json}");
    let dep = check("web", &["gw"]);
    assert_eq!(
        Mutation::UpdateCheck { check: dep.clone() }.required_level(),
        5
    );
    let back: Check =
        serde_json::from_str(&serde_json::to_string(&dep).expect("json")).expect("read");
    assert_eq!(back.depends_on, vec!["gw".to_string()]);
}
