//! The control socket over real unix sockets in a temporary directory: typed
//! calls, pipelining, errors as the CLI will show them, the socket file's
//! life on disk, and clients that misbehave.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quptime::control::{
    BlockingControlClient, ControlClient, ControlLimits, ControlRouter, ControlServer,
};
use quptime::transport::{Rpc, read_frame, write_frame};
use quptime::{Error, ErrorKind};
use serde_json::json;
use tokio::net::UnixStream;
use tokio::sync::Notify;

#[path = "control/socket_file.rs"]
mod socket_file;

/// Declare a control method for the tests.
macro_rules! rpc {
    ($(#[$doc:meta])* $name:ident, $method:literal, $req:ty => $resp:ty) => {
        $(#[$doc])*
        enum $name {}
        impl Rpc for $name {
            const METHOD: &'static str = $method;
            type Request = $req;
            type Response = $resp;
        }
    };
}

rpc!(Echo, "echo", String => String);
rpc!(
    /// Answers only once the test opens its gate.
    Slow, "slow", () => String
);
rpc!(Fail, "fail", () => ());
rpc!(WhoAmI, "whoami", () => (u32, Option<i32>));
rpc!(Boom, "boom", () => ());
rpc!(
    /// Known to the client, never routed by the server.
    FromTheFuture, "from_the_future", () => ()
);

const SEC: Duration = Duration::from_secs(1);

fn router(gate: Arc<Notify>) -> ControlRouter {
    ControlRouter::new()
        .route::<Echo, _, _>(|_, s| async move { Ok(s) })
        .route::<Slow, _, _>(move |_, ()| {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Ok("slow done".to_string())
            }
        })
        .route::<Fail, _, _>(|_, ()| async {
            Err(Error::new(
                ErrorKind::NoQuorum,
                "no quorum: 1 of 3 nodes reachable",
            ))
        })
        .route::<WhoAmI, _, _>(|caller, ()| async move { Ok((caller.uid, caller.pid)) })
        .route::<Boom, _, _>(|_, ()| async { panic!("handler bug") })
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    gate: Arc<Notify>,
    server: ControlServer,
}

async fn start() -> Fixture {
    start_with(ControlLimits::default()).await
}

async fn start_with(limits: ControlLimits) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run").join("quptime.sock");
    let gate = Arc::new(Notify::new());
    let server = ControlServer::bind_with_limits(&path, router(gate.clone()), limits)
        .await
        .expect("bind");
    Fixture {
        _dir: dir,
        path,
        gate,
        server,
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").mode() & 0o7777
}

/// Write raw bytes on a fresh connection; read `n` answers, or all of them
/// until the server hangs up when `n` is `None`. `between` runs after the
/// first answer.
async fn raw_exchange(
    path: &Path,
    bytes: &[u8],
    n: Option<usize>,
    between: impl FnOnce(),
) -> Vec<serde_json::Value> {
    use tokio::io::AsyncWriteExt;
    let mut stream = UnixStream::connect(path).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut answers = Vec::new();
    let mut between = Some(between);
    while n.is_none_or(|n| answers.len() < n) {
        let Ok(Some(frame)) = read_frame(&mut stream, 1 << 20, 5 * SEC, 5 * SEC).await else {
            break;
        };
        answers.push(serde_json::from_slice(&frame).expect("json answer"));
        if let Some(f) = between.take() {
            f();
        }
    }
    answers
}

/// Frame JSON requests back to back.
async fn frames(requests: &[serde_json::Value]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for req in requests {
        let body = serde_json::to_vec(req).expect("json");
        write_frame(&mut bytes, &body, 1 << 20)
            .await
            .expect("frame");
    }
    bytes
}

#[tokio::test]
async fn typed_round_trip() {
    let f = start().await;
    assert_eq!(f.server.local_path(), f.path);
    let client = ControlClient::connect(&f.path).await.expect("connect");
    let echoed = client.call::<Echo>(&"hello".to_string()).await;
    assert_eq!(echoed.expect("echo"), "hello");
    assert_eq!(client.path(), f.path);
    f.server.shutdown().await;
}

#[tokio::test]
async fn pipelined_calls_complete_independently() {
    let f = start().await;
    let client = ControlClient::connect(&f.path).await.expect("connect");
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.call::<Slow>(&()).await }
    });
    // Many fast calls on the same connection finish while the slow one waits.
    let fast: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.call::<Echo>(&format!("fast {i}")).await })
        })
        .collect();
    for (i, call) in fast.into_iter().enumerate() {
        assert_eq!(
            call.await.expect("join").expect("fast"),
            format!("fast {i}")
        );
    }
    assert!(
        !slow.is_finished(),
        "the slow call cannot have finished yet"
    );
    f.gate.notify_one();
    let slow = tokio::time::timeout(5 * SEC, slow)
        .await
        .expect("slow answers");
    assert_eq!(slow.expect("join").expect("slow"), "slow done");
    f.server.shutdown().await;
}

