//! The rig's services in their own namespaces: the HTTP target (Python's
//! `http.server`, serving a one-line page) and the webhook receiver (a few
//! lines of Python that append each POST's `kind` and check name to a file
//! with its arrival time), both tethered to the rig's thread.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::checker::Alert;
use crate::faults::{Others, RECEIVER_PORT, TARGET_PORT};
use crate::netns;
use crate::procs::spawn_tethered;
use crate::run::{CHECK, RECEIVER_HOST, TARGET_HOST};
use crate::{Result, RigError};

/// The webhook receiver.
const RECEIVER_PY: &str = r#"
import http.server, json, sys, time
out = open(sys.argv[3], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            doc = json.loads(body)
        except Exception:
            doc = {}
        check = doc.get("check") or {}
        out.write(json.dumps({"at_ms": int(time.time() * 1000), "kind": doc.get("kind"), "check": check.get("name")}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"#;

/// Start the target and the receiver (files under `dir`); the children.
pub fn start(dir: &Path, others: &Others) -> Result<Vec<Child>> {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).map_err(|e| RigError::new(format!("mkdir www: {e}")))?;
    std::fs::write(www.join("index.html"), "ok\n").map_err(|e| RigError::new(e.to_string()))?;
    let script = dir.join("receiver.py");
    std::fs::write(&script, RECEIVER_PY).map_err(|e| RigError::new(e.to_string()))?;
    let quiet = |c: &mut Command| {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let mut helpers = Vec::new();
    let mut t = Command::new("ip");
    t.args([
        "netns",
        "exec",
        &others.target_ns,
        "python3",
        "-m",
        "http.server",
    ])
    .arg(TARGET_PORT.to_string())
    .args(["--bind", &netns::addr(TARGET_HOST), "--directory"])
    .arg(&www);
    quiet(&mut t);
    helpers.push(spawn_tethered(t)?);
    let mut rc = Command::new("ip");
    rc.args(["netns", "exec", &others.receiver_ns, "python3"])
        .arg(&script)
        .arg(netns::addr(RECEIVER_HOST))
        .arg(RECEIVER_PORT.to_string())
        .arg(dir.join("alerts.jsonl"));
    quiet(&mut rc);
    helpers.push(spawn_tethered(rc)?);
    Ok(helpers)
}

/// The alerts received for the rig's check, from the receiver's file.
pub fn read_alerts(path: &Path) -> Vec<Alert> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["check"] == CHECK)
        .filter_map(|v| {
            Some(Alert {
                kind: v["kind"].as_str()?.to_string(),
                at_ms: v["at_ms"].as_u64()?,
            })
        })
        .collect()
}
