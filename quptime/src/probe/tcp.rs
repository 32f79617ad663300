//! The tcp prober: up when a TCP connection to `host:port` is accepted and,
//! for banner checks, when the reply contains the expected text.
//!
//! Without `send` or `expect_reply` nothing is sent and the connection is
//! closed at once. With `send`, its bytes are written once connected; with
//! `expect_reply`, the reply is read until it contains the text, the peer
//! closes, [`MAX_REPLY`] bytes came, or the read deadline passes (a tenth
//! of the check's timeout, at most 1 s, before it, so the probe can still
//! say what came back instead of only `timeout`). The evidence of a
//! mismatch shows the reply escaped and cut (`expected "+PONG", got
//! "-ERR unknown command\r\n"`).
//!
//! With `tls`, a TLS handshake follows the connect (verified like a tls
//! check's, the target's host as the server name) and the conversation
//! runs inside it; a failed handshake is down with the TLS reason.

use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use super::tls_config::TlsConfigs;
use super::{Probe, ProbeResult, io_detail, target};
use crate::state::probe_tcp::{MAX_REPLY, escape_bytes, unescape};
use crate::state::{Check, CheckType, TcpProbe};

/// How much of a reply the evidence shows.
const SHOWN: usize = 64;

/// Connects, and talks when asked; holds the verified TLS configuration
/// for `tls` checks.
pub(crate) struct TcpProber {
    connector: TlsConnector,
}

impl std::fmt::Debug for TcpProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpProber").finish_non_exhaustive()
    }
}

impl TcpProber {
    pub(crate) fn new(configs: &TlsConfigs) -> TcpProber {
        TcpProber {
            connector: TlsConnector::from(configs.tls_verified.clone()),
        }
    }
}

impl Probe for TcpProber {
    const KIND: CheckType = CheckType::Tcp;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let (host, port) = match target::split_host_port(&check.target, None) {
            Ok(hp) => hp,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let addrs = match target::resolve(&host, port).await {
            Ok(a) => a,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let stream = match target::connect(&addrs).await {
            Ok(s) => s,
            Err(e) => {
                return ProbeResult::down(start.elapsed(), format!("connect: {}", io_detail(&e)));
            }
        };
        let settings = match &check.probe {
            crate::state::Probe::Tcp(p) => p,
            _ => return ProbeResult::up(start.elapsed(), "connected"),
        };
        let talks = settings.send.is_some() || settings.expect_reply.is_some();
        let margin = (check.timeout / 10).min(Duration::from_secs(1));
        let deadline = start + check.timeout.saturating_sub(margin);
        if !settings.tls {
            if !talks {
                return ProbeResult::up(start.elapsed(), "connected");
            }
            return verdict(start, converse(stream, settings, deadline).await);
        }
        let name = match ServerName::try_from(host) {
            Ok(n) => n,
            Err(e) => {
                return ProbeResult::down(start.elapsed(), format!("tls: bad server name: {e}"));
            }
        };
        let mut tls = match self.connector.connect(name, stream).await {
            Ok(s) => s,
            Err(e) => return ProbeResult::down(start.elapsed(), super::tls::handshake_detail(&e)),
        };
        if !talks {
            let _ = tls.shutdown().await;
            return ProbeResult::up(start.elapsed(), "connected, tls");
        }
        let mut result = verdict(start, converse(tls, settings, deadline).await);
        result.detail = format!("tls, {}", result.detail);
        result
    }
}

/// The probe's result from the conversation's outcome.
fn verdict(start: Instant, outcome: Result<String, String>) -> ProbeResult {
    match outcome {
        Ok(detail) => ProbeResult::up(start.elapsed(), detail),
        Err(detail) => ProbeResult::down(start.elapsed(), detail),
    }
}

/// Send, then read and judge the reply; the detail either way.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    p: &TcpProbe,
    deadline: Instant,
) -> Result<String, String> {
    // Validated when the check was added; a bad escape here is a bug
    // upstream, reported as the probe's detail rather than a panic.
    let decode = |what: &str, v: &Option<String>| -> Result<Option<Vec<u8>>, String> {
        v.as_deref()
            .map(|t| unescape(what, t).map_err(|e| e.to_string()))
            .transpose()
    };
    let send = decode("send", &p.send)?;
    let expect = decode("expect_reply", &p.expect_reply)?;
    if let Some(bytes) = &send {
        stream
            .write_all(bytes)
            .await
            .map_err(|e| format!("send: {}", io_detail(&e)))?;
    }
    let Some(expect) = expect else {
        return Ok(format!(
            "connected, sent {} bytes",
            send.map_or(0, |s| s.len())
        ));
    };
    let mut reply = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let why = loop {
        if contains(&reply, &expect) {
            return Ok(format!("reply \"{}\"", escape_bytes(&reply, SHOWN)));
        }
        if reply.len() >= MAX_REPLY {
            break format!("first {MAX_REPLY} bytes");
        }
        let room = (MAX_REPLY - reply.len()).min(chunk.len());
        let read = tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk[..room])).await;
        match read {
            Ok(Ok(0)) => break "then closed".to_string(),
            Ok(Ok(n)) => reply.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => break format!("then read: {}", io_detail(&e)),
            Err(_) => break "nothing more within the timeout".to_string(),
        }
    };
    let expected = escape_bytes(&expect, SHOWN);
    if reply.is_empty() {
        return Err(format!("expected \"{expected}\", got nothing ({why})"));
    }
    Err(format!(
        "expected \"{expected}\", got \"{}\" ({why})",
        escape_bytes(&reply, SHOWN)
    ))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
