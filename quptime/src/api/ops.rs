//! Control methods for operations: config as code (`qu apply`, `qu
//! export`), `qu snapshot` and `qu leader transfer`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, SnapshotReport};
use crate::control::ControlRouter;
use crate::declare::{self, Change};
use crate::error::Result;
use crate::identity::NodeId;
use crate::state::duration;
use crate::transport::Rpc;

method!(/// `qu apply -f`: show the difference and, unless a dry run, apply it as one change.
    ApplyConfig, "config.apply", ApplyRequest, ApplyReport);
method!(/// `qu export`: the current declaration as YAML (secrets included).
    ExportConfig, "config.export", (), String);
method!(/// `qu snapshot`: snapshot the replicated state now and purge the log behind it.
    TakeSnapshot, "raft.snapshot", (), SnapshotReport);
method!(/// `qu leader transfer`: move the master role and keep it there for a while.
    TransferLeader, "leader.transfer", TransferRequest, TransferReport);

/// Arguments of `config.apply`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyRequest {
    /// The declaration (YAML).
    pub yaml: String,
    /// Remove alert channels and checks the file does not declare.
    #[serde(default)]
    pub prune: bool,
    /// Only compute the difference.
    #[serde(default)]
    pub dry_run: bool,
}

/// Result of `config.apply`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyReport {
    /// What differs (and, unless a dry run, changed).
    pub changes: Vec<Change>,
    /// Records the file does not declare, kept (no `--prune`).
    pub unmanaged: Vec<String>,
    /// Whether a change was committed.
    pub applied: bool,
    /// The config version afterwards.
    pub version: u64,
}

/// Arguments of `leader.transfer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The new master [default: the lowest live voter other than the current one].
    pub to: Option<NodeId>,
    /// How long it keeps the role before the usual preference applies (`1h`).
    pub hold: String,
    /// Drop an earlier preference instead of transferring.
    #[serde(default)]
    pub clear: bool,
}

/// Result of `leader.transfer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferReport {
    /// The master now (`None` after `clear`).
    pub master: Option<NodeId>,
    /// Until when the preference holds (RFC 3339 UTC).
    pub until: Option<String>,
}

/// Plan the declaration `req.yaml` against `c`'s state and, unless a dry
/// run or nothing differs, commit it as one change.
pub async fn apply_config(c: &Cluster, req: ApplyRequest) -> Result<ApplyReport> {
    let parsed = declare::parse(&req.yaml)?;
    let state = c.state();
    let plan = declare::plan(&state, &parsed, req.prune)?;
    let mut report = ApplyReport {
        changes: plan.changes.clone(),
        unmanaged: plan.unmanaged.clone(),
        applied: false,
        version: state.version,
    };
    if req.dry_run {
        return Ok(report);
    }
    if let Some(m) = plan.mutation() {
        let outcome = c.propose(m).await?;
        report.applied = true;
        report.version = outcome.version;
    }
    Ok(report)
}

/// The current declaration of `c` as YAML.
pub fn export_config(c: &Cluster) -> Result<String> {
    declare::render(&declare::export(&c.state()))
}

/// Move the master role as `req` says (or drop an earlier preference),
/// validating the hold first.
pub async fn transfer_leader(c: &Cluster, req: TransferRequest) -> Result<TransferReport> {
    if req.clear {
        c.clear_master_pin().await?;
        return Ok(TransferReport {
            master: None,
            until: None,
        });
    }
    let hold: Duration = duration::parse_field(
        "hold",
        &req.hold,
        (Duration::from_secs(1), crate::cluster::MAX_HOLD),
        "1h",
    )?;
    let master = c.transfer_master(req.to, hold).await?;
    let until = humantime::format_rfc3339_seconds(std::time::SystemTime::now() + hold).to_string();
    Ok(TransferReport {
        master: Some(master),
        until: Some(until),
    })
}

/// Add the operations methods to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    routes!(router, cluster,
        ApplyConfig => |c, req| apply_config(&c, req).await,
        ExportConfig => |c, ()| export_config(&c),
        TakeSnapshot => |c, ()| c.snapshot().await,
        TransferLeader => |c, req| transfer_leader(&c, req).await,
    )
}
