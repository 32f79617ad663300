//! The control socket: broken frames and oversized calls from a local
//! client (the uid check lets the test in; everything after it is bounded).

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::raw::{closed, error_of, frame, read_one, request, send};
use crate::{cluster, picture, still_fine};

const SOON: Duration = Duration::from_secs(15);

/// The error the daemon sent (id 0: about the connection) before closing.
fn said(bytes: &[u8]) -> String {
    assert!(bytes.len() > 4, "no error frame before the close");
    let len = u32::from_be_bytes(bytes[..4].try_into().expect("header")) as usize;
    error_of(&bytes[4..4 + len]).expect("an error frame")
}

#[test]
fn the_control_socket_survives_broken_frames_and_oversized_calls() {
    let c = cluster(1);
    let path = c.nodes[0].socket();
    let rt = crate::runtime();
    let before = picture(&c);
    let mut cases = 0;
    rt.block_on(async {
        let connect = || async { UnixStream::connect(&path).await.expect("connect") };

        // 1. Text that is no frame at all: its first bytes read as a
        // length far over the cap.
        let mut s = connect().await;
        send(&mut s, b"hello daemon, this is not a frame").await;
        let msg = said(&closed(&mut s, SOON).await);
        assert!(msg.contains("cap"), "{msg}");
        cases += 1;

        // 2. A header claiming 4 GiB.
        let mut s = connect().await;
        send(&mut s, &u32::MAX.to_be_bytes()).await;
        let msg = said(&closed(&mut s, SOON).await);
        assert!(msg.contains("cap"), "{msg}");
        cases += 1;

        // 3. A frame cut short.
        let mut s = connect().await;
        let whole = frame(&request(1, "status", serde_json::json!(null)));
        send(&mut s, &whole[..whole.len() - 3]).await;
        let _ = s.shutdown().await;
        closed(&mut s, SOON).await;
        cases += 1;

        // 4. Deeply nested JSON.
        let mut s = connect().await;
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        send(&mut s, &frame(deep.as_bytes())).await;
        let msg = said(&closed(&mut s, SOON).await);
        assert!(msg.contains("undecodable control request"), "{msg}");
        cases += 1;

        // 5. JSON that is not an envelope.
        let mut s = connect().await;
        send(&mut s, &frame(br#"{"hello": "world"}"#)).await;
        let msg = said(&closed(&mut s, SOON).await);
        assert!(msg.contains("undecodable control request"), "{msg}");
        cases += 1;

        // 6. An unknown method: answered, and the connection stays usable.
        let mut s = connect().await;
        send(
            &mut s,
            &frame(&request(6, "no.such.method", serde_json::json!({}))),
        )
        .await;
        let reply = read_one(&mut s, SOON).await.expect("a reply");
        assert!(error_of(&reply).is_some(), "unknown method is an error");
        send(
            &mut s,
            &frame(&request(7, "status", serde_json::json!(null))),
        )
        .await;
        let reply = read_one(&mut s, SOON).await.expect("a reply");
        assert!(error_of(&reply).is_none(), "status still answers");
        cases += 1;

        // 7. A declaration of 3.5 MB sent straight to the socket (the CLI
        // would refuse it before sending): refused with its size.
        let mut s = connect().await;
        let yaml = format!("# {}\n", "x".repeat(3_500_000));
        let params = serde_json::json!({"yaml": yaml, "prune": false, "dry_run": false});
        send(&mut s, &frame(&request(8, "config.apply", params))).await;
        let reply = read_one(&mut s, SOON).await.expect("a reply");
        let msg = error_of(&reply).expect("an error");
        assert!(msg.contains("over the limit of 1048576"), "{msg}");
        cases += 1;

        // 8. A newer protocol version: told what to do.
        let mut s = connect().await;
        let body = br#"{"v":999,"id":9,"t":"request","method":"status"}"#;
        send(&mut s, &frame(body)).await;
        let reply = read_one(&mut s, SOON).await.expect("a reply");
        let msg = error_of(&reply).expect("an error");
        assert!(msg.contains("upgrade the daemon"), "{msg}");
        cases += 1;

        // 9. A frame over the 4 MiB cap, sent in full.
        let mut s = connect().await;
        let big = vec![b' '; (4 << 20) + 1];
        let (mut r, mut w) = s.split();
        let write = async {
            let _ = w.write_all(&frame(&big)).await;
        };
        let (_, got) = tokio::join!(write, closed(&mut r, SOON));
        let msg = said(&got);
        assert!(msg.contains("cap"), "{msg}");
        cases += 1;
    });
    still_fine(&c, &before, "control socket frames");
    eprintln!("control socket: {cases} cases");
    assert_eq!(cases, 9);
}
