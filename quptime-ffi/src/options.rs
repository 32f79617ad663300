//! `qu_node_options_builder`: start options as an opaque handle, set one
//! field at a time (`qu_node_options_set_*`), so a later release can add
//! settings without changing a struct layout C programs compiled against.
//!
//! The builder copies every string it is given (the caller's buffers may
//! go away at once) and checks each value as it is set; `qu_cluster_open`
//! then initialises or starts the node through the library's one
//! `quptime::init::open_or_init`.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use quptime::Timing;
use quptime::init::InitOptions;

use crate::guard::{call, str_arg};
use crate::handle::Registry;
use crate::result::{Fail, qu_result};

/// Options for `qu_cluster_open`, built with `qu_node_options_new` and the
/// `qu_node_options_set_*` functions (opaque).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct qu_node_options_builder {
    _private: [u8; 0],
}

/// What the setters collected.
#[derive(Debug, Default, Clone)]
pub(crate) struct Collected {
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) init: InitOptions,
    pub(crate) heartbeat_ms: Option<u32>,
    pub(crate) election_timeout_ms: Option<u32>,
}

impl Collected {
    /// The Raft timings: defaults for what was not set, the election
    /// maximum twice the minimum (validated by the library).
    pub(crate) fn timing(&self) -> Timing {
        let mut t = Timing::default();
        if let Some(ms) = self.heartbeat_ms {
            t.heartbeat = Duration::from_millis(ms.into());
        }
        if let Some(ms) = self.election_timeout_ms {
            t.election_min = Duration::from_millis(ms.into());
            t.election_max = t.election_min * 2;
        }
        t
    }
}

pub(crate) static OPTIONS: Registry<Mutex<Collected>> = Registry::new("node options handle");

/// A new, empty set of node options (every field its default). Free it
/// with `qu_node_options_free`; it may be freed right after
/// `qu_cluster_open` returns. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn qu_node_options_new() -> *mut qu_node_options_builder {
    OPTIONS.insert(Mutex::new(Collected::default()))
}

/// Release options made by `qu_node_options_new`. NULL does nothing; a
/// second free returns `QU_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `opts` is NULL or any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_free(opts: *mut qu_node_options_builder) -> qu_result {
    call(|| OPTIONS.release(opts).map(drop))
}

/// Apply `set` to the options behind `opts`.
fn with(
    opts: *mut qu_node_options_builder,
    set: impl FnOnce(&mut Collected) -> Result<(), Fail>,
) -> Result<(), Fail> {
    let o = OPTIONS.get(opts)?;
    let mut o = o
        .lock()
        .map_err(|_| Fail::invalid("the options were poisoned by a panic; make new ones"))?;
    set(&mut o)
}

/// Copy the string argument `value` (non-NULL, UTF-8, not empty).
///
/// # Safety
/// `value` is NULL or NUL-terminated.
unsafe fn text(value: *const c_char, what: &str) -> Result<String, Fail> {
    // SAFETY: forwarded contract.
    let v = unsafe { str_arg(value, what)? };
    if v.is_empty() {
        return Err(Fail::invalid(format!("{what} is empty")));
    }
    Ok(v.to_string())
}

/// Set a text option: `value` copied (non-NULL, UTF-8, not empty) and
/// stored by `apply`; on failure the options are unchanged.
///
/// # Safety
/// `value` is NULL or NUL-terminated.
unsafe fn set_text(
    opts: *mut qu_node_options_builder,
    value: *const c_char,
    what: &str,
    apply: impl FnOnce(&mut Collected, String),
) -> qu_result {
    call(|| {
        // SAFETY: forwarded contract.
        let v = unsafe { text(value, what)? };
        with(opts, |o| {
            apply(o, v);
            Ok(())
        })
    })
}

/// The node's data directory (required). A directory holding no node
/// yet gets a new identity there (mode 0700), as `qu init` does.
///
/// The string is copied. `QU_ERR_NULL_POINTER`, `QU_ERR_INVALID_UTF8` or
/// `QU_ERR_INVALID_INPUT` (empty) leave the options unchanged.
///
/// # Safety
/// `opts` is any pointer value (checked); `value` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_data_dir(
    opts: *mut qu_node_options_builder,
    value: *const c_char,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe {
        set_text(opts, value, "data_dir", |o, v| {
            o.data_dir = Some(PathBuf::from(v))
        })
    }
}

