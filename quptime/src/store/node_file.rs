//! `node.yaml`: this node's own, never-replicated settings.
//!
//! The file layout is the original `qu`'s (`node_id`, `bind_addr`,
//! `bind_port`, `advertise`, and the legacy `cluster_secret`), plus a
//! `schema` number, so a node upgraded from the Go `qu` starts with its
//! existing file and a downgraded binary refuses a file it cannot read.
//! As in the original, `QUPTIME_NODE_ID`, `QUPTIME_BIND_ADDR`,
//! `QUPTIME_BIND_PORT` and `QUPTIME_ADVERTISE` override the file at every
//! load (empty values are ignored), which is how container deployments
//! configure a node. Every value is validated, from the file and from the
//! environment alike, and the error says which one is wrong and how to fix
//! it.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::addr::check_host_port;
use crate::addr::parse_port;

use super::{SCHEMA_VERSION, ensure_dir, legacy_schema, save_yaml};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::paths::NODE_FILE;

/// The default listen address: every IPv4 interface.
pub const DEFAULT_BIND_ADDR: &str = "0.0.0.0";
/// The default peer port.
pub const DEFAULT_BIND_PORT: u16 = 9901;
/// Overrides [`NodeConfig::node_id`].
pub const ENV_NODE_ID: &str = "QUPTIME_NODE_ID";
/// Overrides [`NodeConfig::bind_addr`].
pub const ENV_BIND_ADDR: &str = "QUPTIME_BIND_ADDR";
/// Overrides [`NodeConfig::bind_port`].
pub const ENV_BIND_PORT: &str = "QUPTIME_BIND_PORT";
/// Overrides [`NodeConfig::advertise`].
pub const ENV_ADVERTISE: &str = "QUPTIME_ADVERTISE";

fn default_bind_addr() -> String {
    DEFAULT_BIND_ADDR.to_owned()
}

fn default_bind_port() -> u16 {
    DEFAULT_BIND_PORT
}

/// The content of `node.yaml` (mode 0600).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// File schema; 1 when the file has none (written by the Go `qu`).
    #[serde(default = "legacy_schema")]
    pub schema: u32,
    /// This node's stable id (see [`NodeId`] for the accepted form).
    pub node_id: String,
    /// The IP address the peer listener binds to (default `0.0.0.0`).
    #[serde(default = "default_bind_addr")]
    pub bind_addr: String,
    /// The peer listener's port (default 9901).
    #[serde(default = "default_bind_port")]
    pub bind_port: u16,
    /// The `host:port` other nodes dial; empty means derive it from the bind
    /// address (see [`NodeConfig::advertise_addr`]).
    #[serde(default)]
    pub advertise: String,
    /// The cluster join secret, if any. Stored as `cluster_secret`, the Go
    /// `qu`'s name for it; omitted when `None`.
    #[serde(
        rename = "cluster_secret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secret: Option<String>,
    /// `true` on the node that founds a cluster (`qu init` without
    /// `--secret`): on its first start it initialises a one-node cluster.
    /// Joining nodes wait to be added instead. Omitted when `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bootstrap: bool,
    /// This node's labels (`qu init --label region=eu`), carried into its
    /// member record when it is admitted; omitted when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: crate::state::Labels,
}

impl fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeConfig")
            .field("schema", &self.schema)
            .field("node_id", &self.node_id)
            .field("bind_addr", &self.bind_addr)
            .field("bind_port", &self.bind_port)
            .field("advertise", &self.advertise)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("bootstrap", &self.bootstrap)
            .field("labels", &self.labels)
            .finish()
    }
}

impl NodeConfig {
    /// A configuration for `node_id` with every other field at its default.
    pub fn new(node_id: impl Into<String>) -> NodeConfig {
        NodeConfig {
            schema: SCHEMA_VERSION,
            node_id: node_id.into(),
            bind_addr: default_bind_addr(),
            bind_port: DEFAULT_BIND_PORT,
            advertise: String::new(),
            secret: None,
            bootstrap: false,
            labels: Default::default(),
        }
    }

