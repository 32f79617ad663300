//! Declarations end to end on a pure state: parse, plan, apply, export,
//! and the errors that name the line and field.

use super::*;
use crate::identity::NodeId;
use crate::state::{Command, Mutation};

const FILE: &str = "\
retention:
  transitions_per_check: 50
alerts:
  - name: hook
    type: webhook
    settings:
      url: http://127.0.0.1:9/hook
checks:
  - name: web
    type: http
    target: http://127.0.0.1:8080/health
    interval: 15s
    expect_status: 2xx
    alerts: [hook]
  - name: db
    type: tcp
    target: db.internal:5432
";

fn apply(state: &mut ClusterState, text: &str, prune: bool) -> Result<Plan> {
    let parsed = parse(text)?;
    let p = plan(state, &parsed, prune)?;
    if let Some(m) = p.mutation() {
        let cmd = Command::new(NodeId::new("n1").expect("id"), m);
        state
            .apply_with(&cmd, crate::notify::validate)
            .map_err(Error::from)?;
    }
    Ok(p)
}

#[test]
fn applying_twice_changes_nothing_the_second_time() {
    let mut state = ClusterState::default();
    let first = apply(&mut state, FILE, false).expect("first apply");
    assert_eq!(first.changes.len(), 4, "{:?}", first.changes);
    assert_eq!(state.version, 1, "one mutation for the whole file");
    assert_eq!(state.checks.len(), 2);
    assert_eq!(state.retention.transitions_per_check, 50);
    let web = state.find_check("web").expect("web");
    assert_eq!(
        web.alerts,
        vec![state.find_alert("hook").expect("hook").id.clone()]
    );
    let before = state.clone();
    let second = apply(&mut state, FILE, false).expect("second apply");
    assert!(second.changes.is_empty(), "{:?}", second.changes);
    assert!(second.mutation().is_none());
    assert_eq!(state, before);
}

#[test]
fn export_then_apply_is_a_no_op() {
    let mut state = ClusterState::default();
    apply(&mut state, FILE, false).expect("apply");
    let text = render(&export(&state)).expect("render");
    assert!(
        text.contains("http://127.0.0.1:9/hook"),
        "secrets are exported: {text}"
    );
    let p = plan(&state, &parse(&text).expect("parse export"), true).expect("plan");
    assert!(p.changes.is_empty(), "{:?}\n{text}", p.changes);
}

#[test]
fn changes_name_the_fields_and_prune_removes() {
    let mut state = ClusterState::default();
    apply(&mut state, FILE, false).expect("apply");
    let edited = FILE.replace("interval: 15s", "interval: 1m").replace(
        "  - name: db\n    type: tcp\n    target: db.internal:5432\n",
        "",
    );
    let p = apply(&mut state, &edited, false).expect("without prune");
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(
        p.changes[0].to_string(),
        "~ check web\n    interval: 15s -> 1m"
    );
    assert_eq!(p.unmanaged, vec!["check db".to_string()]);
    assert!(state.find_check("db").is_ok(), "kept without --prune");
    let e = apply(&mut state, "# nothing\n", true).expect_err("blank with --prune");
    assert!(e.to_string().contains("the declaration is empty"), "{e}");
    assert!(state.find_check("db").is_ok());
    let p = apply(&mut state, &edited, true).expect("prune");
    assert_eq!(p.changes[0].to_string(), "- check db");
    assert!(state.find_check("db").is_err());
}

