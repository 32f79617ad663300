//! Push checks through real `qu` processes: `qu check add push` prints the
//! URL once, a GET to it on the node's `--http` listener brings the check
//! up and `qu status` shows the last beat; `qu check push-url --rotate`
//! replaces the URL (the old one answers 404); `qu export` writes neither
//! token nor hash; a push check without a period is refused naming it.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{FAST, Node, free_port, http_get, text};

/// The `/push/<token>` path in `qu check add push` / `push-url` output.
fn push_path(out: &str) -> String {
    let at = out
        .find("/push/")
        .unwrap_or_else(|| panic!("no URL in:\n{out}"));
    let path: String = out[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(path.len(), "/push/".len() + 64, "{path}");
    path
}

fn check_row(node: &Node) -> Option<Value> {
    let s = node.status()?;
    s["checks"].as_array()?.first().cloned()
}

#[test]
fn a_push_check_from_the_cli_beats_rotates_and_exports_without_its_token() {
    let root = tempfile::tempdir().expect("tempdir");
    let http = format!("127.0.0.1:{}", free_port());
    let mut args = FAST.to_vec();
    args.extend(["--http", &http]);
    let mut node = Node::new(root.path(), "n1", &args);
    node.init(None);
    node.start_ready();

    let out = node.qu(&["check", "add", "push", "nope"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("period"),
        "{}",
        text(&out.stderr)
    );

    let added = node.qu_ok(&[
        "check", "add", "push", "nightly", "--period", "1h", "--grace", "5m",
    ]);
    assert!(added.contains("shown once"), "{added}");
    let path = push_path(&added);
    assert!(added.contains(&format!("http://{http}{path}")), "{added}");

    // Right after start the node may lead without master duty yet (its
    // lease): the beat is refused with 503 and the job retries.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, body) = http_get(&http, &path);
        if code == 200 {
            assert!(body.contains("beat recorded for nightly"), "{body}");
            break;
        }
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("retry"), "{body}");
        assert!(Instant::now() < deadline, "no master took the beat: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let row = check_row(&node);
        let up = row.as_ref().is_some_and(|r| r["state"] == "up");
        let beat = row
            .as_ref()
            .and_then(|r| r["detail"].as_str())
            .is_some_and(|d| d.starts_with("last beat "));
        if up && beat {
            break;
        }
        assert!(Instant::now() < deadline, "never up with a beat: {row:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = node.qu(&["check", "push-url", "nightly"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--rotate"),
        "{}",
        text(&out.stderr)
    );
    let rotated = node.qu_ok(&["check", "push-url", "nightly", "--rotate", "--json"]);
    let url: Value = serde_json::from_str(&rotated).expect("json");
    let new_path = url["path"].as_str().expect("path").to_string();
    assert_ne!(new_path, path);
    assert_eq!(http_get(&http, &path).0, 404, "the old URL stops working");
    assert_eq!(http_get(&http, &new_path).0, 200);

    let exported = node.qu_ok(&["export"]);
    for want in ["type: push", "period: 1h", "grace: 5m"] {
        assert!(exported.contains(want), "{want} missing from:\n{exported}");
    }
    let token = new_path.trim_start_matches("/push/");
    assert!(
        !exported.contains(token) && !exported.contains("token_hash"),
        "{exported}"
    );
    assert!(!exported.contains("target"), "{exported}");
}
