//! The native part of the Python package `quptime` (built by maturin).
//!
//! A thin layer over the `quptime` library: no monitoring logic lives here.
//! The full API (Cluster, subscriptions, errors) lands with the Python
//! issue; today the module exposes the library version so the build and
//! packaging can be wired up.

use pyo3::prelude::*;

/// The version of the embedded quptime library.
#[pyfunction]
fn version() -> &'static str {
    quptime::VERSION
}

/// The `quptime._native` extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
