//! This stop's check and channel options through real `qu` processes on a
//! one-node cluster: `--depends-on`, the flap settings, tcp banner checks,
//! icmp echo counts, tcp `--tls` and per-channel `--events`. Each is accepted and shown
//! by `qu export`, and each bad value is refused with a message naming
//! the field, changing nothing.

mod support;

use support::{Cluster, FAST, text};

#[test]
fn new_check_and_channel_options_are_accepted_exported_and_validated() {
    let c = Cluster::formed(1, FAST);
    let n1 = &c.nodes[0];
    n1.qu_ok(&[
        "check",
        "add",
        "tcp",
        "gw",
        "127.0.0.1:9",
        "--flap-threshold",
        "3",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "tcp",
        "redis",
        "127.0.0.1:9",
        "--send",
        "PING\\r\\n",
        "--expect",
        "+PONG",
        "--depends-on",
        "gw",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "tcp",
        "smtps",
        "127.0.0.1:9",
        "--tls",
        "--expect",
        "220",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "icmp",
        "lo",
        "127.0.0.1",
        "--count",
        "5",
        "--max-loss",
        "40%",
    ]);
    n1.qu_ok(&[
        "alert",
        "add",
        "webhook",
        "hook",
        "--url",
        "https://127.0.0.1:9/h",
        "--events",
        "down,recovered",
    ]);
    let exported = n1.qu_ok(&["export"]);
    for want in [
        "flap_threshold: 3",
        "send: PING\\r\\n",
        "expect_reply: +PONG",
        "count: 5",
        "tls: true",
        "events: down,recovered",
    ] {
        assert!(exported.contains(want), "{want} missing from:\n{exported}");
    }
    let shown = n1.qu_ok(&["check", "list", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&shown).expect("json");
    let redis = checks
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["name"] == "redis")
        .expect("redis");
    assert_eq!(
        redis["depends_on"].as_array().map(Vec::len),
        Some(1),
        "{redis}"
    );

    let before = n1.qu_ok(&["export"]);
    for (args, field) in [
        (
            vec![
                "check",
                "add",
                "tcp",
                "x1",
                "127.0.0.1:9",
                "--depends-on",
                "nope",
            ],
            "depends_on",
        ),
        (
            vec![
                "check",
                "add",
                "tcp",
                "x2",
                "127.0.0.1:9",
                "--flap-threshold",
                "500",
            ],
            "flap_threshold",
        ),
        (
            vec![
                "check",
                "add",
                "tcp",
                "x3",
                "127.0.0.1:9",
                "--send",
                "bad\\q",
            ],
            "send",
        ),
        (
            vec!["check", "add", "icmp", "x4", "127.0.0.1", "--count", "30"],
            "count",
        ),
        (
            vec![
                "alert",
                "add",
                "webhook",
                "x5",
                "--url",
                "https://127.0.0.1:9/h",
                "--events",
                "down,sideways",
            ],
            "events",
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
