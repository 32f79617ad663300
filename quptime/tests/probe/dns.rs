//! dns prober tests against the in-process responder: an answer that
//! matches, NXDOMAIN, a name without the record type asked for, an answer
//! that does not contain the expected text, TXT records, and a resolver
//! that never answers.

use std::net::Ipv4Addr;
use std::time::Duration;

use quptime::state::{Check, CheckType, DnsRecord};

use crate::dns_server::{self, Zone};
use crate::{assert_down, assert_up, check, probers};

async fn zone() -> String {
    dns_server::start(
        Zone::default()
            .a("web.test", Ipv4Addr::new(127, 0, 0, 10))
            .a("web.test", Ipv4Addr::new(127, 0, 0, 11))
            .txt("mail.test", "v=spf1 -all"),
    )
    .await
}

fn dns(name: &str, resolver: &str) -> Check {
    let mut c = check(CheckType::Dns, name);
    c.dns_mut().expect("dns").resolver = Some(resolver.to_string());
    c
}

#[tokio::test]
async fn dns_answers_are_up() {
    let server = zone().await;
    let p = probers();
    let mut c = dns("web.test", &server);
    let r = p.probe(&c).await;
    assert_up(&r, "A 127.0.0.10, 127.0.0.11");
    c.dns_mut().expect("dns").expect_answer = Some("127.0.0.11".into());
    assert_up(&p.probe(&c).await, "A 127.0.0.10, 127.0.0.11");
    // A trailing dot is the same name.
    c.target = "web.test.".into();
    assert_up(&p.probe(&c).await, "A 127.0.0.10, 127.0.0.11");
    let mut c = dns("mail.test", &server);
    c.dns_mut().expect("dns").record = Some(DnsRecord::Txt);
    c.dns_mut().expect("dns").expect_answer = Some("spf1".into());
    assert_up(&p.probe(&c).await, "TXT v=spf1 -all");
}

#[tokio::test]
async fn dns_missing_names_and_records_are_down() {
    let server = zone().await;
    let p = probers();
    let r = p.probe(&dns("gone.test", &server)).await;
    assert_down(&r, "dns: gone.test does not exist (NXDOMAIN)");
    let mut c = dns("web.test", &server);
    c.dns_mut().expect("dns").record = Some(DnsRecord::Txt);
    assert_down(&p.probe(&c).await, "dns: no TXT record for web.test");
    let mut c = dns("web.test", &server);
    c.dns_mut().expect("dns").expect_answer = Some("10.9.9.9".into());
    assert_down(
        &p.probe(&c).await,
        "dns: no answer contains \"10.9.9.9\": A 127.0.0.10, 127.0.0.11",
    );
}

#[tokio::test]
async fn dns_silent_resolver_times_out() {
    let (_socket, addr) = dns_server::black_hole().await;
    let mut c = dns("web.test", &addr);
    c.timeout = Duration::from_millis(700);
    let r = probers().probe(&c).await;
    assert_down(&r, "timeout after 700ms");
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
    p.set_dns_resolvers(std::slice::from_ref(&first));
    assert_up(&p.probe(&own).await, "A 127.0.0.10, 127.0.0.11");
    // A check's own resolver wins over the cluster-wide list.
    assert_up(&p.probe(&dns("web.test", &second)).await, "A 127.0.0.20");
    // A new list takes effect for the next probe.
    p.set_dns_resolvers(std::slice::from_ref(&second));
    assert_up(&p.probe(&own).await, "A 127.0.0.20");
}
