//! The peer port: what strangers can send before and after a TLS handshake.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::raw::{closed, error_of, frame, read_one, request, send, stranger};
use crate::{cluster, peer_addr, picture, still_fine};

const SOON: Duration = Duration::from_secs(15);

#[test]
fn the_peer_port_survives_garbage_truncated_oversized_and_nested_frames() {
    let c = cluster(3);
    let addr = peer_addr(&c.nodes[0]);
    let rt = crate::runtime();
    let before = picture(&c);
    let mut cases = 0;
    rt.block_on(async {
        // 1. Not even TLS.
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
        send(
            &mut tcp,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff garbage",
        )
        .await;
        closed(&mut tcp, SOON).await;
        cases += 1;

        // 2. A frame whose body is not JSON.
        let mut s = stranger(addr).await;
        send(&mut s, &frame(b"\x00\x01 not json \xff")).await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 3. A frame cut short, then the writer hangs up.
        let mut s = stranger(addr).await;
        let whole = frame(&request(1, "hello", serde_json::json!(null)));
        send(&mut s, &whole[..whole.len() / 2]).await;
        let _ = s.shutdown().await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 4. A header claiming 4 GiB: refused before any allocation.
        let mut s = stranger(addr).await;
        send(&mut s, &u32::MAX.to_be_bytes()).await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 5. Deeply nested JSON as the whole frame.
        let mut s = stranger(addr).await;
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        send(&mut s, &frame(deep.as_bytes())).await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 6. A well-formed envelope with deeply nested params.
        let mut s = stranger(addr).await;
        let body = format!(
            r#"{{"v":1,"id":1,"t":"request","method":"hello","params":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        send(&mut s, &frame(body.as_bytes())).await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 7. A member-only method from an unknown key: a clear refusal.
        let mut s = stranger(addr).await;
        send(
            &mut s,
            &frame(&request(7, "raft.append", serde_json::json!({}))),
        )
        .await;
        let reply = read_one(&mut s, SOON).await.expect("an answer");
        let msg = error_of(&reply).expect("an error");
        assert!(msg.contains("peer not trusted"), "{msg}");
        cases += 1;

        // 8. A response where a request belongs.
        let mut s = stranger(addr).await;
        let resp = br#"{"v":1,"id":1,"t":"response","result":null}"#;
        send(&mut s, &frame(resp)).await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 9. A frame over the 4 MiB cap, sent in full.
        let mut s = stranger(addr).await;
        let big = vec![b' '; (4 << 20) + 1];
        let (mut r, mut w) = tokio::io::split(&mut s);
        let write = async {
            let _ = w.write_all(&frame(&big)).await;
        };
        let read = closed(&mut r, SOON);
        let _ = tokio::join!(write, read);
        cases += 1;
    });
    still_fine(&c, &before, "peer port frames");
    eprintln!("peer port: {cases} cases");
    assert_eq!(cases, 9);
}

#[test]
fn twenty_thousand_undecodable_requests_log_a_few_lines() {
    let c = cluster(3);
    let addr = peer_addr(&c.nodes[0]);
    let log_lines = |n: &crate::Node| {
        std::fs::read_to_string(n.log())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("cannot decode the parameters of join.invite"))
            .count()
    };
    let before = picture(&c);
    let lines_before = log_lines(&c.nodes[0]);
    let rt = crate::runtime();
    let answered = rt.block_on(async {
        let s = stranger(addr).await;
        let (mut r, mut w) = tokio::io::split(s);
        let writer = tokio::spawn(async move {
            // join.invite takes an object; a number cannot be decoded.
            let mut batch = Vec::new();
            for id in 1..=20_000u64 {
                batch.extend_from_slice(&frame(&request(id, "join.invite", serde_json::json!(5))));
                if batch.len() > 64 << 10 {
                    w.write_all(&batch).await.expect("write");
                    batch.clear();
                }
            }
            w.write_all(&batch).await.expect("write");
            w
        });
        let mut answered = 0;
        while answered < 20_000 {
            let reply = read_one(&mut r, Duration::from_secs(60))
                .await
                .expect("every request is answered");
            let msg = error_of(&reply).expect("an error");
            assert!(msg.contains("cannot decode the parameters"), "{msg}");
            answered += 1;
        }
        drop(writer.await);
        answered
    });
    assert_eq!(answered, 20_000);
    let new_lines = log_lines(&c.nodes[0]) - lines_before;
    assert!(
        new_lines <= 2,
        "20,000 refusals from one address wrote {new_lines} log lines{}",
        c.nodes[0].log_tail(10)
    );
    still_fine(&c, &before, "undecodable flood");
}
