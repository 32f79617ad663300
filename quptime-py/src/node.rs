//! `quptime._native.Node`: one running node, wrapped for Python.
//!
//! Each method hands its work to the node's own runtime ([`Node::spawn`])
//! and waits with the GIL released (see [`crate::wait`]); arguments arrive
//! as JSON text built by the pure-Python layer and are decoded into the
//! library's own request types, so validation and messages are the
//! library's. Dropping the object shuts the node down on a thread of its
//! own, so a garbage collection never blocks on the network while holding
//! the GIL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use quptime::NodeOptions;
use quptime::blocking::{self, Node as BlockingNode};
use quptime::enroll::JoinOptions;
use quptime::init::{
    InitOptions, init_node as lib_init_node, is_initialised as lib_is_initialised,
};
use quptime::store::NodeConfig;

use crate::args::{TimingSecs, free_port, ip_of, port_of, text_duration, timing_of};
use crate::stream::{Dispatcher, Subscription};
use crate::{in_thread, invalid, to_pyerr, wait};

/// Initialise a node directory (`qu init`): returns (node id, key
/// fingerprint, whether a new cluster secret was generated).
#[pyfunction]
#[pyo3(signature = (data_dir, bind=None, port=None, advertise=None, node_id=None, secret=None))]
pub(crate) fn init_node(
    py: Python<'_>,
    data_dir: PathBuf,
    bind: Option<String>,
    port: Option<i64>,
    advertise: Option<String>,
    node_id: Option<String>,
    secret: Option<String>,
) -> PyResult<(String, String, bool)> {
    let done = py
        .detach(move || {
            let mut bind_port = port_of(port)?;
            if bind_port == Some(0) {
                bind_port = Some(free_port(bind.as_deref())?);
            }
            let opts = InitOptions {
                node_id,
                bind_addr: bind,
                bind_port,
                advertise,
                secret,
            };
            lib_init_node(&data_dir, opts)
        })
        .map_err(|e| to_pyerr(py, e))?;
    Ok((
        done.config.node_id.clone(),
        done.identity.fingerprint().to_string(),
        done.secret_generated,
    ))
}

/// Whether `data_dir` already holds a node.
#[pyfunction]
pub(crate) fn is_initialised(py: Python<'_>, data_dir: PathBuf) -> PyResult<bool> {
    lib_is_initialised(&data_dir).map_err(|e| to_pyerr(py, e))
}

/// A running node.
#[pyclass(frozen, module = "quptime._native")]
pub(crate) struct Node {
    node: Arc<BlockingNode>,
    dispatchers: Mutex<Vec<Arc<blocking::Dispatcher>>>,
}

impl Node {
    fn call<T, F>(&self, py: Python<'_>, f: impl FnOnce(quptime::Cluster) -> F) -> PyResult<T>
    where
        F: std::future::Future<Output = quptime::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let pending = self.node.spawn(f).map_err(|e| to_pyerr(py, e))?;
        wait(py, pending)
    }
}

fn decode<T: serde::de::DeserializeOwned>(py: Python<'_>, what: &str, json: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| invalid(py, format!("invalid {what}: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!("cannot encode a quptime value: {e}"))
    })
}