#[tokio::test]
async fn answers_on_the_wire_carry_their_ids_in_completion_order() {
    let f = start().await;
    let bytes = frames(&[
        json!({"v": 1, "id": 1, "t": "request", "method": "slow"}),
        json!({"v": 1, "id": 2, "t": "request", "method": "echo", "params": "x"}),
    ])
    .await;
    let answers = raw_exchange(&f.path, &bytes, Some(2), || f.gate.notify_one()).await;
    assert_eq!(
        answers,
        [
            json!({"v": 1, "id": 2, "t": "response", "result": "x"}),
            json!({"v": 1, "id": 1, "t": "response", "result": "slow done"}),
        ]
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn handler_errors_keep_their_kind_and_text() {
    let f = start().await;
    let client = ControlClient::connect(&f.path).await.expect("connect");
    let err = client.call::<Fail>(&()).await.expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::NoQuorum);
    assert_eq!(err.to_string(), "no quorum: 1 of 3 nodes reachable");
    // A panicking handler is an internal error, and the connection lives on.
    let err = client.call::<Boom>(&()).await.expect_err("panics");
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(
        client.call::<Echo>(&"after".into()).await.expect("echo"),
        "after"
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn unknown_method_says_to_upgrade_the_daemon() {
    let f = start().await;
    let client = ControlClient::connect(&f.path).await.expect("connect");
    let err = client
        .call::<FromTheFuture>(&())
        .await
        .expect_err("unknown");
    assert_eq!(err.kind(), ErrorKind::Incompatible);
    let text = err.to_string();
    assert!(text.contains("unknown control method"), "{text}");
    assert!(text.contains("from_the_future"), "{text}");
    assert!(text.contains("upgrade"), "{text}");
    f.server.shutdown().await;
}

#[tokio::test]
async fn newer_protocol_version_is_refused_naming_both_versions() {
    let f = start().await;
    let bytes = frames(&[json!({"v": 2, "id": 5, "t": "request", "method": "echo"})]).await;
    let answers = raw_exchange(&f.path, &bytes, Some(1), || ()).await;
    assert_eq!(answers[0]["id"], 5);
    assert_eq!(answers[0]["error"]["kind"], "incompatible");
    let message = answers[0]["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("v2") && message.contains("v1"),
        "{message}"
    );
    f.server.shutdown().await;
}

#[tokio::test]
async fn bad_clients_lose_only_their_own_connection() {
    let f = start().await;
    let client = ControlClient::connect(&f.path).await.expect("connect");

    // A header claiming more than the cap: an error frame, then hang-up.
    let answers = raw_exchange(&f.path, &[0xff, 0xff, 0xff, 0xff], None, || ()).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["id"], 0);
    assert_eq!(answers[0]["error"]["kind"], "protocol");
    assert!(
        answers[0]["error"]["message"]
            .as_str()
            .expect("message")
            .contains("cap")
    );

    // Not a frame at all.
    let answers = raw_exchange(&f.path, b"GET / HTTP/1.1\r\n\r\n", None, || ()).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["error"]["kind"], "protocol");

    // A well-framed body that is not JSON.
    let mut bytes = Vec::new();
    write_frame(&mut bytes, b"\x00garbage{", 1 << 20)
        .await
        .expect("frame");
    let answers = raw_exchange(&f.path, &bytes, None, || ()).await;
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["error"]["kind"], "protocol");

    // Everyone else carries on: the old connection and new ones.
    assert_eq!(client.call::<Echo>(&"a".into()).await.expect("old"), "a");
    let fresh = ControlClient::connect(&f.path).await.expect("connect");
    assert_eq!(fresh.call::<Echo>(&"b".into()).await.expect("new"), "b");
    f.server.shutdown().await;
}

#[tokio::test]
async fn connection_cap_and_idle_timeout_are_enforced() {
    let limits = ControlLimits {
        max_connections: 1,
        idle_timeout: Duration::from_millis(300),
        ..ControlLimits::default()
    };
    let f = start_with(limits).await;
    let first = ControlClient::connect(&f.path).await.expect("connect");
    // A request in flight longer than the idle timeout is not cut off.
    let slow = tokio::spawn({
        let first = first.clone();
        async move { first.call::<Slow>(&()).await }
    });
    let second = ControlClient::connect(&f.path).await.expect("connect");
    let err = second
        .call::<Echo>(&"x".into())
        .await
        .expect_err("over cap");
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.to_string().contains("limit"), "{err}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    f.gate.notify_one();
    assert_eq!(slow.await.expect("join").expect("slow"), "slow done");
    // Then, idle with nothing in flight, the server hangs up.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let err = first.call::<Echo>(&"x".into()).await.expect_err("idle");
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(first.is_closed());
    f.server.shutdown().await;
}

#[tokio::test]
async fn caller_is_reported_from_the_kernel() {
    let f = start().await;
    let client = ControlClient::connect(&f.path).await.expect("connect");
    let (uid, pid) = client.call::<WhoAmI>(&()).await.expect("whoami");
    assert_eq!(uid, euid());
    assert_eq!(pid, Some(std::process::id() as i32));
    f.server.shutdown().await;
}

#[test]
fn blocking_client_works_without_a_runtime_and_refuses_inside_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("quptime.sock");
    let server = rt
        .block_on(ControlServer::bind(&path, router(Arc::new(Notify::new()))))
        .expect("bind");

    let client = BlockingControlClient::connect(&path).expect("connect");
    assert_eq!(client.call::<Echo>(&"sync".into()).expect("echo"), "sync");
    let err = client.call::<Fail>(&()).expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::NoQuorum);
    assert_eq!(client.path(), path);

    let inside = rt.block_on(async { BlockingControlClient::connect(&path).map(|_| ()) });
    assert_eq!(inside.expect_err("inside").kind(), ErrorKind::InvalidInput);

    rt.block_on(server.shutdown());
    let err = BlockingControlClient::connect(&path).expect_err("stopped");
    assert_eq!(err.kind(), ErrorKind::Transport);
}