    /// Load `dir/node.yaml` as written, without environment overrides. A
    /// missing file is [`ErrorKind::NotFound`] and says to run `qu init`.
    pub fn load(dir: &Path) -> Result<NodeConfig> {
        let path = dir.join(NODE_FILE);
        let text = crate::store::read_file(&path)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "{} does not exist: run `qu init` to set up this node \
                     (or set QUPTIME_DIR to the data directory that has one)",
                    path.display()
                ),
            )
        })?;
        NodeConfig::parse(&path, &text)
    }

    /// Parse and check the text of a `node.yaml` (`path` names it in
    /// errors): what [`NodeConfig::load`] does once the file is read.
    pub fn parse(path: &Path, text: &str) -> Result<NodeConfig> {
        let mut cfg: NodeConfig = crate::store::parse_yaml(path, text)?;
        // The Go `qu` treated empty values as unset.
        if cfg.bind_addr.is_empty() {
            cfg.bind_addr = default_bind_addr();
        }
        if cfg.secret.as_deref() == Some("") {
            cfg.secret = None;
        }
        cfg.validate().map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("{}: {}; fix the file", path.display(), e.message()),
            )
        })?;
        Ok(cfg)
    }

    /// [`NodeConfig::load`], then [`NodeConfig::apply_env`] with the real
    /// process environment: what the daemon and the CLI use.
    pub fn load_with_env(dir: &Path) -> Result<NodeConfig> {
        let mut cfg = NodeConfig::load(dir)?;
        cfg.apply_env(|key| std::env::var(key).ok())?;
        Ok(cfg)
    }

    /// Apply the `QUPTIME_*` overrides that `lookup` returns. Empty values
    /// are ignored. A bad value is an [`ErrorKind::InvalidInput`] error that
    /// names the variable, and then nothing is applied.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<()> {
        let get = |key: &str| lookup(key).filter(|v| !v.is_empty());
        let bad = |key: &str, why: Error| Error::invalid(format!("{key}: {}", why.message()));
        let mut next = self.clone();
        if let Some(v) = get(ENV_NODE_ID) {
            NodeId::new(v.as_str()).map_err(|e| bad(ENV_NODE_ID, e))?;
            next.node_id = v;
        }
        if let Some(v) = get(ENV_BIND_ADDR) {
            check_bind_addr(&v).map_err(|e| bad(ENV_BIND_ADDR, e))?;
            next.bind_addr = v;
        }
        if let Some(v) = get(ENV_BIND_PORT) {
            next.bind_port = parse_port(&v).map_err(|e| bad(ENV_BIND_PORT, e))?;
        }
        if let Some(v) = get(ENV_ADVERTISE) {
            check_host_port(&v).map_err(|e| bad(ENV_ADVERTISE, e))?;
            next.advertise = v;
        }
        *self = next;
        Ok(())
    }

    /// Check every field; [`ErrorKind::InvalidInput`] names the bad one.
    pub fn validate(&self) -> Result<()> {
        let field = |name: &str, e: Error| Error::invalid(format!("{name}: {}", e.message()));
        if self.schema == 0 || self.schema > SCHEMA_VERSION {
            return Err(Error::invalid(format!(
                "schema: {} is not a schema this qu writes (1 to {SCHEMA_VERSION})",
                self.schema
            )));
        }
        NodeId::new(self.node_id.as_str()).map_err(|e| field("node_id", e))?;
        check_bind_addr(&self.bind_addr).map_err(|e| field("bind_addr", e))?;
        if self.bind_port == 0 {
            return Err(Error::invalid(
                "bind_port: 0 is not a port: use an integer from 1 to 65535 (default 9901)",
            ));
        }
        if !self.advertise.is_empty() {
            check_host_port(&self.advertise).map_err(|e| field("advertise", e))?;
        }
        crate::state::policy::validate_labels("labels", &self.labels)
    }

    /// Write `dir/node.yaml` atomically and durably with mode 0600, creating
    /// `dir` (mode 0700) if it does not exist. An invalid configuration is
    /// refused and the existing file left as it was.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.validate()?;
        if !dir.is_dir() {
            ensure_dir(dir, 0o700)?;
        }
        save_yaml(&dir.join(NODE_FILE), self, 0o600)
    }

    /// The `host:port` peers should dial: `advertise` when set, else the
    /// bind address and port, with a wildcard bind address (`0.0.0.0`, `::`)
    /// shown as `127.0.0.1` and IPv6 literals in brackets.
    pub fn advertise_addr(&self) -> String {
        if !self.advertise.is_empty() {
            return self.advertise.clone();
        }
        match self.bind_addr.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => format!("127.0.0.1:{}", self.bind_port),
            Ok(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.bind_port),
            _ if self.bind_addr.is_empty() => format!("127.0.0.1:{}", self.bind_port),
            _ => format!("{}:{}", self.bind_addr, self.bind_port),
        }
    }
}