#[pymethods]
impl Node {
    /// Start the node in `data_dir`, initialising the directory first when
    /// it holds no node yet.
    #[staticmethod]
    #[pyo3(signature = (data_dir, bind=None, port=None, advertise=None, node_id=None, secret=None, timing=None, env_overrides=false))]
    #[allow(clippy::too_many_arguments)]
    fn start(
        py: Python<'_>,
        data_dir: PathBuf,
        bind: Option<String>,
        port: Option<i64>,
        advertise: Option<String>,
        node_id: Option<String>,
        secret: Option<String>,
        timing: Option<TimingSecs>,
        env_overrides: bool,
    ) -> PyResult<Node> {
        let node = in_thread(py, "quptime-start", move || {
            let port = port_of(port)?;
            let timing = timing.map(timing_of).transpose()?;
            if let Some(b) = &bind {
                ip_of(b)?;
            }
            // port=0 on a new node: a free port, saved in node.yaml so a
            // restart without `port` listens where peers were told to dial.
            let fresh = !lib_is_initialised(&data_dir)?;
            if fresh {
                let bind_port = match port {
                    Some(0) => Some(free_port(bind.as_deref())?),
                    p => p,
                };
                lib_init_node(
                    &data_dir,
                    InitOptions {
                        node_id,
                        bind_addr: bind.clone(),
                        bind_port,
                        advertise,
                        secret,
                    },
                )?;
            }
            let mut opts = NodeOptions::new(&data_dir);
            opts.env_overrides = env_overrides;
            if let Some(t) = timing {
                opts.timing = t;
            }
            // port=0 on an existing node: a new free port for this run.
            if let Some(p) = port.filter(|_| !fresh) {
                let host = match bind {
                    Some(b) => b,
                    None => NodeConfig::load(&data_dir)?.bind_addr,
                };
                opts.listen = Some(SocketAddr::new(ip_of(&host)?, p));
            }
            BlockingNode::start(opts)
        })?;
        Ok(Node {
            node: Arc::new(node),
            dispatchers: Mutex::new(Vec::new()),
        })
    }

    /// Set up a new node in the empty `data_dir` from an enrollment token;
    /// returns its node id. Start it afterwards.
    #[staticmethod]
    #[pyo3(signature = (token, data_dir, bind=None, port=None, advertise=None, node_id=None, wait=String::from("60s")))]
    #[allow(clippy::too_many_arguments)]
    fn join(
        py: Python<'_>,
        token: String,
        data_dir: PathBuf,
        bind: Option<String>,
        port: Option<i64>,
        advertise: Option<String>,
        node_id: Option<String>,
        wait: String,
    ) -> PyResult<String> {
        let joined = in_thread(py, "quptime-join", move || {
            let wait = text_duration("wait", &wait)?;
            let mut port = port_of(port)?;
            if port.is_none_or(|p| p == 0) {
                // The advertised address needs the real port before start.
                port = Some(free_port(bind.as_deref())?);
            }
            let opts = JoinOptions {
                init: InitOptions {
                    node_id,
                    bind_addr: bind,
                    bind_port: port,
                    advertise,
                    secret: None,
                },
                wait,
            };
            BlockingNode::join(&data_dir, &token, opts)
        })?;
        Ok(joined.node_id.to_string())
    }

    /// This node's id.
    #[getter]
    fn node_id(&self) -> String {
        self.node.cluster().node_id().to_string()
    }

    /// The fingerprint peers pin this node by.
    #[getter]
    fn fingerprint(&self) -> String {
        self.node.cluster().fingerprint().to_string()
    }

    /// The address peers are told to dial.
    #[getter]
    fn advertise(&self) -> String {
        self.node.cluster().advertise().to_string()
    }

    /// The address the peer listener is bound to.
    #[getter]
    fn local_addr(&self) -> String {
        self.node.cluster().local_addr().to_string()
    }

    /// The port the peer listener is bound to (the free one `port=0` got).
    #[getter]
    fn port(&self) -> u16 {
        self.node.cluster().local_addr().port()
    }

    /// Whether this node performs master duty now.
    fn is_master(&self) -> bool {
        self.node.cluster().is_master()
    }

    /// Add a check from a JSON `CheckSpec`; returns its id.
    fn add_check(&self, py: Python<'_>, spec: &str) -> PyResult<Option<String>> {
        let spec: quptime::api::CheckSpec = decode(py, "check", spec)?;
        let outcome = self.call(py, move |c| async move {
            quptime::api::add_check(&c, spec).await
        })?;
        Ok(outcome.id)
    }

    /// Remove the check with this id or name.
    fn remove_check(&self, py: Python<'_>, key: String) -> PyResult<()> {
        self.call(py, move |c| async move {
            quptime::api::remove_check(&c, &key).await
        })
        .map(drop)
    }

