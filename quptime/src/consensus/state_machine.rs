//! The Raft state machine: applies committed [`Command`](crate::state::Command)s to the
//! [`ClusterState`], keeps the trust store in line with membership, and
//! builds and installs snapshots.
//!
//! The state lives in memory and is rebuilt on start from the last snapshot
//! plus the committed log (openraft re-applies it inside `Raft::new`, since
//! the log store records the commit index). Snapshots are written atomically
//! to `raft/snapshot.json`, so a crash never leaves a half-installed one.
//! Every applied batch is published on a watch channel: the cluster's
//! readers (status, export, scheduler) see a consistent, immutable copy.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StoredMembership};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::consensus::trust_sync::TrustSync;
use crate::consensus::types::TypeConfig;
use crate::error::Result;
use crate::state::{ClusterState, Mutation, Outcome};
use crate::store::write_atomic;
use crate::trust::TrustStore;

const SNAPSHOT_FILE: &str = "snapshot.json";

/// What a snapshot holds: the state and the Raft bookkeeping that goes with it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SmData {
    last_applied: Option<LogIdOf<TypeConfig>>,
    membership: StoredMembershipOf<TypeConfig>,
    state: ClusterState,
}

#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMetaOf<TypeConfig>,
    data: SmData,
}

#[derive(Debug, Clone)]
struct StoredSnapshot {
    meta: SnapshotMetaOf<TypeConfig>,
    bytes: Vec<u8>,
}

/// The state machine handed to openraft.
#[derive(Debug)]
pub struct StateMachine {
    data: SmData,
    dir: PathBuf,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    published: watch::Sender<Arc<ClusterState>>,
    trust: TrustSync,
}

impl StateMachine {
    /// Open the state machine in `dir` (the Raft directory), loading the
    /// last snapshot if there is one. Returns it with a receiver of the
    /// published state.
    pub fn open(
        dir: &Path,
        trust: TrustStore,
    ) -> Result<(StateMachine, watch::Receiver<Arc<ClusterState>>)> {
        let (published, rx) = watch::channel(Arc::new(ClusterState::default()));
        let sm = StateMachine::open_publishing(dir, TrustSync::new(trust, None), published)?;
        Ok((sm, rx))
    }

    /// [`StateMachine::open`] publishing on an existing channel (the
    /// node's, which outlives a storage reset); the loaded state is
    /// published at once.
    pub(crate) fn open_publishing(
        dir: &Path,
        trust: TrustSync,
        published: watch::Sender<Arc<ClusterState>>,
    ) -> Result<StateMachine> {
        let path = dir.join(SNAPSHOT_FILE);
        let (data, current) = match crate::store::read_file(&path)? {
            Some(text) => {
                let file: SnapshotFile = serde_json::from_str(&text).map_err(|e| {
                    crate::Error::new(
                        crate::ErrorKind::Config,
                        format!(
                            "{}: unreadable snapshot ({e}); move it away to rebuild this node's \
                             state from the other members",
                            path.display()
                        ),
                    )
                })?;
                crate::state::check_loadable(&file.data.state, &path.display().to_string())?;
                let bytes = serde_json::to_vec(&file.data)
                    .map_err(|e| crate::Error::internal(e.to_string()))?;
                (
                    file.data,
                    Some(StoredSnapshot {
                        meta: file.meta,
                        bytes,
                    }),
                )
            }
            None => (SmData::default(), None),
        };
        published.send_replace(Arc::new(data.state.clone()));
        Ok(StateMachine {
            data,
            dir: dir.to_path_buf(),
            current: Arc::new(Mutex::new(current)),
            published,
            trust,
        })
    }

    fn publish(&self) {
        self.published
            .send_replace(Arc::new(self.data.state.clone()));
    }

    /// Keep the local trust store in line with the membership after a
    /// mutation that changed it (see `trust_sync.rs`).
    fn sync_trust(&self, m: &Mutation) {
        if matches!(
            m,
            Mutation::AddPeer { .. } | Mutation::RemovePeer { .. } | Mutation::RotateKey { .. }
        ) {
            self.sync_trust_all();
        }
    }

    /// Make the trust store follow the whole membership (after a snapshot
    /// replaced the state, at start).
    fn sync_trust_all(&self) {
        self.trust
            .sync(&self.data.state, self.published.subscribe());
    }
}

