//! The probe sum type keeps the wire and disk form of a check: records
//! written by the flat `Check` of earlier releases read back, and what this
//! release writes has the same keys and values (so older nodes read it).

use super::*;
use crate::state::Check;
use serde_json::Value;

/// Checks as the flat `Check` before the probe sum type wrote them (one
/// per kind, every option set): the output of `serde_json::to_string` of
/// commit c1fc3aa, byte for byte.
const GOLDEN: [&str; 5] = [
    r#"{"id":"c1","name":"web","type":"http","target":"https://example.com/health","interval":"15s","timeout":"5s","expect_status":"200,3xx","body_match":"Welcome","insecure":true,"max_redirects":3,"keep_alive":true,"alerts":["a1"],"remind":"1h","suppress_alerts":["a2"],"disabled":true}"#,
    r#"{"id":"c2","name":"db","type":"tcp","target":"db.internal:5432","interval":"30s","timeout":"10s"}"#,
    r#"{"id":"c3","name":"gw","type":"icmp","target":"10.0.0.1","interval":"5s","timeout":"1s"}"#,
    r#"{"id":"c4","name":"cert","type":"tls","target":"api.example.com:443","interval":"1h","timeout":"10s","warn_days":21,"sni":"status.example.com"}"#,
    r#"{"id":"c5","name":"www","type":"dns","target":"www.example.com","interval":"1m","timeout":"2s","record":"aaaa","resolver":"9.9.9.9:53","expect_answer":"2001:db8::1"}"#,
];

#[test]
fn records_of_the_flat_check_read_back_and_write_the_same_keys() {
    let kinds = [
        CheckType::Http,
        CheckType::Tcp,
        CheckType::Icmp,
        CheckType::Tls,
        CheckType::Dns,
    ];
    for (text, kind) in GOLDEN.iter().zip(kinds) {
        let check: Check = serde_json::from_str(text).expect(text);
        assert_eq!(check.kind(), kind, "{text}");
        check.validate().expect(text);
        let written = serde_json::to_value(&check).expect("write");
        let golden: Value = serde_json::from_str(text).expect("golden");
        assert_eq!(written, golden, "the same document, key for key");
    }
    let web: Check = serde_json::from_str(GOLDEN[0]).expect("http");
    let http = web.http().expect("http settings");
    assert_eq!(
        http.expect_status.as_ref().map(StatusSpec::as_str),
        Some("200,3xx")
    );
    assert_eq!(http.body_match.as_deref(), Some("Welcome"));
    assert!(http.insecure && http.keep_alive);
    assert_eq!(http.max_redirects, Some(3));
    let www: Check = serde_json::from_str(GOLDEN[4]).expect("dns");
    let dns = www.dns().expect("dns settings");
    assert_eq!(dns.record, Some(DnsRecord::Aaaa));
    assert_eq!(dns.resolver.as_deref(), Some("9.9.9.9:53"));
    let cert: Check = serde_json::from_str(GOLDEN[3]).expect("tls");
    assert_eq!(cert.tls().expect("tls settings").warn_days, Some(21));
}

#[test]
fn a_setting_of_another_kind_is_refused_by_name() {
    let mut fields = ProbeFields::default();
    fields.http.insecure = true;
    let e = fields
        .clone()
        .into_probe(CheckType::Tcp)
        .expect_err("insecure on tcp");
    assert_eq!(
        e.message(),
        "insecure applies to http checks only, not to tcp checks"
    );
    assert!(matches!(
        fields.into_probe(CheckType::Http),
        Ok(Probe::Http(HttpProbe { insecure: true, .. }))
    ));
    let mut fields = ProbeFields::default();
    fields.dns.resolver = Some("9.9.9.9".into());
    let e = fields
        .into_probe(CheckType::Tls)
        .expect_err("resolver on tls");
    assert!(
        e.message()
            .starts_with("resolver applies to dns checks only"),
        "{e}"
    );
}

