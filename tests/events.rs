//! `/events` of a real node read by a real HTTP client: a check's target
//! starts failing and its DOWN arrives on the stream as a `transition`
//! event; the number of streams is bounded (503 beyond, from any
//! address); and every stream ends when the node shuts down. `/live.js`
//! is served by the node, and the page allows only its own scripts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use quptime::state::{Check, Mutation};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::{wait_up, web_check};
use quptime_tests::target::HttpTarget;

/// The node's stream bound (`web::events::MAX_STREAMS`).
const MAX_STREAMS: usize = 16;

fn client(from: IpAddr) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .local_address(Some(from))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// Read `resp` into `got` until `done(got)` (within `within`).
async fn read_until(
    resp: &mut reqwest::Response,
    got: &mut String,
    within: Duration,
    done: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !done(got) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("nothing expected within {within:?}; got {got:?}"))
            .expect("stream readable")
            .unwrap_or_else(|| panic!("the stream ended early; got {got:?}"));
        got.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// The data of the first complete `transition` event in `text`.
fn transition(text: &str) -> Option<&str> {
    let at = text.find("event: transition\n")?;
    let rest = &text[at..];
    let end = rest.find("\n\n")?;
    rest[..end].lines().find_map(|l| l.strip_prefix("data: "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_arrives_as_an_event_and_streams_are_bounded() {
    let tc = TestCluster::form_serving(&["n1"], fast_timing(), false, true).await;
    tc.master(Duration::from_secs(10)).await;
    let node = tc.node(0).clone();
    let addr = node.http_addr().expect("http");
    let target = HttpTarget::start().await;
    let check = Check {
        alerts: vec![],
        ..web_check("c1", &target.url())
    };
    node.propose(Mutation::AddCheck { check })
        .await
        .expect("add check");
    wait_up(&node, "c1").await;

    let local: IpAddr = "127.0.0.1".parse().expect("ip");
    // The history holds the check from its first transition after the
    // master's first tick (or from the next tick, a minute later).
    wait_for("c1's uptime history", Duration::from_secs(70), || {
        node.state().uptime_figures("c1").is_some()
    })
    .await;
    // Every check in /api/status carries its uptime figures, the very
    // ones the replicated history gives (what the page shows).
    let status: serde_json::Value = serde_json::from_str(
        &client(local)
            .get(format!("http://{addr}/api/status"))
            .send()
            .await
            .expect("status")
            .text()
            .await
            .expect("body"),
    )
    .expect("status JSON");
    let uptime = &status["checks"][0]["uptime"];
    for w in ["24h", "7d", "30d", "90d"] {
        let v = &uptime[w];
        assert!(
            v.is_null() || v.as_f64().is_some_and(|p| (0.0..=100.0).contains(&p)),
            "{w}: {uptime}"
        );
        assert!(uptime.get(w).is_some(), "no {w} in {uptime}");
    }
    let page = client(local)
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        page.text()
            .await
            .expect("body")
            .contains(r#"<script src="/live.js" defer>"#)
    );
    let js = client(local)
        .get(format!("http://{addr}/live.js"))
        .send()
        .await
        .expect("live.js");
    assert_eq!(js.status(), 200);
    assert!(
        js.text()
            .await
            .expect("js")
            .contains("new EventSource(\"/events\")")
    );

    let mut stream = client(local)
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .expect("events");
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut got = String::new();
    read_until(&mut stream, &mut got, Duration::from_secs(5), |g| {
        g.contains("retry:")
    })
    .await;

    target.set_status(500);
    read_until(&mut stream, &mut got, Duration::from_secs(15), |g| {
        transition(g).is_some()
    })
    .await;
    let data = transition(&got).expect("a transition");
    let event: serde_json::Value = serde_json::from_str(data).expect("event JSON");
    assert_eq!(event["check_id"], "c1");
    assert_eq!(event["to"], "down");
    assert_eq!(event["from"], "up");
    assert!(event.get("target").is_none(), "{event}");

    // The bound: MAX_STREAMS in all (this one included), four per source
    // address so the listener's per-address budget evicts none of them.
    let mut open = Vec::new();
    for i in 1..MAX_STREAMS {
        let from: IpAddr = format!("127.0.0.{}", 2 + i / 4).parse().expect("ip");
        let r = client(from)
            .get(format!("http://{addr}/events"))
            .send()
            .await
            .expect("events");
        assert_eq!(r.status(), 200, "stream {i}");
        open.push(r);
    }
    let over: IpAddr = "127.0.0.20".parse().expect("ip");
    let refused = client(over)
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));

    // Shutdown ends every stream.
    tc.shutdown().await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived the node");
    for mut r in open {
        let end = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(_)) = r.chunk().await {}
        })
        .await;
        assert!(end.is_ok(), "a stream outlived the node");
    }
}
