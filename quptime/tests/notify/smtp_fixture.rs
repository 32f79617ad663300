//! Runs `smtp_server.py` (aiosmtpd) as a child process on a free loopback
//! port and reads back the messages it accepted. The tests need a real
//! SMTP server; if aiosmtpd is missing they fail saying how to install it
//! (CI installs it), rather than skipping and proving nothing.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::certs::ServerCert;

/// How the server protects the connection.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Plain,
    StartTls,
    Tls,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::StartTls => "starttls",
            Mode::Tls => "tls",
        }
    }
}

/// A running aiosmtpd; killed when dropped.
pub struct SmtpServer {
    pub port: u16,
    out: tempfile::TempDir,
    child: Child,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/notify/smtp_server.py")
}

/// Panic with the install instruction unless `python3` can import aiosmtpd.
fn require_aiosmtpd() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the SMTP tests need a real SMTP server: `python3 -c \"import aiosmtpd\"` failed; \
         run `python3 -m pip install aiosmtpd` (CI installs it)"
    );
}

/// Start a server in `mode`, presenting `cert` (for TLS modes) and
/// requiring AUTH with `auth` = (user, password) if given.
pub async fn start(
    mode: Mode,
    cert: Option<&ServerCert>,
    auth: Option<(&str, &str)>,
) -> SmtpServer {
    require_aiosmtpd();
    let out = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new("python3");
    cmd.arg(script())
        .args(["--mode", mode.arg()])
        .arg("--out")
        .arg(out.path());
    if let Some(c) = cert {
        cmd.arg("--cert")
            .arg(&c.chain_pem)
            .arg("--key")
            .arg(&c.key_pem);
    }
    if let Some((user, password)) = auth {
        cmd.args(["--user", user, "--password", password]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn python3 smtp_server.py");
    let stdout = child.stdout.take().expect("stdout");
    // The child is ours from here on: a failure below drops (kills) it.
    let mut server = SmtpServer {
        port: 0,
        out,
        child,
    };
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("smtp_server.py did not start within 30s")
        .expect("reader task")
        .expect("read smtp_server.py stdout");
    let port = line
        .strip_prefix("READY ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!("smtp_server.py did not start (see its stderr above); it said {line:?}")
        });
    server.port = port;
    server
}

impl SmtpServer {
    /// Every message accepted so far, oldest first (each written before
    /// the server answered 250).
    pub fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .expect("read out dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
            .collect()
    }
}
