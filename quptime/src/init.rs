//! Creating a node's identity: the library side of `qu init`.
//!
//! Initialisation either completes or leaves nothing behind. Inputs are
//! validated before anything is written; an existing identity is never
//! overwritten; keys are written first and `node.yaml` last, so `node.yaml`
//! is the commit marker, and a failure part-way removes what this call
//! created so the operator can simply retry.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::cluster::NodeOptions;
use crate::consensus::Timing;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Identity, NodeId};
use crate::paths::{KEYS_DIR, NODE_FILE};
use crate::store::{NodeConfig, ensure_dir};

/// What `qu init` may set. Unset fields take their defaults (random NodeId,
/// bind 0.0.0.0, advertise derived from bind, fresh secret; the port is the
/// advertised address's port when one is given, else 9901, so
/// `--advertise host:19961` alone listens where peers will dial).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The node's id; a UUID v4 when `None`.
    pub node_id: Option<String>,
    /// Address to listen on for peers.
    pub bind_addr: Option<String>,
    /// Port to listen on for peers; `None`: the port of `advertise`, else
    /// 9901.
    pub bind_port: Option<u16>,
    /// `host:port` that peers dial.
    pub advertise: Option<String>,
    /// The cluster join secret; generated when `None`.
    pub secret: Option<String>,
    /// The node's labels (`region=eu`), saved in `node.yaml`.
    pub labels: crate::state::Labels,
}

/// The outcome of a successful [`init_node`].
#[derive(Debug, Clone)]
pub struct Initialised {
    /// The data directory written to.
    pub data_dir: PathBuf,
    /// The node configuration as saved.
    pub config: NodeConfig,
    /// The new identity.
    pub identity: Identity,
    /// Whether the secret was generated here (print it for the operator).
    pub secret_generated: bool,
}

/// A fresh random join secret: 256 bits from the OS generator as 64 hex
/// digits (see `crate::secret`).
pub fn generate_secret() -> Result<String> {
    crate::secret::generate()
}

/// Whether `dir` already holds a node (a `node.yaml` or keys). A directory
/// this process may not look into is an error (naming the owner and mode),
/// not "no node": nothing must be created over an identity it cannot see.
pub fn is_initialised(dir: &Path) -> Result<bool> {
    for p in [
        dir.join(NODE_FILE),
        dir.join(KEYS_DIR).join(crate::paths::PRIVATE_KEY_FILE),
        dir.join(KEYS_DIR).join(crate::paths::CERT_FILE),
    ] {
        match p.try_exists() {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(e) => return Err(Error::io_at("look for an identity in", &p, e)),
        }
    }
    Ok(false)
}

/// Create the identity and `node.yaml` in `dir`.
pub fn init_node(dir: &Path, opts: InitOptions) -> Result<Initialised> {
    if is_initialised(dir)? {
        let who = NodeConfig::load(dir)
            .map(|c| format!("node {}", c.node_id))
            .unwrap_or_else(|_| "an identity".to_string());
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} already holds {who}; qu init never overwrites an identity: \
                 to start over, stop the daemon and move that directory away",
                dir.display()
            ),
        ));
    }
    let node_id = match opts.node_id {
        Some(id) => NodeId::new(id)?,
        None => NodeId::random(),
    };
    let mut config = NodeConfig::new(node_id.as_str());
    if let Some(a) = opts.bind_addr {
        config.bind_addr = a;
    }
    if let Some(p) = opts.bind_port {
        config.bind_port = p;
    }
    if let Some(a) = opts.advertise {
        config.advertise = a;
    }
    crate::state::policy::validate_labels("--label", &opts.labels)?;
    config.labels = opts.labels;
    if opts.bind_port.is_none()
        && let Some(port) = advertised_port(&config.advertise)
    {
        config.bind_port = port;
    }
    let secret_generated = opts.secret.is_none();
    if let Some(given) = &opts.secret {
        crate::secret::check("cluster secret (--secret or QUPTIME_CLUSTER_SECRET)", given)?;
    }
    let secret = match opts.secret {
        Some(s) => s,
        None => generate_secret()?,
    };
    config.secret = Some(secret);
    // Without a given secret this node founds a new cluster; with one it
    // joins an existing cluster and must not create its own.
    config.bootstrap = secret_generated;
    config.validate()?;
    let identity = Identity::generate(node_id)?;

    let created_dir = !dir.exists();
    ensure_dir_keep_mode(dir)?;
    let written = identity.save(dir).and_then(|()| config.save(dir));
    if let Err(e) = written {
        // Leave the directory as it was before this call.
        let _ = std::fs::remove_dir_all(dir.join(KEYS_DIR));
        let _ = std::fs::remove_file(dir.join(NODE_FILE));
        if created_dir {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(e);
    }
    Ok(Initialised {
        data_dir: dir.to_path_buf(),
        config,
        identity,
        secret_generated,
    })
}

