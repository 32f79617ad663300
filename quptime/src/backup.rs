//! Backups of a node: the replicated configuration (checks, alert
//! channels, cluster-wide settings, members) plus the node's identity, in one versioned JSON file
//! (mode 0600: it holds the private key and the cluster secret).
//!
//! Why a file of its own and not a copy of `raft/`: a Raft log is only
//! meaningful together with the other members' logs, so restoring one
//! node's storage next to different peers would fork the cluster. A backup
//! instead restores into a *new* cluster: `restore` writes the identity
//! back and leaves a pending import (see [`crate::consensus::offline`]);
//! the node founds a one-voter cluster at its next start and commits every
//! check and channel in one mutation. Other nodes join it as new members.
//!
//! Transient state (check states, transitions, the alert outbox, tokens) is
//! deliberately left out: a restored cluster re-evaluates its checks from
//! fresh probes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::consensus::offline::{self, PendingImport};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Identity, NodeId};
use crate::paths::{CERT_FILE, KEYS_DIR, NODE_FILE, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, TRUST_FILE};
use crate::state::declared::Retention;
use crate::state::{AlertChannel, Check, ClusterState, PeerRecord};
use crate::store::{NodeConfig, ensure_dir, read_file, write_atomic};

/// What the `kind` field of every backup says.
pub const BACKUP_KIND: &str = "quptime-backup";
/// The backup format this build writes and reads.
pub const BACKUP_FORMAT: u32 = 1;

/// One node's backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// [`BACKUP_KIND`].
    pub kind: String,
    /// [`BACKUP_FORMAT`].
    pub format: u32,
    /// When it was taken (RFC 3339 UTC).
    pub created_at: String,
    /// The quptime that wrote it.
    pub quptime_version: String,
    /// The node it was taken on.
    pub node_id: NodeId,
    /// `daemon` (a running node's applied state) or `storage` (read from a
    /// stopped node's Raft storage).
    pub source: String,
    /// The cluster's config version at the time.
    pub config_version: u64,
    /// Every check.
    pub checks: Vec<Check>,
    /// Every alert channel.
    pub alerts: Vec<AlertChannel>,
    /// The members then (for the record; a restore founds a new cluster).
    pub peers: Vec<PeerRecord>,
    /// Cluster-wide DNS resolvers (empty: each node's system resolvers).
    #[serde(default)]
    pub dns_resolvers: Vec<String>,
    /// History retention.
    #[serde(default)]
    pub retention: Option<Retention>,
    /// The node's identity files.
    pub identity: IdentityFiles,
}

/// The texts of a node's identity files.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityFiles {
    /// `node.yaml` (holds the cluster secret).
    pub node_yaml: String,
    /// `keys/private.pem`.
    pub private_key: String,
    /// `keys/public.pem`.
    pub public_key: String,
    /// `keys/cert.pem`.
    pub cert: String,
    /// `trust.yaml`, when the node had one.
    #[serde(default)]
    pub trust_yaml: Option<String>,
}

impl std::fmt::Debug for IdentityFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key or the secret.
        f.debug_struct("IdentityFiles").finish_non_exhaustive()
    }
}