#[test]
fn unknown_fields_and_bad_values_name_the_line_and_field() {
    let typo = FILE.replace("interval: 15s", "intervall: 15s");
    let e = parse(&typo).expect_err("unknown field").to_string();
    assert!(
        e.starts_with("line 12 column 5: unknown field `intervall`"),
        "{e}"
    );
    assert!(e.contains("line 12") && e.contains("intervall"), "{e}");
    let bad = FILE.replace("interval: 15s", "interval: soon");
    let e = parse(&bad).expect_err("bad duration").to_string();
    assert!(e.contains("line 12") && e.contains("soon"), "{e}");
    let bad = FILE.replace("expect_status: 2xx", "expect_status: 99");
    let e = parse(&bad).expect_err("bad status").to_string();
    assert!(e.contains("line 13"), "{e}");
    let bad = FILE.replace("type: tcp", "type: smtp");
    let e = parse(&bad).expect_err("bad type").to_string();
    assert!(e.contains("line 16") && e.contains("smtp"), "{e}");
    // Valid YAML, invalid check: the record's line and name.
    let bad = FILE.replace("db.internal:5432", "db.internal");
    let parsed = parse(&bad).expect("parses");
    let e = plan(&ClusterState::default(), &parsed, false)
        .expect_err("no port")
        .to_string();
    assert!(
        e.contains("line 15") && e.contains("\"db\"") && e.contains("tcp target"),
        "{e}"
    );
    let bad = FILE.replace("alerts: [hook]", "alerts: [pager]");
    let e = plan(
        &ClusterState::default(),
        &parse(&bad).expect("parses"),
        false,
    )
    .expect_err("unknown alert")
    .to_string();
    assert!(e.contains("line 9") && e.contains("pager"), "{e}");
}

#[test]
fn a_malformed_file_changes_nothing() {
    let mut state = ClusterState::default();
    apply(&mut state, FILE, false).expect("apply");
    let before = state.clone();
    for bad in [
        FILE.replace("interval: 15s", "interval: 5ms"),
        FILE.replace("checks:", "checks: 7"),
        format!("{FILE}  - name: web\n    type: icmp\n    target: h\n"),
        FILE.replace("transitions_per_check: 50", "transitions_per_check: 0"),
    ] {
        assert!(apply(&mut state, &bad, true).is_err(), "{bad}");
        assert_eq!(state, before, "{bad}");
    }
    // A change that fails at apply time (here: a stale plan) changes nothing.
    let mut p = plan(
        &state,
        &parse(&FILE.replace("15s", "20s")).expect("parse"),
        false,
    )
    .expect("plan");
    p.change.base_version -= 1;
    let cmd = Command::new(
        NodeId::new("n1").expect("id"),
        p.mutation().expect("change"),
    );
    let r = state
        .apply_with(&cmd, crate::notify::validate)
        .expect_err("stale");
    assert!(r.message.contains("run `qu apply` again"), "{}", r.message);
    assert_eq!(state.checks, before.checks);
    // One bad record among good ones, applied directly: nothing changes.
    let mut change = plan(
        &state,
        &parse(&FILE.replace("15s", "20s")).expect("p"),
        false,
    )
    .expect("plan")
    .change;
    let mut bad = change.checks[0].clone();
    bad.id = "other".into();
    bad.name = "db".into();
    change.checks.push(bad);
    let cmd = Command::new(
        NodeId::new("n1").expect("id"),
        Mutation::ApplyDeclaration { change },
    );
    assert!(state.apply_with(&cmd, crate::notify::validate).is_err());
    assert_eq!(state.checks, before.checks);
    assert_eq!(state.version, before.version);
}

#[test]
fn resolvers_are_declared_exported_and_validated() {
    let mut state = ClusterState::default();
    let with = format!("resolvers: [9.9.9.9, '127.0.0.1:5353']\n{FILE}");
    let first = apply(&mut state, &with, false).expect("apply");
    let change = first
        .changes
        .iter()
        .find(|c| c.kind == "resolvers")
        .expect("a resolvers change");
    assert_eq!(change.fields[0].from.as_deref(), Some("system"));
    assert_eq!(state.dns_resolvers, vec!["9.9.9.9:53", "127.0.0.1:5353"]);
    // Export writes them; applying the export changes nothing.
    let text = render(&export(&state)).expect("render");
    assert!(text.contains("9.9.9.9:53"), "{text}");
    let again = apply(&mut state, &text, true).expect("re-apply");
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    // Absent: unchanged. Empty: back to the system's.
    apply(&mut state, FILE, false).expect("without resolvers");
    assert_eq!(state.dns_resolvers.len(), 2);
    apply(&mut state, &format!("resolvers: []\n{FILE}"), false).expect("clear");
    assert!(state.dns_resolvers.is_empty());
    // A bad one is refused with the key named, and nothing changes.
    let before = state.clone();
    let err = apply(
        &mut state,
        &format!("resolvers: [dns.example]\n{FILE}"),
        false,
    )
    .expect_err("bad resolver");
    assert!(err.message().contains("resolvers"), "{err}");
    assert!(err.message().contains("dns.example"), "{err}");
    assert_eq!(state, before);
}

