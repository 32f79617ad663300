//! The changes the cluster agrees on, as Raft log entries.
//!
//! A [`Command`] wraps one [`Mutation`] with a request id (so a retried
//! proposal whose first attempt did commit is answered from the record
//! instead of applied twice), the proposing node and its clock. Applying is
//! deterministic: the same log gives the same state on every node.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::identity::NodeId;
use crate::state::model::{AlertChannel, Check, Enrollment, PeerRecord};

/// One replicated change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Mutation {
    /// A node joins: every member trusts its key from now on.
    AddPeer {
        /// The new member.
        peer: PeerRecord,
    },
    /// A node leaves: every member revokes its key.
    RemovePeer {
        /// The member to remove.
        node_id: NodeId,
    },
    /// Add a check (its name must be unused).
    AddCheck {
        /// The check, with its id assigned by the proposer.
        check: Check,
    },
    /// Replace a check, matched by id.
    UpdateCheck {
        /// The new version.
        check: Check,
    },
    /// Remove a check by id or name.
    RemoveCheck {
        /// Id or name.
        check: String,
    },
    /// Add an alert channel (its name must be unused).
    AddAlert {
        /// The channel.
        alert: AlertChannel,
    },
    /// Replace an alert channel, matched by id.
    UpdateAlert {
        /// The new version.
        alert: AlertChannel,
    },
    /// Remove an alert channel by id or name.
    RemoveAlert {
        /// Id or name.
        alert: String,
    },
    /// Record a new enrollment token.
    CreateEnrollment {
        /// The token record (hash only).
        enrollment: Enrollment,
    },
    /// A node presented a token and asks to join.
    RequestEnrollment {
        /// Token id.
        id: String,
        /// The node asking.
        peer: PeerRecord,
    },
    /// An operator approved a pending request.
    ApproveEnrollment {
        /// Token id.
        id: String,
    },
    /// Delete a token (revoked, or consumed).
    RevokeEnrollment {
        /// Token id.
        id: String,
    },
    /// Mark a token used: its node was admitted.
    ConsumeEnrollment {
        /// Token id.
        id: String,
    },
    /// An outbox entry was delivered (`failed: None`) or given up on.
    MarkDelivered {
        /// Outbox entry id.
        id: u64,
        /// Why delivery was abandoned, if it was.
        failed: Option<String>,
    },
    /// A down check's reminder is due: queue it on the check's channels.
    QueueReminder {
        /// The check's id.
        check_id: String,
    },
    /// The master decided that a check changed state.
    RecordTransition {
        /// The check's id.
        check_id: String,
        /// The state it leaves (must be the agreed current state).
        from: crate::aggregate::CheckState,
        /// The state it enters.
        to: crate::aggregate::CheckState,
        /// The term of the deciding master.
        term: u64,
        /// What each member saw.
        evidence: Vec<crate::aggregate::Evidence>,
    },
    /// Add a maintenance window or silence (level 4).
    AddMaintenance {
        /// The window, with its id assigned by the proposer.
        window: crate::state::maintenance::MaintenanceWindow,
    },
    /// Remove a maintenance window by id (level 4).
    RemoveMaintenance {
        /// The window's id.
        id: String,
    },
    /// Remove every silence of a check (`qu silence --clear`, level 4).
    ClearSilence {
        /// Id or name.
        check: String,
    },
    /// The master queues the DOWN a window held back: the window is over
    /// and the check is still down (level 4).
    ReleaseHeld {
        /// The check's id.
        check_id: String,
    },
    /// The master counts every check's uptime up to its clock
    /// (`state::history`, every minute; level 5).
    HistoryTick {},
    /// The days of uptime history kept per check (`qu settings set
    /// --history-days`, 1 to 400; level 6). Buckets older go at once.
    SetHistoryDays {
        /// Days kept.
        days: u32,
    },
    /// The master marks a check flapping (one FLAPPING notice is queued)
    /// or, once it has been stable for its flap window, no longer flapping
    /// (its current state is announced if receivers last heard another);
    /// applying asks the same rule, `state::flap` (level 5).
    SetFlapping {
        /// The check's id.
        check_id: String,
        /// Start (true) or end (false) of the flapping.
        flapping: bool,
    },
    /// The master tells a channel's escalation target that a check is
    /// still down after the channel's `escalate_after`; applying asks the
    /// same rule, `state::escalate`, so it is told once (level 6).
    QueueEscalation {
        /// The check's id.
        check_id: String,
        /// The id of the channel that escalates (not its target).
        channel: String,
    },
    /// Set the cluster-wide DNS resolvers (empty: the system's).
    SetDnsResolvers {
        /// `ip` or `ip:port` of each server, in the order to ask them.
        resolvers: Vec<String>,
    },
    /// The master decided that an UP check became degraded (some judging
    /// nodes fail, fewer than its quorum) or no longer is, after the
    /// check's rounds: one notice per channel of the check that routes
    /// `degraded`; nothing when the flag already has this value (level 6).
    SetDegraded {
        /// The check's id.
        check_id: String,
        /// Degraded (true) or cleared (false).
        degraded: bool,
        /// The votes that decided it.
        votes: Vec<crate::aggregate::Evidence>,
    },
    /// Set the connectivity canary's reference targets, `qu canary set`
    /// (empty: the peers alone; level 6).
    SetCanaryTargets {
        /// `host:port` or `http(s)://` URLs (`state::canary`).
        targets: Vec<String>,
    },
    /// The master found that too few nodes can vote (their canaries fail)
    /// or that enough can again: one notice per default channel when the
    /// flag changes, nothing when it already has this value (level 6).
    SetMonitorDegraded {
        /// Degraded (true) or recovered (false).
        degraded: bool,
        /// Why, for the notice.
        reason: String,
        /// The abstaining nodes.
        abstaining: Vec<NodeId>,
    },
    /// A declaration file (`qu apply -f`): all of it or nothing.
    ApplyDeclaration {
        /// The planned change.
        change: crate::state::declared::DeclaredChange,
    },
    /// Prefer `node` as master until `until_ms` (`qu leader transfer`);
    /// `None` clears the preference.
    PinMaster {
        /// The preferred master.
        node: Option<NodeId>,
        /// Until when (ms since the epoch).
        until_ms: u64,
    },
    /// Bring checks and alert channels into a freshly founded cluster
    /// (`qu backup restore`, `qu recover --force-new-cluster`): all of
    /// them or, when any is invalid or clashes, none.
    ImportConfig {
        /// The checks, with their ids.
        checks: Vec<Check>,
        /// The alert channels, with their ids.
        alerts: Vec<AlertChannel>,
        /// Cluster-wide DNS resolvers to set (empty: leave the system's).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dns_resolvers: Vec<String>,
        /// The history retention to set, when the source had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retention: Option<crate::state::declared::Retention>,
    },
    /// A member replaces its key (`qu key rotate`): every node trusts the
    /// new key instead of the old one. Only the member itself may propose
    /// it, over a connection made with its current key.
    RotateKey {
        /// The member whose key changes (the proposer).
        node_id: NodeId,
        /// The new key's fingerprint.
        fingerprint: crate::identity::Fingerprint,
        /// The new certificate (PEM), at most
        /// [`MAX_CERT_PEM`](crate::state::model::MAX_CERT_PEM) bytes.
        cert_pem: String,
    },
    /// Replace a member's labels (`qu node label`); state level 4.
    SetNodeLabels {
        /// The member.
        node_id: NodeId,
        /// Its new labels (empty: none).
        labels: crate::state::Labels,
    },
    /// Record a new API token (`qu token create`; hash only; level 5).
    CreateApiToken {
        /// The token's record.
        token: crate::state::api_token::ApiToken,
    },
    /// Revoke an API token by id or name (`qu token revoke`; level 5).
    RevokeApiToken {
        /// Id or name.
        token: String,
    },
    /// A node accepted API token `id` at `at_ms` (proposed at most once a
    /// minute per token; level 5).
    TouchApiToken {
        /// The token's id.
        id: String,
        /// When (ms since the epoch).
        at_ms: u64,
    },
}

