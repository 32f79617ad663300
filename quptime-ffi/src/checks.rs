//! Checks and alert channels: added from a small struct or a YAML/JSON
//! document, removed by id or name. Each change is committed to the
//! cluster's replicated state (so it needs a quorum) before the call returns.

use std::ffi::c_char;

use quptime::api::CheckSpec;
use quptime::state::{CheckType, Outcome, StatusSpec};

use crate::cluster::{CLUSTERS, qu_cluster};
use crate::guard::{call, opt_str_arg, str_arg, write_out};
use crate::handle::give_string;
use crate::result::{Fail, qu_result};

/// What a check probes (the `kind` of a `qu_check_spec`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qu_check_type {
    /// An HTTP(S) request; the target is a URL.
    QU_CHECK_HTTP = 1,
    /// A TCP connect; the target is `host:port`.
    QU_CHECK_TCP = 2,
    /// An ICMP echo; the target is a host (needs raw-socket rights).
    QU_CHECK_ICMP = 3,
    /// A TLS handshake and certificate expiry; the target is `host:port`.
    QU_CHECK_TLS = 4,
    /// A DNS lookup; the target is a name.
    QU_CHECK_DNS = 5,
}

/// A check in its common form. Zero what you do not set: zero and NULL
/// mean "the default". Anything more (alert channels, DNS or TLS details,
/// reminders) is set through `qu_cluster_add_check_yaml`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct qu_check_spec {
    /// Unique name (required).
    pub name: *const c_char,
    /// A `qu_check_type` value.
    pub kind: u32,
    /// What to probe (required): URL, `host:port` or host, by kind.
    pub target: *const c_char,
    /// Probe interval in milliseconds, from 1000 (0: 30 s).
    pub interval_ms: u32,
    /// Probe timeout in milliseconds (0: 10 s).
    pub timeout_ms: u32,
    /// Accepted HTTP statuses, such as "200", "2xx" or "200,204" (NULL: 2xx).
    pub expect_status: *const c_char,
    /// A substring the HTTP body must contain (NULL: none).
    pub body_match: *const c_char,
}

fn check_type(kind: u32) -> Result<CheckType, Fail> {
    Ok(match kind {
        1 => CheckType::Http,
        2 => CheckType::Tcp,
        3 => CheckType::Icmp,
        4 => CheckType::Tls,
        5 => CheckType::Dns,
        other => {
            return Err(Fail::invalid(format!(
                "check kind {other} is unknown; use a qu_check_type value \
                 (QU_CHECK_HTTP, QU_CHECK_TCP, QU_CHECK_ICMP, QU_CHECK_TLS, QU_CHECK_DNS)"
            )));
        }
    })
}

/// # Safety
/// `spec` is NULL or points to a valid `qu_check_spec` whose strings are
/// NULL or NUL-terminated.
unsafe fn read_spec(spec: *const qu_check_spec) -> Result<CheckSpec, Fail> {
    if spec.is_null() {
        return Err(Fail::null("spec"));
    }
    // SAFETY: non-NULL and valid by contract.
    let s = unsafe { &*spec };
    let ms = |v: u32| (v != 0).then(|| format!("{v}ms"));
    // SAFETY: each string is NULL or NUL-terminated by contract.
    let (name, target, expect_status, body_match) = unsafe {
        (
            str_arg(s.name, "spec.name")?,
            str_arg(s.target, "spec.target")?,
            opt_str_arg(s.expect_status, "spec.expect_status")?,
            opt_str_arg(s.body_match, "spec.body_match")?,
        )
    };
    let mut spec = CheckSpec {
        interval: ms(s.interval_ms),
        timeout: ms(s.timeout_ms),
        ..CheckSpec::new(name, check_type(s.kind)?, target)
    };
    spec.probe.http.expect_status = expect_status.map(StatusSpec::parse).transpose()?;
    spec.probe.http.body_match = body_match.map(String::from);
    Ok(spec)
}

/// Hand the new record's id to C when the caller asked for it.
///
/// # Safety
/// `out_id` is NULL or valid for a write.
unsafe fn give_id(outcome: Outcome, out_id: *mut *mut c_char) {
    if let Some(id) = outcome.id {
        // SAFETY: forwarded contract (NULL writes nothing).
        unsafe { write_out(out_id, give_string(id)) };
    }
}

/// Add the check `spec` describes. When `out_id` is not NULL, on `QU_OK`
/// `*out_id` is the new check's id (free it with `qu_string_free`).
/// A name in use answers `QU_ERR_ALREADY_EXISTS`; a bad field
/// `QU_ERR_INVALID_INPUT`, with `qu_last_error` naming it.
///
/// # Safety
/// `cluster` is any pointer value (checked); `spec` is NULL or valid;
/// `out_id` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_add_check(
    cluster: *const qu_cluster,
    spec: *const qu_check_spec,
    out_id: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let spec = unsafe { read_spec(spec)? };
        let outcome = node.add_check(spec)?;
        // SAFETY: forwarded contract.
        unsafe { give_id(outcome, out_id) };
        Ok(())
    })
}

/// Add a check from a YAML (or JSON) document with the fields of
/// `qu check add`: `name`, `type`, `target`, `interval`, `timeout`,
/// `expect_status`, `body_match`, `alerts`, `suppress`, `remind`, … (see
/// docs/configuration.md). Durations are text such as "30s". When `out_id`
/// is not NULL, on `QU_OK` `*out_id` is the new check's id (free it with
/// `qu_string_free`). A malformed document answers `QU_ERR_INVALID_INPUT`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `document` is NULL or
/// NUL-terminated; `out_id` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_add_check_yaml(
    cluster: *const qu_cluster,
    document: *const c_char,
    out_id: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let doc = unsafe { str_arg(document, "document")? };
        let outcome = node.add_check_document(doc)?;
        // SAFETY: forwarded contract.
        unsafe { give_id(outcome, out_id) };
        Ok(())
    })
}

/// Remove the check with this id or name (`QU_ERR_NOT_FOUND` if none).
///
/// # Safety
/// `cluster` is any pointer value (checked); `check` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_remove_check(
    cluster: *const qu_cluster,
    check: *const c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let key = unsafe { str_arg(check, "check")? };
        node.remove_check(key)?;
        Ok(())
    })
}

/// Add an alert channel from a YAML (or JSON) document: `name`, `type`
/// (`smtp`, `discord`, `webhook`), `default` (attach to every check) and
/// `settings` (a map of text values, see docs/configuration.md). The
/// master sends DOWN and RECOVERED notices through it. When `out_id` is not
/// NULL, on `QU_OK` `*out_id` is the channel's id (free it with
/// `qu_string_free`).
///
/// # Safety
/// `cluster` is any pointer value (checked); `document` is NULL or
/// NUL-terminated; `out_id` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_add_alert_yaml(
    cluster: *const qu_cluster,
    document: *const c_char,
    out_id: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let doc = unsafe { str_arg(document, "document")? };
        let outcome = node.add_alert_document(doc)?;
        // SAFETY: forwarded contract.
        unsafe { give_id(outcome, out_id) };
        Ok(())
    })
}

/// Remove the alert channel with this id or name (`QU_ERR_NOT_FOUND` if
/// none).
///
/// # Safety
/// `cluster` is any pointer value (checked); `channel` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_remove_alert(
    cluster: *const qu_cluster,
    channel: *const c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let key = unsafe { str_arg(channel, "channel")? };
        node.remove_alert(key)?;
        Ok(())
    })
}