#[test]
fn probe_settings_are_the_probe_types_own_and_keep_their_place() {
    // A bare number where a text is meant, as YAML authors write it.
    let bare = FILE.replace(
        "expect_status: 2xx",
        "expect_status: 200\n    body_match: 42",
    );
    let parsed = parse(&bare).expect("bare numbers");
    let http = &parsed.decl.checks[0].probe.http;
    assert_eq!(http.expect_status.as_ref().map(|s| s.as_str()), Some("200"));
    assert_eq!(http.body_match.as_deref(), Some("42"));
    // A value of the wrong type, at its own line.
    let bad = FILE.replace(
        "expect_status: 2xx",
        "expect_status: 2xx\n    insecure: maybe",
    );
    let e = parse(&bad).expect_err("not a boolean").to_string();
    assert!(e.starts_with("line 14 column"), "{e}");
    // A setting of another type: refused with its name, the record's line.
    let bad = FILE.replace(
        "target: db.internal:5432",
        "target: db.internal:5432\n    sni: db",
    );
    let e = plan(
        &ClusterState::default(),
        &parse(&bad).expect("parses"),
        false,
    )
    .expect_err("sni on tcp")
    .to_string();
    assert!(
        e.contains("line 15") && e.contains("sni applies to tls checks only, not to tcp checks"),
        "{e}"
    );
}

#[test]
fn files_carry_flap_settings_and_keep_dependencies() {
    let mut state = ClusterState::default();
    apply(&mut state, FILE, false).expect("apply");
    let db = state.find_check("db").expect("db").id.clone();
    let web = state.find_check("web").expect("web").id.clone();
    state.checks.get_mut(&web).expect("web").depends_on = vec![db.clone()];

    let flappy = FILE.replace(
        "    alerts: [hook]\n",
        "    alerts: [hook]\n    flap_threshold: 3\n    flap_window: 5m\n",
    );
    apply(&mut state, &flappy, false).expect("flap settings");
    let w = &state.checks[&web];
    assert_eq!(w.flap_threshold, Some(3));
    assert_eq!(w.flap_window, Some(std::time::Duration::from_secs(300)));
    assert_eq!(w.depends_on, vec![db.clone()], "a file keeps dependencies");
    let text = render(&export(&state)).expect("render");
    assert!(text.contains("flap_threshold: 3"), "{text}");
    let p = plan(&state, &parse(&text).expect("parse export"), true).expect("plan");
    assert!(p.changes.is_empty(), "{:?}\n{text}", p.changes);

    // Pruning the parent away drops it from the child: nothing dangles.
    let without_db = flappy.replace(
        "  - name: db\n    type: tcp\n    target: db.internal:5432\n",
        "",
    );
    apply(&mut state, &without_db, true).expect("prune");
    assert!(!state.checks.contains_key(&db));
    assert!(state.checks[&web].depends_on.is_empty());
}

const DEPENDS: &str = "\
checks:
  - name: web
    type: http
    target: http://127.0.0.1:8080/health
    depends_on: [gateway]
  - name: gateway
    type: tcp
    target: gw.internal:443
";