fn save_snapshot(dir: &Path, meta: &SnapshotMetaOf<TypeConfig>, data: &SmData) -> io::Result<()> {
    let file = SnapshotFile {
        meta: meta.clone(),
        data: data.clone(),
    };
    let bytes = serde_json::to_vec(&file).map_err(io::Error::other)?;
    write_atomic(&dir.join(SNAPSHOT_FILE), &bytes, 0o600).map_err(io::Error::other)
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = Vec<u8>;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>), io::Error> {
        Ok((self.data.last_applied.clone(), self.data.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        // Answers wait until the new state is published, so a proposer that
        // reads the state after its write sees the write (read-your-writes).
        let mut answers = Vec::new();
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            self.data.last_applied = Some(entry.log_id.clone());
            let response = match entry.payload {
                EntryPayload::Blank => Ok(Outcome {
                    version: self.data.state.version,
                    id: None,
                }),
                EntryPayload::Normal(cmd) => {
                    let applied = self.data.state.apply_with(&cmd, crate::notify::validate);
                    match &applied {
                        Ok(outcome) => {
                            tracing::debug!(version = outcome.version, "applied {cmd}");
                            self.sync_trust(&cmd.mutation);
                        }
                        Err(r) => tracing::debug!(reason = %r.message, "rejected {cmd}"),
                    }
                    applied
                }
                EntryPayload::Membership(m) => {
                    self.data.membership = StoredMembership::new(Some(entry.log_id.clone()), m);
                    Ok(Outcome {
                        version: self.data.state.version,
                        id: None,
                    })
                }
            };
            if let Some(r) = responder {
                answers.push((r, response));
            }
        }
        self.publish();
        for (r, response) in answers {
            r.send(response);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            frozen: self.data.clone(),
            dir: self.dir.clone(),
            current: self.current.clone(),
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: Vec<u8>,
    ) -> Result<(), io::Error> {
        let data: SmData = serde_json::from_slice(&snapshot).map_err(|e| {
            io::Error::other(format!(
                "cannot decode the leader's snapshot ({e}); it may come from a newer \
                 quptime than this node's {}: upgrade this node",
                crate::VERSION
            ))
        })?;
        crate::state::check_loadable(&data.state, "the leader's snapshot")
            .map_err(io::Error::other)?;
        save_snapshot(&self.dir, meta, &data)?;
        self.data = data;
        *self
            .current
            .lock()
            .map_err(|_| io::Error::other("snapshot lock poisoned"))? = Some(StoredSnapshot {
            meta: meta.clone(),
            bytes: snapshot,
        });
        self.sync_trust_all();
        self.publish();
        tracing::info!(last = ?meta.last_log_id, "installed snapshot");
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<SnapshotOf<TypeConfig, Vec<u8>>>, io::Error> {
        let current = self
            .current
            .lock()
            .map_err(|_| io::Error::other("snapshot lock poisoned"))?;
        Ok(current.as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: s.bytes.clone(),
        }))
    }
}

/// Builds a snapshot from a copy taken when the build was requested
/// (openraft runs it concurrently with `apply`).
#[derive(Debug)]
pub struct SnapshotBuilder {
    frozen: SmData,
    dir: PathBuf,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = Vec<u8>;

    async fn build_snapshot(&mut self) -> Result<SnapshotOf<TypeConfig, Vec<u8>>, io::Error> {
        let bytes = serde_json::to_vec(&self.frozen).map_err(io::Error::other)?;
        let meta = SnapshotMeta {
            last_log_id: self.frozen.last_applied.clone(),
            last_membership: self.frozen.membership.clone(),
        };
        let dir = self.dir.clone();
        let (m, d) = (meta.clone(), self.frozen.clone());
        tokio::task::spawn_blocking(move || save_snapshot(&dir, &m, &d))
            .await
            .map_err(io::Error::other)??;
        *self
            .current
            .lock()
            .map_err(|_| io::Error::other("snapshot lock poisoned"))? = Some(StoredSnapshot {
            meta: meta.clone(),
            bytes: bytes.clone(),
        });
        tracing::info!(last = ?meta.last_log_id, bytes = bytes.len(), "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: bytes,
        })
    }
}
