//! A real HTTP server on 127.0.0.1 whose answer a test can flip between
//! healthy and failing, to stand in for a monitored service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The server; stops when dropped.
#[derive(Debug)]
pub struct HttpTarget {
    /// Where it listens.
    pub addr: SocketAddr,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpTarget {
    /// Start answering 200 on a free port.
    pub async fn start() -> HttpTarget {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let status = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicU64::new(0));
        let (s, h) = (status.clone(), hits.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (s, h) = (s.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut got = 0;
                    // Read the request head (bounded).
                    while got < buf.len() {
                        match sock.read(&mut buf[got..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got += n,
                        }
                        if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let code = s.load(Ordering::SeqCst);
                    let reason = if code == 200 {
                        "OK"
                    } else {
                        "Service Unavailable"
                    };
                    let body = if code == 200 {
                        "healthy"
                    } else {
                        "down for maintenance"
                    };
                    let resp = format!(
                        "HTTP/1.1 {code} {reason}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        HttpTarget {
            addr,
            status,
            hits,
            task,
        }
    }

    /// `http://127.0.0.1:PORT/health`.
    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    /// Answer with `code` from now on.
    pub fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    /// Requests served so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}
