//! Committing a pending import (`raft/import.json`, written by `qu backup
//! restore` and `qu recover --force-new-cluster`) right after this node
//! founded its new cluster, before it starts probing.
//!
//! The import is proposed with the request id stored in the file, so when a
//! crash comes between the commit and the file's removal, the next start's
//! proposal is answered from the state machine's record and not applied
//! twice. The file is removed only after the commit.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cluster::Core;
use crate::consensus::offline::PendingImport;
use crate::error::{ErrorKind, Result};
use crate::state::{Command, Mutation};

/// How long a sole voter may take to elect itself and commit.
const IMPORT_WITHIN: Duration = Duration::from_secs(30);

impl Core {
    /// Commit `import` (this node must be the only voter of a new cluster),
    /// then delete the file in `raft_dir`.
    pub(crate) async fn commit_import(&self, raft_dir: &Path, import: PendingImport) -> Result<()> {
        let cmd = Command {
            request_id: import.request_id.clone(),
            proposer: self.me().clone(),
            at_ms: crate::state::mutation::now_ms(),
            mutation: Mutation::ImportConfig {
                checks: import.checks.clone(),
                alerts: import.alerts.clone(),
                dns_resolvers: import.dns_resolvers.clone(),
                retention: import.retention,
            },
        };
        let deadline = Instant::now() + IMPORT_WITHIN;
        let outcome = loop {
            match self.submit(cmd.clone()).await {
                Ok(o) => break o,
                Err(e) if e.kind() == ErrorKind::NoQuorum && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    return Err(crate::Error::new(
                        e.kind(),
                        format!(
                            "importing the configuration from {} failed: {e}; {} is kept, \
                             so starting the node again retries",
                            import.origin,
                            raft_dir
                                .join(crate::consensus::offline::IMPORT_FILE)
                                .display()
                        ),
                    ));
                }
            }
        };
        PendingImport::done(raft_dir)?;
        tracing::info!(
            checks = import.checks.len(),
            alerts = import.alerts.len(),
            version = outcome.version,
            origin = %import.origin,
            "imported the configuration into the new cluster"
        );
        Ok(())
    }
}
