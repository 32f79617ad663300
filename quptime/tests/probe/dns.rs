//! dns prober tests against real DNS servers on 127.0.0.1 (hickory-server,
//! `dns_server.rs`): every record type with expected values and counts,
//! NXDOMAIN (expected or not), SERVFAIL, a truncated UDP answer retried
//! over TCP, resolvers asked strictly in order (the first that answers
//! wins, the next is asked only when it does not), and a resolver that
//! never answers.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_server::proto::op::ResponseCode;
use quptime::state::{Check, CheckType, DnsProbe, DnsRecord};

use crate::dns_server::{self, DnsServer, Zone};
use crate::{assert_down, assert_up, check, probers};

async fn zone() -> DnsServer {
    dns_server::start(
        Zone::default()
            .a("web.test", Ipv4Addr::new(127, 0, 0, 10))
            .a("web.test", Ipv4Addr::new(127, 0, 0, 11))
            .aaaa("web.test", Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
            .cname("www.test", "edge.cdn.test")
            .a("edge.cdn.test", Ipv4Addr::new(127, 0, 0, 12))
            .mx("mail.test", 10, "mx1.mail.test")
            .mx("mail.test", 20, "mx2.mail.test")
            .ns("test", "ns.test")
            .txt("mail.test", &["v=spf1 -all"]),
    )
    .await
}

fn dns(name: &str, resolver: &str) -> Check {
    let mut c = check(CheckType::Dns, name);
    c.dns_mut().expect("dns").resolver = Some(resolver.to_string());
    c
}

fn with(mut c: Check, f: impl FnOnce(&mut DnsProbe)) -> Check {
    f(c.dns_mut().expect("dns"));
    c.validate().expect("a valid check");
    c
}

fn record(r: DnsRecord, values: &[&str]) -> impl FnOnce(&mut DnsProbe) {
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    move |p| {
        p.record = Some(r);
        p.expect_values = values;
    }
}

#[tokio::test]
async fn dns_answers_are_up_and_name_the_server() {
    let server = zone().await;
    let at = &server.addr;
    let p = probers();
    let mut c = dns("web.test", at);
    let r = p.probe(&c).await;
    assert_up(&r, &format!("A 127.0.0.10, 127.0.0.11 from {at}"));
    c.dns_mut().expect("dns").expect_answer = Some("127.0.0.11".into());
    assert_up(
        &p.probe(&c).await,
        &format!("A 127.0.0.10, 127.0.0.11 from {at}"),
    );
    // A trailing dot is the same name.
    c.target = "web.test.".into();
    assert_up(
        &p.probe(&c).await,
        &format!("A 127.0.0.10, 127.0.0.11 from {at}"),
    );
}

#[tokio::test]
async fn every_record_type_meets_its_expected_values() {
    let server = zone().await;
    let at = &server.addr;
    let p = probers();
    let cases = [
        (
            "web.test",
            record(DnsRecord::A, &["127.0.0.11", "127.0.0.10"]),
            "A 127.0.0.10, 127.0.0.11",
        ),
        (
            "web.test",
            record(DnsRecord::Aaaa, &["2001:db8:0:0::1"]),
            "AAAA 2001:db8::1",
        ),
        (
            "www.test",
            record(DnsRecord::Cname, &["Edge.CDN.test"]),
            "CNAME edge.cdn.test.",
        ),
        (
            "mail.test",
            record(DnsRecord::Mx, &["mx1.mail.test", "20 mx2.mail.test."]),
            "MX 10 mx1.mail.test., 20 mx2.mail.test.",
        ),
        ("test", record(DnsRecord::Ns, &["ns.test"]), "NS ns.test."),
        (
            "mail.test",
            record(DnsRecord::Txt, &["v=spf1 -all"]),
            "TXT v=spf1 -all",
        ),
    ];
    for (name, expect, detail) in cases {
        let c = with(dns(name, at), expect);
        assert_up(&p.probe(&c).await, &format!("{detail} from {at}"));
    }
    // A CNAME followed for an A lookup: the address is the answer.
    let c = with(dns("www.test", at), record(DnsRecord::A, &["127.0.0.12"]));
    assert_up(&p.probe(&c).await, &format!("A 127.0.0.12 from {at}"));
}

#[tokio::test]
async fn answers_that_miss_an_expectation_are_down_with_what_came_back() {
    let server = zone().await;
    let at = &server.addr;
    let p = probers();
    let c = with(
        dns("web.test", at),
        record(DnsRecord::A, &["127.0.0.10", "10.9.9.9"]),
    );
    assert_down(
        &p.probe(&c).await,
        &format!("dns: missing 10.9.9.9: A 127.0.0.10, 127.0.0.11 from {at}"),
    );
    let c = with(dns("web.test", at), |d| d.expect_count = Some(3));
    assert_down(
        &p.probe(&c).await,
        &format!("dns: 2 answers, expected 3: A 127.0.0.10, 127.0.0.11 from {at}"),
    );
    let c = with(
        dns("mail.test", at),
        record(DnsRecord::Mx, &["10 mx2.mail.test"]),
    );
    assert_down(
        &p.probe(&c).await,
        &format!(
            "dns: missing 10 mx2.mail.test: MX 10 mx1.mail.test., 20 mx2.mail.test. from {at}"
        ),
    );
    let c = with(dns("web.test", at), |d| {
        d.expect_answer = Some("10.9.9.9".into())
    });
    assert_down(
        &p.probe(&c).await,
        &format!("dns: no answer contains \"10.9.9.9\": A 127.0.0.10, 127.0.0.11 from {at}"),
    );
}

#[tokio::test]
async fn nxdomain_is_down_unless_expected() {
    let server = zone().await;
    let at = &server.addr;
    let p = probers();
    let r = p.probe(&dns("gone.test", at)).await;
    assert_down(
        &r,
        &format!("dns: gone.test does not exist (NXDOMAIN from {at})"),
    );
    let c = with(dns("gone.test", at), |d| d.expect_nxdomain = true);
    assert_up(&p.probe(&c).await, &format!("NXDOMAIN from {at}"));
    let c = with(dns("web.test", at), |d| d.expect_nxdomain = true);
    assert_down(
        &p.probe(&c).await,
        &format!("dns: expected NXDOMAIN, the name exists: A 127.0.0.10, 127.0.0.11 from {at}"),
    );
    // The name exists without the type asked: not NXDOMAIN either.
    let c = with(dns("mail.test", at), |d| d.expect_nxdomain = true);
    assert_down(
        &p.probe(&c).await,
        &format!("dns: expected NXDOMAIN, the name exists without A records from {at}"),
    );
    let mut c = dns("web.test", at);
    c.dns_mut().expect("dns").record = Some(DnsRecord::Txt);
    assert_down(
        &p.probe(&c).await,
        &format!("dns: no TXT record for web.test from {at}"),
    );
}

#[tokio::test]
async fn servfail_is_down_naming_the_server() {
    let broken = dns_server::answering(ResponseCode::ServFail).await;
    let r = probers().probe(&dns("web.test", &broken.addr)).await;
    assert_down(&r, &format!("dns: SERVFAIL from {}", broken.addr));
    assert!(broken.counts.udp() >= 1, "{:?}", broken.counts);
}

#[tokio::test]
async fn a_truncated_udp_answer_is_retried_over_tcp() {
    // Eight 250-byte strings: about 2 KB, over any UDP payload the
    // resolver offers (1232 with EDNS, 512 without), so the UDP answer is
    // cut and flagged TC.
    let chunks: Vec<String> = (0..8).map(|i| format!("{i}{}", "x".repeat(249))).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    let server = dns_server::start(Zone::default().txt("big.test", &refs)).await;
    let c = with(dns("big.test", &server.addr), |d| {
        d.record = Some(DnsRecord::Txt);
        // The last string is there: the whole record came back.
        d.expect_answer = Some(format!("x7{}", "x".repeat(249)));
        d.expect_count = Some(1);
    });
    let r = probers().probe(&c).await;
    assert!(r.ok, "{r:?}");
    assert!(r.detail.starts_with("TXT 0xxx"), "{r:?}");
    assert!(
        r.detail.ends_with(&format!("… from {}", server.addr)),
        "{r:?}"
    );
    assert_eq!(server.counts.udp(), 1, "{:?}", server.counts);
    assert_eq!(server.counts.tcp(), 1, "{:?}", server.counts);
}

/// Two resolvers that disagree: the first listed always decides, and the
/// second is never asked while the first answers.
#[tokio::test]
async fn resolvers_are_asked_in_order_and_the_first_always_wins() {
    let first =
        dns_server::start(Zone::default().a("web.test", Ipv4Addr::new(127, 0, 0, 10))).await;
    let second =
        dns_server::start(Zone::default().a("web.test", Ipv4Addr::new(127, 0, 0, 20))).await;
    let p = probers();
    p.set_dns_resolvers(&[first.addr.clone(), second.addr.clone()]);
    let c = check(CheckType::Dns, "web.test");
    for _ in 0..20 {
        assert_up(
            &p.probe(&c).await,
            &format!("A 127.0.0.10 from {}", first.addr),
        );
    }
    assert_eq!(first.counts.udp(), 20, "{:?}", first.counts);
    assert_eq!(
        second.counts.udp() + second.counts.tcp(),
        0,
        "{:?}",
        second.counts
    );
    // The other order: the other answer, as steadily.
    p.set_dns_resolvers(&[second.addr.clone(), first.addr.clone()]);
    for _ in 0..5 {
        assert_up(
            &p.probe(&c).await,
            &format!("A 127.0.0.20 from {}", second.addr),
        );
    }
    assert_eq!(first.counts.udp(), 20, "{:?}", first.counts);
}

/// A first resolver that is silent or refuses is passed over for the
/// second, and the evidence says so.
#[tokio::test]
async fn the_next_resolver_answers_when_the_first_is_down() {
    let second =
        dns_server::start(Zone::default().a("web.test", Ipv4Addr::new(127, 0, 0, 20))).await;
    let p = probers();
    let c = check(CheckType::Dns, "web.test");

    let refusing = dns_server::answering(ResponseCode::Refused).await;
    p.set_dns_resolvers(&[refusing.addr.clone(), second.addr.clone()]);
    assert_up(
        &p.probe(&c).await,
        &format!(
            "A 127.0.0.20 from {} ({} REFUSED)",
            second.addr, refusing.addr
        ),
    );

    let (_silent, silent) = dns_server::black_hole().await;
    p.set_dns_resolvers(&[silent.clone(), second.addr.clone()]);
    let r = p.probe(&c).await;
    assert_up(
        &r,
        &format!("A 127.0.0.20 from {} ({silent} timed out)", second.addr),
    );
    // Each server had half the 3 s timeout.
    assert!(r.latency < Duration::from_millis(2500), "{r:?}");

    // A resolver that is not running at all.
    let gone = dns_server::start(Zone::default()).await;
    let gone_addr = gone.addr.clone();
    drop(gone);
    p.set_dns_resolvers(&[gone_addr.clone(), second.addr.clone()]);
    let r = p.probe(&c).await;
    assert!(r.ok, "{r:?}");
    assert!(
        r.detail
            .starts_with(&format!("A 127.0.0.20 from {} ({gone_addr} ", second.addr)),
        "{r:?}"
    );
}

#[tokio::test]
async fn dns_silent_resolver_times_out() {
    let (_socket, addr) = dns_server::black_hole().await;
    let mut c = dns("web.test", &addr);
    c.timeout = Duration::from_millis(700);
    let r = probers().probe(&c).await;
    assert_down(&r, &format!("dns: no answer: {addr} timed out"));
    assert!(r.latency < Duration::from_secs(2), "{r:?}");
}

#[tokio::test]
async fn dns_checks_without_a_resolver_use_the_cluster_wide_ones() {
    let first = zone().await;
    let second =
        dns_server::start(Zone::default().a("web.test", Ipv4Addr::new(127, 0, 0, 20))).await;
    let p = probers();
    let own = check(CheckType::Dns, "web.test");
    assert!(own.dns().expect("dns").resolver.is_none());
    p.set_dns_resolvers(std::slice::from_ref(&first.addr));
    assert_up(
        &p.probe(&own).await,
        &format!("A 127.0.0.10, 127.0.0.11 from {}", first.addr),
    );
    // A check's own resolver wins over the cluster-wide list.
    assert_up(
        &p.probe(&dns("web.test", &second.addr)).await,
        &format!("A 127.0.0.20 from {}", second.addr),
    );
    // A new list takes effect for the next probe.
    p.set_dns_resolvers(std::slice::from_ref(&second.addr));
    assert_up(
        &p.probe(&own).await,
        &format!("A 127.0.0.20 from {}", second.addr),
    );
}
