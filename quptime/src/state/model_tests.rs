//! Tests of the replicated records' validation.

use super::*;

fn http(target: &str) -> Check {
    Check {
        id: "c1".into(),
        name: "web".into(),
        target: target.into(),
        interval: DEFAULT_INTERVAL,
        timeout: DEFAULT_TIMEOUT,
        ..Check::blank(CheckType::Http)
    }
}

#[test]
fn status_specs() {
    let s = StatusSpec::parse("200, 2xx,301").expect("spec");
    assert!(s.matches(200) && s.matches(204) && s.matches(301));
    assert!(!s.matches(302) && !s.matches(500));
    for bad in ["", "99", "600", "6xx", "2x", "abc", "200,"] {
        assert!(StatusSpec::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn urls_are_checked() {
    assert!(http("https://example.com/health").validate().is_ok());
    assert!(http("http://127.0.0.1:8080").validate().is_ok());
    for bad in [
        "example.com",
        "ftp://x",
        "http://",
        "http://h:0/",
        "http://h:99999/",
    ] {
        let err = http(bad).validate().expect_err(bad);
        assert!(err.to_string().contains("http target"), "{err}");
    }
}

#[test]
fn types_durations_and_status_are_checked() {
    assert!(CheckType::parse("smtp").is_err());
    let mut c = http("http://x");
    c.interval = Duration::from_millis(10);
    assert!(
        c.validate()
            .expect_err("interval")
            .to_string()
            .contains("interval")
    );
    assert!(StatusSpec::parse("42").is_err());
    // An http setting on a tcp check cannot be written as a `Check` any
    // more (the probe is a sum type); where it can still be written, in a
    // document that names the settings flat, it is refused by name.
    let mut fields = ProbeFields::default();
    fields.http.insecure = true;
    assert!(
        fields
            .into_probe(CheckType::Tcp)
            .expect_err("http-only flag")
            .to_string()
            .contains("http checks only")
    );
    let mut c = http("db:5432");
    c.probe = Probe::blank(CheckType::Tcp);
    assert!(c.validate().is_ok());
    c.target = "db".into();
    assert!(
        c.validate()
            .expect_err("no port")
            .to_string()
            .contains("tcp target")
    );
}

#[test]
fn every_field_has_a_bound_and_the_error_says_it() {
    let mut c = http("db:5432");
    c.probe = Probe::blank(CheckType::Tcp);
    c.target = format!("{}:5432", "h".repeat(120_000));
    let e = c.validate().expect_err("120 KB tcp host");
    assert!(e.message().contains("over the limit of 2048"), "{e}");
    assert!(e.message().len() < 200, "{e}");
    c.target = format!("{}:5432", "h".repeat(300));
    let e = c.validate().expect_err("300-byte host");
    assert!(e.message().contains("too long"), "{e}");

    let mut c = http("http://x/");
    c.http_mut().expect("http").body_match = Some("w".repeat(MAX_MATCH + 1));
    assert!(
        c.validate()
            .expect_err("body")
            .message()
            .contains("body_match")
    );
    let mut c = http("http://x/");
    c.remind = Some(Duration::from_secs(18_446_744_073_709_552));
    let e = c.validate().expect_err("remind");
    assert!(e.message().contains("from 1s to 720h"), "{e}");
    let mut c = http("http://x/");
    c.alerts = (0..=MAX_CHECK_ALERTS).map(|i| format!("a{i}")).collect();
    assert!(c.validate().is_err());
    let mut c = http("http://x/");
    c.http_mut().expect("http").max_redirects = Some(200);
    assert!(c.validate().is_err());
    let c = http(&format!("http://x/{}", "p".repeat(MAX_TARGET)));
    assert!(c.validate().is_err());
    assert!(room_for("checks", MAX_CHECKS, 1, MAX_CHECKS).is_err());
    assert!(room_for("checks", MAX_CHECKS - 1, 1, MAX_CHECKS).is_ok());
    let long_name = "n".repeat(10_000);
    let e = validate_name("check name", &long_name).expect_err("name");
    assert!(e.message().len() < 300, "{e}");
}
