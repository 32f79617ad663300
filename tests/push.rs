//! Push checks on a real 3-node cluster with the web listener on every
//! node, beats sent by a real HTTP client over loopback to a follower: a
//! cron-style beat every second keeps the check up; stopping gives exactly
//! one DOWN at a real webhook receiver after period + grace; a beat brings
//! RECOVERED; `?status=fail` is DOWN at once with the job's message; a bad
//! token is 404 and records nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quptime::Cluster;
use quptime::api::{CheckSpec, PushUrlRequest};
use quptime::state::{CheckType, Mutation, ProbeFields, PushProbe};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::webhook;
use quptime_tests::receiver::Receiver;
use reqwest::Client;

const PERIOD: Duration = Duration::from_secs(2);
const GRACE: Duration = Duration::from_secs(1);

fn client() -> Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// GET (or POST) `url`; (status, body).
async fn hit(http: &Client, url: &str, post: bool) -> (u16, String) {
    let req = if post { http.post(url) } else { http.get(url) };
    let resp = req.send().await.expect("an answer");
    let code = resp.status().as_u16();
    (code, resp.text().await.expect("body"))
}

/// The alert kinds the receiver got, in order.
fn kinds(r: &Receiver) -> Vec<String> {
    r.received()
        .iter()
        .map(|x| x.json()["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn state_of(node: &Cluster, id: &str) -> String {
    node.state()
        .check_states
        .get(id)
        .map_or("unknown".into(), |s| s.state.as_str().to_string())
}

/// Wait until the receiver holds exactly `want`; the time it took.
async fn expect_kinds(r: &Receiver, want: &[&str], within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = kinds(r);
        if got == want {
            return start.elapsed();
        }
        assert!(
            got.len() <= want.len(),
            "receiver got {got:?}, expected {want:?}"
        );
        assert!(
            start.elapsed() < within,
            "receiver got {got:?}, expected {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beats_to_a_follower_keep_it_up_and_silence_or_failure_pages_once() {
    let names = ["n1", "n2", "n3"];
    let tc = TestCluster::form_serving(&names, fast_timing(), false, true).await;
    let master = tc.master(Duration::from_secs(10)).await;
    let follower = tc.node((master + 1) % names.len()).clone();
    let other = tc.node((master + 2) % names.len()).clone();
    let receiver = Receiver::start().await;
    follower
        .propose(Mutation::AddAlert {
            alert: webhook(&receiver.url()),
        })
        .await
        .expect("add alert");
    let spec = CheckSpec {
        alerts: vec!["hook".into()],
        // Five changes in this test: flap control would hold the last.
        flap_threshold: Some(0),
        probe: ProbeFields {
            push: PushProbe {
                period: Some(PERIOD),
                grace: Some(GRACE),
                token_hash: None,
            },
            ..ProbeFields::default()
        },
        ..CheckSpec::new("backup", CheckType::Push, "")
    };
    let id = quptime::api::add_check(&follower, spec)
        .await
        .expect("add push check")
        .id
        .expect("id");
    let url = quptime::api::push_url(
        &follower,
        PushUrlRequest {
            check: "backup".into(),
            rotate: false,
        },
    )
    .await
    .expect("push url");
    assert_eq!(url.token.len(), 64);
    let full = url.url.clone().expect("the follower serves http");
    assert!(full.ends_with(&format!("/push/{}", url.token)), "{full}");
    for node in tc.running() {
        let stored = serde_json::to_string(&*node.state()).expect("state json");
        assert!(!stored.contains(&url.token), "only the hash is replicated");
    }
    let http = client();

    // A bad token: 404 on every node, and nothing is recorded.
    let (bad, _) = quptime::state::probe_push::new_token().expect("token");
    for node in tc.running() {
        let base = format!("http://{}", node.http_addr().expect("http"));
        let (code, body) = hit(&http, &format!("{base}/push/{bad}"), false).await;
        assert_eq!(code, 404, "{body}");
        assert!(body.contains("no push check has this token"), "{body}");
        let (code, _) = hit(&http, &format!("{base}/push/not-a-token"), true).await;
        assert_eq!(code, 404);
    }
    let (code, body) = hit(&http, &format!("{full}?status=maybe"), false).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("status"), "{body}");
    assert_eq!(state_of(&follower, &id), "unknown", "nothing recorded");

    // A cron-style beat every second to the follower (GET and POST) for 6 s.
    let mut cron = tokio::time::interval(Duration::from_secs(1));
    let mut last_beat = Instant::now();
    for i in 0..7 {
        cron.tick().await;
        let (code, body) = hit(&http, &full, i % 2 == 1).await;
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("beat recorded for backup"), "{body}");
        last_beat = Instant::now();
        if i == 0 {
            wait_for("the push check up", Duration::from_secs(5), || {
                state_of(&other, &id) == "up"
            })
            .await;
        }
        assert_eq!(state_of(&other, &id), "up", "beat {i}");
        if i == 3 {
            // `qu status` on any node shows the master's memory of beats.
            let status = other.status_live().await;
            let row = status.checks.iter().find(|c| c.id == id).expect("row");
            assert!(row.detail.starts_with("last beat "), "{}", row.detail);
        }
    }
    assert!(kinds(&receiver).is_empty(), "no alert while beating");

    // Silence: exactly one DOWN, after period + grace.
    let took = expect_kinds(&receiver, &["down"], Duration::from_secs(10)).await;
    let after = last_beat.elapsed();
    assert!(
        after >= PERIOD + GRACE,
        "DOWN {after:?} after the last beat, before period + grace (waited {took:?})"
    );
    assert!(after < PERIOD + GRACE + Duration::from_secs(3), "{after:?}");
    let down = follower
        .state()
        .transitions
        .iter()
        .rev()
        .find(|t| t.check_id == id)
        .cloned()
        .expect("the DOWN transition");
    assert_eq!(down.to.as_str(), "down");
    assert!(
        down.evidence[0].detail.contains("(period 2s + grace 1s)"),
        "{:?}",
        down.evidence
    );

    // A beat brings RECOVERED (through the other follower this time).
    let base_other = format!("http://{}", other.http_addr().expect("http"));
    let (code, _) = hit(&http, &format!("{base_other}{}", url.path), false).await;
    assert_eq!(code, 200);
    expect_kinds(&receiver, &["down", "recovered"], Duration::from_secs(5)).await;

    // A failure beat: DOWN at once (well before period + grace), with the
    // job's message.
    let sent = Instant::now();
    let (code, body) = hit(&http, &format!("{full}?status=fail&msg=disk+full"), true).await;
    assert_eq!(code, 200, "{body}");
    expect_kinds(
        &receiver,
        &["down", "recovered", "down"],
        Duration::from_secs(5),
    )
    .await;
    assert!(sent.elapsed() < PERIOD + GRACE, "{:?}", sent.elapsed());
    let fail = follower
        .state()
        .transitions
        .iter()
        .rev()
        .find(|t| t.check_id == id)
        .cloned()
        .expect("the failure's DOWN");
    assert_eq!(fail.evidence[0].detail, "push: fail: disk full");

    // The next ok beat recovers it.
    let (code, _) = hit(&http, &full, false).await;
    assert_eq!(code, 200);
    expect_kinds(
        &receiver,
        &["down", "recovered", "down", "recovered"],
        Duration::from_secs(5),
    )
    .await;
    tc.shutdown().await;
}
