//! Tests of reading the original `qu`'s cluster.yaml: against the shipped
//! fixture, so a change that breaks a real upgrade fails here first.

use super::*;

const FIXTURE: &str = include_str!("../../../../qu/tests/fixtures/original/cluster.yaml");

#[test]
fn the_original_file_keeps_its_checks_and_alerts() {
    assert!(is_original(FIXTURE));
    let o = parse(FIXTURE).expect("parse");
    assert_eq!(o.peers, 2);
    assert_eq!(o.resolvers, ["9.9.9.9:53"]);
    let names: Vec<&str> = o.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["homepage", "db", "api-cert"]);
    let home = &o.checks[0];
    let http = home.http().expect("http");
    assert_eq!(home.id, "0b6c1f7e-2a3d-4e5f-9a0b-1c2d3e4f5a6b");
    assert_eq!(home.interval, Duration::from_secs(30));
    assert_eq!(
        http.expect_status.clone().map(String::from).as_deref(),
        Some("200")
    );
    assert_eq!(http.body_match.as_deref(), Some("Welcome"));
    assert_eq!(home.alerts, ["7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"]);
    // A reference by name resolves to the channel's id.
    assert_eq!(o.checks[1].alerts, ["8e2f3a4b-5c6d-4e7f-9a01-b2c3d4e5f6a7"]);
    assert_eq!(o.checks[1].interval, Duration::from_secs(60));
    assert!(o.checks[2].disabled);
    assert_eq!(o.checks[2].tls().expect("tls").warn_days, Some(21));
    let ops = &o.alerts[1];
    assert!(ops.default);
    assert_eq!(ops.settings["to"], "ops@example.com,oncall@example.com");
    assert_eq!(ops.settings["tls"], "starttls");
    assert_eq!(ops.settings["subject_template"], "[qu] {check} is {state}");
    assert_eq!(
        o.alerts[0].settings["webhook"],
        "https://discord.com/api/webhooks/1234/abcd"
    );
    // As a declaration for `qu apply`: by name.
    let p = o.to_parsed();
    assert_eq!(p.decl.checks[0].alerts, ["oncall"]);
    assert_eq!(
        p.decl.resolvers.as_deref(),
        Some(&["9.9.9.9:53".to_string()][..])
    );
    let via_apply = crate::declare::parse(FIXTURE).expect("qu apply parses it");
    assert_eq!(via_apply.decl, p.decl);
}

#[test]
fn unknown_fields_and_bad_values_name_the_line() {
    let typo = FIXTURE.replace("      body_match: Welcome", "      body_matches: Welcome");
    let err = parse(&typo).expect_err("unknown field").to_string();
    assert!(
        err.contains("body_matches") && err.starts_with("line 23 column 7:"),
        "{err}"
    );
    let bad = FIXTURE.replace("type: tcp", "type: gopher");
    let err = parse(&bad).expect_err("bad type").to_string();
    assert!(err.starts_with("line 26:"), "{err}");
    let missing = FIXTURE.replace("        - ops\n", "        - nobody\n");
    let err = parse(&missing).expect_err("unknown alert").to_string();
    assert!(
        err.contains("\"nobody\" is not among the file's alerts"),
        "{err}"
    );
    let tmpl = FIXTURE.replace("{{.To}}", "{{if .Down}}x{{end}}");
    let err = parse(&tmpl).expect_err("template").to_string();
    assert!(err.contains("no equivalent"), "{err}");
}

#[test]
fn go_templates_become_placeholders_with_braces_escaped() {
    assert_eq!(
        template("{{ .Check.Name }} {x} {{.Snapshot.Detail}}").expect("ok"),
        "{check} {{x}} {detail}"
    );
    assert!(template("{{.Check.Name").is_err());
}
