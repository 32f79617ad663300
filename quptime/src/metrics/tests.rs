//! The registry, its documentation and the shipped alert rules agree; the
//! listener answers its three routes over a real loopback socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const RULES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/prometheus-alerts.yml"
));
const DOCS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/metrics.md"));

/// Every `quptime_…` name in `text`, with exposition suffixes removed.
fn names_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("quptime_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let mut name = &tail[..end];
        for suffix in ["_total", "_bucket", "_sum", "_count", "_created"] {
            name = name.strip_suffix(suffix).unwrap_or(name);
        }
        if name != "quptime_" {
            out.insert(name.to_string());
        }
        rest = &tail[end..];
    }
    out
}

fn busy() -> Metrics {
    let m = Metrics::new("alpha");
    m.probe("web", false, Duration::from_millis(30));
    m.probe("web", true, Duration::from_millis(10));
    m.delivery("ops", DeliveryOutcome::Delivered);
    m.delivery("ops", DeliveryOutcome::Retry);
    m.mutation(Duration::from_millis(4), true);
    m.set(&Sample {
        checks: vec![CheckSample {
            name: "web".into(),
            state: "down".into(),
            votes: Some((1, 2)),
            degraded: false,
            in_maintenance: true,
        }],
        outbox_pending: 1,
        outbox_oldest_seconds: 2.5,
        term: 3,
        leader: true,
        master: true,
        quorum: true,
        last_log_index: 10,
        commit_index: 9,
        applied_index: 8,
        voters: 3,
        peers: vec![("bravo".into(), true), ("charlie".into(), false)],
        config_version: 4,
        storage: StorageSample {
            data_dir_bytes: 40_960,
            disk_free_bytes: 1 << 30,
            disk_size_bytes: 1 << 34,
            raft_log_bytes: 20_480,
            raft_log_entries: 12,
            healthy: true,
        },
    });
    m
}

#[test]
fn every_documented_series_is_exported_and_nothing_else() {
    let text = busy().encode();
    let exported = names_in(&text);
    let listed: BTreeSet<String> = SERIES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        exported, listed,
        "SERIES and the exposition differ:\n{text}"
    );
    let documented = names_in(DOCS);
    assert_eq!(documented, listed, "docs/metrics.md and SERIES differ");
}

