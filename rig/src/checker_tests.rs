//! Unit tests of the checker on hand-made histories: each promise kept,
//! then broken in the way the checker must report.

use super::*;

fn op(kind: OpKind, name: &str, iv: Option<u64>, t: u64, acked: bool) -> Op {
    Op {
        worker: 0,
        kind,
        name: name.into(),
        interval_s: iv,
        node: "n2".into(),
        start_ms: t,
        end_ms: t + 5,
        acked,
    }
}

fn finals(nodes: &[&str], checks: &[(&str, u64)]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let m: BTreeMap<String, u64> = checks.iter().map(|(n, i)| (n.to_string(), *i)).collect();
    nodes.iter().map(|n| (n.to_string(), m.clone())).collect()
}

fn duty(node: &str, event: DutyEvent, at: u64, lease: Option<u64>) -> DutyRecord {
    DutyRecord {
        node: node.into(),
        event,
        term: 1,
        at_ms: at,
        lease_until_ms: lease,
    }
}

fn alert(kind: &str, at: u64) -> Alert {
    Alert {
        kind: kind.into(),
        at_ms: at,
    }
}

#[test]
fn acked_writes_must_be_on_every_node_and_unknown_ones_are_skipped() {
    let mut h = History {
        ops: vec![
            op(OpKind::Add, "a", Some(30), 10, true),
            op(OpKind::Edit, "a", Some(45), 20, true),
            op(OpKind::Add, "b", Some(30), 30, true),
            op(OpKind::Remove, "b", None, 40, true),
            op(OpKind::Add, "c", Some(30), 50, false),
        ],
        finals: finals(&["n1", "n2"], &[("a", 45)]),
        ..History::default()
    };
    let r = check(&h);
    assert_eq!(r.figures.acked_writes, 4);
    assert_eq!(r.figures.writes_lost, 0, "{:?}", r.violations);

    // The edit lost on one node, the removal undone on another.
    h.finals.get_mut("n1").expect("n1").insert("a".into(), 30);
    h.finals.get_mut("n2").expect("n2").insert("b".into(), 30);
    let r = check(&h);
    assert_eq!(r.figures.writes_lost, 2, "{:?}", r.violations);
    assert!(
        r.violations.iter().any(|v| v.contains("check a on n1")),
        "{:?}",
        r.violations
    );
}

#[test]
fn stretches_end_at_the_lease_or_the_kill_and_overlaps_are_counted() {
    let h = History {
        duty: vec![
            // n1 noticed late (paused) but its lease ran out at 1_500.
            duty("n1", DutyEvent::Start, 1_000, Some(1_400)),
            duty("n1", DutyEvent::Stop, 4_000, Some(1_500)),
            duty("n2", DutyEvent::Start, 2_000, None),
            // n2 killed at 3_000 with its stretch open.
            duty("n3", DutyEvent::Start, 3_600, None),
        ],
        kills: vec![("n2".into(), 3_000)],
        end_ms: 9_000,
        ..History::default()
    };
    let mut s = stretches(&h);
    s.sort();
    assert_eq!(
        s,
        vec![
            ("n1".into(), 1_000, 1_500),
            ("n2".into(), 2_000, 3_000),
            ("n3".into(), 3_600, 9_000)
        ]
    );
    assert_eq!(check(&h).figures.two_master_instants, 0);

    // Without the lease (the planted bug) n1 acted until 4_000.
    let mut bad = h.clone();
    bad.duty[1].lease_until_ms = None;
    let r = check(&bad);
    assert_eq!(r.figures.two_master_instants, 2, "{:?}", r.violations);
    assert!(
        r.violations[0].starts_with("two masters"),
        "{:?}",
        r.violations
    );
}

#[test]
fn each_majority_outage_wants_one_down_and_one_recovered_a_minority_none() {
    let outages = vec![
        Outage {
            from_ms: 1_000,
            to_ms: 8_000,
            all: true,
        },
        Outage {
            from_ms: 20_000,
            to_ms: 27_000,
            all: false,
        },
        Outage {
            from_ms: 40_000,
            to_ms: 47_000,
            all: true,
        },
    ];
    let good = History {
        outages: outages.clone(),
        alerts: vec![
            alert("down", 3_500),
            alert("recovered", 9_500),
            alert("down", 43_000),
            alert("recovered", 48_000),
        ],
        ..History::default()
    };
    let r = check(&good);
    assert!(r.violations.is_empty(), "{:?}", r.violations);

    let bad = History {
        outages,
        alerts: vec![
            alert("down", 500),
            alert("down", 3_500),
            alert("down", 4_000),
            alert("down", 22_000),
            alert("recovered", 30_000),
        ],
        ..History::default()
    };
    let f = check(&bad).figures;
    assert_eq!(f.false_down, 2, "{f:?}");
    assert_eq!(f.duplicate_down, 1, "{f:?}");
    assert_eq!(f.lost_recovered, 1, "{f:?}");
    assert_eq!(f.missed_down, 1, "{f:?}");
}

#[test]
fn figures_add_up_over_runs() {
    let mut total = Figures::default();
    let one = Figures {
        faults: [("pause".to_string(), 2)].into(),
        acked_writes: 5,
        writes_lost: 1,
        ..Figures::default()
    };
    total.add(&one);
    total.add(&one);
    assert_eq!(total.faults["pause"], 4);
    assert_eq!((total.acked_writes, total.writes_lost), (10, 2));
}
