//! Calls multiplexed over one framed connection: the part the peer client
//! ([`super::Connection`]) and the control-socket client share.
//!
//! Each call gets a fresh id and a waiter; a writer task sends frames in
//! order, a reader task hands each answer to its waiter. A slow call never
//! blocks a fast one, a call that times out forgets its waiter, and when the
//! connection ends every pending call fails at once with the reason (later
//! calls fail fast). What differs between the two clients — the envelope
//! format and how the other end is named in errors — comes in as a decoder
//! and a label.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, ErrorKind, Result};
use crate::transport::frame::{read_frame, write_frame};

/// What the reader made of one frame.
pub(crate) enum Inbound {
    /// The answer to call `id`.
    Answer(u64, Result<Value>),
    /// Something about the whole connection: it ends with this error.
    Fatal(Error),
}

/// How a multiplexed connection names its far end and bounds its frames.
#[derive(Debug, Clone)]
pub(crate) struct MuxOptions {
    /// The far end in messages: `127.0.0.1:9901`, `the qu daemon at /run/…`.
    pub label: String,
    /// Appended to "… closed the connection" when the far end hangs up.
    pub eof_hint: &'static str,
    /// When set, a broken connection is reported with this kind instead of
    /// the I/O error's (peer calls are retried on `Transport`).
    pub broken_kind: Option<ErrorKind>,
    /// Frame cap in bytes, both directions.
    pub max_frame: usize,
    /// Time allowed to read the rest of a frame once it has started.
    pub read_timeout: Duration,
    /// Frames queued for the writer before callers wait.
    pub queue: usize,
}

type Waiter = oneshot::Sender<Result<Value>>;

#[derive(Default)]
struct State {
    pending: HashMap<u64, Waiter>,
    closed: Option<Error>,
}

/// The shared half of a client connection. Dropping it stops the reader.
#[derive(Debug)]
pub(crate) struct Mux {
    opts: MuxOptions,
    tx: mpsc::Sender<Vec<u8>>,
    state: Arc<Mutex<State>>,
    next_id: AtomicU64,
    reader_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("pending", &self.pending.len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl Drop for Mux {
    fn drop(&mut self) {
        self.reader_task.abort();
    }
}

fn copy(e: &Error) -> Error {
    Error::new(e.kind(), e.message())
}

impl Mux {
    /// Start the writer and reader tasks over `reader`/`writer`; `decode`
    /// turns each received frame into an answer or a fatal error.
    pub(crate) fn start<R, W>(
        mut reader: R,
        mut writer: W,
        opts: MuxOptions,
        decode: impl Fn(&[u8]) -> Inbound + Send + 'static,
    ) -> Mux
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(opts.queue);
        let max_frame = opts.max_frame;
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if write_frame(&mut writer, &frame, max_frame).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let state: Arc<Mutex<State>> = Arc::default();
        let reader_task = {
            let (state, opts) = (state.clone(), opts.clone());
            tokio::spawn(async move {
                let reason = loop {
                    // Waiting for answers is bounded by each call's timeout;
                    // servers close idle connections themselves.
                    let idle = Duration::from_secs(365 * 24 * 3600);
                    let frame = read_frame(&mut reader, opts.max_frame, idle, opts.read_timeout);
                    let bytes = match frame.await {
                        Ok(Some(b)) => b,
                        Ok(None) => {
                            break Error::new(
                                ErrorKind::Transport,
                                format!("{} closed the connection{}", opts.label, opts.eof_hint),
                            );
                        }
                        Err(e) => {
                            break Error::new(
                                opts.broken_kind.unwrap_or(e.kind()),
                                format!("connection to {} broke: {e}", opts.label),
                            );
                        }
                    };
                    match decode(&bytes) {
                        Inbound::Answer(id, outcome) => {
                            let waiter = state.lock().ok().and_then(|mut s| s.pending.remove(&id));
                            if let Some(w) = waiter {
                                let _ = w.send(outcome);
                            }
                        }
                        Inbound::Fatal(e) => break e,
                    }
                };
                let waiters: Vec<Waiter> = match state.lock() {
                    Ok(mut s) => {
                        s.closed = Some(copy(&reason));
                        s.pending.drain().map(|(_, w)| w).collect()
                    }
                    Err(_) => Vec::new(),
                };
                for w in waiters {
                    let _ = w.send(Err(copy(&reason)));
                }
            })
        };
        Mux {
            opts,
            tx,
            state,
            next_id: AtomicU64::new(1),
            reader_task,
        }
    }

    /// Send the frame `encode(id)` builds for a fresh id and wait, at most
    /// `timeout`, for the answer to `method`.
    pub(crate) async fn call(
        &self,
        method: &str,
        encode: impl FnOnce(u64) -> Result<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Value> {
        let label = &self.opts.label;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = encode(id)?;
        if frame.len() > self.opts.max_frame {
            return Err(Error::invalid(format!(
                "{method} request of {} bytes exceeds the frame cap of {} bytes",
                frame.len(),
                self.opts.max_frame
            )));
        }
        let (done_tx, done_rx) = oneshot::channel();
        {
            let mut state = self
                .state
                .lock()
                .map_err(|_| Error::internal("connection state poisoned"))?;
            if let Some(reason) = &state.closed {
                return Err(Error::new(
                    reason.kind(),
                    format!("connection to {label} is closed: {}", reason.message()),
                ));
            }
            state.pending.insert(id, done_tx);
        }
        let forget = || {
            if let Ok(mut s) = self.state.lock() {
                s.pending.remove(&id);
            }
        };
        let exchange = async {
            self.tx.send(frame).await.map_err(|_| {
                Error::new(
                    ErrorKind::Transport,
                    format!("connection to {label} is closed"),
                )
            })?;
            done_rx.await.map_err(|_| {
                Error::new(
                    ErrorKind::Transport,
                    format!("{label} closed the connection during {method}"),
                )
            })?
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                forget();
                Err(e)
            }
            Err(_) => {
                forget();
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{method}: {label} did not answer within {}",
                        humantime::format_duration(timeout)
                    ),
                ))
            }
        }
    }

    /// Whether the connection is known to be closed; calls then fail fast.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
            || self
                .state
                .lock()
                .map(|s| s.closed.is_some())
                .unwrap_or(true)
    }
}
