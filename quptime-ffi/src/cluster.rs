//! `qu_cluster`: starting, joining, inspecting and stopping a node.
//!
//! A `qu_cluster` is one monitor node running inside the C program (with a
//! small runtime of its own: `quptime::blocking::Node`). Every function here
//! blocks the calling thread until the node answers and may be called from
//! any thread, concurrently.

use std::ffi::c_char;
use std::path::Path;
use std::time::Duration;

use quptime::NodeOptions;
use quptime::Timing;
use quptime::blocking::Node;
use quptime::enroll::JoinOptions;
use quptime::init::{InitOptions, open_or_init};

use crate::options::{Collected, collected, qu_node_options_builder};

use crate::guard::{call, opt_str_arg, out_arg, str_arg, write_out};
use crate::handle::{Registry, give_string};
use crate::result::{Fail, qu_result};

/// A monitor node running in this process (opaque).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct qu_cluster {
    _private: [u8; 0],
}

pub(crate) static CLUSTERS: Registry<Node> = Registry::new("cluster handle");

/// How to start (and, for an empty data directory, create) a node. Zero
/// every field you do not set (`qu_node_options o = {0};`): zero and NULL
/// mean "the default".
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct qu_node_options {
    /// The node's data directory (required). Created (mode 0700) with a new
    /// identity when it holds no node yet, as `qu init` does.
    pub data_dir: *const c_char,
    /// Address to listen on for peers, such as "127.0.0.1". NULL: the one
    /// in `node.yaml` (0.0.0.0 for a new node).
    pub bind: *const c_char,
    /// Port to listen on for peers. 0: the one in `node.yaml` (9901 for a
    /// new node).
    pub port: u16,
    /// `host:port` that peers dial (new nodes only; NULL: derived from bind
    /// and port). For an existing node it must be NULL or the saved value.
    pub advertise: *const c_char,
    /// The cluster join secret (new nodes only). NULL founds a new cluster
    /// with a fresh secret; a secret prepares a node that a member then adds
    /// (`qu node add`). Must be NULL for `qu_cluster_join` and, for an
    /// existing node, NULL or the saved value.
    pub secret: *const c_char,
    /// The node's id (new nodes only; NULL: a random UUID). For an existing
    /// node it must be NULL or the saved id.
    pub node_id: *const c_char,
    /// Raft heartbeat in milliseconds (0: 400). Every member should use the
    /// same timings.
    pub heartbeat_ms: u32,
    /// Minimum Raft election timeout in milliseconds (0: 800); the maximum
    /// is twice this. At least twice the heartbeat. Small values (such as
    /// heartbeat 100, election 500) fail over fast on a LAN or in tests.
    pub election_timeout_ms: u32,
}

/// The validated contents of a `qu_node_options`.
struct Options<'a> {
    dir: &'a Path,
    init: InitOptions,
    timing: Timing,
}

/// # Safety
/// `opts` points to a valid `qu_node_options` whose strings are NULL or
/// NUL-terminated.
unsafe fn read_options<'a>(opts: *const qu_node_options) -> Result<Options<'a>, Fail> {
    if opts.is_null() {
        return Err(Fail::null("options"));
    }
    // SAFETY: non-NULL and valid by the caller's contract.
    let o = unsafe { &*opts };
    // SAFETY: each field is NULL or NUL-terminated by the same contract.
    let (dir, bind, advertise, secret, node_id) = unsafe {
        (
            str_arg(o.data_dir, "options.data_dir")?,
            opt_str_arg(o.bind, "options.bind")?,
            opt_str_arg(o.advertise, "options.advertise")?,
            opt_str_arg(o.secret, "options.secret")?,
            opt_str_arg(o.node_id, "options.node_id")?,
        )
    };
    if dir.is_empty() {
        return Err(Fail::invalid("options.data_dir is empty; name a directory"));
    }
    let set = Collected {
        heartbeat_ms: (o.heartbeat_ms != 0).then_some(o.heartbeat_ms),
        election_timeout_ms: (o.election_timeout_ms != 0).then_some(o.election_timeout_ms),
        ..Collected::default()
    };
    // Validated here too, before `qu_cluster_join` writes anything.
    let timing = set.timing();
    timing.validate()?;
    Ok(Options {
        dir: Path::new(dir),
        init: InitOptions {
            node_id: node_id.map(String::from),
            bind_addr: bind.map(String::from),
            bind_port: (o.port != 0).then_some(o.port),
            advertise: advertise.map(String::from),
            secret: secret.map(String::from),
            labels: Default::default(),
        },
        timing,
    })
}