/// Start options for the node in `dir`, creating it first when `dir` holds
/// none: the one "initialise or start" every front end shares (`qu serve`,
/// the C ABI, Python).
///
/// For a new node `init` is what [`init_node`] takes. For an existing node
/// the identity fields (`node_id`, `advertise`, `secret`) must be unset or
/// equal to the saved ones: a differing one is refused with an error naming
/// that field, never silently ignored. `bind_addr`/`bind_port` say where to
/// listen either way (overriding `node.yaml` for an existing node), and a
/// `bind_port` of 0 listens on a free port ([`crate::Cluster::local_addr`]
/// says which). `timing` is validated ([`Timing::validate`]) before
/// anything is written.
pub fn open_or_init(dir: &Path, init: InitOptions, timing: Timing) -> Result<NodeOptions> {
    timing.validate()?;
    let free_port = init.bind_port == Some(0);
    let bind_addr = init.bind_addr.clone();
    let existed = is_initialised(dir)?;
    let saved = if existed {
        let saved = NodeConfig::load(dir)?;
        refuse_other_identity(dir, &init, &saved)?;
        saved
    } else {
        let init = InitOptions {
            bind_port: init.bind_port.filter(|p| *p != 0),
            ..init.clone()
        };
        init_node(dir, init)?.config
    };
    let mut opts = NodeOptions::new(dir);
    opts.timing = timing;
    // A new node's node.yaml holds its bind address and port already; an
    // existing one's are overridden; port 0 is bound at start either way.
    if free_port || (existed && (bind_addr.is_some() || init.bind_port.is_some())) {
        let ip_text = bind_addr.as_deref().unwrap_or(&saved.bind_addr);
        let ip: IpAddr = ip_text.parse().map_err(|_| {
            Error::invalid_field(
                "bind_addr",
                format!("{ip_text:?} is not an IP address; use one such as 127.0.0.1"),
            )
        })?;
        let port = if free_port {
            0
        } else {
            init.bind_port.unwrap_or(saved.bind_port)
        };
        opts.listen = Some(SocketAddr::new(ip, port));
    }
    Ok(opts)
}

