//! `quptime._native.Node`: one running node, wrapped for Python.
//!
//! Each method runs one use case of the library (`quptime::api`, the same
//! functions `qu`'s control socket and the C ABI call) on the node's own
//! runtime ([`BlockingNode::spawn`]) and waits with the GIL released (see
//! [`crate::wait`]), so even `wait_applied` answers Ctrl-C; arguments
//! arrive as JSON text built by the pure-Python layer and are decoded into
//! the library's own request types, so validation and messages are the
//! library's. A write answers with the config version it produced. Dropping the object shuts the node down on a thread of its
//! own, so a garbage collection never blocks on the network while holding
//! the GIL.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use quptime::api::{self, AddNodeRequest, ApplyRequest, EnrollSpec, TransferRequest};
use quptime::blocking::{self, Node as BlockingNode};
use quptime::state::Outcome;
use quptime::{Cluster, NodeId};

use crate::args::{TimingSecs, keyword, timing_of};
use crate::open::{Place, join, start};
use crate::stream::{Dispatcher, Subscription};
use crate::{in_thread, invalid, to_pyerr, wait};

/// A running node.
#[pyclass(frozen, module = "quptime._native")]
pub(crate) struct Node {
    node: Arc<BlockingNode>,
    dispatchers: Mutex<Vec<Arc<blocking::Dispatcher>>>,
}

impl Node {
    fn call<T, F>(&self, py: Python<'_>, f: impl FnOnce(Cluster) -> F) -> PyResult<T>
    where
        F: std::future::Future<Output = quptime::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let pending = self.node.spawn(f).map_err(|e| to_pyerr(py, e))?;
        wait(py, pending)
    }

