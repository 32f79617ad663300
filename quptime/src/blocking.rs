//! A synchronous facade over [`Cluster`] for embedders without an async
//! runtime: the C ABI (`quptime-ffi`) and the Python module (`quptime-py`).
//!
//! Each [`Node`] owns a small multi-threaded Tokio runtime, created when the
//! node starts and torn down when it is shut down or dropped; nothing is
//! global, and nothing starts before [`Node::start`]. Every call blocks the
//! calling thread (which must not be a Tokio worker). Long waits come in two
//! forms: a plain blocking call, and [`Node::spawn`] returning a [`Pending`]
//! that the caller polls in slices (so Python can answer Ctrl-C between
//! slices).
//!
//! A runtime does not survive `fork()`: its threads stay in the parent. A
//! node used from a forked child answers every call with a clear error
//! instead of hanging.

mod usecase;

use std::future::Future;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::api::{AlertSpec, CheckSpec};
use crate::cluster::{Cluster, NodeOptions, Status, Subscription as AsyncSubscription};
use crate::enroll::{JoinOptions, Joined, Token};
use crate::error::{Error, ErrorKind, Result};
use crate::state::{Check, Outcome, TransitionRecord};

/// A running node driven from synchronous code.
#[derive(Debug)]
pub struct Node {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    cluster: Cluster,
    pid: u32,
}

/// What [`Subscription::next_timeout`] found.
#[derive(Debug, Clone)]
pub enum Next {
    /// A committed transition.
    Transition(Box<TransitionRecord>),
    /// Nothing arrived within the timeout.
    Timeout,
    /// The node has stopped; no more transitions will come.
    Closed,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("quptime")
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the quptime runtime: {e}")))
}

impl Node {
    /// Start the node described by `opts` on a runtime of its own.
    pub fn start(opts: NodeOptions) -> Result<Node> {
        let runtime = runtime()?;
        let cluster = runtime.block_on(Cluster::start(opts))?;
        Ok(Node {
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
            cluster,
            pid: std::process::id(),
        })
    }

    /// Start the node in `dir`, first creating it there from `init` when
    /// `dir` holds none ([`crate::init::open_or_init`]: an identity field
    /// that differs from the saved one is refused, `timing` is validated).
    pub fn open(dir: &Path, init: crate::init::InitOptions, timing: crate::Timing) -> Result<Node> {
        Node::start(crate::init::open_or_init(dir, init, timing)?)
    }

    /// Set up a new node in the empty `dir` by joining the cluster of the
    /// enrollment `token` (waiting up to `opts.wait` for an approval). Start
    /// it afterwards with [`Node::start`].
    pub fn join(dir: &Path, token: &str, opts: JoinOptions) -> Result<Joined> {
        let token = Token::decode(token)?;
        let rt = runtime()?;
        let joined = rt.block_on(crate::enroll::join(dir, &token, opts, || {}));
        rt.shutdown_timeout(Duration::from_secs(1));
        joined
    }