impl Mutation {
    /// A short description for logs.
    pub fn describe(&self) -> String {
        match self {
            Mutation::AddPeer { peer } => format!("add peer {}", peer.node_id),
            Mutation::RemovePeer { node_id } => format!("remove peer {node_id}"),
            Mutation::AddCheck { check } => format!("add check {}", check.name),
            Mutation::UpdateCheck { check } => format!("update check {}", check.name),
            Mutation::RemoveCheck { check } => format!("remove check {check}"),
            Mutation::AddAlert { alert } => format!("add alert {}", alert.name),
            Mutation::UpdateAlert { alert } => format!("update alert {}", alert.name),
            Mutation::RemoveAlert { alert } => format!("remove alert {alert}"),
            Mutation::CreateEnrollment { enrollment } => {
                format!("create enrollment {}", enrollment.id)
            }
            Mutation::RequestEnrollment { id, peer } => {
                format!("enrollment {id} requested by {}", peer.node_id)
            }
            Mutation::ApproveEnrollment { id } => format!("approve enrollment {id}"),
            Mutation::RevokeEnrollment { id } => format!("revoke enrollment {id}"),
            Mutation::ConsumeEnrollment { id } => format!("consume enrollment {id}"),
            Mutation::MarkDelivered { id, failed: None } => format!("alert {id} delivered"),
            Mutation::MarkDelivered {
                id,
                failed: Some(_),
            } => format!("alert {id} abandoned"),
            Mutation::QueueReminder { check_id } => format!("reminder for check {check_id}"),
            Mutation::RecordTransition {
                check_id, from, to, ..
            } => {
                format!("check {check_id} {from} -> {to}")
            }
            Mutation::AddMaintenance { window } => format!(
                "add maintenance {} for {}",
                window.id,
                window.checks.join(",")
            ),
            Mutation::RemoveMaintenance { id } => format!("remove maintenance {id}"),
            Mutation::ClearSilence { check } => format!("clear the silence of {check}"),
            Mutation::ReleaseHeld { check_id } => format!("release the held DOWN of {check_id}"),
            Mutation::HistoryTick {} => "count uptime".to_string(),
            Mutation::SetHistoryDays { days } => format!("keep {days} days of uptime history"),
            Mutation::SetFlapping { check_id, flapping } => {
                format!("check {check_id} flapping: {flapping}")
            }
            Mutation::QueueEscalation { check_id, channel } => {
                format!("escalate check {check_id} from channel {channel}")
            }
            Mutation::SetDnsResolvers { resolvers } if resolvers.is_empty() => {
                "use the system DNS resolvers".to_string()
            }
            Mutation::SetDnsResolvers { resolvers } => {
                format!("set DNS resolvers {}", resolvers.join(", "))
            }
            Mutation::SetCanaryTargets { targets } if targets.is_empty() => {
                "clear the canary's reference targets".to_string()
            }
            Mutation::SetCanaryTargets { targets } => {
                format!("set canary reference targets {}", targets.join(", "))
            }
            Mutation::SetDegraded {
                check_id, degraded, ..
            } => format!("check {check_id} degraded: {degraded}"),
            Mutation::SetMonitorDegraded { degraded: true, .. } => "monitor degraded".to_string(),
            Mutation::SetMonitorDegraded {
                degraded: false, ..
            } => "monitor recovered".to_string(),
            Mutation::ApplyDeclaration { change } => format!(
                "apply declaration ({} alerts, {} checks set; {} checks, {} alerts removed)",
                change.alerts.len(),
                change.checks.len(),
                change.remove_checks.len(),
                change.remove_alerts.len()
            ),
            Mutation::PinMaster { node: Some(n), .. } => format!("prefer {n} as master"),
            Mutation::PinMaster { node: None, .. } => "clear the master preference".into(),
            Mutation::ImportConfig { checks, alerts, .. } => format!(
                "import {} checks and {} alert channels",
                checks.len(),
                alerts.len()
            ),
            Mutation::RotateKey {
                node_id,
                fingerprint,
                ..
            } => format!("rotate the key of {node_id} to {fingerprint}"),
            Mutation::SetNodeLabels { node_id, labels } => format!(
                "label {node_id} {}",
                crate::state::policy::format_labels(labels)
            ),
            Mutation::CreateApiToken { token } => {
                format!("create {} API token {}", token.role, token.name)
            }
            Mutation::RevokeApiToken { token } => format!("revoke API token {token}"),
            Mutation::TouchApiToken { id, .. } => format!("API token {id} used"),
        }
    }
}