fn check_bind_addr(addr: &str) -> Result<()> {
    addr.parse::<IpAddr>().map(|_| ()).map_err(|_| {
        Error::invalid(format!(
            "{addr:?} is not an IP address: use one such as 0.0.0.0 (all IPv4), :: (all IPv6) \
             or 10.0.0.5"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        }
    }

    fn write(dir: &Path, text: &str) {
        std::fs::write(dir.join(NODE_FILE), text).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn round_trips_with_awkward_values_and_modes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("new/quptime");
        let mut cfg = NodeConfig::new("0123");
        cfg.bind_addr = "::".into();
        cfg.advertise = "[2001:db8::5]:9901".into();
        cfg.secret = Some("yes".into());
        cfg.save(&dir).unwrap();
        assert_eq!(NodeConfig::load(&dir).unwrap(), cfg);
        assert_eq!(mode(&dir.join(NODE_FILE)), 0o600);
        assert_eq!(mode(&dir), 0o700);

        cfg.secret = None;
        cfg.save(&dir).unwrap();
        let text = std::fs::read_to_string(dir.join(NODE_FILE)).unwrap();
        assert!(
            !text.contains("cluster_secret") && text.contains("schema: 1"),
            "{text}"
        );
        assert_eq!(NodeConfig::load(&dir).unwrap(), cfg);

        // An invalid config is refused and the file stays as it was.
        let before = std::fs::read(dir.join(NODE_FILE)).unwrap();
        cfg.bind_addr = "nope".into();
        assert_eq!(cfg.save(&dir).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(std::fs::read(dir.join(NODE_FILE)).unwrap(), before);
    }

    #[test]
    fn loads_a_file_written_by_the_go_qu() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "node_id: 3f2a1c9e-0b6d-4e59-9d1a-8c7b6a5f4e3d\nbind_addr: \"\"\nbind_port: 9901\n\
             advertise: \"\"\ncluster_secret: \"\"\n",
        );
        let cfg = NodeConfig::load(dir.path()).unwrap();
        assert_eq!((cfg.schema, cfg.bind_addr.as_str()), (1, "0.0.0.0"));
        assert_eq!(cfg.secret, None);
        assert_eq!(cfg.advertise_addr(), "127.0.0.1:9901");
        write(dir.path(), "node_id: n1\ncluster_secret: s3cret\n");
        let cfg = NodeConfig::load(dir.path()).unwrap();
        assert_eq!(
            (cfg.bind_port, cfg.secret.as_deref()),
            (9901, Some("s3cret"))
        );
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn env_overrides_apply_and_empty_values_are_ignored() {
        let mut cfg = NodeConfig::new("file-id");
        cfg.advertise = "file.example:9901".into();
        let vars = [
            (ENV_NODE_ID, "env-id"),
            (ENV_BIND_ADDR, "10.1.2.3"),
            (ENV_BIND_PORT, "9999"),
            (ENV_ADVERTISE, ""),
        ];
        cfg.apply_env(env(&vars)).unwrap();
        assert_eq!((cfg.node_id.as_str(), cfg.bind_port), ("env-id", 9999));
        assert_eq!(cfg.bind_addr, "10.1.2.3");
        assert_eq!(cfg.advertise, "file.example:9901");
        cfg.apply_env(env(&[(ENV_ADVERTISE, "pub.example:443")]))
            .unwrap();
        assert_eq!(cfg.advertise_addr(), "pub.example:443");
    }

    #[test]
    fn bad_env_values_name_the_variable_and_change_nothing() {
        let before = NodeConfig::new("n1");
        for (key, value, hint) in [
            (ENV_BIND_PORT, "99999", "1 to 65535"),
            (ENV_BIND_PORT, "nine", "1 to 65535"),
            (ENV_BIND_PORT, "0", "1 to 65535"),
            (ENV_BIND_ADDR, "localhost", "not an IP address"),
            (ENV_ADVERTISE, "http://x:1", "host:port"),
            (ENV_ADVERTISE, "2001:db8::1:9901", "brackets"),
            (ENV_NODE_ID, "a b", "node id"),
        ] {
            let mut cfg = before.clone();
            let err = cfg.apply_env(env(&[(ENV_NODE_ID, "other"), (key, value)]));
            let err = err.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            let msg = err.to_string();
            assert!(msg.contains(key) && msg.contains(hint), "{msg}");
            assert_eq!(cfg, before);
        }
    }

    #[test]
    fn missing_and_newer_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let err = NodeConfig::load(dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("qu init"), "{err}");
        let text = "schema: 2\nnode_id: n1\nsome_future_field: true\n";
        write(dir.path(), text);
        let err = NodeConfig::load_with_env(dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        let msg = err.to_string();
        assert!(msg.contains("node.yaml has schema 2"), "{msg}");
        assert!(
            msg.contains("schema 1 at most") && msg.contains("Downgrades"),
            "{msg}"
        );
        let after = std::fs::read_to_string(dir.path().join(NODE_FILE)).unwrap();
        assert_eq!(after, text);
    }

    #[test]
    fn bad_files_are_config_errors_that_point_at_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needles) in [
            (
                "node_id: n1\nbind_prot: 9901\n",
                &["unknown field `bind_prot`", "line 2"][..],
            ),
            ("node_id: n1\nbind_port: [9901\n", &["line 2"]),
            ("node_id: n1\nbind_port: 70000\n", &["line 2"]),
            ("bind_port: 9901\n", &["node_id"]),
            (
                "node_id: n1\nbind_addr: my-host\n",
                &["bind_addr", "IP address"],
            ),
            (
                "node_id: n1\nadvertise: my-host\n",
                &["advertise", "no port"],
            ),
            ("node_id: n1\nbind_port: 0\n", &["bind_port"]),
            ("schema: 0\nnode_id: n1\n", &["schema 0"]),
            ("\n", &["empty"]),
        ] {
            write(dir.path(), text);
            let err = NodeConfig::load(dir.path()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{text:?}: {err}");
            let msg = err.to_string();
            assert!(msg.contains("node.yaml"), "{msg}");
            for needle in needles {
                assert!(msg.contains(needle), "{text:?}: {msg}");
            }
        }
    }
}