fn start_node(opts: NodeOptions, out: *mut *mut qu_cluster) -> Result<(), Fail> {
    let node = Node::start(opts)?;
    // SAFETY: `out` was checked non-NULL by the caller and is valid for writes.
    unsafe { write_out(out, CLUSTERS.insert(node)) };
    Ok(())
}

/// Start the node whose identity is in `data_dir` (made by `qu init`,
/// `qu enroll join` or an earlier `qu_cluster_start_with`), with default
/// timings and the listen address of its `node.yaml`.
///
/// On `QU_OK`, `*out` holds a new handle: stop and release it with
/// `qu_cluster_free`. Blocks until the node runs.
///
/// # Safety
/// `data_dir` is NULL or a NUL-terminated string; `out` is NULL or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_start(
    data_dir: *const c_char,
    out: *mut *mut qu_cluster,
) -> qu_result {
    call(|| {
        // SAFETY: forwarded contract.
        let dir = unsafe { str_arg(data_dir, "data_dir")? };
        let out = out_arg(out, "out")?;
        start_node(NodeOptions::new(dir), out)
    })
}

/// Start a node as `opts` describes. When `opts->data_dir` holds no node
/// yet, first create one there (identity, keys, `node.yaml`) from `bind`,
/// `port`, `advertise`, `secret` and `node_id`; with no secret, the new node
/// founds a cluster of its own, whose other members join with tokens
/// (`qu_cluster_create_token`, `qu_cluster_join`).
///
/// On `QU_OK`, `*out` holds a new handle: release it with `qu_cluster_free`.
/// A failed creation leaves no half-made identity behind.
///
/// # Safety
/// `opts` is NULL or points to a valid `qu_node_options`; `out` is NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_start_with(
    opts: *const qu_node_options,
    out: *mut *mut qu_cluster,
) -> qu_result {
    call(|| {
        // SAFETY: forwarded contract.
        let o = unsafe { read_options(opts)? };
        let out = out_arg(out, "out")?;
        start_node(open_or_init(o.dir, o.init, o.timing)?, out)
    })
}

/// Start the node `opts` describes (built with `qu_node_options_new` and
/// the `qu_node_options_set_*` functions), first creating it when its data
/// directory holds no node yet, exactly as `qu_cluster_start_with` does.
/// An identity setting (node id, advertise, secret) that differs from the
/// saved node's is refused with `QU_ERR_INVALID_INPUT`, and
/// `qu_last_error_field()` names it. `opts` may be freed once this returns.
///
/// On `QU_OK`, `*out` holds a new handle: release it with `qu_cluster_free`.
///
/// # Safety
/// `opts` is any pointer value (checked); `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_open(
    opts: *const qu_node_options_builder,
    out: *mut *mut qu_cluster,
) -> qu_result {
    call(|| {
        let out = out_arg(out, "out")?;
        let o = collected(opts)?;
        let dir = o.data_dir.clone().unwrap_or_default();
        start_node(open_or_init(&dir, o.init.clone(), o.timing())?, out)
    })
}

/// Join the cluster of an enrollment `token` (from `qu enroll create` or
/// `qu_cluster_create_token`) with a new node in the empty
/// `opts->data_dir`, then start it. `bind`, `port` and `advertise` say where
/// it listens and how members reach it; `secret` must be NULL. Waits up to
/// `wait_ms` for an approval when the token needs one (0: do not wait).
///
/// On `QU_OK`, `*out` holds a new handle: release it with `qu_cluster_free`.
/// Restart a joined node later with `qu_cluster_start`/`_start_with`.
///
/// # Safety
/// `opts` is NULL or points to a valid `qu_node_options`; `token` is NULL or
/// NUL-terminated; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_join(
    opts: *const qu_node_options,
    token: *const c_char,
    wait_ms: u32,
    out: *mut *mut qu_cluster,
) -> qu_result {
    call(|| {
        // SAFETY: forwarded contract.
        let (o, token) = unsafe { (read_options(opts)?, str_arg(token, "token")?) };
        let out = out_arg(out, "out")?;
        if o.init.secret.is_some() {
            return Err(Fail::invalid(
                "options.secret must be NULL when joining with a token: the token proves \
                 the node's right to join",
            ));
        }
        let join = JoinOptions {
            init: o.init.clone(),
            wait: Duration::from_millis(wait_ms.into()),
        };
        Node::join(o.dir, token, join)?;
        let mut start = NodeOptions::new(o.dir);
        start.timing = o.timing.clone();
        start_node(start, out)
    })
}

