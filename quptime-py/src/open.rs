//! Creating, starting and joining a node from Python's keywords: what
//! `init`, `Cluster.start` and `Cluster.join` do before a node runs.
//!
//! Separate from the running [`crate::node::Node`] so that the rules of
//! the keywords (`port=0` is a free port; identity keywords only apply to
//! a new directory, enforced by the library) sit together, apart from the
//! thin method wrappers.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use quptime::Timing;
use quptime::blocking::Node as BlockingNode;
use quptime::enroll::{JoinOptions, Joined};
use quptime::init::{
    InitOptions, Initialised, init_node as lib_init_node, is_initialised, open_or_init,
};

use crate::args::{free_port, ip_of, port_of, text_duration};
use crate::to_pyerr;

/// Where and as whom a node runs: the keywords `init`, `start` and `join`
/// share.
pub(crate) struct Place {
    pub(crate) bind: Option<String>,
    pub(crate) port: Option<i64>,
    pub(crate) advertise: Option<String>,
    pub(crate) node_id: Option<String>,
    pub(crate) secret: Option<String>,
}

impl Place {
    /// The library's init options; `port=0` becomes a port free now (a
    /// `node.yaml` needs a real one).
    fn init_options(self) -> quptime::Result<InitOptions> {
        if let Some(b) = &self.bind {
            ip_of(b)?;
        }
        let bind_port = match port_of(self.port)? {
            Some(0) => Some(free_port(self.bind.as_deref())?),
            p => p,
        };
        Ok(InitOptions {
            node_id: self.node_id,
            bind_addr: self.bind,
            bind_port,
            advertise: self.advertise,
            secret: self.secret,
            labels: Default::default(),
        })
    }
}

/// `init`: create the identity and `node.yaml`.
pub(crate) fn init(dir: &Path, place: Place) -> quptime::Result<Initialised> {
    lib_init_node(dir, place.init_options()?)
}

/// `Cluster.start`: the library's init-or-start
/// ([`quptime::init::open_or_init`]): a new `dir` is initialised, an
/// existing node refuses identity keywords that differ from its saved
/// ones, and `port=0` listens on a free port.
pub(crate) fn start(
    dir: &Path,
    place: Place,
    timing: Option<Timing>,
    env_overrides: bool,
) -> quptime::Result<BlockingNode> {
    if let Some(b) = &place.bind {
        ip_of(b)?;
    }
    let init = InitOptions {
        node_id: place.node_id,
        bind_addr: place.bind,
        bind_port: port_of(place.port)?,
        advertise: place.advertise,
        secret: place.secret,
        labels: Default::default(),
    };
    let mut opts = open_or_init(dir, init, timing.unwrap_or_default())?;
    opts.env_overrides = env_overrides;
    BlockingNode::start(opts)
}

/// `Cluster.join`: set up a new node in `dir` from an enrollment token,
/// waiting up to `wait` for an approval. Without a port (or with 0) a free
/// one is chosen, since the advertised address needs it before start.
pub(crate) fn join(dir: &Path, token: &str, place: Place, wait: &str) -> quptime::Result<Joined> {
    let wait = text_duration("wait", wait)?;
    let mut place = place;
    if place.port.is_none() {
        place.port = Some(0);
    }
    place.secret = None;
    let opts = JoinOptions {
        init: place.init_options()?,
        wait,
    };
    BlockingNode::join(dir, token, opts)
}

/// Initialise a node directory (`qu init`): returns (node id, key
/// fingerprint, whether a new cluster secret was generated).
#[pyfunction]
#[pyo3(signature = (data_dir, bind=None, port=None, advertise=None, node_id=None, secret=None))]
pub(crate) fn init_node(
    py: Python<'_>,
    data_dir: PathBuf,
    bind: Option<String>,
    port: Option<i64>,
    advertise: Option<String>,
    node_id: Option<String>,
    secret: Option<String>,
) -> PyResult<(String, String, bool)> {
    let place = Place {
        bind,
        port,
        advertise,
        node_id,
        secret,
    };
    let done = py
        .detach(move || init(&data_dir, place))
        .map_err(|e| to_pyerr(py, e))?;
    Ok((
        done.config.node_id.clone(),
        done.identity.fingerprint().to_string(),
        done.secret_generated,
    ))
}

/// Whether `data_dir` already holds a node.
#[pyfunction]
#[pyo3(name = "is_initialised")]
pub(crate) fn is_initialised_py(py: Python<'_>, data_dir: PathBuf) -> PyResult<bool> {
    is_initialised(&data_dir).map_err(|e| to_pyerr(py, e))
}