#[test]
fn depends_on_applies_exports_and_round_trips() {
    let mut state = ClusterState::default();
    apply(&mut state, DEPENDS, false).expect("a parent declared further down");
    let gw = state.find_check("gateway").expect("gateway").id.clone();
    assert_eq!(state.find_check("web").expect("web").depends_on, vec![gw]);
    let text = render(&export(&state)).expect("render");
    assert!(text.contains("depends_on:\n  - gateway"), "{text}");
    let p = plan(&state, &parse(&text).expect("parse export"), true).expect("plan");
    assert!(p.changes.is_empty(), "{:?}\n{text}", p.changes);
    // A file that does not say keeps the dependency; `[]` clears it.
    let silent = DEPENDS.replace("    depends_on: [gateway]\n", "");
    apply(&mut state, &silent, false).expect("keep");
    assert_eq!(state.find_check("web").expect("web").depends_on.len(), 1);
    let cleared = DEPENDS.replace("[gateway]", "[]");
    apply(&mut state, &cleared, false).expect("clear");
    assert!(state.find_check("web").expect("web").depends_on.is_empty());
}

#[test]
fn an_unknown_parent_or_a_cycle_is_refused_naming_depends_on() {
    let mut state = ClusterState::default();
    let unknown = DEPENDS.replace("[gateway]", "[nowhere]");
    let e = apply(&mut state, &unknown, false).unwrap_err();
    assert_eq!(e.field(), Some("depends_on"), "{e}");
    assert!(e.message().contains("nowhere"), "{e}");
    assert!(state.checks.is_empty(), "nothing applied");
    let cycle = DEPENDS.replace(
        "    target: gw.internal:443\n",
        "    target: gw.internal:443\n    depends_on: [web]\n",
    );
    let e = apply(&mut state, &cycle, false).unwrap_err();
    assert_eq!(e.field(), Some("depends_on"), "{e}");
    assert!(e.message().contains("cycle"), "{e}");
    assert!(state.checks.is_empty(), "nothing applied");
    // A cycle through a check the file leaves alone.
    apply(&mut state, DEPENDS, false).expect("apply");
    let only_gw = "\
checks:
  - name: gateway
    type: tcp
    target: gw.internal:443
    depends_on: [web]
";
    let before = state.clone();
    let e = apply(&mut state, only_gw, false).unwrap_err();
    assert_eq!(e.field(), Some("depends_on"), "{e}");
    assert_eq!(state, before);
}

#[test]
fn canary_targets_are_declared_exported_and_validated() {
    let mut state = ClusterState::default();
    // Never set: the export has no `canary:` key (documents as before).
    apply(&mut state, FILE, false).expect("apply");
    let plain = render(&export(&state)).expect("render");
    assert!(!plain.contains("canary"), "{plain}");
    let with = format!("canary: ['127.0.0.1:9', 'http://127.0.0.1:9/ok']\n{FILE}");
    let first = apply(&mut state, &with, false).expect("apply canary");
    let change = first
        .changes
        .iter()
        .find(|c| c.kind == "canary")
        .expect("a canary change");
    assert_eq!(change.fields[0].from.as_deref(), Some("none"));
    let m = first.mutation().expect("a mutation");
    assert_eq!(m.required_level(), 6, "older nodes would drop the field");
    assert_eq!(
        state.canary_targets,
        vec!["127.0.0.1:9", "http://127.0.0.1:9/ok"]
    );
    // Export writes them; applying the export changes nothing.
    let text = render(&export(&state)).expect("render");
    assert!(
        text.contains("canary:") && text.contains("http://127.0.0.1:9/ok"),
        "{text}"
    );
    let again = apply(&mut state, &text, true).expect("re-apply");
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    // Absent: unchanged. Empty: cleared.
    let plain_plan = apply(&mut state, FILE, false).expect("without canary");
    assert!(plain_plan.mutation().is_none_or(|m| m.required_level() < 6));
    assert_eq!(state.canary_targets.len(), 2);
    apply(&mut state, &format!("canary: []\n{FILE}"), false).expect("clear");
    assert!(state.canary_targets.is_empty());
    // A bad one is refused with the key named, and nothing changes.
    let before = state.clone();
    let err =
        apply(&mut state, &format!("canary: ['no port']\n{FILE}"), false).expect_err("bad target");
    assert_eq!(err.field(), Some("canary"), "{err}");
    assert!(err.message().contains("no port"), "{err}");
    assert_eq!(state, before);
}
