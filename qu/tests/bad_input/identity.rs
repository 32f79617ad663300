//! Who a request says it is against the key it proved: a member forging
//! another's id in a proposal or a Raft body, join attempts flooded from
//! one address, and an expired enrollment token presented by a client that
//! skips its own expiry check.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use quptime::transport::{Connection, Dialer, Limits, Rpc};
use quptime::{Identity, NodeId};
use serde_json::{Value, json};

use crate::raw::{error_of, frame, read_one, request, send, tcp_from, tls_as, tls_over};
use crate::support::{Node, text, wait_for};
use crate::{cluster, peer_addr, picture, still_fine};

const SOON: Duration = Duration::from_secs(15);

macro_rules! raw_rpc {
    ($name:ident, $method:literal) => {
        enum $name {}
        impl Rpc for $name {
            const METHOD: &'static str = $method;
            type Request = Value;
            type Response = Value;
        }
    };
}
raw_rpc!(Propose, "cluster.propose");
raw_rpc!(Vote, "raft.vote");
raw_rpc!(PreVote, "raft.pre_vote");
raw_rpc!(Append, "raft.append");
raw_rpc!(Transfer, "raft.transfer_leader");
raw_rpc!(Snapshot, "raft.snapshot");

/// A real transport connection to `to` presenting `from`'s own key.
async fn as_member(from: &Node, to: &Node) -> Connection {
    let identity = Identity::load(&from.data(), NodeId::new(from.id.as_str()).expect("id"))
        .expect("the member's identity");
    Dialer::new(&identity, Limits::default())
        .connect(&to.addr(), None)
        .await
        .expect("connect with a member's key")
}

fn vote_of(node: &str, term: u64) -> Value {
    json!({"leader_id": {"term": term, "node_id": node}, "committed": false})
}

fn mismatch(res: quptime::Result<Value>, case: &str) {
    let e = res.expect_err(case).to_string();
    assert!(
        e.contains("identity mismatch") && e.contains("speaks only for itself"),
        "{case}: {e}"
    );
}

#[test]
fn a_member_cannot_speak_for_another_in_a_proposal_or_a_raft_body() {
    let c = cluster(3);
    let before = picture(&c);
    let master = (0..3)
        .find(|&i| c.nodes[i].status().is_some_and(|s| s["is_master"] == true))
        .expect("a master");
    let (liar, victim) = ((master + 1) % 3, (master + 2) % 3);
    let (liar_id, victim_id) = (c.nodes[liar].id.clone(), c.nodes[victim].id.clone());
    let rt = crate::runtime();
    rt.block_on(async {
        let conn = as_member(&c.nodes[liar], &c.nodes[master]).await;
        // A proposal naming another member as its proposer.
        let forged = quptime::state::Command::new(
            NodeId::new(victim_id.as_str()).expect("id"),
            quptime::state::Mutation::RemoveCheck {
                check: "nothing-here".into(),
            },
        );
        let forged = serde_json::to_value(&forged).expect("json");
        mismatch(conn.call::<Propose>(&forged).await, "forged proposer");
        // The same proposal in its own name reaches the state machine.
        let mut honest = forged.clone();
        honest["proposer"] = json!(liar_id);
        let e = conn
            .call::<Propose>(&honest)
            .await
            .expect_err("no such check")
            .to_string();
        assert!(!e.contains("identity mismatch"), "{e}");
        assert!(e.contains("nothing-here"), "{e}");

        // Raft bodies naming another node than the key's.
        let big = 1_000_000;
        let vote = json!({"vote": vote_of(&victim_id, big), "last_log_id": null});
        mismatch(conn.call::<Vote>(&vote).await, "raft.vote candidate");
        mismatch(conn.call::<PreVote>(&vote).await, "raft.pre_vote candidate");
        let append = json!({
            "vote": {"leader_id": {"term": big, "node_id": victim_id}, "committed": true},
            "prev_log_id": null, "entries": [], "leader_commit": null
        });
        mismatch(conn.call::<Append>(&append).await, "raft.append leader");
        let transfer = json!({
            "from_leader": {"leader_id": {"term": big, "node_id": victim_id}, "committed": true},
            "to_node_id": c.nodes[master].id, "last_log_id": null
        });
        mismatch(
            conn.call::<Transfer>(&transfer).await,
            "raft.transfer_leader",
        );
        let chunk = json!({
            "transfer": "t1", "offset": 0, "data": "",
            "last": [
                {"leader_id": {"term": big, "node_id": victim_id}, "committed": true},
                {"last_log_id": null, "last_membership": {"log_id": null,
                 "membership": {"configs": [], "nodes": {}}}, "snapshot_id": "s"}
            ]
        });
        mismatch(conn.call::<Snapshot>(&chunk).await, "raft.snapshot leader");
        // A pre-vote in its own name is answered by Raft (and changes nothing).
        let own = json!({"vote": vote_of(&liar_id, 1), "last_log_id": null});
        let answer = conn
            .call::<PreVote>(&own)
            .await
            .expect("an honest pre-vote");
        assert!(answer.get("vote_granted").is_some(), "{answer}");
    });
    // From an address of its own, the refusal is logged (once per address
    // and interval).
    let addr = peer_addr(&c.nodes[master]);
    rt.block_on(async {
        let tcp = tcp_from(addr, Ipv4Addr::new(127, 0, 0, 44))
            .await
            .expect("tcp");
        let mut s = tls_as(tcp, &c.nodes[liar].data()).await.expect("handshake");
        for id in 1..=50 {
            let params = json!({"vote": vote_of(&victim_id, 7), "last_log_id": null});
            send(&mut s, &frame(&request(id, "raft.vote", params))).await;
            let reply = read_one(&mut s, SOON).await.expect("an answer");
            let msg = error_of(&reply).expect("an error");
            assert!(msg.contains("identity mismatch"), "{msg}");
        }
    });
    let lines = wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "the refusal in the log",
        || {
            let log = std::fs::read_to_string(c.nodes[master].log()).ok()?;
            let lines: Vec<String> = log
                .lines()
                .filter(|l| l.contains("127.0.0.44") && l.contains("identity mismatch"))
                .map(str::to_string)
                .collect();
            (!lines.is_empty()).then_some(lines)
        },
    );
    assert_eq!(lines.len(), 1, "50 refusals, one line: {lines:?}");
    still_fine(&c, &before, "forged node ids");
}

