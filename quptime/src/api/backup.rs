//! Control method for `qu backup create` on a running node: the daemon
//! builds the backup from one immutable copy of its applied state, so the
//! checks and channels in the file are always a consistent whole (a state
//! some prefix of the log produced), however busy the cluster is.

use crate::backup::Backup;
use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::transport::Rpc;

method!(/// `qu backup create` (answered by a running node).
    CreateBackup, "backup.create", (), Backup);

pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    let c = cluster.clone();
    router.route::<CreateBackup, _, _>(move |_, ()| {
        let c = c.clone();
        async move {
            let state = c.state();
            let dir = c.data_dir().to_path_buf();
            tokio::task::spawn_blocking(move || Backup::of(&dir, &state, "daemon"))
                .await
                .map_err(|e| crate::Error::internal(format!("backup: {e}")))?
        }
    })
}
