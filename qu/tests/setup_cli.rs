//! The two set-ups the original's users follow, with real `qu serve`
//! processes on loopback: every host `qu init` (each founding its own
//! one-node cluster) and one `qu node add` per other host, which absorbs
//! them; and one shared secret on every host, where the first change
//! founds the cluster. A node that holds something refuses to be absorbed
//! and keeps it.

mod support;

use std::time::Duration;

use support::{Cluster, FAST, Node, text, wait_for};

/// Every node lists `n` members, all live voters.
fn wait_all_live(c: &Cluster, n: usize) {
    for node in &c.nodes {
        wait_for(
            Duration::from_secs(30),
            Duration::from_millis(100),
            &format!("{} to list {n} live voters", node.name),
            || {
                let m = node.members();
                (m.len() == n && m.iter().all(|(_, voter, live)| *voter && *live)).then_some(())
            },
        );
    }
}

fn add(from: &Node, to: &Node) -> std::process::Output {
    from.qu(&["node", "add", &to.addr(), "-y"])
}

#[test]
fn the_original_readme_flow_forms_a_three_node_cluster() {
    let mut c = Cluster::empty();
    for name in ["alpha", "bravo", "charlie"] {
        let node = Node::new(c.root(), name, FAST);
        // Word for word: `qu init --advertise <host>:<port>`, no --port,
        // no --secret (so it must also listen on the advertised port).
        let out = node.qu_ok(&["init", "--node-id", name, "--advertise", &node.addr()]);
        assert!(out.contains("cluster secret: "), "{out}");
        c.nodes.push(node);
    }
    for node in &mut c.nodes {
        node.start_ready();
    }
    for i in 1..3 {
        let out = add(&c.nodes[0], &c.nodes[i]);
        assert!(
            out.status.success(),
            "node add {}: {}{}{}",
            c.nodes[i].name,
            text(&out.stdout),
            text(&out.stderr),
            c.nodes[i].log_tail(30)
        );
    }
    wait_all_live(&c, 3);
    // One cluster: a change on one node shows on the others.
    c.nodes[2].qu_ok(&["check", "add", "tcp", "db", "127.0.0.1:9"]);
    for node in &c.nodes {
        wait_for(
            Duration::from_secs(10),
            Duration::from_millis(100),
            "the check on every node",
            || (node.check_names() == ["db"]).then_some(()),
        );
    }
    // bravo's own storage was moved aside, not deleted.
    let kept = std::fs::read_dir(c.nodes[1].data())
        .expect("read data dir")
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("raft.absorbed-")
        });
    assert!(kept, "the absorbed node's old storage is kept");
}

