//! Transitions for Python: a pull [`Subscription`] (behind the iterator and
//! the async iterator of the pure-Python layer) and the [`Dispatcher`]
//! handle of a callback. Waits release the GIL and check signals between
//! short slices, so Ctrl-C ends a blocked `for t in subscription`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use quptime::blocking::{self, Next};

use crate::{SLICE, invalid};

/// What [`Subscription::next`] found: a transition (with its JSON).
const TRANSITION: u8 = 0;
/// Nothing arrived within the timeout.
const TIMEOUT: u8 = 1;
/// The node stopped; nothing more will come.
const CLOSED: u8 = 2;

/// Committed transitions of one node, pulled one at a time.
#[pyclass(frozen, module = "quptime._native")]
pub(crate) struct Subscription {
    inner: blocking::Subscription,
}

impl Subscription {
    pub(crate) fn new(inner: blocking::Subscription) -> Subscription {
        Subscription { inner }
    }
}

#[pymethods]
impl Subscription {
    /// Wait up to `timeout` seconds (forever when None) for the next
    /// transition: `(0, json)`, `(1, None)` on timeout, `(2, None)` once the
    /// node has stopped.
    #[pyo3(signature = (timeout=None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<(u8, Option<String>)> {
        let deadline = match timeout {
            Some(t) => {
                let d = Duration::try_from_secs_f64(t).map_err(|_| {
                    invalid(
                        py,
                        format!("timeout=: {t} is not a non-negative number of seconds"),
                    )
                })?;
                Some(Instant::now() + d)
            }
            None => None,
        };
        loop {
            let slice = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                None => SLICE,
            };
            let inner = &self.inner;
            match py.detach(|| inner.next_timeout(Some(slice))) {
                Next::Transition(t) => {
                    let json = serde_json::to_string(&*t).map_err(|e| {
                        pyo3::exceptions::PyRuntimeError::new_err(format!(
                            "cannot encode a transition: {e}"
                        ))
                    })?;
                    return Ok((TRANSITION, Some(json)));
                }
                Next::Closed => return Ok((CLOSED, None)),
                Next::Timeout => {}
            }
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok((TIMEOUT, None));
            }
        }
    }

    /// Transitions skipped because this subscriber fell behind.
    #[getter]
    fn missed(&self) -> u64 {
        self.inner.missed()
    }
}

/// The handle of an `on_transition` callback.
#[pyclass(frozen, module = "quptime._native")]
pub(crate) struct Dispatcher {
    inner: Arc<blocking::Dispatcher>,
}

impl Dispatcher {
    pub(crate) fn new(inner: Arc<blocking::Dispatcher>) -> Dispatcher {
        Dispatcher { inner }
    }
}

#[pymethods]
impl Dispatcher {
    /// Stop calling the callback; waits for a call in flight to finish.
    fn stop(&self, py: Python<'_>) {
        let inner = self.inner.clone();
        py.detach(move || inner.stop());
    }
}
