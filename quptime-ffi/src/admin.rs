//! Running the cluster from C: members (preview, add, remove), enrollment
//! tokens, the master role, the DNS resolvers, the canary's reference
//! targets and config as code. Each
//! export is one call of a `quptime::blocking::Node` use case; documents
//! cross as JSON (results) or YAML/JSON (arguments), as `qu --json` prints
//! and `qu apply` reads them.

use std::ffi::c_char;

use quptime::api::{ApplyRequest, EnrollSpec, TransferRequest};
use quptime::identity::NodeId;

use crate::cluster::{CLUSTERS, qu_cluster};
use crate::edits::give_version;
use crate::guard::{call, opt_str_arg, out_arg, str_arg, write_out};
use crate::handle::give_string;
use crate::result::{Fail, qu_result};

/// `value` as the JSON document C receives.
fn json<T: serde::Serialize>(value: &T) -> Result<String, Fail> {
    serde_json::to_string(value)
        .map_err(|e| Fail::from(quptime::Error::internal(format!("encode JSON: {e}"))))
}

/// Hand `text` to C through the non-NULL `out`.
///
/// # Safety
/// `out` was checked non-NULL and is valid for a write.
unsafe fn give(out: *mut *mut c_char, text: String) {
    // SAFETY: forwarded contract.
    unsafe { write_out(out, give_string(text)) };
}

/// Who answers at `addr` (`host:port`): a JSON object with `node_id`,
/// `fingerprint`, `advertise` and `version`, to confirm before
/// `qu_cluster_add_node`. On `QU_OK`, `*out_json` is a new string: free it
/// with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `addr` is NULL or
/// NUL-terminated; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_preview_node(
    cluster: *const qu_cluster,
    addr: *const c_char,
    out_json: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let addr = unsafe { str_arg(addr, "addr")? };
        let out = out_arg(out_json, "out_json")?;
        let text = json(&node.preview_node(addr)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { give(out, text) };
        Ok(())
    })
}

/// Add the node listening at `addr` (`host:port`), which must prove the key
/// `fingerprint` (`sha256:…`, from `qu_cluster_fingerprint` on that node or
/// `qu_cluster_preview_node`), and wait until it is a voting member. The
/// new node was started with this cluster's secret.
///
/// # Safety
/// `cluster` is any pointer value (checked); `addr` and `fingerprint` are
/// NULL or NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_add_node(
    cluster: *const qu_cluster,
    addr: *const c_char,
    fingerprint: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let (addr, fp) = unsafe { (str_arg(addr, "addr")?, str_arg(fingerprint, "fingerprint")?) };
        let outcome = node.add_node(addr, fp)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Remove member `node_id`: it stops voting and every member revokes its
/// key.
///
/// # Safety
/// `cluster` is any pointer value (checked); `node_id` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_remove_node(
    cluster: *const qu_cluster,
    node_id: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let id = unsafe { str_arg(node_id, "node_id")? };
        let outcome = node.remove_node(id)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Create a single-use enrollment token: `name` labels it (may be NULL),
/// `ttl` is how long it stays valid ("1h", "30m"; NULL: one hour; 1s to 30
/// days), with `auto_approve` the joiner is admitted without an approval.
/// On `QU_OK`, `*out_token` is the token and, when `out_id` is not NULL,
/// `*out_id` its id (for approve/revoke); free both with `qu_string_free`.
/// The token is a credential: hand it only to the new node.
///
/// # Safety
/// `cluster` is any pointer value (checked); `name` and `ttl` are NULL or
/// NUL-terminated; `out_token` is NULL or valid for a write, `out_id` NULL
/// or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_create_enrollment(
    cluster: *const qu_cluster,
    name: *const c_char,
    ttl: *const c_char,
    auto_approve: bool,
    out_token: *mut *mut c_char,
    out_id: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let (name, ttl) = unsafe { (opt_str_arg(name, "name")?, opt_str_arg(ttl, "ttl")?) };
        let out = out_arg(out_token, "out_token")?;
        let created = node.create_enrollment(EnrollSpec {
            name: name.map(String::from),
            ttl: ttl.unwrap_or("1h").to_string(),
            auto_approve,
        })?;
        // SAFETY: checked non-NULL above; `out_id` by contract.
        unsafe {
            give(out, created.token);
            if !out_id.is_null() {
                give(out_id, created.record.id);
            }
        }
        Ok(())
    })
}

/// The enrollment tokens on record as a JSON array (id, name, expiry,
/// join request, approved, used; never the secrets). On `QU_OK`,
/// `*out_json` is a new string: free it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out_json` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_list_enrollments(
    cluster: *const qu_cluster,
    out_json: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out_json, "out_json")?;
        let text = json(&node.list_enrollments()?)?;
        // SAFETY: checked non-NULL above.
        unsafe { give(out, text) };
        Ok(())
    })
}

/// Approve (`approve` true) the node that presented enrollment token `id`,
/// or revoke (`approve` false) the token.
///
/// # Safety
/// `cluster` is any pointer value (checked); `id` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
unsafe fn decide(
    cluster: *const qu_cluster,
    id: *const c_char,
    approve: bool,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let id = unsafe { str_arg(id, "id")? };
        let outcome = if approve {
            node.approve_enrollment(id)?
        } else {
            node.revoke_enrollment(id)?
        };
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Admit the node that presented enrollment token `id` (it joins within
/// its wait).
///
/// # Safety
/// `cluster` is any pointer value (checked); `id` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_approve_enrollment(
    cluster: *const qu_cluster,
    id: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe { decide(cluster, id, true, out_version) }
}

/// Revoke enrollment token `id`: nobody can join with it any more.
///
/// # Safety
/// `cluster` is any pointer value (checked); `id` is NULL or
/// NUL-terminated; `out_version` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_revoke_enrollment(
    cluster: *const qu_cluster,
    id: *const c_char,
    out_version: *mut u64,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe { decide(cluster, id, false, out_version) }
}

