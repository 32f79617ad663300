//! Unit tests of the condition parser and evaluator: every kind passing
//! and failing with its evidence, and every bad form refused at its column.

use super::*;

fn seen<'a>(status: u16, body: &'a [u8], headers: &'a [(String, String)]) -> Observed<'a> {
    Observed {
        status,
        elapsed: Duration::from_millis(120),
        headers,
        body,
        cert_left: Some(Duration::from_secs(10 * 86_400)),
    }
}

fn eval(cond: &str, o: &Observed<'_>) -> std::result::Result<(), String> {
    Condition::parse(cond).expect(cond).eval(o)
}

#[test]
fn every_kind_passes_and_fails_with_evidence() {
    let h = vec![("Content-Type".to_string(), "application/json".to_string())];
    let body = br#"{"status":"degraded","queue":{"depth":120},"items":[{"id":7}]}"#;
    let o = seen(503, body, &h);
    let cases: &[(&str, Option<&str>)] = &[
        ("status == 503", None),
        ("status == 200", Some("status was 503")),
        ("status in 200..299", Some("status was 503")),
        ("status in 500..599", None),
        ("status >= 500", None),
        ("response_time < 300ms", None),
        ("response_time < 100ms", Some("response_time was 120ms")),
        ("body contains \"degraded\"", None),
        ("body contains \"ok\"", Some("body does not contain \"ok\"")),
        ("body matches \"de.r\"", None),
        (
            "body matches \"^ok$\"",
            Some("body does not match \"^ok$\""),
        ),
        (
            "json $.status == \"ok\"",
            Some("json $.status was \"degraded\""),
        ),
        ("json $.status != \"ok\"", None),
        (
            "json $.queue.depth < 100",
            Some("json $.queue.depth was 120"),
        ),
        ("json $.queue.depth >= 100", None),
        ("json $.items[0].id == 7", None),
        ("json $.nope == 1", Some("json $.nope missing")),
        ("header Content-Type contains \"json\"", None),
        (
            "header content-type == \"text/html\"",
            Some("header content-type was \"application/json\""),
        ),
        (
            "header X-Missing == \"x\"",
            Some("header X-Missing missing"),
        ),
        ("cert_expiry > 7d", None),
        ("cert_expiry > 30d", Some("cert_expiry was 10d")),
    ];
    for (cond, want) in cases {
        assert_eq!(eval(cond, &o).err().as_deref(), *want, "{cond}");
    }
}

#[test]
fn json_and_cert_need_their_inputs() {
    let o = Observed {
        cert_left: None,
        ..seen(200, b"not json", &[])
    };
    assert_eq!(
        eval("json $.a == 1", &o).unwrap_err(),
        "json $.a == 1: body is not JSON"
    );
    assert!(
        eval("cert_expiry > 1d", &o)
            .unwrap_err()
            .contains("not https")
    );
}

#[test]
fn bad_conditions_name_the_column_and_show_examples() {
    let cases: &[(&str, &str)] = &[
        ("", "column 1: empty condition"),
        ("stauts == 200", "column 1: unknown subject \"stauts\""),
        ("status = 200", "column 8: expected an operator"),
        ("status == 999", "column 11: expected a status code"),
        ("status in 200-299", "expected `..`"),
        ("status in 299..200", "empty range"),
        ("response_time < 300", "column 17: expected a duration"),
        ("body has \"x\"", "column 6: expected contains or matches"),
        (
            "body contains ok",
            "column 15: expected a double-quoted text",
        ),
        ("body contains \"ok", "unclosed quote"),
        ("body matches \"(\"", "bad regex"),
        (
            "json status == 1",
            "column 6: expected a JSON path starting with $",
        ),
        ("json $.a[x] == 1", "expected an index"),
        ("json $.a == ok", "column 13: expected a JSON value"),
        ("json $.a == [1]", "compare with a string"),
        ("header == \"x\"", "column 8: expected a header name"),
        (
            "header X-A is \"x\"",
            "column 12: expected ==, != or contains",
        ),
        ("status == 200 extra", "column 15: unexpected \"extra\""),
        ("cert_expiry > 99999d", "too long"),
    ];
    for (cond, want) in cases {
        let e = Condition::parse(cond).expect_err(cond).to_string();
        assert!(e.contains(want), "{cond}: {e}");
        assert!(e.contains("examples: status == 200"), "{cond}: {e}");
    }
    let long = format!("body contains \"{}\"", "x".repeat(MAX_CONDITION));
    assert!(
        Condition::parse(&long)
            .unwrap_err()
            .to_string()
            .contains("over the limit")
    );
}

#[test]
fn conditions_travel_as_their_text() {
    let c = Condition::parse("  json $.status == \"ok\" ").expect("parse");
    let wire = serde_json::to_string(&c).expect("ser");
    assert_eq!(wire, r#""json $.status == \"ok\"""#);
    let back: Condition = serde_json::from_str(&wire).expect("de");
    assert_eq!(back, c);
    assert!(serde_json::from_str::<Condition>(r#""status ="#).is_err());
}