/// The IP address to listen on for peers, such as "127.0.0.1" (for an
/// existing node: instead of the one in its `node.yaml`).
///
/// The string is copied. `QU_ERR_NULL_POINTER`, `QU_ERR_INVALID_UTF8` or
/// `QU_ERR_INVALID_INPUT` (empty) leave the options unchanged.
///
/// # Safety
/// `opts` is any pointer value (checked); `value` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_bind(
    opts: *mut qu_node_options_builder,
    value: *const c_char,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe { set_text(opts, value, "bind", |o, v| o.init.bind_addr = Some(v)) }
}

/// `host:port` that peers dial (new nodes; an existing node refuses a
/// different one). Unset: the address the node listens on.
///
/// The string is copied. `QU_ERR_NULL_POINTER`, `QU_ERR_INVALID_UTF8` or
/// `QU_ERR_INVALID_INPUT` (empty) leave the options unchanged.
///
/// # Safety
/// `opts` is any pointer value (checked); `value` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_advertise(
    opts: *mut qu_node_options_builder,
    value: *const c_char,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe { set_text(opts, value, "advertise", |o, v| o.init.advertise = Some(v)) }
}

/// The cluster join secret (new nodes; an existing node refuses a
/// different one). Unset: a new node founds a cluster of its own.
///
/// The string is copied. `QU_ERR_NULL_POINTER`, `QU_ERR_INVALID_UTF8` or
/// `QU_ERR_INVALID_INPUT` (empty) leave the options unchanged.
///
/// # Safety
/// `opts` is any pointer value (checked); `value` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_secret(
    opts: *mut qu_node_options_builder,
    value: *const c_char,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe { set_text(opts, value, "secret", |o, v| o.init.secret = Some(v)) }
}

/// The node's id (new nodes; unset: a random UUID). An existing node
/// refuses a different one.
///
/// The string is copied. `QU_ERR_NULL_POINTER`, `QU_ERR_INVALID_UTF8` or
/// `QU_ERR_INVALID_INPUT` (empty) leave the options unchanged.
///
/// # Safety
/// `opts` is any pointer value (checked); `value` is NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_node_id(
    opts: *mut qu_node_options_builder,
    value: *const c_char,
) -> qu_result {
    // SAFETY: forwarded contract.
    unsafe { set_text(opts, value, "node_id", |o, v| o.init.node_id = Some(v)) }
}

/// The port to listen on for peers; **0 means a free port** (read it back
/// with `qu_cluster_port`). Unset: the one in `node.yaml` (9901 for a new
/// node).
///
/// # Safety
/// `opts` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_port(
    opts: *mut qu_node_options_builder,
    port: u16,
) -> qu_result {
    call(|| {
        with(opts, |o| {
            o.init.bind_port = Some(port);
            Ok(())
        })
    })
}

/// The Raft heartbeat in milliseconds (unset: 400; at least 1). Every
/// member should use the same timings.
///
/// # Safety
/// `opts` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_heartbeat_ms(
    opts: *mut qu_node_options_builder,
    ms: u32,
) -> qu_result {
    call(|| {
        with(opts, |o| {
            o.heartbeat_ms = Some(ms);
            Ok(())
        })
    })
}

/// The minimum Raft election timeout in milliseconds (unset: 800); the
/// maximum is twice this. It must be at least twice the heartbeat:
/// `qu_cluster_open` refuses other timings with `QU_ERR_INVALID_INPUT`
/// and `qu_last_error_field()` "election_timeout_ms".
///
/// # Safety
/// `opts` is any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_node_options_set_election_timeout_ms(
    opts: *mut qu_node_options_builder,
    ms: u32,
) -> qu_result {
    call(|| {
        with(opts, |o| {
            o.election_timeout_ms = Some(ms);
            Ok(())
        })
    })
}

/// What `qu_cluster_open` needs from `opts`: the data directory, the
/// init options and the timing.
pub(crate) fn collected(opts: *const qu_node_options_builder) -> Result<Collected, Fail> {
    let o = OPTIONS.get(opts)?;
    let o = o
        .lock()
        .map_err(|_| Fail::invalid("the options were poisoned by a panic; make new ones"))?
        .clone();
    if o.data_dir.is_none() {
        return Err(Fail::invalid(
            "data_dir is not set; call qu_node_options_set_data_dir first",
        ));
    }
    Ok(o)
}
