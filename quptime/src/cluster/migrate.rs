//! A data directory of the original Go `qu` keeps its configuration: its
//! `cluster.yaml` (checks and alert channels in the original's schema) is
//! imported once, as one replicated change, the first time the node founds
//! or joins a cluster.
//!
//! At start-up the original file is checked (an error names its line and
//! stops the start: nothing is lost) and renamed to `cluster.original.yaml`
//! before this node's own export can overwrite `cluster.yaml`. Once the
//! node is a member and a master is known, what the cluster does not hold
//! yet (by id, then by name) is proposed as one `ImportConfig`; after it
//! commits the file becomes `cluster.original.imported.yaml`. Every node
//! migrated from the same original cluster holds the same ids, so the
//! second one to join finds everything there and imports nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::cluster::Core;
use crate::declare::{Original, is_original};
use crate::error::{Error, ErrorKind, Result};
use crate::paths::CLUSTER_FILE;
use crate::state::{AlertChannel, Check, ClusterState, Command, Mutation};

/// The original's file while its import is pending.
pub(crate) const PENDING_FILE: &str = "cluster.original.yaml";
/// The same after the import committed.
pub(crate) const DONE_FILE: &str = "cluster.original.imported.yaml";

/// Find an original `cluster.yaml` in `dir`, check it, and keep it aside
/// for the import; the pending import, if any.
pub(crate) fn prepare(dir: &Path) -> Result<Option<Original>> {
    let current = dir.join(CLUSTER_FILE);
    if let Some(text) = crate::store::read_file(&current)?
        && is_original(&text)
    {
        parse(&current, &text)?;
        std::fs::rename(&current, dir.join(PENDING_FILE))
            .map_err(|e| Error::io_at("keep the original cluster.yaml as", &current, e))?;
        crate::store::sync_dir(dir)?;
        tracing::info!(
            "found the original qu's cluster.yaml: its checks and alert channels are imported \
             when this node founds or joins a cluster"
        );
    }
    let pending = dir.join(PENDING_FILE);
    match crate::store::read_file(&pending)? {
        Some(text) => parse(&pending, &text).map(Some),
        None => Ok(None),
    }
}

fn parse(path: &Path, text: &str) -> Result<Original> {
    crate::declare::original_parse(text).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!(
                "{}: {}; fix the file (it is the original qu's configuration, imported once)",
                path.display(),
                e.message()
            ),
        )
    })
}

/// What of `original` `state` lacks: channels and checks whose id and name
/// are both new (references mapped to the channels the cluster has), and
/// the resolvers when the cluster has none.
pub(crate) fn missing(
    original: &Original,
    state: &ClusterState,
) -> (Vec<AlertChannel>, Vec<Check>, Vec<String>) {
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut alerts = Vec::new();
    for a in &original.alerts {
        if state.alerts.contains_key(&a.id) {
            ids.insert(a.id.clone(), a.id.clone());
        } else if let Some(same) = state.alerts.values().find(|x| x.name == a.name) {
            ids.insert(a.id.clone(), same.id.clone());
        } else {
            ids.insert(a.id.clone(), a.id.clone());
            alerts.push(a.clone());
        }
    }
    let map = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|r| ids.get(r).cloned().unwrap_or_else(|| r.clone()))
            .collect()
    };
    let checks = original
        .checks
        .iter()
        .filter(|c| {
            !state.checks.contains_key(&c.id) && !state.checks.values().any(|x| x.name == c.name)
        })
        .map(|c| Check {
            alerts: map(&c.alerts),
            suppress_alerts: map(&c.suppress_alerts),
            ..c.clone()
        })
        .collect();
    let resolvers = if state.dns_resolvers.is_empty() {
        original.resolvers.clone()
    } else {
        Vec::new()
    };
    (alerts, checks, resolvers)
}

/// Import `original` once this node is a member with a known master.
pub(crate) async fn run(core: Arc<Core>, original: Original, mut stop: watch::Receiver<bool>) {
    let mut warned = false;
    loop {
        let member = core.consensus.is_initialized().await.unwrap_or(false)
            && core.state().peers.contains_key(core.me())
            && core.consensus.view().leader.is_some();
        if member {
            let (alerts, checks, resolvers) = missing(&original, &core.state());
            if alerts.is_empty() && checks.is_empty() && resolvers.is_empty() {
                done(&core.data_dir);
                return;
            }
            let cmd = Command::new(
                core.me().clone(),
                Mutation::ImportConfig {
                    checks: checks.clone(),
                    alerts: alerts.clone(),
                    dns_resolvers: resolvers,
                    retention: None,
                },
            );
            match core.submit(cmd).await {
                Ok(o) => {
                    tracing::info!(
                        checks = checks.len(),
                        alerts = alerts.len(),
                        version = o.version,
                        "imported the original qu's checks and alert channels"
                    );
                    done(&core.data_dir);
                    return;
                }
                Err(e) if !warned => {
                    warned = true;
                    tracing::warn!(error = %e, "could not import the original qu's configuration yet; retrying");
                }
                Err(e) => tracing::debug!(error = %e, "import of the original configuration"),
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

fn done(dir: &Path) {
    let res = std::fs::rename(dir.join(PENDING_FILE), dir.join(DONE_FILE))
        .map_err(|e| e.to_string())
        .and_then(|()| crate::store::sync_dir(dir).map_err(|e| e.to_string()));
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not mark the original cluster.yaml as imported");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_cluster_lacks_is_imported_and_references_follow_names() {
        let text = include_str!("../../../qu/tests/fixtures/original/cluster.yaml");
        let original = crate::declare::original_parse(text).expect("fixture parses");
        let mut state = ClusterState::default();
        let (a, c, r) = missing(&original, &state);
        assert_eq!(
            (a.len(), c.len()),
            (original.alerts.len(), original.checks.len())
        );
        assert_eq!(r, original.resolvers);
        // Everything there already (a second migrated node): nothing.
        for x in &original.alerts {
            state.alerts.insert(x.id.clone(), x.clone());
        }
        for x in &original.checks {
            state.checks.insert(x.id.clone(), x.clone());
        }
        state.dns_resolvers = original.resolvers.clone();
        let (a, c, r) = missing(&original, &state);
        assert!(a.is_empty() && c.is_empty() && r.is_empty());
        // A channel of the same name under another id: checks point to it.
        let mut state = ClusterState::default();
        let first = original.alerts[0].clone();
        let renamed = AlertChannel {
            id: "other-id".into(),
            ..first.clone()
        };
        state.alerts.insert(renamed.id.clone(), renamed);
        let (a, c, _) = missing(&original, &state);
        assert!(a.iter().all(|x| x.name != first.name));
        assert!(c.iter().any(|x| x.alerts.contains(&"other-id".to_string())));
        assert!(c.iter().all(|x| !x.alerts.contains(&first.id)));
    }
}
