//! dns answer expectations through real `qu` processes on a one-node
//! cluster: `--expect-value` (repeatable), `--expect-count` and
//! `--expect-nxdomain` are accepted, shown by `qu export`, changed and
//! dropped by `qu check edit`, and each bad value is refused naming its
//! field, changing nothing.

mod support;

use support::{Cluster, FAST, text};

#[test]
fn dns_expectations_are_accepted_exported_edited_and_validated() {
    let c = Cluster::formed(1, FAST);
    let n1 = &c.nodes[0];
    n1.qu_ok(&[
        "check",
        "add",
        "dns",
        "www",
        "www.example.test",
        "--resolver",
        "127.0.0.1:5353",
        "--expect-value",
        "192.0.2.10",
        "--expect-value",
        "192.0.2.11",
        "--expect-count",
        "2",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "dns",
        "hidden",
        "old.example.test",
        "--expect-nxdomain",
    ]);
    n1.qu_ok(&[
        "check",
        "add",
        "dns",
        "mail",
        "example.test",
        "--record",
        "mx",
        "--expect-value",
        "10 mx1.example.test",
    ]);
    let exported = n1.qu_ok(&["export"]);
    for want in [
        "- \"192.0.2.10\"",
        "- \"192.0.2.11\"",
        "expect_count: 2",
        "expect_nxdomain: true",
        "- 10 mx1.example.test",
    ] {
        assert!(exported.contains(want), "{want} missing from:\n{exported}");
    }

    n1.qu_ok(&[
        "check",
        "edit",
        "www",
        "--expect-count",
        "0",
        "--expect-value",
        "192.0.2.12",
    ]);
    n1.qu_ok(&["check", "edit", "hidden", "--expect-nxdomain=false"]);
    let shown = n1.qu_ok(&["check", "list", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&shown).expect("json");
    let find = |name: &str| {
        checks
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .expect(name)
    };
    let www = find("www");
    assert_eq!(
        www["expect_values"],
        serde_json::json!(["192.0.2.12"]),
        "{www}"
    );
    assert!(www.get("expect_count").is_none(), "{www}");
    assert!(find("hidden").get("expect_nxdomain").is_none());
    n1.qu_ok(&["check", "edit", "www", "--expect-value", ""]);
    let shown = n1.qu_ok(&["check", "list", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&shown).expect("json");
    let www = checks
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["name"] == "www")
        .expect("www");
    assert!(www.get("expect_values").is_none(), "{www}");

    let before = n1.qu_ok(&["export"]);
    for (args, field, why) in [
        (
            vec![
                "check",
                "add",
                "dns",
                "x1",
                "a.test",
                "--expect-value",
                "2001:db8::1",
            ],
            "--expect-value",
            "IPv4 address",
        ),
        (
            vec![
                "check",
                "add",
                "dns",
                "x2",
                "a.test",
                "--record",
                "aaaa",
                "--expect-value",
                "10.0.0.1",
            ],
            "--expect-value",
            "IPv6 address",
        ),
        (
            vec!["check", "add", "dns", "x3", "a.test", "--expect-count", "0"],
            "--expect-count",
            "use 1 to 256",
        ),
        (
            vec![
                "check",
                "add",
                "dns",
                "x4",
                "a.test",
                "--expect-nxdomain",
                "--expect-value",
                "10.0.0.1",
            ],
            "--expect-nxdomain",
            "cannot be combined",
        ),
        (
            vec![
                "check",
                "edit",
                "mail",
                "--expect-value",
                "ten mx1.example.test",
            ],
            "--expect-value",
            "PREFERENCE HOST",
        ),
    ] {
        let out = n1.qu(&args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            err.contains(field) && err.contains(why),
            "{args:?}: the error does not name {field} ({why}): {err}"
        );
    }
    let out = n1.qu(&["check", "edit", "www", "--expect-count", "x"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--expect-count"));
    assert_eq!(
        n1.qu_ok(&["export"]),
        before,
        "a refused change changed something"
    );
}