impl Backup {
    /// A backup of `state` and the identity stored in `data_dir`.
    pub fn of(data_dir: &Path, state: &ClusterState, source: &str) -> Result<Backup> {
        let read = |rel: PathBuf| -> Result<String> {
            let path = data_dir.join(rel);
            read_file(&path)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{} is missing: this node has no complete identity to back up",
                        path.display()
                    ),
                )
            })
        };
        let keys = Path::new(KEYS_DIR);
        let identity = IdentityFiles {
            node_yaml: read(NODE_FILE.into())?,
            private_key: read(keys.join(PRIVATE_KEY_FILE))?,
            public_key: read(keys.join(PUBLIC_KEY_FILE))?,
            cert: read(keys.join(CERT_FILE))?,
            trust_yaml: read_file(&data_dir.join(TRUST_FILE))?,
        };
        let config = NodeConfig::load(data_dir)?;
        Ok(Backup {
            kind: BACKUP_KIND.into(),
            format: BACKUP_FORMAT,
            created_at: crate::trust::now_rfc3339(),
            quptime_version: crate::VERSION.into(),
            node_id: NodeId::new(config.node_id)?,
            source: source.into(),
            config_version: state.version,
            checks: state.checks.values().cloned().collect(),
            alerts: state.alerts.values().cloned().collect(),
            peers: state.peers.values().cloned().collect(),
            dns_resolvers: state.dns_resolvers.clone(),
            retention: Some(state.retention),
            identity,
        })
    }

    /// A backup of the stopped node in `data_dir`, read from its Raft
    /// storage (fails while a daemon runs on it).
    pub async fn of_stopped_node(data_dir: &Path) -> Result<Backup> {
        let local = offline::read_state(&data_dir.join("raft")).await?;
        Backup::of(data_dir, &local.state, "storage")
    }

    /// Write the backup to `path` (mode 0600, atomically).
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("encode the backup: {e}")))?;
        write_atomic(path, &bytes, 0o600)
    }

    /// Read and validate the backup in `path`: its kind and format first
    /// (so a newer file is refused by version, not by a field it lacks),
    /// then every field, the identity (the key must fit the certificate) and
    /// the configuration (as the import will check it).
    pub fn read(path: &Path) -> Result<Backup> {
        let bad = |why: String| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{} is not a usable quptime backup: {why}; take a new one with \
                     `qu backup create`",
                    path.display()
                ),
            )
        };
        let text = read_file(path)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{}: no such backup file", path.display()),
            )
        })?;
        let raw: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON ({e})")))?;
        if raw.get("kind").and_then(|k| k.as_str()) != Some(BACKUP_KIND) {
            return Err(bad(format!("its \"kind\" is not {BACKUP_KIND:?}")));
        }
        match raw.get("format").and_then(|f| f.as_u64()) {
            Some(f) if f == u64::from(BACKUP_FORMAT) => {}
            Some(f) => {
                return Err(Error::new(
                    ErrorKind::Incompatible,
                    format!(
                        "{}: backup format {f} is not understood by this quptime {} (it reads \
                         format {BACKUP_FORMAT}); restore it with the quptime version that wrote \
                         it ({})",
                        path.display(),
                        crate::VERSION,
                        raw.get("quptime_version")
                            .and_then(|v| v.as_str())
                            .unwrap_or("unknown")
                    ),
                ));
            }
            None => return Err(bad("it has no \"format\" number".into())),
        }
        let backup: Backup = serde_json::from_value(raw).map_err(|e| bad(e.to_string()))?;
        backup.validate().map_err(|e| bad(e.to_string()))?;
        Ok(backup)
    }

    /// The identity parses, belongs to `node_id`, and the configuration
    /// imports cleanly into an empty cluster.
    fn validate(&self) -> Result<()> {
        let config: NodeConfig =
            crate::store::parse_yaml(Path::new(NODE_FILE), &self.identity.node_yaml)?;
        if config.node_id != self.node_id.as_str() {
            return Err(Error::invalid(format!(
                "node.yaml names node {} but the backup is of node {}",
                config.node_id, self.node_id
            )));
        }
        let mut probe = ClusterState::default();
        let cmd = crate::state::Command::new(
            self.node_id.clone(),
            crate::state::Mutation::ImportConfig {
                checks: self.checks.clone(),
                alerts: self.alerts.clone(),
                dns_resolvers: self.dns_resolvers.clone(),
                retention: self.retention,
            },
        );
        probe
            .apply_with(&cmd, crate::notify::validate)
            .map_err(Error::from)?;
        Ok(())
    }
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The node restored.
    pub node_id: NodeId,
    /// Whether the identity files were written (false: already there).
    pub wrote_identity: bool,
    /// Where the replaced Raft storage was kept, if there was one.
    pub kept_raft: Option<PathBuf>,
    /// Checks and channels the next start imports.
    pub checks: usize,
    /// See `checks`.
    pub alerts: usize,
}

/// Whether the node whose data directory is `data_dir` holds Raft storage
/// (a log or a snapshot): what a restore would set aside. Front ends ask
/// this instead of knowing where the storage lives inside the directory.
pub fn has_storage(data_dir: &Path) -> bool {
    offline::has_storage(&data_dir.join("raft"))
}

