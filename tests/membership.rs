//! Membership beyond the secret handshake: enrollment tokens (automatic and
//! approved), the master preference with its cooldown, and staggered starts.

use std::time::{Duration, Instant};

use quptime::ErrorKind;
use quptime::identity::NodeId;
use quptime_tests::cluster::{TestCluster, fast_timing, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_with_an_auto_approved_token() {
    let mut tc = TestCluster::form(&["n1", "n2"], fast_timing()).await;
    let (token, record) = tc
        .node(1)
        .create_enrollment(Some("third".into()), Duration::from_secs(3600), true)
        .await
        .expect("create token");
    assert_eq!(token.endpoints.len(), 2);
    assert!(
        !tc.node(0).state().enrollments[&record.id]
            .secret_hash
            .contains(&token.secret)
    );
    let text = token.encode();
    let token = quptime::enroll::Token::decode(&text).expect("decode");
    let i = tc
        .join_with_token("n3", &token, Duration::from_secs(10), || {
            panic!("auto-approved tokens never wait")
        })
        .await
        .expect("join");
    let n3 = NodeId::new("n3").expect("id");
    wait_for(
        "n3 to become a voter on every node",
        Duration::from_secs(10),
        || {
            tc.running().iter().all(|n| {
                let s = n.status();
                s.peers.iter().any(|p| p.node_id == n3 && p.voter) && s.need == 2
            })
        },
    )
    .await;
    assert_eq!(tc.node(i).status().peers.len(), 3);
    // The token is single-use.
    let again = tc
        .join_with_token("n4", &token, Duration::from_secs(3), || {})
        .await;
    let err = again.expect_err("reused token");
    assert_eq!(err.kind(), ErrorKind::NotTrusted, "{err}");
    assert!(err.to_string().contains("already used"), "{err}");
    // The failed join left nothing behind.
    assert!(!tc.root.path().join("n4").exists());
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_auto_approve_waits_for_approval() {
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let (token, record) = tc
        .node(0)
        .create_enrollment(None, Duration::from_secs(3600), false)
        .await
        .expect("create");
    let approver = tc.node(2).clone();
    let id = record.id.clone();
    // Approve as soon as the request shows up in the replicated state.
    let approval = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if approver
                .state()
                .enrollments
                .get(&id)
                .is_some_and(|e| e.request.is_some())
            {
                return approver.approve_enrollment(&id).await;
            }
            assert!(Instant::now() < deadline, "no join request arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let pending = std::sync::atomic::AtomicBool::new(false);
    tc.join_with_token("n4", &token, Duration::from_secs(20), || {
        pending.store(true, std::sync::atomic::Ordering::SeqCst)
    })
    .await
    .expect("join after approval");
    approval.await.expect("join").expect("approve");
    assert!(
        pending.load(std::sync::atomic::Ordering::SeqCst),
        "the joiner should have been told to wait"
    );
    let n4 = NodeId::new("n4").expect("id");
    wait_for("n4 to become a voter", Duration::from_secs(10), || {
        tc.node(0)
            .status()
            .peers
            .iter()
            .any(|p| p.node_id == n4 && p.voter)
    })
    .await;
    assert_eq!(tc.node(0).status().need, 3);
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_revoked_tokens_are_refused() {
    let mut tc = TestCluster::form(&["n1"], fast_timing()).await;
    let (token, record) = tc
        .node(0)
        .create_enrollment(None, Duration::from_secs(3600), true)
        .await
        .expect("create");
    tc.node(0)
        .revoke_enrollment(&record.id)
        .await
        .expect("revoke");
    let err = tc
        .join_with_token("n2", &token, Duration::from_secs(3), || {})
        .await
        .expect_err("revoked");
    assert!(err.to_string().contains("unknown or revoked"), "{err}");
    let (short, rec) = tc
        .node(0)
        .create_enrollment(None, Duration::from_secs(1), true)
        .await
        .expect("create");
    // Expired, it is kept (and refused by its expiry) for a minute before
    // the master prunes it.
    wait_for("the token to expire", Duration::from_secs(6), || {
        short.expired()
    })
    .await;
    assert!(tc.node(0).state().enrollments.contains_key(&rec.id));
    let err = tc
        .join_with_token("n3", &short, Duration::from_secs(3), || {})
        .await
        .expect_err("expired");
    assert!(err.to_string().contains("expired"), "{err}");
    tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lowest_node_takes_the_master_role_back_only_after_the_cooldown() {
    let mut timing = fast_timing();
    timing.master_cooldown = Duration::from_secs(3);
    let mut tc = TestCluster::form(&["n1", "n2", "n3"], timing).await;
    // After the cooldown, the lowest NodeId leads.
    wait_for("n1 to be master", Duration::from_secs(15), || {
        tc.node(0).is_master()
    })
    .await;
    // Restart n1: someone else takes over at once…
    tc.stop(0).await;
    let other = tc.master(Duration::from_secs(10)).await;
    assert_ne!(other, 0);
    // The cooldown cannot start before the restart does.
    let back = Instant::now();
    tc.restart(0).await;
    // …and n1 does not reclaim the role before the cooldown has passed.
    while back.elapsed() < Duration::from_secs(2) {
        assert!(!tc.node(0).is_master(), "n1 took over before the cooldown");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for(
        "n1 to take over after the cooldown",
        Duration::from_secs(15),
        || tc.node(0).is_master(),
    )
    .await;
    let took = back.elapsed();
    // Measured from before the restart, so this is a strict lower bound.
    assert!(took >= Duration::from_secs(3), "took over after {took:?}");
    eprintln!("n1 took the master role back {took:?} after its restart");
    tc.shutdown().await;
}

/// Only a member itself rotates its key: a rotation of another member's key
/// is refused whether the proposer leads (the state refuses it) or forwards
/// it to the leader (the leader sees the connection is not that member's),
/// and the peers table keeps the key it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_rotate_another_members_key() {
    use quptime::identity::Identity;
    use quptime::state::Mutation;

    let tc = TestCluster::form(&["n1", "n2", "n3"], fast_timing()).await;
    let nodes = tc.running();
    let leader = nodes
        .iter()
        .find(|n| n.status().is_master)
        .expect("a master")
        .clone();
    let followers: Vec<_> = nodes
        .iter()
        .filter(|n| n.node_id() != leader.node_id())
        .cloned()
        .collect();
    let rotate = |of: &NodeId| {
        let next = Identity::generate(of.clone()).expect("key");
        Mutation::RotateKey {
            node_id: of.clone(),
            fingerprint: next.fingerprint().clone(),
            cert_pem: next.cert_pem().to_string(),
        }
    };
    let victim = followers[1].node_id().clone();
    let before = leader.state().peers[&victim].fingerprint.clone();
    // Forwarded by a follower to the leader.
    let e = followers[0]
        .propose(rotate(&victim))
        .await
        .expect_err("forged rotation, forwarded");
    assert_eq!(e.kind(), ErrorKind::NotTrusted, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("only node {victim} itself can rotate its key")),
        "{e}"
    );
    // Proposed on the leader itself.
    let e = leader
        .propose(rotate(&victim))
        .await
        .expect_err("forged rotation, on the leader");
    assert!(
        e.to_string()
            .contains(&format!("only node {victim} itself can rotate its key")),
        "{e}"
    );
    for n in &nodes {
        assert_eq!(n.state().peers[&victim].fingerprint, before);
    }
    tc.shutdown().await;
}
