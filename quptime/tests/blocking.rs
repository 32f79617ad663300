//! The synchronous facade: a one-node cluster driven without async code.

use std::time::Duration;

use quptime::blocking::{Next, Node};
use quptime::init::{InitOptions, init_node};
use quptime::{ErrorKind, NodeOptions};

fn start(dir: &std::path::Path) -> Node {
    init_node(
        dir,
        InitOptions {
            bind_addr: Some("127.0.0.1".into()),
            bind_port: Some(9901),
            ..InitOptions::default()
        },
    )
    .expect("init");
    let mut opts = NodeOptions::new(dir);
    opts.listen = Some("127.0.0.1:0".parse().expect("addr"));
    Node::start(opts).expect("start")
}

#[test]
fn a_node_runs_checks_and_closes_its_streams_on_shutdown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let node = start(tmp.path());
    let added = node
        .add_check_document("name: web\ntype: http\ntarget: http://127.0.0.1:9/\ninterval: 5s\n")
        .expect("add check");
    assert!(added.id.is_some());
    let checks = node.checks().expect("checks");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].name, "web");
    assert_eq!(checks[0].interval, Duration::from_secs(5));

    let err = node
        .add_check_document("name: x\ntype: carrier-pigeon\ntarget: a\n")
        .expect_err("unknown type");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = node.remove_check("nope").expect_err("unknown check");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(node.status_json().expect("status").contains("\"checks\""));

    let sub = node.subscribe().expect("subscribe");
    assert!(matches!(
        sub.next_timeout(Some(Duration::from_millis(50))),
        Next::Timeout
    ));
    let pending = node
        .spawn(|c| async move { quptime::api::remove_check(&c, "web").await })
        .expect("spawn");
    pending.wait().expect("remove");
    assert!(node.checks().expect("checks").is_empty());

    node.shutdown().expect("shutdown");
    assert!(matches!(sub.next_timeout(None), Next::Closed));
    let err = node.checks().expect_err("stopped");
    assert_eq!(err.kind(), ErrorKind::Shutdown);
    node.shutdown().expect("shutdown is idempotent");
}

/// The use cases through the facade, on two nodes in this process: a
/// write through one is read on the other once `wait_applied` says so.
#[test]
fn the_shared_use_cases_work_across_two_nodes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let loopback_free = || InitOptions {
        bind_addr: Some("127.0.0.1".into()),
        bind_port: Some(0),
        ..InitOptions::default()
    };
    let fast = quptime::Timing {
        heartbeat: Duration::from_millis(100),
        election_min: Duration::from_millis(500),
        election_max: Duration::from_millis(1000),
        ..quptime::Timing::default()
    };
    let a = Node::open(&tmp.path().join("a"), loopback_free(), fast.clone()).expect("a");
    assert_ne!(
        a.cluster().local_addr().port(),
        0,
        "port 0 binds a free port"
    );
    let secret = quptime::store::NodeConfig::load(&tmp.path().join("a"))
        .expect("a's config")
        .secret;
    let b_init = InitOptions {
        secret,
        ..loopback_free()
    };
    let b = Node::open(&tmp.path().join("b"), b_init, fast.clone()).expect("b");
    let b_addr = b.cluster().local_addr().to_string();
    let seen = a.preview_node(&b_addr).expect("preview");
    assert_eq!(seen.node_id, *b.cluster().node_id());
    a.add_node(&b_addr, seen.fingerprint.as_str())
        .expect("add b");
    assert!(
        a.status_json()
            .expect("status")
            .contains(b.cluster().node_id().as_str())
    );

    let added = a
        .add_check_document("name: db\ntype: tcp\ntarget: 127.0.0.1:9\n")
        .expect("add");
    let edited = a
        .edit_check_document("db", "interval: 45s\n")
        .expect("edit");
    assert!(edited.version > added.version);
    b.wait_applied(edited.version, Duration::from_secs(10))
        .expect("b applies the edit");
    assert_eq!(
        b.checks().expect("checks")[0].interval,
        Duration::from_secs(45)
    );
    let off = a.set_check_enabled("db", false).expect("disable");
    b.wait_applied(off.version, Duration::from_secs(10))
        .expect("b");
    assert!(b.checks().expect("checks")[0].disabled);
    a.set_check_enabled("db", true).expect("enable");
    let err = a
        .edit_check_document("db", "interval: 5 parsecs\n")
        .expect_err("bad interval");
    assert_eq!(
        (err.kind(), err.field()),
        (ErrorKind::InvalidInput, Some("interval"))
    );
    assert!(!err.message().contains("--"), "no CLI flag: {err}");
    let err = a.set_check_enabled("nope", true).expect_err("unknown");
    assert!(
        !err.message().contains("qu "),
        "no qu hint in the text: {err}"
    );
    assert!(err.hint().is_some_and(|h| h.contains("qu check list")));
    let late = b
        .wait_applied(u64::MAX, Duration::from_millis(50))
        .expect_err("never");
    assert_eq!(late.kind(), ErrorKind::Timeout);

    let token = a
        .create_enrollment(quptime::api::EnrollSpec {
            name: Some("spare".into()),
            ttl: "10m".into(),
            auto_approve: false,
        })
        .expect("token");
    assert_eq!(a.list_enrollments().expect("list").len(), 1);
    a.revoke_enrollment(&token.record.id).expect("revoke");
    let err = a
        .create_enrollment(quptime::api::EnrollSpec {
            name: None,
            ttl: "31d".into(),
            auto_approve: false,
        })
        .expect_err("too long");
    assert_eq!(err.field(), Some("ttl"));

    let set = a.set_resolvers(vec!["9.9.9.9".into()]).expect("resolvers");
    b.wait_applied(set.version, Duration::from_secs(10))
        .expect("b applies the resolvers");
    assert_eq!(a.resolvers().expect("resolvers"), vec!["9.9.9.9:53"]);
    let yaml = a.export_config().expect("export");
    let report = b
        .apply_config(quptime::api::ApplyRequest {
            yaml,
            prune: false,
            dry_run: true,
        })
        .expect("apply");
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    a.remove_node(b.cluster().node_id().as_str())
        .expect("remove b");
    b.shutdown().expect("b");
    a.shutdown().expect("a");
}

/// An existing node refuses another identity, naming the field.
#[test]
fn opening_an_existing_node_with_another_id_names_the_field() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("n");
    let init = |id: &str| InitOptions {
        node_id: Some(id.into()),
        bind_addr: Some("127.0.0.1".into()),
        bind_port: Some(0),
        ..InitOptions::default()
    };
    Node::open(&dir, init("one"), quptime::Timing::default())
        .expect("first")
        .shutdown()
        .expect("stop");
    let err = Node::open(&dir, init("two"), quptime::Timing::default()).expect_err("other id");
    assert_eq!(err.field(), Some("node_id"), "{err}");
}
