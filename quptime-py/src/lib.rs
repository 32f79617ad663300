//! The native part of the Python package `quptime` (built by maturin).
//!
//! A thin layer over [`quptime::blocking`]: no monitoring logic lives here.
//! It exists to make the synchronous facade safe to call from Python:
//! every wait releases the GIL and is cut into short slices between which
//! pending signals are checked, so Ctrl-C interrupts any call; errors become
//! the `quptime.errors` exceptions with the library's messages; values cross
//! as JSON text that the pure-Python layer turns into dicts and dataclasses.
//! Nothing here runs at import: the runtime belongs to a started node.

mod args;
mod node;
mod open;
mod stream;

use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use quptime::blocking::Pending;

/// How long one GIL-free wait lasts before signals are checked again.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// The version of the embedded quptime library.
#[pyfunction]
fn version() -> &'static str {
    quptime::VERSION
}

/// Seconds in the Go-style duration `text` (`30s`, `1m30s`, `250ms`), read
/// by the library's rule (the CLI's and the files'); an error names the
/// keyword `field`.
#[pyfunction]
fn parse_duration(py: Python<'_>, field: &str, text: &str) -> PyResult<f64> {
    args::text_duration(field, text)
        .map(|d| d.as_secs_f64())
        .map_err(|e| to_pyerr(py, e))
}

/// Turn a library error into the matching `quptime.errors` exception. Its
/// field becomes the Python keyword (`interval=: …`, in `quptime.errors`);
/// a `qu` hint is left out: it names a command a Python user does not run.
pub(crate) fn to_pyerr(py: Python<'_>, err: quptime::Error) -> PyErr {
    let kind = err.kind();
    let build = || -> PyResult<PyErr> {
        let errors = py.import("quptime.errors")?;
        let field = err.field().map(args::python_keyword);
        let exc = errors.getattr("_from_native")?.call1((
            kind as u32,
            kind.as_str(),
            err.message(),
            field,
        ))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| {
        PyRuntimeError::new_err(format!(
            "{} (and quptime.errors could not be loaded: {e})",
            args::python_text(&err)
        ))
    })
}

/// An `InvalidInput` error for a bad argument.
pub(crate) fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_pyerr(py, quptime::Error::invalid(message))
}

/// Wait for a spawned call without holding the GIL, answering signals.
pub(crate) fn wait<T: Send + 'static>(py: Python<'_>, pending: Pending<T>) -> PyResult<T> {
    let mut pending = pending;
    loop {
        let (back, answer) = py.detach(move || {
            let answer = pending.wait_timeout(SLICE);
            (pending, answer)
        });
        pending = back;
        if let Some(answer) = answer {
            return answer.map_err(|e| to_pyerr(py, e));
        }
        py.check_signals()?;
    }
}

/// Run `f` on a thread of its own and wait for it like [`wait`]. If the
/// wait is interrupted, the answer is dropped on that thread when it comes
/// (a node started meanwhile shuts itself down).
pub(crate) fn in_thread<T: Send + 'static>(
    py: Python<'_>,
    name: &str,
    f: impl FnOnce() -> quptime::Result<T> + Send + 'static,
) -> PyResult<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
    let mut rx = rx;
    loop {
        let (back, answer) = py.detach(move || {
            let answer = rx.recv_timeout(SLICE);
            (rx, answer)
        });
        rx = back;
        match answer {
            Ok(result) => return result.map_err(|e| to_pyerr(py, e)),
            Err(mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the quptime worker thread ended without an answer (a bug: please report it)",
                ));
            }
        }
    }
}

/// The `quptime._native` extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(parse_duration, m)?)?;
    m.add_function(wrap_pyfunction!(open::init_node, m)?)?;
    m.add_function(wrap_pyfunction!(open::is_initialised_py, m)?)?;
    m.add_class::<node::Node>()?;
    m.add_class::<stream::Subscription>()?;
    m.add_class::<stream::Dispatcher>()?;
    Ok(())
}