    /// The async handle, for anything this facade does not cover.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    fn handle(&self) -> Result<&tokio::runtime::Handle> {
        if std::process::id() != self.pid {
            return Err(Error::new(
                ErrorKind::Internal,
                format!(
                    "this node was started in process {} and cannot be used after fork(); \
                     start a new node in the child process",
                    self.pid
                ),
            ));
        }
        if self.cluster.is_stopped() {
            return Err(Error::new(
                ErrorKind::Shutdown,
                "the node has been shut down; start it again",
            ));
        }
        Ok(&self.handle)
    }

    /// Run `fut` on the node's runtime and wait for it.
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> Result<T> {
        Ok(self.handle()?.block_on(fut))
    }

    /// Run `fut` on the node's runtime without waiting; poll the answer with
    /// [`Pending::wait_timeout`].
    pub fn spawn<T, F>(&self, f: impl FnOnce(Cluster) -> F) -> Result<Pending<T>>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let rt = self.handle()?;
        let (tx, rx) = mpsc::sync_channel(1);
        let fut = f(self.cluster.clone());
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        Ok(Pending { rx })
    }

    /// Add the check `spec` describes.
    pub fn add_check(&self, spec: CheckSpec) -> Result<Outcome> {
        self.block_on(crate::api::add_check(&self.cluster, spec))?
    }

    /// Add a check from a YAML (or JSON) document with the fields of
    /// [`CheckSpec`] (`name`, `type`, `target`, `interval`, …).
    pub fn add_check_document(&self, text: &str) -> Result<Outcome> {
        self.add_check(parse_document(text, "check")?)
    }

    /// Remove the check with this id or name.
    pub fn remove_check(&self, key: &str) -> Result<Outcome> {
        self.block_on(crate::api::remove_check(&self.cluster, key))?
    }

    /// Add the alert channel `spec` describes.
    pub fn add_alert(&self, spec: AlertSpec) -> Result<Outcome> {
        self.block_on(crate::api::add_alert(&self.cluster, spec))?
    }

    /// Add an alert channel from a YAML (or JSON) document with the fields
    /// of [`AlertSpec`] (`name`, `type`, `default`, `settings`).
    pub fn add_alert_document(&self, text: &str) -> Result<Outcome> {
        self.add_alert(parse_document(text, "alert channel")?)
    }

    /// Remove the alert channel with this id or name.
    pub fn remove_alert(&self, key: &str) -> Result<Outcome> {
        self.block_on(crate::api::remove_alert(&self.cluster, key))?
    }

    /// Create an enrollment token another node can join with.
    pub fn create_token(
        &self,
        name: Option<String>,
        ttl: Duration,
        auto_approve: bool,
    ) -> Result<String> {
        let (token, _) =
            self.block_on(self.cluster.create_enrollment(name, ttl, auto_approve))??;
        Ok(token.encode())
    }

    /// The checks, in id order.
    pub fn checks(&self) -> Result<Vec<Check>> {
        self.handle()?;
        Ok(self.cluster.state().checks.values().cloned().collect())
    }

    /// The node's view of the cluster, with live peer data.
    pub fn status(&self) -> Result<Status> {
        self.block_on(self.cluster.status_live())
    }

    /// [`Node::status`] as the JSON document `qu status --json` prints.
    pub fn status_json(&self) -> Result<String> {
        serde_json::to_string(&self.status()?)
            .map_err(|e| Error::internal(format!("cannot encode the status: {e}")))
    }

    /// Transitions committed from now on.
    pub fn subscribe(&self) -> Result<Subscription> {
        let rt = self.handle()?;
        Ok(Subscription {
            inner: Arc::new(tokio::sync::Mutex::new(self.cluster.subscribe())),
            rt: rt.clone(),
            pid: self.pid,
        })
    }

    /// Call `callback` with every transition committed from now on, on one
    /// dispatcher thread of its own, until the node stops or the returned
    /// handle is stopped or dropped.
    pub fn on_transition(
        &self,
        mut callback: impl FnMut(TransitionRecord) + Send + 'static,
    ) -> Result<Dispatcher> {
        let sub = self.subscribe()?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("quptime-callback".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Acquire) {
                    match sub.next_timeout(Some(Duration::from_millis(100))) {
                        Next::Transition(t) => callback(*t),
                        Next::Timeout => {}
                        Next::Closed => break,
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start a callback thread: {e}")))?;
        Ok(Dispatcher {
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stop the node gracefully (leadership handed over, sockets closed) and
    /// its runtime. Idempotent.
    pub fn shutdown(&self) -> Result<()> {
        if std::process::id() != self.pid {
            return self.handle().map(|_| ());
        }
        let Some(rt) = self.runtime.lock().ok().and_then(|mut r| r.take()) else {
            return Ok(());
        };
        let result = rt.block_on(self.cluster.shutdown());
        rt.shutdown_timeout(Duration::from_secs(2));
        result
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // The runtime's threads live in the parent: touching it would hang.
            std::mem::forget(self.runtime.lock().ok().and_then(|mut r| r.take()));
            return;
        }
        let _ = self.shutdown();
    }
}

fn parse_document<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_saphyr::from_str(text)
        .map_err(|e| Error::invalid(format!("invalid {what} document: {e}")))
}

/// The answer of a [`Node::spawn`]ed call.
#[derive(Debug)]
pub struct Pending<T> {
    rx: mpsc::Receiver<Result<T>>,
}

impl<T> Pending<T> {
    /// Wait up to `timeout` for the answer; `None` if it is not there yet.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<T>> {
        match self.rx.recv_timeout(timeout) {
            Ok(v) => Some(v),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(Error::new(
                ErrorKind::Shutdown,
                "the node stopped before answering",
            ))),
        }
    }

    /// Wait for the answer.
    pub fn wait(self) -> Result<T> {
        self.rx.recv().unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Shutdown,
                "the node stopped before answering",
            ))
        })
    }
}

/// Committed transitions, pulled one at a time. Cloning shares the stream:
/// each transition goes to one of the clones.
#[derive(Debug, Clone)]
pub struct Subscription {
    inner: Arc<tokio::sync::Mutex<AsyncSubscription>>,
    rt: tokio::runtime::Handle,
    pid: u32,
}

impl Subscription {
    /// The next transition, waiting up to `timeout` (forever when `None`).
    pub fn next_timeout(&self, timeout: Option<Duration>) -> Next {
        if std::process::id() != self.pid {
            return Next::Closed;
        }
        if let Ok(mut sub) = self.inner.try_lock() {
            if let Some(t) = sub.try_next() {
                return Next::Transition(Box::new(t));
            }
            if sub.is_closed() {
                return Next::Closed;
            }
        }
        let inner = self.inner.clone();
        let next = async move {
            let mut sub = inner.lock().await;
            match timeout {
                Some(d) => tokio::time::timeout(d, sub.next()).await.ok(),
                None => Some(sub.next().await),
            }
        };
        // The runtime may already be gone (node shut down): that is a close.
        let rt = self.rt.clone();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(next))) {
            Ok(Some(Some(t))) => Next::Transition(Box::new(t)),
            Ok(Some(None)) | Err(_) => Next::Closed,
            Ok(None) => Next::Timeout,
        }
    }

    /// Transitions skipped because this subscriber fell behind the retained
    /// history.
    pub fn missed(&self) -> u64 {
        self.inner.try_lock().map(|s| s.missed()).unwrap_or(0)
    }
}

/// The dispatcher thread of [`Node::on_transition`].
#[derive(Debug)]
pub struct Dispatcher {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Dispatcher {
    /// Stop calling the callback and wait for the thread to end (at most
    /// one callback in flight finishes first). Must not be called from the
    /// callback itself.
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.stop();
    }
}
