//! The status page of a real 3-node cluster, seen by a real headless
//! Chromium and by a raw HTTP client: a check with a live HTTP target is
//! up and one whose port is closed is down, on the master's page and a
//! follower's alike; badges, `/api/status`, the bounds of the listener,
//! the no-quorum notice; and a check name that is markup shown as text.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use quptime::Cluster;
use quptime::cluster::{CheckStatus, Status};
use quptime::identity::NodeId;
use quptime::state::{Check, Mutation};
use quptime::web::{StatusSource, WebServer};
use quptime_tests::browser::{self, get, raw};
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::fixtures::web_check;
use quptime_tests::target::HttpTarget;

/// A check `name` (id `id`) of `url`, alerting nobody.
fn check(id: &str, name: &str, url: &str) -> Check {
    Check {
        name: name.into(),
        alerts: vec![],
        ..web_check(id, url)
    }
}

fn state_of(node: &Cluster, id: &str) -> String {
    node.state()
        .check_states
        .get(id)
        .map(|s| s.state.as_str().to_string())
        .unwrap_or_default()
}

/// Every `http://` or `https://` URL in `text` that is not on `own`.
fn foreign_urls(text: &str, own: SocketAddr) -> Vec<String> {
    let mine = format!("http://{own}/");
    let mut out = Vec::new();
    for scheme in ["http://", "https://"] {
        for (at, _) in text.match_indices(scheme) {
            let url: String = text[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"\"'<>()".contains(*c))
                .collect();
            if !url.starts_with(&mine) {
                out.push(url);
            }
        }
    }
    out
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_serves_the_same_page_to_a_real_browser() {
    browser::chromium(); // fail at once, with the install command, if it is missing
    let names = ["n1", "n2", "n3"];
    let mut tc = TestCluster::form_serving(&names, fast_timing(), false, true).await;
    let target = HttpTarget::start().await;
    let gone = format!("http://{}/health", closed_port());
    let node = tc.node(0).clone();
    for c in [
        check("id-api", "api", &target.url()),
        check("id-gone", "gone", &gone),
    ] {
        node.propose(Mutation::AddCheck { check: c })
            .await
            .expect("add check");
    }
    wait_for(
        "api up and gone down on every node",
        Duration::from_secs(30),
        || {
            tc.running()
                .iter()
                .all(|n| state_of(n, "id-api") == "up" && state_of(n, "id-gone") == "down")
        },
    )
    .await;

    let master = tc.master(Duration::from_secs(10)).await;
    let follower = (master + 1) % names.len();
    let profile = tempfile::tempdir().expect("browser profile");
    for i in [master, follower] {
        let n = tc.node(i);
        let addr = n.http_addr().expect("page enabled");
        let url = format!("http://{addr}/");
        let dom = browser::dump_dom(&url, profile.path()).await;
        assert!(
            dom.contains(r#"data-id="id-api" data-state="up"><td class="name">api</td>"#),
            "node {i}: {dom}"
        );
        assert!(
            dom.contains(r#"data-id="id-gone" data-state="down"><td class="name">gone</td>"#),
            "node {i}: {dom}"
        );
        assert!(dom.contains(">UP</span>") && dom.contains(">DOWN</span>"));
        assert!(dom.contains("1 of 2 checks down"), "node {i}: {dom}");
        assert!(dom.contains(&format!("Served by node <strong>{}</strong>", names[i])));
        assert!(!dom.contains("no-quorum"), "node {i}: {dom}");
        // The node's own live.js is the only script.
        assert_eq!(dom.matches("<script").count(), 1, "node {i}: {dom}");
        assert_eq!(foreign_urls(&dom, addr), Vec::<String>::new(), "node {i}");
        let page = get(addr, "/").await;
        assert_eq!(page.code, 200);
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(
            page.header("content-security-policy")
                .is_some_and(|p| p.starts_with("default-src 'none'"))
        );
        let css = get(addr, "/style.css").await;
        assert_eq!(css.code, 200);
        assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(foreign_urls(&css.body, addr), Vec::<String>::new());
        assert!(
            !css.body.contains("url("),
            "the CSS loads something: {}",
            css.body
        );
    }
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    let addr = tc.node(follower).http_addr().expect("page");
    browser::screenshot(&format!("http://{addr}/"), &shot, profile.path()).await;

    for i in 0..names.len() {
        let addr = tc.node(i).http_addr().expect("page");
        badges_and_api(tc.node(i), addr).await;
        bounds(addr).await;
    }

    // Two nodes gone: the one left says it has no quorum, and still shows
    // the states last agreed.
    let survivor = master;
    for i in (0..names.len()).filter(|i| *i != survivor) {
        tc.stop(i).await;
    }
    let left = tc.node(survivor).clone();
    wait_for(
        "the survivor to lose quorum",
        Duration::from_secs(20),
        || !left.status().quorum,
    )
    .await;
    let page = get(left.http_addr().expect("page"), "/").await;
    assert!(page.body.contains(r#"id="no-quorum""#), "{}", page.body);
    assert!(page.body.contains(r#"data-id="id-api" data-state="up""#));
    tc.shutdown().await;
}

/// The `24h` … `90d` figures of check `id` in a page.
fn figures(page: &str, id: &str) -> Vec<String> {
    let row = page
        .split(r#"<tr class="uptime" data-id=""#)
        .find(|r| r.starts_with(&format!("{id}\"")))
        .unwrap_or_else(|| panic!("no uptime row for {id}: {page}"));
    ["24h", "7d", "30d", "90d"]
        .iter()
        .map(|w| {
            let cell = format!(r#"data-window="{w}">"#);
            let at = row.find(&cell).expect("a figure") + cell.len();
            row[at..].split('<').next().unwrap_or_default().to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uptime_shown_is_the_same_after_the_master_is_killed() {
    browser::chromium();
    let names = ["h1", "h2", "h3"];
    let mut tc = TestCluster::form_serving(&names, fast_timing(), false, true).await;
    let target = HttpTarget::start().await;
    let node = tc.node(0).clone();
    let c = check("id-web", "web", &target.url());
    node.propose(Mutation::AddCheck { check: c })
        .await
        .expect("add check");
    let counted = |n: &Cluster| n.state().history.checks.contains_key("id-web");
    wait_for(
        "web up and counted on every node",
        Duration::from_secs(30),
        || {
            tc.running()
                .iter()
                .all(|n| state_of(n, "id-web") == "up" && counted(n))
        },
    )
    .await;
    // An outage of a few seconds, then the recovery: both transitions
    // credit time, so the figures are below 100 % on every node.
    target.set_status(503);
    wait_for("web down everywhere", Duration::from_secs(30), || {
        tc.running().iter().all(|n| state_of(n, "id-web") == "down")
    })
    .await;
    target.set_status(200);
    wait_for("web up again everywhere", Duration::from_secs(30), || {
        tc.running().iter().all(|n| state_of(n, "id-web") == "up")
    })
    .await;
    let same = |tc: &TestCluster| {
        let h: Vec<_> = tc
            .running()
            .iter()
            .map(|n| n.state().history.clone())
            .collect();
        h.windows(2).all(|w| w[0] == w[1])
    };
    wait_for(
        "the same history on every node",
        Duration::from_secs(10),
        || same(&tc),
    )
    .await;
    // Ticks come every minute: start right after one, so none lands
    // between the two pages.
    let tick_age =
        |n: &Cluster| quptime::state::mutation::now_ms().saturating_sub(n.state().history.at_ms);
    if tick_age(&node) > 30_000 {
        let before = node.state().history.at_ms;
        wait_for("the next uptime tick", Duration::from_secs(75), || {
            node.state().history.at_ms != before
        })
        .await;
        wait_for(
            "the same history on every node",
            Duration::from_secs(10),
            || same(&tc),
        )
        .await;
    }
    let master = tc.master(Duration::from_secs(10)).await;
    let other = (master + 1) % names.len();
    let profile = tempfile::tempdir().expect("browser profile");
    let addr = tc.node(master).http_addr().expect("page");
    let seen = browser::dump_dom(&format!("http://{addr}/"), profile.path()).await;
    let shown = figures(&seen, "id-web");
    let h24 = tc
        .node(master)
        .state()
        .uptime("id-web", quptime::state::history::Window::Hours24)
        .expect("counted");
    assert!(h24.down_ms > 0 && h24.up_ms > 0, "{h24:?}");
    assert!(
        shown[0] != "100.000%" && shown[0].ends_with('%'),
        "{shown:?}"
    );
    let at = tc.node(master).state().history.at_ms;
    println!("24h, 7d, 30d, 90d shown by the master: {shown:?} ({h24:?})");

    tc.stop(master).await;
    let addr = tc.node(other).http_addr().expect("page");
    let dom = browser::dump_dom(&format!("http://{addr}/"), profile.path()).await;
    assert_eq!(
        tc.node(other).state().history.at_ms,
        at,
        "a tick landed between the two pages"
    );
    assert_eq!(figures(&dom, "id-web"), shown, "{dom}");
    assert!(dom.contains(&format!("Served by node <strong>{}</strong>", names[other])));
    assert!(dom.contains(r#"<ul id="incidents">"#), "{dom}");
    // The response times are that node's own probes, from its store.
    let chart = format!(r#"data-node="{}""#, names[other]);
    assert!(
        dom.contains(&chart) && dom.contains("svg class=\"latency\""),
        "{dom}"
    );
    assert!(
        dom.contains("1/3 failing") || dom.contains("failing: "),
        "{dom}"
    );
    let badge = get(addr, "/badge/web/uptime/30d.svg").await;
    assert_eq!(badge.code, 200, "{}", badge.body);
    assert_eq!(badge.header("content-type"), Some("image/svg+xml"));
    assert!(
        badge.body.contains(&format!(">{}</text>", shown[2])),
        "{}",
        badge.body
    );
    assert_eq!(get(addr, "/badge/web/uptime/1y.svg").await.code, 404);

    // While the old master is away: another outage (with 2 of 3 nodes
    // the cluster still decides) and more changes than the log keeps
    // behind a snapshot, then a snapshot on every survivor, so the old
    // master must be sent a snapshot when it comes back.
    target.set_status(503);
    wait_for("web down on the survivors", Duration::from_secs(30), || {
        tc.running().iter().all(|n| state_of(n, "id-web") == "down")
    })
    .await;
    target.set_status(200);
    wait_for("web up on the survivors", Duration::from_secs(30), || {
        tc.running().iter().all(|n| state_of(n, "id-web") == "up")
    })
    .await;
    let pad = |k: usize| Check {
        disabled: true,
        ..check("id-pad", "pad", &format!("http://127.0.0.1:9/{k}"))
    };
    let survivor = tc.node(other).clone();
    survivor
        .propose(Mutation::AddCheck { check: pad(0) })
        .await
        .expect("add pad");
    for k in 1..=(quptime::KEEP_BEHIND_SNAPSHOT as usize + 50) {
        survivor
            .propose(Mutation::UpdateCheck { check: pad(k) })
            .await
            .expect("update pad");
    }
    for n in tc.running() {
        n.snapshot().await.expect("snapshot");
    }
    tc.restart(master).await;
    wait_for(
        "the returning node to hold the same history",
        Duration::from_secs(30),
        || tc.node(master).state().history == tc.node(other).state().history,
    )
    .await;
    let h = tc.node(master).state();
    let incidents = h
        .transitions
        .iter()
        .filter(|t| t.check_id == "id-web" && t.to == quptime::state::CheckState::Down)
        .count();
    assert_eq!(incidents, 2, "both outages reached the returning node");
    let back = tc.node(master).http_addr().expect("page");
    let page = get(back, "/").await;
    assert_eq!(figures(&page.body, "id-web").len(), 4, "{}", page.body);
    tc.shutdown().await;
}

/// Badges by name and id, their 404, and `/api/status` on one node.
async fn badges_and_api(node: &Cluster, addr: SocketAddr) {
    let up = get(addr, "/badge/api/status.svg").await;
    assert_eq!(up.code, 200, "{}", up.body);
    assert_eq!(up.header("content-type"), Some("image/svg+xml"));
    assert!(
        up.body.contains(">up</text>") && up.body.contains("#2e7d32"),
        "{}",
        up.body
    );
    let down = get(addr, "/badge/id-gone/status.svg").await;
    assert_eq!(down.code, 200);
    assert!(down.body.contains(">gone</text>") && down.body.contains(">down</text>"));
    assert!(down.body.contains("#c62828") && !down.body.contains("#2e7d32"));
    let unknown = get(addr, "/badge/nope/status.svg").await;
    assert_eq!(unknown.code, 404);
    assert_eq!(unknown.header("content-type"), Some("text/plain"));
    assert_eq!(
        unknown.body,
        "no check named or with id \"nope\"; /api/status lists the checks\n"
    );

    let api = get(addr, "/api/status").await;
    assert_eq!(api.code, 200);
    assert_eq!(api.header("content-type"), Some("application/json"));
    let served: Status = serde_json::from_str(&api.body).expect("a Status");
    let live = node.status_live().await;
    assert_eq!(served.node_id, live.node_id);
    let states = |s: &Status| {
        let mut v: Vec<(String, String, String)> = s
            .checks
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.state.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(states(&served), states(&live));
    assert_eq!(
        states(&served),
        [
            ("id-api".into(), "api".into(), "up".into()),
            ("id-gone".into(), "gone".into(), "down".into())
        ]
    );
    assert_eq!(served.peers.len(), 3);
}

/// What the listener refuses.
async fn bounds(addr: SocketAddr) {
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9_000));
    assert_eq!(raw(addr, huge.as_bytes()).await.code, 431);
    let big_body = format!(
        "GET / HTTP/1.1\r\nHost: x\r\ncontent-length: {}\r\n\r\n",
        1 << 20
    );
    let refused = raw(addr, big_body.as_bytes()).await;
    assert_eq!(
        (refused.code, refused.body.as_str()),
        (413, "request body too large\n")
    );
    let post = raw(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n",
    )
    .await;
    assert_eq!((post.code, post.body.as_str()), (405, "use GET\n"));
    let missing = get(addr, "/admin").await;
    assert_eq!(missing.code, 404);
    assert!(
        missing.body.starts_with("not found; try /"),
        "{}",
        missing.body
    );
}

/// A status fixed by the test (the page is what is under test here).
#[derive(Debug)]
struct Fixed(Status);

impl StatusSource for Fixed {
    fn status(&self) -> Pin<Box<dyn Future<Output = Status> + Send + '_>> {
        Box::pin(async move { self.0.clone() })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_named_like_markup_is_text_in_the_browser() {
    browser::chromium();
    let me = NodeId::new("alpha").expect("id");
    let evil = "<script>document.title='owned'</script><b>x</b>";
    let status = Status {
        node_id: me.clone(),
        term: 1,
        master: Some(me),
        quorum: true,
        need: 1,
        config_version: 1,
        is_master: true,
        peers: vec![],
        checks: vec![CheckStatus {
            id: "c1".into(),
            name: evil.into(),
            kind: "http".into(),
            target: "http://127.0.0.1:1/".into(),
            state: "up".into(),
            disabled: false,
            ok: 1,
            total: 1,
            alerts: vec![],
            detail: String::new(),
            votes: vec![],
            since: None,
            last_transition: None,
            degraded: false,
            reason: None,
            maintenance: false,
            maintenance_until: None,
            incident: None,
            blocked_by: vec![],
            uptime: None,
        }],
        live_within_ms: 1000,
        pinned_master: None,
        unhealthy: None,
    };
    let any = "127.0.0.1:0".parse().expect("addr");
    let server = WebServer::bind(any, Arc::new(Fixed(status)))
        .await
        .expect("bind");
    let addr = server.local_addr();
    let profile = tempfile::tempdir().expect("profile");
    let dom = browser::dump_dom(&format!("http://{addr}/"), profile.path()).await;
    assert!(
        dom.contains(
            "<td class=\"name\">&lt;script&gt;document.title='owned'&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;</td>"
        ),
        "{dom}"
    );
    assert!(
        dom.matches("<script").count() == 1 && !dom.contains("<b>"),
        "{dom}"
    );
    assert!(
        dom.contains("<title>Status</title>"),
        "the script ran: {dom}"
    );
    let badge = get(addr, "/badge/c1/status.svg").await;
    assert!(!badge.body.contains("<script"), "{}", badge.body);
    assert!(badge.body.contains("&lt;script&gt;"), "{}", badge.body);

    // The connection budget: 100 idle connections from one address do not
    // lock a reader (from the same address) out; HEAD answers without a body.
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    let head = raw(addr, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!((head.code, head.body.as_str()), (200, ""));
    assert_eq!(head.header("connection"), Some("close"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    drop(held);
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
