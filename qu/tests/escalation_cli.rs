//! Escalation and the storm digest through real `qu` processes on a
//! one-node cluster: `qu alert add … --escalate-after --escalate-to
//! --digest-threshold` and `qu alert edit … --escalate-after` are accepted
//! and shown by `qu export`; a bad value is refused naming the setting,
//! changing nothing.

mod support;

use support::{Cluster, FAST, text};

#[test]
fn escalation_and_digest_flags_are_accepted_exported_and_validated() {
    let c = Cluster::formed(1, FAST);
    let n1 = &c.nodes[0];
    n1.qu_ok(&[
        "alert",
        "add",
        "webhook",
        "oncall",
        "--url",
        "https://127.0.0.1:9/pager",
    ]);
    n1.qu_ok(&[
        "alert",
        "add",
        "webhook",
        "ops",
        "--url",
        "https://127.0.0.1:9/ops",
        "--escalate-after",
        "15m",
        "--escalate-to",
        "oncall",
        "--digest-threshold",
        "5",
    ]);
    let exported = n1.qu_ok(&["export"]);
    for want in [
        "escalate_after: 15m",
        "escalate_to: oncall",
        "digest_threshold:",
    ] {
        assert!(exported.contains(want), "{want} missing from:\n{exported}");
    }
    n1.qu_ok(&[
        "alert",
        "edit",
        "ops",
        "--escalate-after",
        "30m",
        "--escalate-to",
        "oncall",
    ]);
    let exported = n1.qu_ok(&["export"]);
    assert!(exported.contains("escalate_after: 30m"), "{exported}");

    let before = n1.qu_ok(&["export"]);
    for (args, field) in [
        (
            vec![
                "alert",
                "edit",
                "ops",
                "--escalate-after",
                "1m",
                "--escalate-to",
                "nobody",
            ],
            "escalate_to",
        ),
        (
            vec![
                "alert",
                "edit",
                "ops",
                "--escalate-after",
                "30d",
                "--escalate-to",
                "oncall",
            ],
            "escalate_after",
        ),
        (
            vec![
                "alert",
                "edit",
                "ops",
                "--escalate-after",
                "1m",
                "--escalate-to",
                "ops",
            ],
            "escalate_to",
        ),
        (
            vec!["alert", "edit", "ops", "--escalate-after", "1m"],
            "escalate-to",
        ),
    ] {
        let out = n1.qu(&args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        let flag = format!("--{}", field.replace('_', "-"));
        assert!(
            err.contains(field) || err.contains(&flag),
            "{args:?}: the error does not name {field}: {err}"
        );
    }
    assert_eq!(
        n1.qu_ok(&["export"]),
        before,
        "a refused change changed something"
    );
}