/// Stop the node gracefully: leadership handed over, probes and sockets
/// closed, subscriptions ended (`QU_CLOSED`). Idempotent. Afterwards every
/// call on the handle but `qu_cluster_free` answers `QU_CLOSED`.
///
/// Must not be called from a transition callback of the same node.
///
/// # Safety
/// `cluster` is NULL or any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_shutdown(cluster: *const qu_cluster) -> qu_result {
    call(|| Ok(CLUSTERS.get(cluster)?.shutdown()?))
}

/// Shut the node down (if it still runs) and release the handle. The
/// handle is released even when the shutdown reports an error. NULL does
/// nothing; freeing a handle twice returns `QU_ERR_INVALID_HANDLE` and
/// does nothing else.
///
/// # Safety
/// `cluster` is NULL or any pointer value (checked).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_free(cluster: *mut qu_cluster) -> qu_result {
    call(|| {
        let Some(node) = CLUSTERS.release(cluster)? else {
            return Ok(());
        };
        let stopped = node.shutdown();
        drop(node);
        Ok(stopped?)
    })
}

/// This node's id. On `QU_OK`, `*out` is a new string: free it with
/// `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_node_id(
    cluster: *const qu_cluster,
    out: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out, "out")?;
        node.block_on(async {})?;
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, give_string(node.cluster().node_id().to_string())) };
        Ok(())
    })
}

/// This node's key fingerprint (`sha256:…`), what a member confirms when
/// it adds this node (`qu_cluster_add_node`). On `QU_OK`, `*out` is a new
/// string: free it with `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_fingerprint(
    cluster: *const qu_cluster,
    out: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out, "out")?;
        node.block_on(async {})?;
        let fp = node.cluster().fingerprint().to_string();
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, give_string(fp)) };
        Ok(())
    })
}

/// The port the node listens on for peers: the bound one, so after a
/// start on port 0 it is the free port the system picked.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_port(cluster: *const qu_cluster, out: *mut u16) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out, "out")?;
        node.block_on(async {})?;
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, node.cluster().local_addr().port()) };
        Ok(())
    })
}

/// The node's view of the cluster as the JSON document `qu status --json`
/// prints (term, master, quorum, members with liveness, checks with
/// states). On `QU_OK`, `*out` is a new string: free it with
/// `qu_string_free`.
///
/// # Safety
/// `cluster` is any pointer value (checked); `out` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_status_json(
    cluster: *const qu_cluster,
    out: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        let out = out_arg(out, "out")?;
        let json = node.status_json()?;
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, give_string(json)) };
        Ok(())
    })
}

/// Create a single-use enrollment token another node joins with
/// (`qu_cluster_join`, `qu enroll join`). `name` (may be NULL) labels it in
/// `qu enroll list`; it expires after `ttl_s` seconds (0: one hour); with
/// `auto_approve` the joiner is admitted without `qu enroll approve`.
/// On `QU_OK`, `*out` is a new string: free it with `qu_string_free`. The
/// token is a credential: hand it only to the new node.
///
/// # Safety
/// `cluster` is any pointer value (checked); `name` is NULL or
/// NUL-terminated; `out` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_cluster_create_token(
    cluster: *const qu_cluster,
    name: *const c_char,
    ttl_s: u32,
    auto_approve: bool,
    out: *mut *mut c_char,
) -> qu_result {
    call(|| {
        let node = CLUSTERS.get(cluster)?;
        // SAFETY: forwarded contract.
        let name = unsafe { opt_str_arg(name, "name")? };
        let out = out_arg(out, "out")?;
        let ttl = Duration::from_secs(if ttl_s == 0 { 3600 } else { ttl_s.into() });
        let token = node.create_token(name.map(String::from), ttl, auto_approve)?;
        // SAFETY: checked non-NULL; valid for writes by contract.
        unsafe { write_out(out, give_string(token)) };
        Ok(())
    })
}
