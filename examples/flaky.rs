//! A tiny HTTP server on 127.0.0.1 that is healthy for 8 s, fails for 8 s,
//! then is healthy again: a target for the examples that needs no network.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The running target.
pub struct Target {
    addr: std::net::SocketAddr,
}

impl Target {
    /// Start serving on a free port.
    pub async fn start() -> std::io::Result<Target> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let born = Instant::now();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 2048];
                    let _ = sock.read(&mut buf).await;
                    let secs = born.elapsed().as_secs();
                    let (code, reason) = if (8..16).contains(&secs) {
                        (503, "Service Unavailable")
                    } else {
                        (200, "OK")
                    };
                    let resp = format!(
                        "HTTP/1.1 {code} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        Ok(Target { addr })
    }

    /// The URL to probe.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}
