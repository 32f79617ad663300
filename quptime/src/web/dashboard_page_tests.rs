//! The dashboard rendered from fixed data: votes and evidence, masked
//! channels, CSRF token in every form, no forms for a read token, a
//! refused form shown again with its values and the error by its field.

use super::*;
use crate::identity::NodeId;
use crate::state::{AlertChannel, Evidence};

fn check(id: &str, name: &str, state: &str) -> CheckStatus {
    CheckStatus {
        id: id.into(),
        name: name.into(),
        kind: "http".into(),
        target: "http://127.0.0.1:1/h".into(),
        state: state.into(),
        disabled: false,
        ok: 1,
        total: 2,
        alerts: vec![],
        detail: String::new(),
        votes: vec![
            Evidence {
                node: NodeId::new("n1").expect("id"),
                ok: true,
                detail: String::new(),
                latency_ms: 12,
            },
            Evidence {
                node: NodeId::new("n2").expect("id"),
                ok: false,
                detail: "connection refused".into(),
                latency_ms: 0,
            },
        ],
        since: None,
        last_transition: None,
        degraded: false,
        reason: None,
        maintenance: false,
        maintenance_until: None,
        incident: None,
        blocked_by: vec![],
        uptime: None,
    }
}

fn status() -> Status {
    let n1 = NodeId::new("n1").expect("id");
    Status {
        node_id: n1.clone(),
        term: 7,
        master: Some(n1),
        quorum: true,
        need: 2,
        config_version: 42,
        is_master: true,
        peers: vec![],
        checks: vec![check("c1", "web<b>", "down")],
        live_within_ms: 900,
        pinned_master: None,
        unhealthy: None,
    }
}

fn state() -> ClusterState {
    let mut s = ClusterState::default();
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("url".into(), "https://hooks.example/T0/secret-path".into());
    s.alerts.insert(
        "a1".into(),
        AlertChannel {
            id: "a1".into(),
            name: "ops".into(),
            kind: "webhook".into(),
            default: false,
            disabled: false,
            settings,
        },
    );
    s
}

fn view<'a>(status: &'a Status, state: &'a ClusterState, role: TokenRole) -> View<'a> {
    View {
        status,
        state,
        who: "ci",
        role,
        csrf: "TOKEN123",
        notice: None,
        failed: None,
        now_ms: 0,
    }
}

#[test]
fn the_page_shows_the_cluster_votes_and_masked_channels() {
    let (st, s) = (status(), state());
    let html = main(&view(&st, &s, TokenRole::Write));
    assert!(html.contains(r#"<td id="master">n1</td>"#), "{html}");
    assert!(html.contains(r#"<td id="version">42</td>"#), "{html}");
    assert!(html.contains("web&lt;b&gt;"), "names are escaped: {html}");
    assert!(html.contains("n1: ok, 12 ms"), "{html}");
    assert!(html.contains("n2: failed: connection refused"), "{html}");
    assert!(
        !html.contains("secret-path"),
        "the webhook path is masked: {html}"
    );
    assert!(html.contains("ops"), "{html}");
    assert!(!html.contains("<script"), "{html}");
}

#[test]
fn every_form_carries_the_csrf_token() {
    let (st, s) = (status(), state());
    let html = main(&view(&st, &s, TokenRole::Write));
    let forms = html.matches("<form").count();
    assert!(
        forms >= 5,
        "add, maintenance, logout and per-check forms: {html}"
    );
    let hidden = r#"<input type="hidden" name="csrf" value="TOKEN123">"#;
    assert_eq!(html.matches(hidden).count(), forms, "{html}");
    assert!(
        html.contains(r#"action="/dashboard/checks/c1/disable""#),
        "{html}"
    );
    assert!(
        html.contains(r#"action="/dashboard/checks/c1/silence""#),
        "{html}"
    );
    assert!(html.contains(r#"id="add-check""#) && html.contains(r#"id="add-maintenance""#));
}

#[test]
fn a_read_token_sees_no_write_forms() {
    let (st, s) = (status(), state());
    let html = main(&view(&st, &s, TokenRole::Read));
    assert!(html.contains(r#"id="read-only""#), "{html}");
    assert!(!html.contains(r#"id="add-check""#), "{html}");
    assert!(!html.contains("/disable"), "{html}");
    assert_eq!(html.matches("<form").count(), 1, "only logout: {html}");
}

#[test]
fn a_refused_form_comes_back_with_its_values_and_the_error_by_the_field() {
    let (st, s) = (status(), state());
    let failed = Failed {
        form: "add".into(),
        field: Some("interval".into()),
        text: "\"soon\" is not a duration (use 30s)".into(),
        values: Form::parse(b"name=api&type=tcp&target=127.0.0.1%3A9&interval=soon").expect("form"),
    };
    let v = View {
        failed: Some(&failed),
        ..view(&st, &s, TokenRole::Write)
    };
    let html = main(&v);
    assert!(html.contains(r#"name="name" value="api""#), "{html}");
    assert!(html.contains(r#"<option value="tcp" selected>"#), "{html}");
    assert!(
        html.contains(r#"name="interval" value="soon" placeholder="30s"></label><span class="error" role="alert" data-field="interval">&quot;soon&quot; is not a duration (use 30s)</span>"#),
        "{html}"
    );
    // A field the form has no input for: the error goes on top of the form.
    let failed = Failed {
        field: Some("depends_on".into()),
        ..failed
    };
    let html = main(&View {
        failed: Some(&failed),
        ..view(&st, &s, TokenRole::Write)
    });
    assert!(
        html.contains(r#"<p class="error" role="alert" data-field="depends_on">"#),
        "{html}"
    );
}

#[test]
fn the_login_and_refusal_pages_say_what_to_do() {
    let html = login("ONEOFF", Some("unknown token"));
    assert!(
        html.contains(r#"<input type="hidden" name="csrf" value="ONEOFF">"#),
        "{html}"
    );
    assert!(html.contains(r#"type="password" name="token""#), "{html}");
    assert!(html.contains("unknown token"), "{html}");
    let html = refused("Refused", "log in first");
    assert!(
        html.contains(r#"id="refused""#) && html.contains("log in first"),
        "{html}"
    );
}