/// Restore `backup` into `data_dir` (the node must be stopped): write the
/// identity back unless the same identity is there, then replace the Raft
/// storage by a pending import, so the next `qu serve` founds a new
/// one-voter cluster holding the backup's checks and alert channels.
/// Everything is validated before anything is written; a data dir holding a
/// different node is refused.
pub fn restore(data_dir: &Path, backup: &Backup, origin: &str) -> Result<Restored> {
    backup.validate()?;
    let raft = data_dir.join("raft");
    // Refuse a running daemon before looking further.
    drop(offline::lock_storage(&raft)?);
    let wrote_identity = if data_dir.join(NODE_FILE).exists() || Identity::exists(data_dir) {
        same_identity(data_dir, backup)?;
        false
    } else {
        stage_and_write_identity(data_dir, backup)?;
        true
    };
    let mut import = PendingImport::new(origin, backup.checks.clone(), backup.alerts.clone());
    import.dns_resolvers = backup.dns_resolvers.clone();
    import.retention = backup.retention;
    let kept_raft = offline::refound(data_dir, &import)?;
    Ok(Restored {
        node_id: backup.node_id.clone(),
        wrote_identity,
        kept_raft,
        checks: backup.checks.len(),
        alerts: backup.alerts.len(),
    })
}

/// The data dir already holds an identity: it must be the backup's.
fn same_identity(data_dir: &Path, backup: &Backup) -> Result<()> {
    let config = NodeConfig::load(data_dir)?;
    let theirs = Identity::load(data_dir, NodeId::new(config.node_id.as_str())?)?;
    let cert = backup.identity.cert.trim();
    if config.node_id != backup.node_id.as_str() || theirs.cert_pem().trim() != cert {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} holds node {} ({}), not the backup's node {}: restore into an empty data \
                 directory (set QUPTIME_DIR), or move this one away first",
                data_dir.display(),
                config.node_id,
                theirs.fingerprint(),
                backup.node_id
            ),
        ));
    }
    Ok(())
}

/// Write the identity into a staging directory, load it back (the key must
/// fit the certificate, node.yaml and trust.yaml must parse), then write the
/// files into `data_dir`, node.yaml last (it marks an initialised node).
fn stage_and_write_identity(data_dir: &Path, backup: &Backup) -> Result<()> {
    ensure_dir(data_dir, 0o700)?;
    let staging = data_dir.join(".restore-staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io_at("remove", &staging, e))?;
    }
    let result = write_identity(&staging, backup).and_then(|()| {
        let config = NodeConfig::load(&staging)?;
        Identity::load(&staging, NodeId::new(config.node_id)?)?;
        if backup.identity.trust_yaml.is_some() {
            crate::trust::TrustStore::load(&staging)?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    write_identity(data_dir, backup)
}

fn write_identity(dir: &Path, backup: &Backup) -> Result<()> {
    let id = &backup.identity;
    let keys = dir.join(KEYS_DIR);
    ensure_dir(dir, 0o700)?;
    ensure_dir(&keys, 0o700)?;
    write_atomic(
        &keys.join(PRIVATE_KEY_FILE),
        id.private_key.as_bytes(),
        0o600,
    )?;
    write_atomic(&keys.join(PUBLIC_KEY_FILE), id.public_key.as_bytes(), 0o644)?;
    write_atomic(&keys.join(CERT_FILE), id.cert.as_bytes(), 0o644)?;
    if let Some(t) = &id.trust_yaml {
        write_atomic(&dir.join(TRUST_FILE), t.as_bytes(), 0o600)?;
    }
    write_atomic(&dir.join(NODE_FILE), id.node_yaml.as_bytes(), 0o600)
}

/// `qu recover --force-new-cluster`: re-found the stopped node in
/// `data_dir` as the only voter of a new cluster that keeps the checks and
/// alert channels its storage holds. Returns what was recovered and where
/// the old storage was kept.
pub async fn force_new_cluster(data_dir: &Path) -> Result<(Restored, u64)> {
    let config = NodeConfig::load(data_dir)?;
    let node_id = NodeId::new(config.node_id.as_str())?;
    Identity::load(data_dir, node_id.clone())?;
    let raft = data_dir.join("raft");
    let local = offline::read_state(&raft).await?;
    let checks: Vec<Check> = local.state.checks.values().cloned().collect();
    let alerts: Vec<AlertChannel> = local.state.alerts.values().cloned().collect();
    let import = PendingImport::new(
        format!(
            "recover --force-new-cluster (log index {})",
            local.last_index
        ),
        checks,
        alerts,
    )
    .with_settings_of(&local.state);
    let kept_raft = offline::refound(data_dir, &import)?;
    Ok((
        Restored {
            node_id,
            wrote_identity: false,
            kept_raft,
            checks: import.checks.len(),
            alerts: import.alerts.len(),
        },
        local.state.version,
    ))
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