/// Largest proposal, as the JSON bytes of its [`Command`] (1 MiB).
///
/// Checked by the proposer before anything reaches Raft, again by the
/// leader for forwarded proposals, and once more at apply, so no log entry
/// can outgrow a replication batch (`consensus::network`), the transport's
/// frame cap (4 MiB) or the log file's record limit (8 MiB): an entry that
/// could not be replicated would stop every later commit.
pub const MAX_PROPOSAL: usize = 1 << 20;

/// A proposal: the mutation plus what makes applying it deterministic and
/// retry-safe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Unique per proposal; a retry reuses it.
    pub request_id: String,
    /// The node that proposed it.
    pub proposer: NodeId,
    /// The proposer's clock, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The change.
    pub mutation: Mutation,
}

impl Command {
    /// A command for `mutation` with a fresh request id, stamped now.
    pub fn new(proposer: NodeId, mutation: Mutation) -> Command {
        Command {
            request_id: uuid::Uuid::new_v4().simple().to_string(),
            proposer,
            at_ms: now_ms(),
            mutation,
        }
    }

    /// The size of this command as JSON, counted without building it.
    pub fn encoded_len(&self) -> usize {
        encoded_len(self)
    }

    /// Refuse a command over [`MAX_PROPOSAL`], naming its size and the cap.
    pub fn check_size(&self) -> crate::error::Result<()> {
        let len = self.encoded_len();
        if len > MAX_PROPOSAL {
            return Err(Error::invalid(format!(
                "{} is {len} bytes as a proposal, over the cap of {MAX_PROPOSAL} bytes (1 MiB): \
                 nothing was changed; split it into smaller changes (for a declaration, apply \
                 it in parts) or shorten its largest fields",
                self.mutation.describe()
            )));
        }
        Ok(())
    }
}

/// JSON size of `value` (`usize::MAX` if it cannot be serialised).
pub(crate) fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (request {})",
            self.mutation.describe(),
            self.request_id
        )
    }
}

/// Milliseconds since the Unix epoch on this node's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(crate::state::duration::millis)
        .unwrap_or(0)
}

/// What applying a command produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The config version after the mutation.
    pub version: u64,
    /// The id of the created or affected record, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A rejected mutation: nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rejected {
    /// `ErrorKind` name.
    pub kind: String,
    /// Why.
    pub message: String,
    /// The input field it is about ([`Error::field`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The `qu` hint ([`Error::hint`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<Error> for Rejected {
    fn from(e: Error) -> Rejected {
        Rejected {
            kind: e.kind().as_str().into(),
            message: e.message().into(),
            field: e.field().map(Into::into),
            hint: e.hint().map(Into::into),
        }
    }
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Error {
        let mut e = Error::new(ErrorKind::from_name(&r.kind), r.message);
        if let Some(f) = r.field {
            e = e.with_field(f);
        }
        if let Some(h) = r.hint {
            e = e.with_hint(h);
        }
        e
    }
}

/// The result of applying one command: the Raft response type.
pub type Applied = std::result::Result<Outcome, Rejected>;