#[test]
fn one_shared_secret_on_every_host_forms_a_cluster() {
    let mut c = Cluster::empty();
    let secret = "9dbef9d4c1a07e55b3f2d8c6a4e10b7f";
    for name in ["s1", "s2", "s3"] {
        let node = Node::new(c.root(), name, FAST);
        node.init(Some(secret));
        c.nodes.push(node);
    }
    for node in &mut c.nodes {
        node.start_ready();
    }
    // Nobody founded yet: no master anywhere.
    for node in &c.nodes {
        let s = node.status().expect("status");
        assert_eq!(s["master"], serde_json::Value::Null, "{s}");
    }
    // The first change (a node add on s2) founds the cluster there.
    for i in [0, 2] {
        let out = add(&c.nodes[1], &c.nodes[i]);
        assert!(
            out.status.success(),
            "node add {}: {}{}",
            c.nodes[i].name,
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    wait_all_live(&c, 3);
}

#[test]
fn a_node_that_holds_a_check_refuses_to_be_absorbed_and_keeps_it() {
    let mut c = Cluster::empty();
    for name in ["h1", "h2"] {
        let node = Node::new(c.root(), name, FAST);
        node.init(None);
        c.nodes.push(node);
    }
    for node in &mut c.nodes {
        node.start_ready();
    }
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "h2 to found its own cluster",
        || (c.nodes[1].status()?["is_master"] == true).then_some(()),
    );
    c.nodes[1].qu_ok(&["check", "add", "tcp", "mine", "127.0.0.1:9"]);
    let out = add(&c.nodes[0], &c.nodes[1]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "absorbed a node with a check");
    assert!(
        stderr.contains("already belongs to a cluster and holds 1 check"),
        "{stderr}"
    );
    assert_eq!(c.nodes[1].check_names(), ["mine"]);
    assert_eq!(c.nodes[1].members().len(), 1);
    assert_eq!(c.nodes[0].members().len(), 1, "nothing recorded on h1");
    // A second add of the same node at another spelling of its address is
    // refused too, and an address a member already has is refused at once.
    let out = c.nodes[0].qu(&["node", "add", &c.nodes[0].addr(), "-y"]);
    assert!(
        text(&out.stderr).contains("already advertises"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_original_flag_syntax_is_accepted() {
    let mut c = Cluster::empty();
    let mut node = Node::new(c.root(), "f1", FAST);
    node.init(None);
    node.start_ready();
    c.nodes.push(node);
    c.wait_founded();
    let n = &c.nodes[0];
    let smtp = |name: &str, flag: &[&str]| {
        let mut args = vec![
            "alert",
            "add",
            "smtp",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            "2525",
            "--from",
            "qu@example.com",
            "--to",
            "ops@example.com",
        ];
        args.extend_from_slice(flag);
        n.qu_ok(&args);
    };
    // The original's README writes `--starttls=true`.
    smtp("bare", &["--starttls"]);
    smtp("eq-true", &["--starttls=true"]);
    smtp("eq-false", &["--starttls=false"]);
    smtp("tls-true", &["--tls=true"]);
    smtp("tls-false", &["--tls=false"]);
    let list: serde_json::Value =
        serde_json::from_str(&n.qu_ok(&["alert", "list", "--json"])).expect("json");
    let tls = |name: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|a| a["name"] == name))
            .map(|a| a["settings"]["tls"].clone())
            .unwrap_or_else(|| panic!("no alert {name}: {list}"))
    };
    assert_eq!(tls("eq-true"), tls("bare"));
    assert_eq!(tls("bare"), "starttls");
    assert_eq!(tls("eq-false"), "none");
    assert_eq!(tls("tls-true"), "tls");
    assert_eq!(tls("tls-false"), "none");
    // Bool flags of checks take a value too.
    n.qu_ok(&[
        "check",
        "add",
        "http",
        "web",
        "https://127.0.0.1:9/",
        "--insecure=true",
        "--keep-alive=false",
    ]);
    let out = n.qu(&[
        "alert",
        "add",
        "smtp",
        "bad",
        "--host",
        "h",
        "--port",
        "25",
        "--from",
        "a@b.c",
        "--to",
        "d@e.f",
        "--starttls=maybe",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn status_watch_fails_after_error_frames_and_a_moved_port_is_warned_about() {
    let mut c = Cluster::empty();
    let mut node = Node::new(c.root(), "w1", FAST);
    // No daemon yet: every frame is an error, and the run says so.
    let out = node.qu(&["status", "--watch", "--count", "3", "--interval", "100ms"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("3 of 3 status frames failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).matches("error: ").count(), 3);
    // The half-done "port in use" fix: listening on one port while still
    // advertising the old one is logged at start.
    let advertised = format!("127.0.0.1:{}", support::free_port());
    let port = node.port.to_string();
    node.qu_ok(&[
        "init",
        "--node-id",
        "w1",
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
        "--advertise",
        &advertised,
    ]);
    node.start_ready();
    let log = std::fs::read_to_string(node.log()).expect("log");
    assert!(log.contains("but advertises port"), "{log}");
    let out = node.qu(&["status", "--watch", "--count", "2", "--interval", "100ms"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    c.nodes.push(node);
}

#[test]
fn plain_smtp_auth_needs_a_flag_and_target_passwords_are_never_shown() {
    let mut c = Cluster::empty();
    let mut node = Node::new(c.root(), "p1", FAST);
    node.init(None);
    node.start_ready();
    c.nodes.push(node);
    c.wait_founded();
    let n = &c.nodes[0];
    let mut args = vec![
        "alert",
        "add",
        "smtp",
        "relay",
        "--host",
        "127.0.0.1",
        "--port",
        "25",
        "--from",
        "qu@example.com",
        "--to",
        "ops@example.com",
        "--tls",
        "none",
        "--user",
        "bot",
        "--password",
        "pw",
    ];
    let out = n.qu(&args);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "SMTP AUTH over a plain connection sends the password in clear; \
             use --starttls or --tls, or --allow-plain-auth"
        ),
        "{}",
        text(&out.stderr)
    );
    // The daemon refuses too (a caller that skipped the CLI's check).
    let out = n.qu(&["alert", "list", "--json"]);
    assert_eq!(text(&out.stdout).trim(), "[]", "nothing was added");
    args.push("--allow-plain-auth");
    n.qu_ok(&args);
    let list: serde_json::Value =
        serde_json::from_str(&n.qu_ok(&["alert", "list", "--json"])).expect("json");
    assert_eq!(list[0]["settings"]["allow_plain_auth"], "true", "{list}");
    // Editing the settings back into clear-text AUTH without the
    // permission is refused the same way.
    let out = n.qu(&["alert", "edit", "relay", "--set", "allow_plain_auth="]);
    assert!(
        text(&out.stderr).contains("SMTP AUTH over a plain connection"),
        "{}",
        text(&out.stderr)
    );

    // A target's password works for probing but is never shown.
    n.qu_ok(&[
        "check",
        "add",
        "http",
        "basic",
        "http://monitor:s3cr3t@127.0.0.1:9/health",
    ]);
    // (`qu status` as a table shows no targets, only check names.)
    for (shown, has_target) in [
        (n.qu_ok(&["check", "list"]), true),
        (n.qu_ok(&["check", "list", "--json"]), true),
        (n.qu_ok(&["status", "--json"]), true),
        (n.qu_ok(&["status"]), false),
    ] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(
            shown.contains("monitor:***@127.0.0.1:9"),
            has_target,
            "target not shown masked: {shown}"
        );
    }
    // `qu export` rebuilds the configuration, so it keeps the real target.
    assert!(n.qu_ok(&["export"]).contains("monitor:s3cr3t@"));
}

#[test]
fn http_request_flags_reach_the_check_and_its_secrets_are_shown_masked() {
    let mut c = Cluster::empty();
    let mut node = Node::new(c.root(), "h1", FAST);
    node.init(None);
    node.start_ready();
    c.nodes.push(node);
    c.wait_founded();
    let n = &c.nodes[0];
    let ca = n.data().join("keys/cert.pem");
    let ca = ca.to_str().expect("path");
    // A bad condition is refused at add, with its column and an example.
    let out = n.qu(&[
        "check",
        "add",
        "http",
        "api",
        "http://127.0.0.1:9/health",
        "--condition",
        "status = 200",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("at column 8: expected an operator"), "{err}");
    assert!(err.contains("examples: status == 200"), "{err}");
    n.qu_ok(&[
        "check",
        "add",
        "http",
        "api",
        "http://127.0.0.1:9/health",
        "--method",
        "post",
        "--header",
        "X-Probe: yes",
        "--header",
        "Authorization: Bearer hdr-s3cret",
        "--body",
        "{}",
        "--basic-auth",
        "monitor:pw-s3cret",
        "--condition",
        "json $.status == \"ok\"",
        "--condition",
        "response_time < 300ms",
        "--follow-redirects",
        "3",
        "--ip4",
        "--ca",
        ca,
    ]);
    let list = n.qu_ok(&["check", "list", "--json"]);
    assert!(!list.contains("s3cret"), "{list}");
    let checks: serde_json::Value = serde_json::from_str(&list).expect("json");
    let api = &checks[0];
    assert_eq!(api["method"], "POST", "{api}");
    assert_eq!(api["headers"][0], "X-Probe: yes");
    assert_eq!(api["headers"][1], "Authorization: ****");
    assert_eq!(api["body"], "{}");
    assert_eq!(api["basic_auth"], "monitor:****");
    assert_eq!(api["conditions"][0], "json $.status == \"ok\"");
    assert_eq!(api["conditions"][1], "response_time < 300ms");
    assert_eq!(api["max_redirects"], 3);
    assert_eq!(api["ip_version"], 4);
    assert!(
        api["ca"]
            .as_str()
            .is_some_and(|p| p.contains("BEGIN CERTIFICATE"))
    );
    assert!(!n.qu_ok(&["check", "list"]).contains("s3cret"));
    // The old flag name still works; a bearer replaces nothing silently.
    n.qu_ok(&["check", "edit", "api", "--max-redirects", "5", "--ip6"]);
    let checks: serde_json::Value =
        serde_json::from_str(&n.qu_ok(&["check", "list", "--json"])).expect("json");
    assert_eq!(checks[0]["max_redirects"], 5);
    assert_eq!(checks[0]["ip_version"], 6);
    let out = n.qu(&["check", "edit", "api", "--bearer", "tok"]);
    assert!(!out.status.success(), "basic auth and bearer together");
    assert!(
        text(&out.stderr).contains("use one of them"),
        "{}",
        text(&out.stderr)
    );
    // `qu export` rebuilds the configuration, so it keeps the secrets.
    let export = n.qu_ok(&["export"]);
    assert!(
        export.contains("pw-s3cret") && export.contains("hdr-s3cret"),
        "{export}"
    );
}
