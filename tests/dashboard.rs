//! The dashboard of a real 3-node cluster. A real headless Chromium logs
//! in on a follower with a write token, is shown the CLI's error for a bad
//! form, adds a check through the form, and the check appears (up) on the
//! other two nodes' status pages; screenshots of the dashboard and the
//! status page go to `target/test-artifacts/`. A raw HTTP client shows the
//! refusals: no session, a missing or wrong CSRF token, another site's
//! Origin, a read token, a logged-out session and a revoked token each
//! get 403 (or the login page) and change nothing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use quptime::Cluster;
use quptime::api::{CheckSpec, TokenSpec};
use quptime::state::CheckType;
use quptime_tests::browser::{self, Answer, raw};
use quptime_tests::cdp::Browser;
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};
use quptime_tests::target::HttpTarget;

/// Where the screenshots go: `target/test-artifacts/`.
fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target dir")
        .join("test-artifacts")
}

async fn token(node: &Cluster, name: &str, role: &str) -> String {
    let spec = TokenSpec {
        name: name.into(),
        role: role.into(),
    };
    quptime::api::create_token(node, spec)
        .await
        .expect("create token")
        .token
}

fn check_named(node: &Cluster, name: &str) -> Option<String> {
    let state = node.state();
    let id = state.checks.values().find(|c| c.name == name)?.id.clone();
    Some(
        state
            .check_states
            .get(&id)
            .map(|s| s.state.as_str().to_string())
            .unwrap_or_default(),
    )
}