/// Refuse an identity field of `init` that differs from the saved node's.
fn refuse_other_identity(dir: &Path, init: &InitOptions, saved: &NodeConfig) -> Result<()> {
    let advertise = saved.advertise_addr();
    for (field, given, saved) in [
        ("node_id", &init.node_id, saved.node_id.as_str()),
        ("advertise", &init.advertise, advertise.as_str()),
        (
            "secret",
            &init.secret,
            saved.secret.as_deref().unwrap_or(""),
        ),
    ] {
        if given.as_deref().is_some_and(|g| g != saved) {
            return Err(Error::invalid_field(
                field,
                format!(
                    "differs from the one saved in {}: it only applies to a new node; leave it \
                     unset, or use an empty data directory for a new node",
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The port of a `host:port` advertise address (none when it has no valid
/// port; validation reports that).
pub fn advertised_port(advertise: &str) -> Option<u16> {
    let (_, port) = advertise.rsplit_once(':')?;
    port.parse::<u16>().ok().filter(|p| *p != 0)
}

/// Create `dir` as 0700 if missing; an existing directory keeps its mode
/// (an installer may have set 0750 on purpose).
fn ensure_dir_keep_mode(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    ensure_dir(dir, 0o700)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn init_creates_everything_and_refuses_a_second_time() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let done = init_node(
            &dir,
            InitOptions {
                advertise: Some("127.0.0.1:19901".into()),
                bind_addr: Some("127.0.0.1".into()),
                bind_port: Some(19901),
                ..InitOptions::default()
            },
        )
        .expect("init");
        assert!(done.secret_generated);
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("node.yaml")), 0o600);
        let loaded = NodeConfig::load(&dir).expect("load");
        assert_eq!(loaded.node_id, done.identity.node_id().as_str());
        assert_eq!(loaded.advertise_addr(), "127.0.0.1:19901");

        let before = std::fs::read(dir.join("keys/private.pem")).expect("read");
        let err = init_node(&dir, InitOptions::default()).expect_err("second init");
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(err.to_string().contains(loaded.node_id.as_str()), "{err}");
        assert_eq!(
            std::fs::read(dir.join("keys/private.pem")).expect("read"),
            before
        );
    }

    #[test]
    fn without_a_port_the_node_binds_the_advertised_one() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a");
        let done = init_node(
            &dir,
            InitOptions {
                advertise: Some("host.example:19961".into()),
                ..InitOptions::default()
            },
        )
        .expect("init");
        assert_eq!(done.config.bind_port, 19961);
        let dir = tmp.path().join("b");
        let done = init_node(
            &dir,
            InitOptions {
                advertise: Some("host.example:19961".into()),
                bind_port: Some(9000),
                ..InitOptions::default()
            },
        )
        .expect("init");
        assert_eq!(done.config.bind_port, 9000, "an explicit port wins (NAT)");
        let done = init_node(&tmp.path().join("c"), InitOptions::default()).expect("init");
        assert_eq!(done.config.bind_port, 9901);
    }

    #[test]
    fn bad_input_writes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        for opts in [
            InitOptions {
                advertise: Some("no-port".into()),
                ..InitOptions::default()
            },
            InitOptions {
                bind_addr: Some("not-an-ip".into()),
                ..InitOptions::default()
            },
            InitOptions {
                node_id: Some("bad id".into()),
                ..InitOptions::default()
            },
        ] {
            let err = init_node(&dir, opts).expect_err("invalid");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(!dir.exists(), "nothing may be written on bad input");
        }
    }

    #[test]
    fn open_or_init_creates_then_reopens_and_refuses_another_identity() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let given = InitOptions {
            node_id: Some("alpha".into()),
            bind_addr: Some("127.0.0.1".into()),
            bind_port: Some(19902),
            ..InitOptions::default()
        };
        let first = open_or_init(&dir, given.clone(), Timing::default()).expect("init");
        assert_eq!(
            first.listen, None,
            "a new node listens where node.yaml says"
        );
        assert_eq!(NodeConfig::load(&dir).expect("load").node_id, "alpha");
        // The same identity again: started, not re-created.
        let again = open_or_init(&dir, given, Timing::default()).expect("reopen");
        assert_eq!(again.data_dir, dir);
        let other = InitOptions {
            node_id: Some("beta".into()),
            ..InitOptions::default()
        };
        let e = open_or_init(&dir, other, Timing::default()).expect_err("other id");
        assert_eq!(e.field(), Some("node_id"));
        assert!(e.message().contains("differs"), "{e}");
        // A free port overrides the saved one.
        let free = InitOptions {
            bind_port: Some(0),
            ..InitOptions::default()
        };
        let opts = open_or_init(&dir, free, Timing::default()).expect("free port");
        assert_eq!(
            opts.listen.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:0")
        );
    }

    #[test]
    fn open_or_init_validates_the_timing_before_writing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let timing = Timing {
            election_min: std::time::Duration::from_millis(150),
            ..Timing::default()
        };
        let e = open_or_init(&dir, InitOptions::default(), timing).expect_err("bad timing");
        assert_eq!(e.field(), Some("election_min"));
        assert!(!dir.exists(), "nothing is written for bad timings");
    }
}