#[test]
fn values_and_labels_are_what_was_recorded() {
    let text = busy().encode();
    for line in [
        "quptime_check_state{node=\"alpha\",check=\"web\",state=\"down\"} 1",
        "quptime_check_state{node=\"alpha\",check=\"web\",state=\"up\"} 0",
        "quptime_check_votes{node=\"alpha\",check=\"web\",vote=\"down\"} 2",
        "quptime_check_degraded{node=\"alpha\",check=\"web\"} 0",
        "quptime_check_in_maintenance{node=\"alpha\",check=\"web\"} 1",
        "quptime_probes_total{node=\"alpha\",check=\"web\"} 2",
        "quptime_probe_failures_total{node=\"alpha\",check=\"web\"} 1",
        "quptime_probe_duration_seconds_count{node=\"alpha\",check=\"web\"} 2",
        "quptime_alert_deliveries_total{node=\"alpha\",channel=\"ops\"} 1",
        "quptime_alert_failures_total{node=\"alpha\",channel=\"ops\",outcome=\"retry\"} 1",
        "quptime_outbox_oldest_pending_seconds{node=\"alpha\"} 2.5",
        "quptime_raft_term{node=\"alpha\"} 3",
        "quptime_raft_commit_index{node=\"alpha\"} 9",
        "quptime_peers_live{node=\"alpha\"} 1",
        "quptime_peer_up{node=\"alpha\",peer=\"charlie\"} 0",
        "quptime_mutation_duration_seconds_count{node=\"alpha\",result=\"ok\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "not OpenMetrics: {text}");
}

#[test]
fn removed_checks_stop_being_exported() {
    let m = busy();
    m.set(&Sample::default());
    let text = m.encode();
    assert!(!text.contains("check=\"web\""), "stale series: {text}");
}

#[test]
fn alert_rules_use_only_exported_series() {
    let used = names_in(RULES);
    assert!(used.len() >= 4, "the rules name too few series: {used:?}");
    for name in &used {
        assert!(
            SERIES.contains(&name.as_str()),
            "docs/prometheus-alerts.yml uses {name}, which the registry does not export"
        );
    }
    for alert in [
        "QuptimeNoMaster",
        "QuptimeLostQuorum",
        "QuptimeTermFlapping",
        "QuptimeOutboxStuck",
        "QuptimeNodeDown",
        "QuptimeUnhealthy",
        "QuptimeDiskLow",
        "QuptimeRaftLogGrowing",
    ] {
        assert!(RULES.contains(alert), "no {alert} rule");
    }
}

#[derive(Debug)]
struct Fixed {
    ready: bool,
}

/// A node whose storage refuses writes.
#[derive(Debug)]
struct Failing;

impl Source for Failing {
    fn metrics(&self) -> String {
        String::new()
    }
    fn ready(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    fn health(&self) -> std::result::Result<(), String> {
        Err("disk full: 0 bytes free on /x under /x/raft,\nneed 1".into())
    }
}

#[tokio::test]
async fn healthz_answers_503_with_one_line_while_the_node_cannot_commit() {
    let any = "127.0.0.1:0".parse().expect("addr");
    let server = MetricsServer::bind(any, Arc::new(Failing))
        .await
        .expect("bind");
    let answer = get(server.local_addr(), "GET /healthz HTTP/1.1\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).expect("body");
    assert_eq!(
        body,
        "unhealthy: disk full: 0 bytes free on /x under /x/raft, need 1\n"
    );
    server.shutdown().await;
}

impl Source for Fixed {
    fn metrics(&self) -> String {
        busy().encode()
    }
    fn ready(&self) -> std::result::Result<(), String> {
        if self.ready {
            Ok(())
        } else {
            Err("no quorum".into())
        }
    }
}

async fn get(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .expect("answer in time")
        .expect("read");
    out
}

#[tokio::test]
async fn listener_serves_metrics_health_and_readiness() {
    let any = "127.0.0.1:0".parse().expect("addr");
    let up = MetricsServer::bind(any, Arc::new(Fixed { ready: true }))
        .await
        .expect("bind");
    let down = MetricsServer::bind(any, Arc::new(Fixed { ready: false }))
        .await
        .expect("bind");
    let req = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n");
    let metrics = get(up.local_addr(), &req("/metrics?x=1")).await;
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains(server::CONTENT_TYPE), "{metrics}");
    assert!(metrics.contains("quptime_raft_term{node=\"alpha\"} 3"));
    assert!(
        get(up.local_addr(), &req("/healthz"))
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        get(up.local_addr(), &req("/readyz"))
            .await
            .starts_with("HTTP/1.1 200")
    );
    let not_ready = get(down.local_addr(), &req("/readyz")).await;
    assert!(not_ready.starts_with("HTTP/1.1 503"), "{not_ready}");
    assert!(not_ready.ends_with("not ready: no quorum\n"), "{not_ready}");
    assert!(
        get(down.local_addr(), &req("/healthz"))
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        get(up.local_addr(), &req("/nope"))
            .await
            .starts_with("HTTP/1.1 404")
    );
    let post = get(up.local_addr(), "POST /metrics HTTP/1.1\r\n\r\n").await;
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    let head = get(up.local_addr(), "HEAD /metrics HTTP/1.1\r\n\r\n").await;
    assert!(head.ends_with("\r\n\r\n"), "HEAD sent a body: {head}");
    // Unterminated and over the bound (all of it read, so no reset).
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}", "a".repeat(8_300));
    let refused = get(up.local_addr(), &huge).await;
    assert!(refused.starts_with("HTTP/1.1 431"), "{refused}");
    let addr = up.local_addr();
    up.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    down.shutdown().await;
}