/// Run blocking browser work without stalling the cluster's tasks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_login_adds_a_check_that_every_node_shows() {
    browser::chromium();
    let names = ["d1", "d2", "d3"];
    let tc = TestCluster::form_serving(&names, fast_timing(), false, true).await;
    let master = tc.master(Duration::from_secs(10)).await;
    let follower = (master + 1) % names.len();
    let node = tc.node(follower).clone();
    let write = token(&node, "ops", "write").await;
    wait_for("the token on every node", Duration::from_secs(10), || {
        tc.running()
            .iter()
            .all(|n| !n.state().api_tokens.is_empty())
    })
    .await;
    let target = HttpTarget::start().await;
    let base = format!("http://{}", node.http_addr().expect("http"));

    let mut b = blocking(Browser::start);
    blocking(|| {
        b.goto(&format!("{base}/dashboard"));
        assert_eq!(
            b.url(),
            format!("{base}/dashboard/login"),
            "no session: the login"
        );
        b.submit("#login", &[("token", "qut_nope_nope")]);
        let html = b.html();
        assert!(html.contains(r#"id="login-error""#), "{html}");
        assert!(html.contains("unknown or revoked"), "{html}");
        b.submit("#login", &[("token", &write)]);
        assert_eq!(b.url(), format!("{base}/dashboard?done=login"));
        let html = b.html();
        assert!(html.contains(r#"<strong id="who">ops</strong>"#), "{html}");
        assert!(html.contains("Logged in."), "{html}");
    });

    // A bad interval: the form comes back with the CLI's text by the field.
    let mut spec = CheckSpec::new("shop", CheckType::Http, target.url());
    spec.interval = Some("soon".into());
    let cli = quptime::api::add_check(&node, spec)
        .await
        .expect_err("a bad interval");
    assert_eq!(cli.field(), Some("interval"));
    blocking(|| {
        let url = target.url();
        let form = [("name", "shop"), ("type", "http"), ("target", url.as_str())];
        b.submit(
            "#add-check",
            &[form[0], form[1], form[2], ("interval", "soon")],
        );
        let html = b.html();
        let error = format!(r#"data-field="interval">{}"#, cli.message());
        assert!(html.contains(&error), "want {error} in {html}");
        assert!(html.contains(r#"name="interval" value="soon""#), "{html}");
        assert_eq!(
            check_named(&node, "shop"),
            None,
            "a refused form adds nothing"
        );
        b.submit(
            "#add-check",
            &[form[0], form[1], form[2], ("interval", "1s")],
        );
        assert_eq!(b.url(), format!("{base}/dashboard?done=added"));
        let html = b.html();
        assert!(html.contains("Check added."), "{html}");
        assert!(
            html.contains(r#"<strong class="name">shop</strong>"#),
            "{html}"
        );
    });
    wait_for("shop up on every node", Duration::from_secs(30), || {
        tc.running()
            .iter()
            .all(|n| check_named(n, "shop").as_deref() == Some("up"))
    })
    .await;
    let id = node.state().find_check("shop").expect("shop").id.clone();
    for i in (0..names.len()).filter(|i| *i != follower) {
        let page = format!("http://{}/", tc.node(i).http_addr().expect("http"));
        let html = blocking(|| {
            b.goto(&page);
            b.html()
        });
        let row = format!(r#"data-id="{id}" data-state="up"><td class="name">shop</td>"#);
        assert!(html.contains(&row), "node {i}: {html}");
    }

    // Silence it and start a window, through the forms.
    blocking(|| {
        b.goto(&format!("{base}/dashboard"));
        b.submit(
            &format!(r#"form[action="/dashboard/checks/{id}/silence"]"#),
            &[("for", "30m")],
        );
        assert!(b.html().contains("Check silenced."));
        b.submit(
            "#add-maintenance",
            &[("checks", "shop"), ("for", "2h"), ("reason", "upgrade")],
        );
        let html = b.html();
        assert!(html.contains("Maintenance window started."), "{html}");
        assert!(html.contains("upgrade"), "{html}");
    });
    // Edit it (the CLI's error for a bad value first), then disable it.
    blocking(|| {
        b.goto(&format!("{base}/dashboard/checks/{id}/edit"));
        b.submit("#edit-check", &[("interval", "often")]);
        let html = b.html();
        assert!(html.contains(r#"data-field="interval""#), "{html}");
        b.submit("#edit-check", &[("interval", "2s")]);
        assert!(b.html().contains("Check changed."));
        b.submit(
            &format!(r#"form[action="/dashboard/checks/{id}/disable"]"#),
            &[],
        );
        assert!(b.html().contains("Check disabled."));
    });
    let shop = node.state().find_check("shop").expect("shop").clone();
    assert_eq!(shop.interval, Duration::from_secs(2));
    assert!(shop.disabled);
    blocking(|| {
        b.submit(
            &format!(r#"form[action="/dashboard/checks/{id}/enable"]"#),
            &[],
        );
        assert!(b.html().contains("Check enabled."));
    });
    assert!(!node.state().find_check("shop").expect("shop").disabled);
    let windows = node.state().maintenance.clone();
    assert_eq!(windows.len(), 2, "{windows:?}");
    assert!(
        windows
            .values()
            .any(|w| w.silence && w.checks == vec![id.clone()])
    );
    assert!(
        windows
            .values()
            .any(|w| !w.silence && w.reason == "upgrade")
    );

    let dir = artifacts();
    blocking(|| {
        b.goto(&format!("{base}/dashboard"));
        b.screenshot(&dir.join("dashboard.png"));
        b.goto(&format!("{base}/"));
        b.screenshot(&dir.join("status-page.png"));
    });
    for f in ["dashboard.png", "status-page.png"] {
        let len = std::fs::metadata(dir.join(f)).expect("screenshot").len();
        assert!(len > 10_000, "{f} is {len} bytes");
    }
    drop(b);
    tc.shutdown().await;
}

/// A form POST to `path` with these headers (`Cookie`, `Origin`) and body.
async fn post(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    body: &str,
) -> Answer {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(o) = origin {
        req.push_str(&format!("Origin: {o}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    raw(addr, req.as_bytes()).await
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> Answer {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\r\n");
    raw(addr, req.as_bytes()).await
}

/// The `name=value` of the cookie `name` an answer sets.
fn cookie_set(a: &Answer, name: &str) -> String {
    a.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| {
            v.split(';')
                .next()
                .filter(|c| c.starts_with(&format!("{name}=")))
        })
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", a.headers))
        .to_string()
}

/// The CSRF token of the first form in `html`.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    html[at..].split('"').next().expect("value").to_string()
}

/// Log in like the login form does: (session cookie, CSRF token).
async fn login(addr: SocketAddr, token: &str) -> (String, String) {
    let page = browser::get(addr, "/dashboard/login").await;
    assert_eq!(page.code, 200);
    let once = cookie_set(&page, "qu_login");
    let body = format!("csrf={}&token={token}", csrf_of(&page.body));
    let origin = format!("http://{addr}");
    let a = post(addr, "/dashboard/login", Some(&once), Some(&origin), &body).await;
    assert_eq!(a.code, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some("/dashboard?done=login"));
    let set = (a.headers.iter())
        .find(|(n, v)| n == "set-cookie" && v.starts_with("qu_session="))
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    assert!(
        set.ends_with("; HttpOnly; SameSite=Strict; Path=/dashboard"),
        "{set}"
    );
    let cookie = cookie_set(&a, "qu_session");
    let dash = get(addr, "/dashboard", &cookie).await;
    assert_eq!(dash.code, 200, "{}", dash.body);
    let csp = dash.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    (cookie, csrf_of(&dash.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_without_a_session_a_csrf_token_or_a_write_token_are_refused() {
    let names = ["r1", "r2", "r3"];
    let tc = TestCluster::form_serving(&names, fast_timing(), false, true).await;
    let master = tc.master(Duration::from_secs(10)).await;
    let node = tc.node((master + 1) % names.len()).clone();
    let write = token(&node, "ops", "write").await;
    let read = token(&node, "viewer", "read").await;
    wait_for("both tokens here", Duration::from_secs(10), || {
        node.state().api_tokens.len() == 2
    })
    .await;
    let addr = node.http_addr().expect("http");
    let origin = format!("http://{addr}");
    let (cookie, csrf) = login(addr, &write).await;
    let (read_cookie, read_csrf) = login(addr, &read).await;
    // A login records the token's use (replicated): let that land first.
    wait_for("the uses recorded", Duration::from_secs(10), || {
        node.state()
            .api_tokens
            .values()
            .all(|t| t.last_used_ms.is_some())
    })
    .await;

    let form = "name=evil&type=tcp&target=127.0.0.1%3A9&interval=1s";
    let version = node.state().version;
    let with = |c: &str| format!("csrf={c}&{form}");
    let refusals = [
        (
            "no session",
            None,
            Some(origin.as_str()),
            with(&csrf),
            "no valid session",
        ),
        (
            "no csrf token",
            Some(cookie.as_str()),
            Some(&origin),
            form.to_string(),
            "CSRF token is missing or wrong",
        ),
        (
            "another session's csrf token",
            Some(&cookie),
            Some(&origin),
            with(&read_csrf),
            "CSRF token is missing or wrong",
        ),
        (
            "another site",
            Some(&cookie),
            Some("http://evil.example"),
            with(&csrf),
            "another site",
        ),
        (
            "a read token",
            Some(&read_cookie),
            Some(&origin),
            with(&read_csrf),
            "this is a read token",
        ),
        (
            "an unknown session",
            Some("qu_session=00ff"),
            None,
            with(&csrf),
            "no valid session",
        ),
    ];
    for (what, cookie, origin, body, why) in &refusals {
        let a = post(addr, "/dashboard/checks", *cookie, *origin, body).await;
        assert_eq!(a.code, 403, "{what}: {}", a.body);
        assert!(
            a.body.contains(r#"id="refused""#) && a.body.contains(why),
            "{what}: {}",
            a.body
        );
        assert_eq!(node.state().version, version, "{what}: nothing changed");
        assert_eq!(check_named(&node, "evil"), None, "{what}");
    }
    // The same form with the session and its token goes through.
    let a = post(
        addr,
        "/dashboard/checks",
        Some(&cookie),
        Some(&origin),
        &with(&csrf),
    )
    .await;
    assert_eq!(a.code, 303, "{}", a.body);
    assert_eq!(a.header("location"), Some("/dashboard?done=added"));
    assert!(check_named(&node, "evil").is_some());
    // A bad value: 422, the form again, the use case's text by the field.
    let bad = format!("csrf={csrf}&name=x&type=tcp&target=127.0.0.1%3A9&interval=soon");
    let a = post(
        addr,
        "/dashboard/checks",
        Some(&cookie),
        Some(&origin),
        &bad,
    )
    .await;
    assert_eq!(a.code, 422, "{}", a.body);
    assert!(a.body.contains(r#"data-field="interval""#), "{}", a.body);

    // Logged out: the session is gone.
    let a = post(
        addr,
        "/dashboard/logout",
        Some(&cookie),
        Some(&origin),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(a.code, 303);
    assert!(
        cookie_set(&a, "qu_session") == "qu_session=",
        "{:?}",
        a.headers
    );
    let a = get(addr, "/dashboard", &cookie).await;
    assert_eq!(
        (a.code, a.header("location")),
        (303, Some("/dashboard/login"))
    );

    // A revoked token ends its sessions at their next request.
    let (cookie, csrf) = login(addr, &write).await;
    quptime::api::revoke_token(&node, "ops")
        .await
        .expect("revoke");
    wait_for("the revocation here", Duration::from_secs(10), || {
        node.state().api_tokens.len() == 1
    })
    .await;
    let a = post(
        addr,
        "/dashboard/checks/evil/disable",
        Some(&cookie),
        Some(&origin),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(a.code, 403, "{}", a.body);
    assert!(a.body.contains("was revoked"), "{}", a.body);
    let a = get(addr, "/dashboard", &cookie).await;
    assert_eq!(
        (a.code, a.header("location")),
        (303, Some("/dashboard/login"))
    );
    assert!(!node.state().find_check("evil").expect("evil").disabled);

    // A login form sent from another site is refused too.
    let page = browser::get(addr, "/dashboard/login").await;
    let once = cookie_set(&page, "qu_login");
    let body = format!("csrf={}&token={read}", csrf_of(&page.body));
    let a = post(
        addr,
        "/dashboard/login",
        Some(&once),
        Some("http://evil.example"),
        &body,
    )
    .await;
    assert_eq!(a.code, 403, "{}", a.body);
    assert!(
        !a.headers
            .iter()
            .any(|(n, v)| n == "set-cookie" && v.starts_with("qu_session="))
    );
    tc.shutdown().await;
}
