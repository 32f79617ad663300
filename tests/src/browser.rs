//! A real headless Chromium (Debian's `chromium-headless-shell`) pointed at
//! a node's page, and a raw HTTP/1.1 client, for the web tests. The
//! browser is required, not optional: when it is missing the test fails
//! and says how to install it (CI installs it through scripts/test).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The browser binary's name on Debian.
pub const CHROMIUM: &str = "chromium-headless-shell";

/// The browser, found on `PATH` (the package's wrapper in /usr/bin);
/// panics with the install command when it is missing.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(CHROMIUM);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{CHROMIUM} is not installed: the web tests drive a real headless Chromium. Install it \
         with `apt-get install chromium-headless-shell` (scripts/test does this)"
    );
}

/// Run the browser on `url` with `action` (`--dump-dom`, or
/// `--screenshot=FILE`); its stdout, within 60 s.
pub fn run(url: &str, action: &str, profile: &Path) -> String {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1000,700",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(action)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the browser");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait for the browser").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{CHROMIUM} did not finish on {url} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("browser output");
    assert!(
        out.status.success(),
        "{CHROMIUM} {action} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 from the browser")
}

/// The DOM of `url` after the browser loaded it.
pub async fn dump_dom(url: &str, profile: &Path) -> String {
    let (url, profile) = (url.to_string(), profile.to_path_buf());
    tokio::task::spawn_blocking(move || run(&url, "--dump-dom", &profile))
        .await
        .expect("browser task")
}

/// A screenshot of `url` written to `file`.
pub async fn screenshot(url: &str, file: &Path, profile: &Path) {
    let (url, profile) = (url.to_string(), profile.to_path_buf());
    let action = format!("--screenshot={}", file.display());
    tokio::task::spawn_blocking(move || run(&url, &action, &profile))
        .await
        .expect("browser task");
    assert!(file.is_file(), "no screenshot at {}", file.display());
}

/// An HTTP answer: status code, header lines (lower-cased names), body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub code: u16,
    /// `name: value` lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Send `request` (raw bytes) to `addr` on a fresh connection and read the
/// answer until the server closes (within 5 s).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw))
        .await
        .expect("an answer within 5 s")
        .expect("read");
    let raw = String::from_utf8(raw).expect("utf-8 answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let code = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    Answer {
        code,
        headers,
        body: body.to_string(),
    }
}

/// `GET path` on `addr`.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    raw(addr, req.as_bytes()).await
}
