//! Tests of the dns settings: each expected value's form per record type,
//! the bounds and exclusions, the pure judge of answers, and the level.

use super::*;

fn probe(record: DnsRecord, values: &[&str]) -> DnsProbe {
    DnsProbe {
        record: Some(record),
        expect_values: values.iter().map(|v| v.to_string()).collect(),
        ..DnsProbe::default()
    }
}

fn answers(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

#[test]
fn values_of_the_wrong_form_are_refused_naming_the_field() {
    for (record, bad, why) in [
        (DnsRecord::A, "2001:db8::1", "IPv4 address"),
        (DnsRecord::A, "10.0.0.300", "IPv4 address"),
        (DnsRecord::Aaaa, "10.0.0.1", "IPv6 address"),
        (DnsRecord::Cname, "not a name", "host name"),
        (DnsRecord::Ns, "", "host name"),
        (DnsRecord::Mx, "ten mail.test", "PREFERENCE HOST"),
        (DnsRecord::Mx, "10 mail.test extra", "PREFERENCE HOST"),
        (DnsRecord::Txt, " ", "not empty"),
    ] {
        let e = probe(record, &[bad]).validate("web.test").unwrap_err();
        assert_eq!(e.field(), Some("expect_values"), "{e}");
        assert!(e.to_string().contains(why), "{record:?} {bad:?}: {e}");
    }
    let e = probe(DnsRecord::A, &["10.0.0.1", " 10.0.0.1"])
        .validate("web.test")
        .unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
    let many: Vec<String> = (0..=MAX_EXPECT_VALUES)
        .map(|i| format!("10.0.0.{i}"))
        .collect();
    let p = DnsProbe {
        expect_values: many,
        ..DnsProbe::default()
    };
    assert!(
        p.validate("web.test")
            .unwrap_err()
            .to_string()
            .contains("at most 32")
    );
    probe(DnsRecord::Mx, &["10 mail.test.", "backup.test"])
        .validate("web.test")
        .expect("mx forms");
}

#[test]
fn counts_and_nxdomain_are_bounded_and_exclusive() {
    let mut p = probe(DnsRecord::A, &["10.0.0.1", "10.0.0.2"]);
    p.expect_count = Some(0);
    let e = p.validate("web.test").unwrap_err();
    assert_eq!(e.field(), Some("expect_count"));
    assert!(e.to_string().contains("expect_nxdomain"), "{e}");
    p.expect_count = Some(1);
    let e = p.validate("web.test").unwrap_err();
    assert!(e.to_string().contains("fewer than the 2"), "{e}");
    p.expect_count = Some(2);
    p.validate("web.test").expect("two of two");
    p.expect_nxdomain = true;
    let e = p.validate("web.test").unwrap_err();
    assert_eq!(e.field(), Some("expect_nxdomain"));
    assert!(e.to_string().contains("expect_values"), "{e}");
    let only = DnsProbe {
        expect_nxdomain: true,
        expect_answer: Some("x".into()),
        ..DnsProbe::default()
    };
    assert!(
        only.validate("gone.test")
            .unwrap_err()
            .to_string()
            .contains("expect_answer")
    );
}

#[test]
fn values_must_all_be_there_compared_by_meaning() {
    let p = probe(DnsRecord::Aaaa, &["2001:db8:0::1"]);
    assert_eq!(p.judge(&answers(&["2001:db8::1", "2001:db8::2"])), Ok(()));
    assert_eq!(
        p.judge(&answers(&["2001:db8::2"])),
        Err("missing 2001:db8:0::1".into())
    );
    let p = probe(DnsRecord::Cname, &["Edge.CDN.test"]);
    assert_eq!(p.judge(&answers(&["edge.cdn.test."])), Ok(()));
    let p = probe(DnsRecord::Mx, &["mail.test", "20 backup.test"]);
    assert_eq!(
        p.judge(&answers(&["10 mail.test.", "20 backup.test."])),
        Ok(())
    );
    assert_eq!(
        p.judge(&answers(&["10 mail.test.", "30 backup.test."])),
        Err("missing 20 backup.test".into())
    );
    let p = probe(DnsRecord::Txt, &["v=spf1 -all"]);
    assert_eq!(p.judge(&answers(&["v=spf1 -all"])), Ok(()));
    assert!(p.judge(&answers(&["v=spf1 ~all"])).is_err());
}

#[test]
fn counts_expect_exactly_and_set_equality_follows() {
    let mut p = probe(DnsRecord::A, &["10.0.0.1", "10.0.0.2"]);
    p.expect_count = Some(2);
    assert_eq!(p.judge(&answers(&["10.0.0.2", "10.0.0.1"])), Ok(()));
    assert_eq!(
        p.judge(&answers(&["10.0.0.2", "10.0.0.1", "10.0.0.3"])),
        Err("3 answers, expected 2".into())
    );
    let plain = DnsProbe::default();
    assert_eq!(plain.judge(&[]), Err("no A record".into()));
    assert_eq!(plain.judge(&answers(&["10.0.0.9"])), Ok(()));
    let nx = DnsProbe {
        expect_nxdomain: true,
        ..DnsProbe::default()
    };
    assert!(nx.judge(&answers(&["10.0.0.9"])).is_err());
}

#[test]
fn new_expectations_need_level_6_and_defaults_serialize_as_before() {
    let plain = DnsProbe {
        record: Some(DnsRecord::Txt),
        expect_answer: Some("spf".into()),
        ..DnsProbe::default()
    };
    assert_eq!(plain.level(), 1);
    assert_eq!(
        serde_json::to_string(&plain).unwrap(),
        r#"{"record":"txt","expect_answer":"spf"}"#
    );
    assert_eq!(probe(DnsRecord::A, &["10.0.0.1"]).level(), 6);
    let count = DnsProbe {
        expect_count: Some(2),
        ..DnsProbe::default()
    };
    assert_eq!(count.level(), 6);
    let nx = DnsProbe {
        expect_nxdomain: true,
        ..DnsProbe::default()
    };
    assert_eq!(nx.level(), 6);
    assert_eq!(
        serde_json::to_string(&nx).unwrap(),
        r#"{"expect_nxdomain":true}"#
    );
}
