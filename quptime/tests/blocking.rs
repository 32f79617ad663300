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
