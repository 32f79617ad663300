//! Check state transitions as replicated records.
//!
//! The master commits every state change it decides as a Raft entry, so a
//! new master continues from the agreed state (a check that is down stays
//! down, and its recovery is still announced), and every node publishes the
//! same transitions in the same order to its subscribers. A transition names
//! the state it leaves: one proposed by a deposed master whose view is
//! stale no longer matches and is rejected instead of applied twice.

use serde::{Deserialize, Serialize};

pub use crate::aggregate::{CheckState, Evidence};
use crate::identity::NodeId;

/// A check's agreed state and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRuntime {
    /// The state.
    pub state: CheckState,
    /// When it was entered (RFC 3339 UTC).
    pub since: String,
    /// A DOWN was announced and no RECOVERED yet: the next return to up is
    /// announced whatever path it takes (down → unknown → up too), and a
    /// return to down is not announced twice.
    #[serde(default)]
    pub alerted_down: bool,
    /// When the last DOWN or reminder was queued (ms since the epoch, the
    /// proposer's clock), for reminders.
    #[serde(default)]
    pub last_alert_ms: u64,
    /// The seq of the transition whose DOWN opened the incident that is
    /// still open (0: none, or a state written before level 4). Its
    /// reminders and RECOVERED carry it, so providers can tie them to the
    /// DOWN (`notify::Notification::incident`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub incident: u64,
    /// It went down inside a maintenance window, so its DOWN was held
    /// back: the master queues it when no window holds the check any more
    /// and it is still down (`Mutation::ReleaseHeld`); a recovery first
    /// means nothing is ever sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// It changed state more than its flap threshold within its flap
    /// window: one FLAPPING notice went out and its transitions are not
    /// announced until it has been stable for the window (`state::flap`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flapping: bool,
    /// Up while some judging nodes fail, fewer than its quorum, as the
    /// master decided after the check's rounds (`SetDegraded`, level 6):
    /// channels routing `degraded` were told. Any transition clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub degraded: bool,
    /// The votes when it became degraded (for the DEGRADED notice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degraded_votes: Vec<Evidence>,
    /// When the DOWN of the open incident was queued (ms since the epoch,
    /// the proposer's clock; 0: none, or written before level 6): the
    /// escalation delay counts from here (`state::escalate`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub down_ms: u64,
    /// The channels whose escalation went out in the open incident (level
    /// 6; cleared when it ends), so each escalates once.
    #[serde(
        default,
        skip_serializing_if = "crate::state::escalate::none_escalated"
    )]
    pub escalated: std::collections::BTreeSet<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One committed state change of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRecord {
    /// Position in the cluster-wide sequence of transitions (from 1).
    pub seq: u64,
    /// The check's id.
    pub check_id: String,
    /// The check's name at the time.
    pub check_name: String,
    /// The check's target at the time.
    pub target: String,
    /// The state left.
    pub from: CheckState,
    /// The state entered.
    pub to: CheckState,
    /// When the master decided it (RFC 3339 UTC).
    pub at: String,
    /// The master that decided it.
    pub master: NodeId,
    /// The Raft term it was decided in.
    pub term: u64,
    /// What each member saw.
    pub evidence: Vec<Evidence>,
}

impl TransitionRecord {
    /// `2/3 failing: b=timeout after 10s, c=status 503`.
    pub fn evidence_summary(&self) -> String {
        let failing: Vec<&Evidence> = self.evidence.iter().filter(|e| !e.ok).collect();
        let mut s = format!("{}/{} failing", failing.len(), self.evidence.len());
        if !failing.is_empty() {
            s.push_str(": ");
            s.push_str(
                &failing
                    .iter()
                    .map(|e| format!("{}={}", e.node, e.detail))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        s
    }
}
