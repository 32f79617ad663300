//! Changing checks and alert channels in place (edit, enable, disable) and
//! waiting until a node has applied a change: the C side of the library's
//! use cases (`quptime::api::edit_check` …), one export each.
//!
//! Every write can report the config version it committed (`out_version`,
//! may be NULL); `qu_cluster_wait_applied` on another node waits for it.

use std::ffi::c_char;
use std::time::Duration;

use quptime::state::Outcome;

use crate::cluster::{CLUSTERS, qu_cluster};
use crate::guard::{call, str_arg, write_out};
use crate::result::qu_result;

/// Write `outcome`'s version to `out` when `out` is not NULL.
///
/// # Safety
/// `out` is NULL or valid for a write.
pub(crate) unsafe fn give_version(outcome: &Outcome, out: *mut u64) {
    if !out.is_null() {
        // SAFETY: non-NULL and valid for writes by the caller's contract.
        unsafe { write_out(out, outcome.version) };
    }
}

/// Change the check with this id or name as the YAML (or JSON) `patch`
/// says, with the field names of `qu_cluster_add_check_yaml` (such as
/// `interval: 1m`, `target: …`, `alerts: [ops]`); fields left out keep
/// their value, an empty string clears an optional text field. A bad value fails with
/// `QU_ERR_INVALID_INPUT`, a message such as "interval: …" and
/// `qu_last_error_field()` naming the field.
///
/// # Safety
/// `cluster` is any pointer value (checked); `check` and `patch` are NULL
/// or NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_edit_check(
    cluster: *const qu_cluster,
    check: *const c_char,
    patch: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let (key, doc) = unsafe { (str_arg(check, "check")?, str_arg(patch, "patch")?) };
        let outcome = node.edit_check_document(key, doc)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Enable (`enabled` true: probe and alert again) or disable the check
/// with this id or name.
///
/// # Safety
/// `cluster` is any pointer value (checked); `check` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_set_check_enabled(
    cluster: *const qu_cluster,
    check: *const c_char,
    enabled: bool,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let key = unsafe { str_arg(check, "check")? };
        let outcome = node.set_check_enabled(key, enabled)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Silence the check with this id or name for `duration` (`"30m"`) from
/// now: no DOWN is sent for it meanwhile, and one still down when the
/// silence ends alerts then. `duration` NULL or `""` ends its silences.
///
/// # Safety
/// `cluster` is any pointer value (checked); `check` and `duration` are
/// NULL or NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_silence(
    cluster: *const qu_cluster,
    check: *const c_char,
    duration: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let key = unsafe { str_arg(check, "check")? };
        let duration = if duration.is_null() {
            ""
        } else {
            // SAFETY: forwarded contract.
            unsafe { str_arg(duration, "duration")? }
        };
        let outcome = node.silence(key, duration)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Enable or disable the alert channel with this id or name (a disabled
/// channel sends nothing).
///
/// # Safety
/// `cluster` is any pointer value (checked); `channel` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_set_alert_enabled(
    cluster: *const qu_cluster,
    channel: *const c_char,
    enabled: bool,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let key = unsafe { str_arg(channel, "channel")? };
        let outcome = node.set_alert_enabled(key, enabled)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Wait up to `timeout_ms` until this node has applied config `version`
/// or later (a version an `out_version` reported, possibly from a write
/// through another node), so what it reads next includes that change.
/// `QU_TIMEOUT` if it has not by then.
///
/// # Safety
/// `cluster` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_wait_applied(
    cluster: *const qu_cluster,
    version: u64,
    timeout_ms: u32,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        node.wait_applied(version, Duration::from_millis(timeout_ms.into()))?;
        Ok(())
    })
}
