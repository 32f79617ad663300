//! A tiny HTTP/1.1 server on 127.0.0.1 (optionally behind TLS) with the
//! routes the http and tls prober tests need. It counts accepted
//! connections, so tests can tell fresh connections from reused ones.
//!
//! Routes: `/ok` (200, "all systems go"), `/fail` (503), `/redirect/N`
//! (302 to `/redirect/N-1`, `/redirect/0` is 200), `/slow` (answers after
//! 5 s), `/ua` (200, body = the request's User-Agent), `/big` (200, 2 MiB:
//! `HEAD-MARK`, filler, `TAIL-MARK` after the first MiB), anything else 404.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A running test server; it stops with the test's runtime.
pub struct WebServer {
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl WebServer {
    /// Plain HTTP.
    pub async fn http() -> WebServer {
        WebServer::start(None).await
    }

    /// HTTPS presenting `config`'s certificate.
    pub async fn https(config: Arc<ServerConfig>) -> WebServer {
        WebServer::start(Some(TlsAcceptor::from(config))).await
    }

    async fn start(tls: Option<TlsAcceptor>) -> WebServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                serve(s, port).await;
                            }
                        }
                        None => serve(stream, port).await,
                    }
                });
            }
        });
        WebServer { port, connections }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `https://127.0.0.1:<port><path>`.
    pub fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Answer requests on one connection until the client hangs up.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, port: u16) {
    let mut buf = Vec::new();
    loop {
        let head = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                buf.drain(..end + 4);
                break head;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 64 * 1024 {
                return;
            }
        };
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let agent = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("user-agent")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let length = header(&head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(64 * 1024);
        while buf.len() < length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        let response = match request_route(&path, &head, &body, port) {
            Some(r) => r,
            None => route(&path, &agent, port).await,
        };
        if stream.write_all(&response).await.is_err() {
            return;
        }
    }
}

async fn route(path: &str, agent: &str, port: u16) -> Vec<u8> {
    match path {
        "/ok" => reply("200 OK", &[], b"all systems go"),
        "/fail" => reply("503 Service Unavailable", &[], b"down for maintenance"),
        "/ua" => reply("200 OK", &[], agent.as_bytes()),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reply("200 OK", &[], b"finally")
        }
        "/big" => {
            let mut body = b"HEAD-MARK".to_vec();
            body.resize(1024 * 1024 + 512, b'.');
            body.extend_from_slice(b"TAIL-MARK");
            body.resize(2 * 1024 * 1024, b'.');
            reply("200 OK", &[], &body)
        }
        "/absolute" => {
            let to = format!("http://127.0.0.1:{port}/ok");
            reply("301 Moved Permanently", &[("Location", &to)], b"")
        }
        _ => match path
            .strip_prefix("/redirect/")
            .and_then(|n| n.parse::<u32>().ok())
        {
            Some(0) => reply("200 OK", &[], b"landed"),
            Some(n) => {
                let to = format!("/redirect/{}", n - 1);
                reply("302 Found", &[("Location", &to)], b"")
            }
            None => reply("404 Not Found", &[], b"no such route"),
        },
    }
}

/// The value of request header `name` in `head`.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The routes of the request-settings and condition tests: `/echo` (200,
/// JSON of the method, `X-Probe`, `Authorization` and the body), `/auth`
/// (200 with `monitor:s3cret` basic auth or `Bearer tok-123`, else 401),
/// `/json` (200, a JSON health document, `Content-Type:
/// application/json`), `/see-other` (303 to `/echo`), `/temporary` (307
/// to `/echo`), `/elsewhere` (302 to `/echo` on `localhost`, another
/// origin).
fn request_route(path: &str, head: &str, body: &[u8], port: u16) -> Option<Vec<u8>> {
    let method = head.split_whitespace().next().unwrap_or("");
    let h = |n: &str| header(head, n).unwrap_or_default();
    Some(match path {
        "/echo" => {
            let doc = format!(
                "{{\"method\":{:?},\"x_probe\":{:?},\"auth\":{:?},\"body\":{:?}}}",
                method,
                h("x-probe"),
                h("authorization"),
                String::from_utf8_lossy(body)
            );
            reply("200 OK", &[], doc.as_bytes())
        }
        "/auth" => match h("authorization").as_str() {
            "Basic bW9uaXRvcjpzM2NyZXQ=" | "Bearer tok-123" => reply("200 OK", &[], b"welcome"),
            _ => reply(
                "401 Unauthorized",
                &[("WWW-Authenticate", "Basic")],
                b"who are you",
            ),
        },
        "/json" => {
            let doc = br#"{"status":"degraded","queue":{"depth":120},"items":[{"id":7}]}"#;
            let mut r = reply("200 OK", &[("X-Kind", "health")], doc);
            let at = r.windows(10).position(|w| w == b"text/plain").unwrap_or(0);
            r.splice(at..at + 10, b"application/json".iter().copied());
            r
        }
        "/see-other" => reply("303 See Other", &[("Location", "/echo")], b""),
        "/temporary" => reply("307 Temporary Redirect", &[("Location", "/echo")], b""),
        "/elsewhere" => {
            let to = format!("http://localhost:{port}/echo");
            reply("302 Found", &[("Location", &to)], b"")
        }
        _ => return None,
    })
}

fn reply(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Content-Type: text/plain\r\n\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}
