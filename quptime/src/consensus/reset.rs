//! Starting the Raft node over again on empty storage, inside a running
//! node: how a lone founder leaves its one-node cluster when another
//! cluster absorbs it (see `cluster/absorb.rs`). The running Raft sits
//! behind a lock in [`Consensus`] and the state watch outlives it, so
//! every handle and subscriber follows the new one.

use std::path::Path;
use std::sync::Arc;

use openraft::Config;
use tokio::sync::watch;

use super::trust_sync::TrustSync;
use super::{Consensus, Raft, log_store, network, state_machine};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::NodeId;
use crate::state::ClusterState;
use crate::trust::TrustStore;

/// What opening the Raft storage again takes.
#[derive(Debug)]
pub(super) struct Reopen {
    pub(super) dir: std::path::PathBuf,
    pub(super) config: Arc<Config>,
    pub(super) network: network::Network,
    pub(super) trust: TrustStore,
    pub(super) published: watch::Sender<Arc<ClusterState>>,
}

impl Reopen {
    /// Open the storage and start Raft on it; also a read handle on its log.
    pub(super) async fn start(
        &self,
        me: &NodeId,
    ) -> Result<(Raft, log_store::LogReader<super::TypeConfig>)> {
        crate::store::ensure_dir(&self.dir, 0o700)?;
        let log = log_store::LogStore::open(&self.dir.join("log"))?;
        let reader = log.reader();
        let trust = TrustSync::new(self.trust.clone(), Some(me.clone()));
        let sm = state_machine::StateMachine::open_publishing(
            &self.dir,
            trust.clone(),
            self.published.clone(),
        )?;
        let raft = Raft::new(
            me.clone(),
            self.config.clone(),
            self.network.clone(),
            log,
            sm,
        )
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, format!("start raft: {e}")))?;
        // The committed log has been re-applied: trust what it says, at
        // every start (a file edited or left over while the node was down).
        let state = self.published.borrow().clone();
        trust.sync(&state, self.published.subscribe());
        Ok((raft, reader))
    }
}

/// Rename `dir` to its sibling `aside` (unless that was done already) and
/// make the rename durable.
pub fn move_aside(dir: &Path, aside: &str) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let target = parent.join(aside);
    if target.exists() {
        return Ok(());
    }
    if dir.exists() {
        std::fs::rename(dir, &target).map_err(|e| Error::io_at("move aside", dir, e))?;
        crate::store::sync_dir(parent)?;
    }
    Ok(())
}

impl Consensus {
    /// Stop Raft, move its storage aside to `aside` (a sibling directory
    /// name, kept for the operator) and start again on empty storage: the
    /// node then belongs to no cluster and waits to be replicated by the
    /// one that absorbs it. The rename is the one atomic step: a crash
    /// before it leaves the old storage, after it the empty one.
    /// `still_lone` is asked after the old Raft has stopped (nothing can
    /// change any more): when it refuses, the old storage is reopened
    /// untouched and its error returned.
    pub async fn reset(
        &self,
        aside: &str,
        still_lone: impl FnOnce(&ClusterState) -> Result<()>,
    ) -> Result<()> {
        let old = self.raft();
        old.shutdown()
            .await
            .map_err(|e| Error::new(ErrorKind::Shutdown, format!("stop raft: {e}")))?;
        let verdict = still_lone(&self.state());
        if verdict.is_ok() {
            move_aside(&self.reopen.dir, aside)?;
        }
        let (raft, log) = self.reopen.start(&self.me).await?;
        match self.log.write() {
            Ok(mut l) => *l = log,
            Err(poisoned) => *poisoned.into_inner() = log,
        }
        match self.raft.write() {
            Ok(mut r) => *r = raft,
            Err(poisoned) => *poisoned.into_inner() = raft,
        }
        verdict
    }
}
