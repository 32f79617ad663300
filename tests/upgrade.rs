//! Rolling upgrades: while a member runs a release that cannot apply a new
//! kind of change, proposing that change is refused with a message naming
//! the member, and everything older releases understand keeps working; once
//! the member reports the new level, the change goes through.

use std::time::Duration;

use quptime::ErrorKind;
use quptime::state::{Check, CheckType, Mutation, STATE_LEVEL};
use quptime_tests::cluster::{TestCluster, fast_timing};

fn resolvers() -> Mutation {
    Mutation::SetDnsResolvers {
        resolvers: vec!["127.0.0.1:5353".into()],
    }
}

/// Propose `m` from `node` until `ok(result)` holds (pings run each second).
async fn until(
    node: &quptime::Cluster,
    m: &Mutation,
    ok: impl Fn(&quptime::Result<quptime::state::Outcome>) -> bool,
) -> quptime::Result<quptime::state::Outcome> {
    let mut last = None;
    for _ in 0..30 {
        let r = node.propose(m.clone()).await;
        if ok(&r) {
            return r;
        }
        last = Some(r);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never got the expected answer; last: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_changes_wait_until_every_member_can_apply_them() {
    const { assert!(STATE_LEVEL >= 2) };
    let tc = TestCluster::form(&["u1", "u2", "u3"], fast_timing()).await;
    let old = tc.node(2).clone();
    old.faults().pretend_state_level(1);

    let refused = until(tc.node(0), &resolvers(), |r| r.is_err()).await;
    let err = refused.expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    let msg = err.message();
    assert!(msg.contains(&old.node_id().to_string()), "{msg}");
    assert!(msg.contains("upgrade every member"), "{msg}");
    // (A proposal made before the first pong from the old member may have
    // gone through; from now on nothing level-2 does.)
    let before = tc.node(0).state().version;
    let again = tc.node(0).propose(resolvers()).await;
    assert_eq!(again.map_err(|e| e.kind()), Err(ErrorKind::Incompatible));
    assert_eq!(
        tc.node(0).state().version,
        before,
        "a refused change applied"
    );

    // What every release understands still commits in the mixed cluster.
    let check = Mutation::AddCheck {
        check: Check {
            id: "id-db".into(),
            name: "db".into(),
            target: "127.0.0.1:9".into(),
            ..Check::blank(CheckType::Tcp)
        },
    };
    tc.node(1).propose(check).await.expect("level-1 change");

    // The member is upgraded: the next pong carries the new level.
    old.faults().pretend_state_level(0);
    until(tc.node(0), &resolvers(), |r| r.is_ok())
        .await
        .expect("accepted after the upgrade");
    assert_eq!(tc.node(0).state().dns_resolvers, vec!["127.0.0.1:5353"]);
    tc.shutdown().await;
}
