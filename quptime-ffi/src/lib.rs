//! C ABI for embedding a quptime monitor node in C and C++ programs.
//!
//! This crate is a thin layer over `quptime::blocking`: opaque handles,
//! `#[repr(u32)]` result codes with explicit values, out-parameters written
//! only on success, and a panic boundary around every export. It holds no
//! monitoring logic of its own. The C header `include/quptime.h` is
//! generated from these sources by cbindgen (`cbindgen.toml`) and committed;
//! the `header` test fails when it is out of date.
//!
//! Conventions, for every function (the header repeats them where each
//! applies):
//! - fallible functions return a `qu_result`; on anything but `QU_OK` the
//!   out-parameters are untouched and `qu_last_error()` explains;
//! - a handle from `_start`/`_join`/`_subscribe`/`_next` is released with the
//!   matching `_free`; a freed, foreign or NULL handle is refused with an
//!   error code, never dereferenced (see `handle.rs`);
//! - strings returned through `char **` belong to the caller and are freed
//!   with `qu_string_free`; `const char *` results are borrowed;
//! - every function may be called from any thread; calls block the calling
//!   thread (never call them from inside a Tokio runtime).

mod admin;
mod checks;
mod cluster;
mod edits;
mod guard;
mod handle;
mod maintenance;
mod options;
mod result;
mod subscription;
mod transition;

use std::ffi::c_char;

pub use admin::{
    qu_cluster_add_node, qu_cluster_apply_config, qu_cluster_approve_enrollment, qu_cluster_canary,
    qu_cluster_create_enrollment, qu_cluster_export_config, qu_cluster_list_enrollments,
    qu_cluster_preview_node, qu_cluster_remove_node, qu_cluster_revoke_enrollment,
    qu_cluster_set_canary, qu_cluster_set_resolvers, qu_cluster_transfer_leader,
};
pub use checks::{
    qu_check_spec, qu_check_type, qu_cluster_add_alert_yaml, qu_cluster_add_check,
    qu_cluster_add_check_yaml, qu_cluster_remove_alert, qu_cluster_remove_check,
};
pub use cluster::{
    qu_cluster, qu_cluster_create_token, qu_cluster_fingerprint, qu_cluster_free, qu_cluster_join,
    qu_cluster_node_id, qu_cluster_open, qu_cluster_port, qu_cluster_shutdown, qu_cluster_start,
    qu_cluster_start_with, qu_cluster_status_json, qu_node_options,
};
pub use edits::{
    qu_cluster_edit_check, qu_cluster_set_alert_enabled, qu_cluster_set_check_enabled,
    qu_cluster_silence, qu_cluster_wait_applied,
};
pub use handle::qu_string_free;
pub use options::{
    qu_node_options_builder, qu_node_options_free, qu_node_options_new,
    qu_node_options_set_advertise, qu_node_options_set_bind, qu_node_options_set_data_dir,
    qu_node_options_set_election_timeout_ms, qu_node_options_set_heartbeat_ms,
    qu_node_options_set_node_id, qu_node_options_set_port, qu_node_options_set_secret,
};
pub use result::{qu_last_error, qu_last_error_field, qu_result, qu_result_describe};
pub use subscription::{
    QU_WAIT_FOREVER, qu_cluster_subscribe, qu_cluster_subscribe_callback, qu_subscription,
    qu_subscription_free, qu_subscription_missed, qu_subscription_next, qu_transition_callback,
};
pub use transition::{
    qu_check_state, qu_check_state_name, qu_transition, qu_transition_at, qu_transition_check_id,
    qu_transition_check_name, qu_transition_free, qu_transition_from, qu_transition_json,
    qu_transition_master, qu_transition_seq, qu_transition_summary, qu_transition_target,
    qu_transition_to,
};

/// The library version ("0.1.0", the `QU_VERSION` this header was made
/// with) as a static NUL-terminated string. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn qu_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_nul_terminated_and_matches_the_library() {
        // SAFETY: qu_version returns a pointer to a static NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(qu_version()) };
        assert_eq!(s.to_str().expect("utf-8"), quptime::VERSION);
    }
}
