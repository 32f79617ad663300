//! The two tiny HTTP servers of `qu demo`, both on 127.0.0.1: the
//! monitored target, which flips between healthy and failing, and the
//! alert receiver, which prints every webhook alert it gets.
//!
//! Each speaks just enough HTTP/1.1 for one request per connection, with
//! bounded reads, and stops when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted (an alert document is a few KiB).
const MAX_BODY: usize = 1024 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The monitored service: answers 200 while healthy, 503 otherwise.
#[derive(Debug)]
pub struct Target {
    addr: SocketAddr,
    healthy: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Target {
    /// Start a healthy target on a free loopback port.
    pub async fn start() -> std::io::Result<Target> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let healthy = Arc::new(AtomicBool::new(true));
        let h = healthy.clone();
        let task = serve(listener, move |_req| {
            let h = h.clone();
            async move {
                if h.load(Ordering::SeqCst) {
                    (200, "OK", "healthy\n")
                } else {
                    (503, "Service Unavailable", "down for the demo\n")
                }
            }
        });
        Ok(Target {
            addr,
            healthy,
            task,
        })
    }

    /// The URL the demo check probes.
    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    /// Switch between healthy and failing; returns the new status code.
    pub fn flip(&self) -> u16 {
        let was = self.healthy.fetch_xor(true, Ordering::SeqCst);
        if was { 503 } else { 200 }
    }
}

/// Receives webhook alerts and hands each parsed document to `on_alert`.
#[derive(Debug)]
pub struct AlertReceiver {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for AlertReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AlertReceiver {
    /// Start on a free loopback port; `on_alert` runs once per alert.
    pub async fn start(
        on_alert: impl Fn(serde_json::Value) + Send + Sync + 'static,
    ) -> std::io::Result<AlertReceiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let on_alert = Arc::new(on_alert);
        let task = serve(listener, move |body: Vec<u8>| {
            let on_alert = on_alert.clone();
            async move {
                match serde_json::from_slice(&body) {
                    Ok(doc) => {
                        on_alert(doc);
                        (204, "No Content", "")
                    }
                    Err(_) => (400, "Bad Request", "expected a JSON document\n"),
                }
            }
        });
        Ok(AlertReceiver { addr, task })
    }

    /// The webhook URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/alerts", self.addr)
    }
}

/// Accept connections forever; `answer` maps a request body to
/// (status, reason, body).
fn serve<F, Fut>(listener: TcpListener, answer: F) -> JoinHandle<()>
where
    F: Fn(Vec<u8>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (u16, &'static str, &'static str)> + Send,
{
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                // Out of descriptors, say: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = one_request(sock, answer.as_ref()).await;
            });
        }
    })
}

async fn one_request<F, Fut>(mut sock: TcpStream, answer: &F) -> std::io::Result<()>
where
    F: Fn(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = (u16, &'static str, &'static str)>,
{
    let Ok(Some(body)) = tokio::time::timeout(READ_TIMEOUT, read_request(&mut sock)).await else {
        return Ok(());
    };
    let (code, reason, text) = answer(body?).await;
    let resp = format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{text}",
        text.len()
    );
    sock.write_all(resp.as_bytes()).await?;
    sock.shutdown().await
}

/// Read one request and return its body (`None` if the client went away
/// or sent something too large).
async fn read_request(sock: &mut TcpStream) -> Option<std::io::Result<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        match sock.read(&mut chunk).await {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Some(Err(e)),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return None;
    }
    let mut body = buf.split_off(head_end);
    while body.len() < length {
        match sock.read(&mut chunk).await {
            Ok(0) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Some(Err(e)),
        }
    }
    body.truncate(length);
    Some(Ok(body))
}