    /// A write: the config version it produced.
    fn write<F>(&self, py: Python<'_>, f: impl FnOnce(Cluster) -> F) -> PyResult<u64>
    where
        F: std::future::Future<Output = quptime::Result<Outcome>> + Send + 'static,
    {
        self.call(py, f).map(|o| o.version)
    }
}

fn node_id_of(field: &str, id: String) -> quptime::Result<NodeId> {
    NodeId::new(id).map_err(|e| keyword(field, e))
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
        let place = Place {
            bind,
            port,
            advertise,
            node_id,
            secret,
        };
        let node = in_thread(py, "quptime-start", move || {
            let timing = timing.map(timing_of).transpose()?;
            start(&data_dir, place, timing, env_overrides)
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
        let place = Place {
            bind,
            port,
            advertise,
            node_id,
            secret: None,
        };
        let joined = in_thread(py, "quptime-join", move || {
            join(&data_dir, &token, place, &wait)
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

    /// Add a check from a JSON `CheckSpec`: (its id, the config version).
    fn add_check(&self, py: Python<'_>, spec: &str) -> PyResult<(Option<String>, u64)> {
        let spec: api::CheckSpec = decode(py, "check", spec)?;
        let o = self.call(py, move |c| async move { api::add_check(&c, spec).await })?;
        Ok((o.id, o.version))
    }

    /// Change a check as a JSON `CheckPatch` says.
    fn edit_check(&self, py: Python<'_>, key: String, patch: &str) -> PyResult<u64> {
        let patch: api::CheckPatch = decode(py, "check change", patch)?;
        self.write(py, move |c| async move {
            api::edit_check(&c, &key, patch).await
        })
    }

    /// Enable or disable a check.
    fn set_check_enabled(&self, py: Python<'_>, key: String, enabled: bool) -> PyResult<u64> {
        self.write(py, move |c| async move {
            api::set_check_enabled(&c, &key, enabled).await
        })
    }

    /// Silence a check for `duration` from now ("" ends its silences).
    fn silence(&self, py: Python<'_>, check: String, duration: String) -> PyResult<u64> {
        self.write(py, move |c| async move {
            if duration.is_empty() {
                api::clear_silence(&c, &check).await
            } else {
                api::silence(&c, &check, &duration).await
            }
        })
    }

    /// Add a maintenance window from a JSON `MaintenanceSpec`: (its id, the
    /// config version).
    fn add_maintenance(&self, py: Python<'_>, spec: &str) -> PyResult<(Option<String>, u64)> {
        let spec: api::MaintenanceSpec = decode(py, "maintenance window", spec)?;
        let o = self.call(
            py,
            move |c| async move { api::add_maintenance(&c, spec).await },
        )?;
        Ok((o.id, o.version))
    }

    /// The maintenance windows and silences, as a JSON list.
    fn maintenance(&self, py: Python<'_>) -> PyResult<String> {
        encode(&self.call(py, |c| async move { Ok(api::list_maintenance(&c)) })?)
    }

    /// Remove the maintenance window with this id.
    fn remove_maintenance(&self, py: Python<'_>, id: String) -> PyResult<u64> {
        self.write(py, move |c| async move {
            api::remove_maintenance(&c, &id).await
        })
    }

    /// Remove the check with this id or name.
    fn remove_check(&self, py: Python<'_>, key: String) -> PyResult<u64> {
        self.write(
            py,
            move |c| async move { api::remove_check(&c, &key).await },
        )
    }

    /// Add an alert channel from a JSON `AlertSpec`: (its id, the version).
    fn add_alert(&self, py: Python<'_>, spec: &str) -> PyResult<(Option<String>, u64)> {
        let spec: api::AlertSpec = decode(py, "alert channel", spec)?;
        let o = self.call(py, move |c| async move { api::add_alert(&c, spec).await })?;
        Ok((o.id, o.version))
    }

    /// Enable or disable an alert channel.
    fn set_alert_enabled(&self, py: Python<'_>, key: String, enabled: bool) -> PyResult<u64> {
        self.write(py, move |c| async move {
            api::set_alert_enabled(&c, &key, enabled).await
        })
    }

    /// Remove the alert channel with this id or name.
    fn remove_alert(&self, py: Python<'_>, key: String) -> PyResult<u64> {
        self.write(
            py,
            move |c| async move { api::remove_alert(&c, &key).await },
        )
    }

    /// Create an enrollment token: the JSON `CreatedEnrollment`.
    fn create_enrollment(
        &self,
        py: Python<'_>,
        name: Option<String>,
        ttl: String,
        auto_approve: bool,
    ) -> PyResult<String> {
        let spec = EnrollSpec {
            name,
            ttl,
            auto_approve,
        };
        encode(&self.call(py, move |c| async move {
            api::create_enrollment(&c, spec).await
        })?)
    }

    /// The enrollment records, as a JSON list.
    fn enrollments(&self, py: Python<'_>) -> PyResult<String> {
        encode(&self.call(py, |c| async move { Ok(api::list_enrollments(&c)) })?)
    }

    /// Admit the node waiting with this enrollment token id.
    fn approve_enrollment(&self, py: Python<'_>, id: String) -> PyResult<u64> {
        self.write(py, move |c| async move {
            api::approve_enrollment(&c, &id).await
        })
    }

    /// Revoke this enrollment token id.
    fn revoke_enrollment(&self, py: Python<'_>, id: String) -> PyResult<u64> {
        self.write(
            py,
            move |c| async move { api::revoke_enrollment(&c, &id).await },
        )
    }

    /// Who answers at `addr`: the JSON `NodePreview` (id, fingerprint, …).
    fn preview_node(&self, py: Python<'_>, addr: String) -> PyResult<String> {
        encode(&self.call(
            py,
            move |c| async move { api::preview_node(&c, &addr).await },
        )?)
    }

    /// Add the node at `addr` whose key has `fingerprint`.
    fn add_node(&self, py: Python<'_>, addr: String, fingerprint: &str) -> PyResult<u64> {
        let fingerprint = quptime::Fingerprint::parse(fingerprint)
            .map_err(|e| to_pyerr(py, keyword("fingerprint", e)))?;
        let req = AddNodeRequest { addr, fingerprint };
        self.write(py, move |c| async move { api::add_node(&c, req).await })
    }

    /// Remove the member `node_id`.
    fn remove_node(&self, py: Python<'_>, node_id: String) -> PyResult<u64> {
        let id = node_id_of("node_id", node_id).map_err(|e| to_pyerr(py, e))?;
        self.write(py, move |c| async move { api::remove_node(&c, &id).await })
    }

    /// Move the master role: the JSON `TransferReport`.
    fn transfer_leader(
        &self,
        py: Python<'_>,
        to: Option<String>,
        hold: String,
    ) -> PyResult<String> {
        let to = to
            .map(|t| node_id_of("to", t))
            .transpose()
            .map_err(|e| to_pyerr(py, e))?;
        let req = TransferRequest {
            to,
            hold,
            clear: false,
        };
        encode(&self.call(
            py,
            move |c| async move { api::transfer_leader(&c, req).await },
        )?)
    }

    /// The cluster-wide DNS resolvers.
    fn resolvers(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.call(py, |c| async move { Ok(api::get_resolvers(&c)) })
    }

    /// Replace the cluster-wide DNS resolvers.
    fn set_resolvers(&self, py: Python<'_>, list: Vec<String>) -> PyResult<u64> {
        self.write(
            py,
            move |c| async move { api::set_resolvers(&c, list).await },
        )
    }

    /// The canary as this node sees it: the JSON `CanaryView`.
    fn canary(&self, py: Python<'_>) -> PyResult<String> {
        encode(&self.call(py, |c| async move { Ok(api::get_canary(&c)) })?)
    }

    /// Replace the canary's reference targets.
    fn set_canary(&self, py: Python<'_>, list: Vec<String>) -> PyResult<u64> {
        self.write(py, move |c| async move { api::set_canary(&c, list).await })
    }

    /// The declaration of the cluster's configuration (YAML).
    fn export(&self, py: Python<'_>) -> PyResult<String> {
        self.call(py, |c| async move { api::export_config(&c) })
    }

    /// Apply a declaration: the JSON `ApplyReport`.
    fn apply(&self, py: Python<'_>, yaml: String, prune: bool, dry_run: bool) -> PyResult<String> {
        let req = ApplyRequest {
            yaml,
            prune,
            dry_run,
        };
        encode(&self.call(py, move |c| async move { api::apply_config(&c, req).await })?)
    }

    /// Wait until this node has applied config `version`, for at most
    /// `timeout` seconds; returns the version applied.
    fn wait_applied(&self, py: Python<'_>, version: u64, timeout: f64) -> PyResult<u64> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            invalid(
                py,
                format!("timeout=: {timeout} is not a non-negative number of seconds"),
            )
        })?;
        self.call(py, move |c| async move {
            api::wait_applied(&c, version, timeout).await
        })
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