    /// Add an alert channel from a JSON `AlertSpec`; returns its id.
    fn add_alert(&self, py: Python<'_>, spec: &str) -> PyResult<Option<String>> {
        let spec: quptime::api::AlertSpec = decode(py, "alert channel", spec)?;
        let outcome = self.call(py, move |c| async move {
            quptime::api::add_alert(&c, spec).await
        })?;
        Ok(outcome.id)
    }

    /// Remove the alert channel with this id or name.
    fn remove_alert(&self, py: Python<'_>, key: String) -> PyResult<()> {
        self.call(py, move |c| async move {
            quptime::api::remove_alert(&c, &key).await
        })
        .map(drop)
    }

    /// Create an enrollment token another node can join with.
    #[pyo3(signature = (name, ttl, auto_approve))]
    fn create_token(
        &self,
        py: Python<'_>,
        name: Option<String>,
        ttl: &str,
        auto_approve: bool,
    ) -> PyResult<String> {
        let ttl = text_duration("ttl", ttl).map_err(|e| to_pyerr(py, e))?;
        let (token, _) = self.call(py, move |c| async move {
            c.create_enrollment(name, ttl, auto_approve).await
        })?;
        Ok(token.encode())
    }

    /// The checks, as a JSON list.
    fn checks(&self, py: Python<'_>) -> PyResult<String> {
        encode(&self.node.checks().map_err(|e| to_pyerr(py, e))?)
    }

    /// The node's view of the cluster, as JSON.
    fn status(&self, py: Python<'_>) -> PyResult<String> {
        let status = self.call(py, |c| async move { Ok(c.status_live().await) })?;
        encode(&status)
    }

    /// Transitions committed from now on.
    fn subscribe(&self, py: Python<'_>) -> PyResult<Subscription> {
        let sub = self.node.subscribe().map_err(|e| to_pyerr(py, e))?;
        Ok(Subscription::new(sub))
    }

    /// Call `callback(convert(json))` on a dispatcher thread for every
    /// transition committed from now on. An exception it raises goes to
    /// `sys.unraisablehook` and the dispatcher carries on.
    fn on_transition(
        &self,
        py: Python<'_>,
        callback: Py<PyAny>,
        convert: Py<PyAny>,
    ) -> PyResult<Dispatcher> {
        let dispatcher = self
            .node
            .on_transition(move |t| {
                let Ok(json) = serde_json::to_string(&t) else {
                    return;
                };
                // None when the interpreter is shutting down: nothing to call.
                let _ = Python::try_attach(|py| {
                    let called = convert
                        .call1(py, (json,))
                        .and_then(|value| callback.call1(py, (value,)));
                    if let Err(e) = called {
                        e.write_unraisable(py, Some(callback.bind(py)));
                    }
                });
            })
            .map_err(|e| to_pyerr(py, e))?;
        let dispatcher = Arc::new(dispatcher);
        if let Ok(mut all) = self.dispatchers.lock() {
            all.push(dispatcher.clone());
        }
        Ok(Dispatcher::new(dispatcher))
    }

    /// Stop the node (idempotent); subscriptions end and callbacks stop.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        let node = self.node.clone();
        let dispatchers: Vec<_> = self
            .dispatchers
            .lock()
            .map(|mut d| d.drain(..).collect())
            .unwrap_or_default();
        py.detach(move || {
            let result = node.shutdown();
            for d in dispatchers {
                d.stop();
            }
            result
        })
        .map_err(|e| to_pyerr(py, e))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let node = self.node.clone();
        let dispatchers: Vec<_> = self
            .dispatchers
            .lock()
            .map(|mut d| d.drain(..).collect())
            .unwrap_or_default();
        // Never block the (GIL-holding) dropping thread on the network.
        let _ = std::thread::Builder::new()
            .name("quptime-drop".into())
            .spawn(move || {
                let _ = node.shutdown();
                drop(dispatchers);
            });
    }
}
