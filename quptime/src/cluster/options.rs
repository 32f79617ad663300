//! [`NodeOptions`]: everything `Cluster::start` needs besides the data
//! directory's own files, with defaults an embedder can start from.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::consensus::Timing;
use crate::faults::Faults;
use crate::transport::Limits;

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The node's data directory (holding `node.yaml`, `keys/`, `trust.yaml`, `raft/`).
    pub data_dir: PathBuf,
    /// Apply the `QUPTIME_*` environment overrides to `node.yaml` (the
    /// daemon does; embedders may prefer not to).
    pub env_overrides: bool,
    /// Listen here instead of `node.yaml`'s bind address and port (port 0
    /// picks a free port; see [`Cluster::local_addr`](super::Cluster::local_addr)). When `node.yaml`
    /// has no advertise address, the bound address is advertised.
    pub listen: Option<SocketAddr>,
    /// Transport bounds.
    pub limits: Limits,
    /// Raft timings and the master cooldown.
    pub timing: Timing,
    /// Fault injection (for partition tests and chaos drills).
    pub faults: Faults,
    /// Probe scheduling bounds.
    pub schedule: crate::schedule::ScheduleOptions,
    /// The notifiers to use (for private CAs or plain-HTTP test receivers);
    /// built with defaults when `None`.
    pub notifiers: Option<crate::notify::Notifiers>,
    /// Serve Prometheus metrics, `/healthz` and `/readyz` over plain HTTP
    /// here (port 0 picks a free port; see [`Cluster::metrics_addr`](super::Cluster::metrics_addr)). Off
    /// when `None`; the series are kept either way ([`Cluster::metrics_text`](super::Cluster::metrics_text)).
    pub metrics_addr: Option<SocketAddr>,
    /// Serve the read-only status page (`/`, badges, `/api/status`) over
    /// plain HTTP here (port 0 picks a free port; see
    /// [`Cluster::http_addr`](super::Cluster::http_addr)). Off when `None`.
    pub http_addr: Option<SocketAddr>,
    /// Speak HTTPS on the status page and metrics listeners with this
    /// certificate chain and key (`qu serve --http-tls-cert/--http-tls-key`);
    /// plain HTTP when `None`. Checked before the node starts anything.
    pub http_tls: Option<crate::web::HttpTls>,
    /// The disk budget of this node's raw probe results
    /// (`results.redb`, `qu serve --results-max-size`), in bytes.
    pub results_max_bytes: u64,
    /// This node's own connectivity canary reference targets (`qu serve
    /// --canary-target`; `host:port` or an http(s) URL), probed besides
    /// the cluster's (`qu canary set`): while none answers, this node
    /// abstains (`engine::canary`).
    pub canary_targets: Vec<String>,
}

impl NodeOptions {
    /// Options for the node in `data_dir`, with defaults for the rest.
    pub fn new(data_dir: impl Into<PathBuf>) -> NodeOptions {
        NodeOptions {
            data_dir: data_dir.into(),
            env_overrides: false,
            listen: None,
            limits: Limits::default(),
            timing: Timing::default(),
            faults: Faults::new(),
            schedule: crate::schedule::ScheduleOptions::default(),
            notifiers: None,
            metrics_addr: None,
            http_addr: None,
            http_tls: None,
            results_max_bytes: crate::results::DEFAULT_MAX_BYTES,
            canary_targets: Vec::new(),
        }
    }
}

/// Warn when the node listens on another port than the one it advertises
/// (a half-done "port in use" fix): other nodes dial the advertised one.
pub(crate) fn warn_if_ports_differ(
    config: &crate::store::NodeConfig,
    advertise: &str,
    local_addr: std::net::SocketAddr,
) {
    if let Some(port) = crate::init::advertised_port(advertise)
        && !config.advertise.is_empty()
        && port != local_addr.port()
    {
        tracing::warn!(
            advertise = %advertise,
            listen = %local_addr,
            "this node listens on port {} but advertises port {port}: other nodes dial the \
             advertised address. Unless a NAT or port forward maps {port} here, set \
             `advertise` in node.yaml (or QUPTIME_ADVERTISE) to the port it listens on",
            local_addr.port()
        );
    }
}