/// Present an unknown enrollment token from `source` over one connection,
/// `n` times; the answers' error messages.
async fn enroll_attempts(addr: SocketAddr, source: Ipv4Addr, n: u64) -> Vec<String> {
    let tcp = tcp_from(addr, source).await.expect("tcp");
    let mut s = tls_over(tcp).await.expect("handshake");
    let mut out = Vec::new();
    for id in 1..=n {
        let params = json!({"token_id": "nope", "secret": "x", "node_id": "j1",
                            "advertise": "127.0.0.1:1"});
        send(&mut s, &frame(&request(id, "enroll.request", params))).await;
        let reply = read_one(&mut s, SOON).await.expect("an answer");
        out.push(error_of(&reply).expect("an error"));
    }
    out
}

#[test]
fn join_attempts_are_rate_limited_per_address_and_recover() {
    let c = cluster(3);
    let before = picture(&c);
    let addr = peer_addr(&c.nodes[0]);
    let flooder = Ipv4Addr::new(127, 0, 0, 41);
    let limited = |m: &String| m.contains("too many join attempts from 127.0.0.41; retry in ");
    let rt = crate::runtime();
    rt.block_on(async {
        let answers = enroll_attempts(addr, flooder, 40).await;
        // The burst is answered on its merits, the rest refused.
        assert!(
            answers[..15]
                .iter()
                .all(|m| m.contains("unknown or revoked token")),
            "{answers:?}"
        );
        let refused = answers.iter().filter(|m| limited(m)).count();
        assert!(refused >= 10, "{refused} refused: {answers:?}");
        // Another address is not affected.
        let other = enroll_attempts(addr, Ipv4Addr::new(127, 0, 0, 42), 1).await;
        assert!(other[0].contains("unknown or revoked token"), "{other:?}");
        // The refusal says when to retry; after that, answered again.
        let wait: u64 = answers
            .iter()
            .rev()
            .find(|m| limited(m))
            .and_then(|m| m.rsplit("retry in ").next())
            .and_then(|s| s.trim_end_matches('s').parse().ok())
            .expect("a retry time");
        assert!((1..=5).contains(&wait), "{wait}");
        let deadline = Instant::now() + Duration::from_secs(wait + 10);
        loop {
            let again = enroll_attempts(addr, flooder, 1).await;
            if again[0].contains("unknown or revoked token") {
                break;
            }
            assert!(limited(&again[0]), "{again:?}");
            assert!(Instant::now() < deadline, "never recovered: {again:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    still_fine(&c, &before, "join flood");
}

#[test]
fn an_expired_token_is_refused_by_the_server_itself() {
    let c = cluster(3);
    let out = c.nodes[0].qu(&["enroll", "create", "--ttl", "1s"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = quptime::enroll::Token::decode(text(&out.stdout).trim()).expect("a token");
    // Wait for the clock (not a fixed sleep): until the token has expired.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !token.expired() {
        assert!(Instant::now() < deadline, "the token never expired");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = picture(&c);
    let addr = peer_addr(&c.nodes[0]);
    let rt = crate::runtime();
    rt.block_on(async {
        // A forged joiner: real TLS with a fresh key, the token's real id
        // and secret, and no client-side expiry check.
        let tcp = tcp_from(addr, Ipv4Addr::new(127, 0, 0, 43))
            .await
            .expect("tcp");
        let mut s = tls_over(tcp).await.expect("handshake");
        let params = json!({"token_id": token.id, "secret": token.secret,
                            "node_id": "late", "advertise": "127.0.0.1:1"});
        send(&mut s, &frame(&request(1, "enroll.request", params))).await;
        let reply = read_one(&mut s, SOON).await.expect("an answer");
        let msg = error_of(&reply).unwrap_or_else(|| {
            panic!(
                "an expired token was accepted: {}",
                String::from_utf8_lossy(&reply)
            )
        });
        assert!(
            msg.contains("enrollment refused") && msg.contains("the token has expired"),
            "{msg}"
        );
    });
    // Nothing recorded: no request on the token, no new member.
    still_fine(&c, &before, "expired token");
    let listed = c.nodes[0].qu_ok(&["enroll", "list"]);
    assert!(!listed.contains("late"), "{listed}");
}