#[test]
fn documents_with_the_other_kinds_keys_empty_are_accepted() {
    // What the Python module sends for a tcp check: every key, unset.
    let doc = r#"{"expect_status":null,"body_match":null,"insecure":false,"max_redirects":null,
        "keep_alive":false,"warn_days":null,"sni":null,"record":null,"resolver":null,
        "expect_answer":null}"#;
    let fields: ProbeFields = serde_json::from_str(doc).expect("all unset");
    assert_eq!(
        fields.into_probe(CheckType::Tcp).expect("tcp"),
        Probe::blank(CheckType::Tcp)
    );
    // Unknown keys are ignored, as the spec documents always did.
    let typo: ProbeFields = serde_json::from_str(r#"{"body_matches":"x"}"#).expect("ignored");
    assert_eq!(typo, ProbeFields::default());
    let bare: ProbeFields =
        serde_json::from_str(r#"{"expect_status":200,"record":"TXT"}"#).expect("bare number");
    assert_eq!(bare.http.expect_status.expect("status").as_str(), "200");
    assert_eq!(bare.dns.record, Some(DnsRecord::Txt));
}

#[test]
fn a_patch_sets_resets_and_keeps_by_name() {
    let mut http = HttpProbe {
        body_match: Some("ok".into()),
        max_redirects: Some(2),
        ..HttpProbe::default()
    };
    let probe = Probe::Http(http.clone());
    let changes = serde_json::json!({"expect_status": "2xx", "body_match": "", "max_redirects": null, "insecure": true});
    let patched = ProbeFields::patch(&probe, changes.as_object().expect("map")).expect("patch");
    http.expect_status = Some(StatusSpec::parse("2xx").expect("spec"));
    http.body_match = None;
    http.insecure = true;
    assert_eq!(patched, Probe::Http(http));
    let tcp = Probe::blank(CheckType::Tcp);
    let e = ProbeFields::patch(
        &tcp,
        serde_json::json!({"keep_alive": true})
            .as_object()
            .expect("map"),
    )
    .expect_err("http setting on tcp");
    assert!(
        e.message()
            .contains("keep_alive applies to http checks only"),
        "{e}"
    );
    let e = ProbeFields::patch(
        &tcp,
        serde_json::json!({"colour": "red"})
            .as_object()
            .expect("map"),
    )
    .expect_err("unknown");
    assert!(e.message().contains("colour"), "{e}");
    let same = ProbeFields::patch(
        &tcp,
        serde_json::json!({"sni": null}).as_object().expect("map"),
    )
    .expect("null keeps");
    assert_eq!(same, tcp);
}

#[test]
fn tcp_and_icmp_settings_go_through_the_documents() {
    let f: ProbeFields = serde_json::from_str(
        r#"{"send": "PING\\r\\n", "expect_reply": "+PONG", "warn_days": null}"#,
    )
    .expect("fields");
    let p = f.clone().into_probe(CheckType::Tcp).expect("tcp");
    assert_eq!(ProbeFields::of(&p), f);
    let e = f.into_probe(CheckType::Http).unwrap_err().to_string();
    assert!(e.contains("applies to tcp checks only, not to http"), "{e}");
    let f: ProbeFields =
        serde_json::from_str(r#"{"count": 5, "max_loss": 40, "max_rtt": "200ms"}"#).expect("icmp");
    let p = f.clone().into_probe(CheckType::Icmp).expect("icmp");
    assert_eq!(
        serde_json::to_value(ProbeFields::of(&p)).expect("json"),
        serde_json::json!({"count": 5, "max_loss": 40, "max_rtt": "200ms"})
    );
    let changed = ProbeFields::patch(
        &p,
        &serde_json::from_str(r#"{"count": "", "max_rtt": "1s"}"#).expect("patch"),
    )
    .expect("patched");
    let Probe::Icmp(icmp) = changed else {
        panic!("not icmp: {changed:?}")
    };
    assert_eq!(icmp.count, None);
    assert_eq!(icmp.max_rtt, Some(std::time::Duration::from_secs(1)));
}
