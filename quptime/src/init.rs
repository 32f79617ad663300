//! Creating a node's identity: the library side of `qu init`.
//!
//! Initialisation either completes or leaves nothing behind. Inputs are
//! validated before anything is written; an existing identity is never
//! overwritten; keys are written first and `node.yaml` last, so `node.yaml`
//! is the commit marker, and a failure part-way removes what this call
//! created so the operator can simply retry.

use std::path::{Path, PathBuf};

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
}
