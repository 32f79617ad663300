//! Maintenance windows from C: add one (once or weekly), list them, remove
//! one. The window crosses as the JSON document of `qu maintenance add`'s
//! arguments (`checks`, `start` or `every` + `at` + `tz`, `for`,
//! `reason`), the list as the JSON array `qu maintenance list --json`
//! prints; each is one call of a `quptime::blocking::Node` use case.

use std::ffi::c_char;

use quptime::api::MaintenanceSpec;

use crate::cluster::{CLUSTERS, qu_cluster};
use crate::edits::give_version;
use crate::guard::{call, out_arg, str_arg, write_out};
use crate::handle::give_string;
use crate::result::{Fail, qu_result};

/// Add the maintenance window the JSON `spec` describes, such as
/// `{"checks": ["web"], "start": "now", "for": "2h", "reason": "upgrade"}`
/// or `{"checks": ["db"], "every": ["sun"], "at": "02:00", "tz":
/// "Europe/Berlin", "for": "1h"}`. When `out_id` is not NULL, on `QU_OK`
/// `*out_id` is the window's id (free it with `qu_string_free`). A bad
/// value answers `QU_ERR_INVALID_INPUT` with `qu_last_error_field()`
/// naming the field (`checks`, `start`, `every`, `at`, `tz`, `for`).
///
/// # Safety
/// `cluster` is any pointer value (checked); `spec` is NULL or
/// NUL-terminated; `out_id` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_add_maintenance(
    cluster: *const qu_cluster,
    spec: *const c_char,
    out_id: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let doc = unsafe { str_arg(spec, "spec")? };
        let spec: MaintenanceSpec = serde_json::from_str(doc).map_err(|e| {
            Fail::from(quptime::Error::invalid_field(
                "spec",
                format!("not a maintenance window document: {e}"),
            ))
        })?;
        let outcome = node.add_maintenance(spec)?;
        if let Some(id) = outcome.id {
            // SAFETY: forwarded contract (NULL writes nothing).
            unsafe { write_out(out_id, give_string(id)) };
        }
        Ok(())
    })
}

/// The maintenance windows and silences as a JSON array (id, checks,
/// when, duration, reason, silence). On `QU_OK`, `*out_json` is a new
/// string: free it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out_json` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_list_maintenance(
    cluster: *const qu_cluster,
    out_json: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out_json, "out_json")?;
        let text = serde_json::to_string(&node.maintenance()?)
            .map_err(|e| Fail::from(quptime::Error::internal(format!("encode JSON: {e}"))))?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, give_string(text)) };
        Ok(())
    })
}

/// Remove the maintenance window with this id (a DOWN it held back is
/// sent then if the check is still down).
///
/// # Safety
/// `cluster` is any pointer value (checked); `id` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_remove_maintenance(
    cluster: *const qu_cluster,
    id: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let id = unsafe { str_arg(id, "id")? };
        let outcome = node.remove_maintenance(id)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}