/// Move the master role to member `to` (NULL: the lowest live voter other
/// than the current master) and keep it there for `hold` ("1h"; NULL: one
/// hour), or with `clear` drop an earlier preference instead. On `QU_OK`,
/// when `out_master` is not NULL, `*out_master` is the master's id (NULL
/// after `clear`); free it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `to` and `hold` are NULL or
/// NUL-terminated; `out_master` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_transfer_leader(
    cluster: *const qu_cluster,
    to: *const c_char,
    hold: *const c_char,
    clear: bool,
    out_master: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let (to, hold) = unsafe { (opt_str_arg(to, "to")?, opt_str_arg(hold, "hold")?) };
        let report = node.transfer_leader(TransferRequest {
            to: to.map(NodeId::new).transpose()?,
            hold: hold.unwrap_or("1h").to_string(),
            clear,
        })?;
        if !out_master.is_null() {
            let master = report
                .master
                .map_or(std::ptr::null_mut(), |m| give_string(m.to_string()));
            // SAFETY: non-NULL and valid for writes by contract.
            unsafe { write_out(out_master, master) };
        }
        Ok(())
    })
}

/// Replace the cluster-wide DNS resolvers with the `count` addresses in
/// `resolvers` ("9.9.9.9", "[::1]:5353"; port 53 when left out); `count`
/// 0 clears them (the system's resolvers are used).
///
/// # Safety
/// `cluster` is any pointer value (checked); `resolvers` points to `count`
/// NUL-terminated strings (may be NULL when `count` is 0); `out_version` is
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_set_resolvers(
    cluster: *const qu_cluster,
    resolvers: *const *const c_char,
    count: usize,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let mut list = Vec::with_capacity(count.min(64));
        if count > 0 {
            if resolvers.is_null() {
                return Err(Fail::null("resolvers"));
            }
            for i in 0..count {
                // SAFETY: `resolvers` holds `count` pointers by contract,
                // each NULL or NUL-terminated.
                let s = unsafe { str_arg(*resolvers.add(i), "resolvers[i]")? };
                list.push(s.to_string());
            }
        }
        let outcome = node.set_resolvers(list)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// Replace the canary's reference targets with the `count` targets in
/// `targets` ("1.1.1.1:443" for a TCP connect, "https://example.com/" for
/// a GET); `count` 0 clears them.
///
/// # Safety
/// `cluster` is any pointer value (checked); `targets` points to `count`
/// NUL-terminated strings (may be NULL when `count` is 0); `out_version` is
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_set_canary(
    cluster: *const qu_cluster,
    targets: *const *const c_char,
    count: usize,
    out_version: *mut u64,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let mut list = Vec::with_capacity(count.min(64));
        if count > 0 {
            if targets.is_null() {
                return Err(Fail::null("targets"));
            }
            for i in 0..count {
                // SAFETY: `targets` holds `count` pointers by contract,
                // each NULL or NUL-terminated.
                let s = unsafe { str_arg(*targets.add(i), "targets[i]")? };
                list.push(s.to_string());
            }
        }
        let outcome = node.set_canary(list)?;
        // SAFETY: forwarded contract.
        unsafe { give_version(&outcome, out_version) };
        Ok(())
    })
}

/// The canary as this node sees it, as `qu canary show --json` prints it: a
/// JSON object with `targets`, `node_targets`, `node` and, when set,
/// `abstain` and `monitor`. On `QU_OK`, `*out_json` is a new string: free
/// it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out_json` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_canary(
    cluster: *const qu_cluster,
    out_json: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out_json, "out_json")?;
        let text = json(&node.canary()?)?;
        // SAFETY: checked non-NULL above.
        unsafe { give(out, text) };
        Ok(())
    })
}

/// The cluster's declaration (checks, channels, resolvers) as the YAML
/// `qu export` prints, secrets included. On `QU_OK`, `*out_yaml` is a new
/// string: free it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out_yaml` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_export_config(
    cluster: *const qu_cluster,
    out_yaml: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out_yaml, "out_yaml")?;
        let yaml = node.export_config()?;
        // SAFETY: checked non-NULL above.
        unsafe { give(out, yaml) };
        Ok(())
    })
}

/// Apply the declaration `yaml` (as `qu apply -f` does) as one change:
/// with `prune` remove channels and checks it does not declare, with
/// `dry_run` only compute the difference. On `QU_OK`, when `out_report` is
/// not NULL, `*out_report` is a JSON object (`changes`, `unmanaged`,
/// `applied`, `version`); free it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `yaml` is NULL or
/// NUL-terminated; `out_report` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_apply_config(
    cluster: *const qu_cluster,
    yaml: *const c_char,
    prune: bool,
    dry_run: bool,
    out_report: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let yaml = unsafe { str_arg(yaml, "yaml")? };
        let report = node.apply_config(ApplyRequest {
            yaml: yaml.to_string(),
            prune,
            dry_run,
        })?;
        if !out_report.is_null() {
            let text = json(&report)?;
            // SAFETY: non-NULL and valid for writes by contract.
            unsafe { give(out_report, text) };
        }
        Ok(())
    })
}
