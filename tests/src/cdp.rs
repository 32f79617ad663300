//! A real headless Chromium driven over the Chrome DevTools Protocol, for
//! tests that log in and send forms like a person would (the page's own
//! cookies, Origin and redirects; no request is forged by the test).
//!
//! The protocol runs over `--remote-debugging-pipe`: Chromium reads
//! commands from file descriptor 3 and writes answers to 4, each a JSON
//! text ended by a NUL byte. `sh` maps our stdin and stdout pipes onto 3
//! and 4 (no port, no websocket, nothing else listening). The same
//! browser as [`crate::browser`]: required, with the install hint.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one protocol call or one page load may take.
const WITHIN: Duration = Duration::from_secs(30);

/// One browser with one page, attached.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next: u64,
    session: String,
    loads: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start the browser and attach to its page.
    pub fn start() -> Browser {
        let exe = crate::browser::chromium();
        let profile = tempfile::tempdir().expect("browser profile");
        let cmd = format!(
            "exec '{}' --headless --no-sandbox --disable-gpu --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync \
             --window-size=1100,900 --remote-debugging-pipe --user-data-dir='{}' about:blank \
             3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null",
            exe.display(),
            profile.path().display()
        );
        let mut child = Command::new("sh")
            .args(["-c", &cmd])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the browser");
        let to = child.stdin.take().expect("stdin");
        let out = child.stdout.take().expect("stdout");
        let (tx, from) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            while r.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                buf.pop();
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    return;
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            to,
            from,
            next: 0,
            session: String::new(),
            loads: 0,
            _profile: profile,
        };
        let targets = b.call("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["targetId"].as_str())
            .expect("a page target")
            .to_string();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().expect("session").to_string();
        b.call("Page.enable", json!({}));
        b
    }

    /// Send `method` (to the page when attached) and wait for its answer;
    /// panics on a protocol error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let mut text = msg.to_string().into_bytes();
        text.push(0);
        self.to.write_all(&text).expect("write to the browser");
        self.to.flush().expect("flush");
        let deadline = Instant::now() + WITHIN;
        loop {
            let v = self.recv(deadline, method);
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// The next message, counting page loads on the way.
    fn recv(&mut self, deadline: Instant, what: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.from.recv_timeout(left) {
            Ok(v) => {
                if v["method"] == "Page.loadEventFired" {
                    self.loads += 1;
                }
                v
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("the browser did not answer {what} within {WITHIN:?}")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the browser exited during {what}"),
        }
    }

    /// Wait until more than `before` pages have loaded.
    fn wait_load(&mut self, before: u64, what: &str) {
        let deadline = Instant::now() + WITHIN;
        while self.loads <= before {
            self.recv(deadline, what);
        }
    }

    /// Open `url` and wait for it to load.
    pub fn goto(&mut self, url: &str) {
        let before = self.loads;
        let r = self.call("Page.navigate", json!({"url": url}));
        assert!(r.get("errorText").is_none(), "navigate to {url}: {r}");
        self.wait_load(before, url);
    }

    /// The value of the JavaScript expression `js` in the page (the
    /// driver's own evaluation; the page itself runs no script).
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// The page's address now.
    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's markup now.
    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Fill the form matching `selector` with `fields` (name, value) and
    /// send it as a click on its submit button would, then wait for the
    /// page that answers.
    pub fn submit(&mut self, selector: &str, fields: &[(&str, &str)]) {
        let mut js = format!(
            "(() => {{ const f = document.querySelector({}); if (!f) throw new Error('no form'); ",
            json!(selector)
        );
        for (name, value) in fields {
            js.push_str(&format!(
                "f.elements[{}].value = {}; ",
                json!(name),
                json!(value)
            ));
        }
        js.push_str("f.requestSubmit(); return true; })()");
        let before = self.loads;
        self.eval(&js);
        self.wait_load(before, selector);
    }

    /// A PNG of the page (its full height) written to `file`.
    pub fn screenshot(&mut self, file: &Path) {
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = decode_base64(r["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("artifacts dir");
        }
        std::fs::write(file, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (the protocol's encoding of binary data).
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, c)| acc | (value(*c) << (18 - 6 * i)));
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len() - 1]);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::decode_base64("aGVsbG8="), b"hello");
        assert_eq!(super::decode_base64("aGk="), b"hi");
        assert_eq!(super::decode_base64("YWJj"), b"abc");
    }
}
