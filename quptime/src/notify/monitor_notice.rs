//! The notice about the monitor itself (`monitor-degraded`,
//! `monitor-recovered`): about no check, so it is built from the
//! monitor's replicated health rather than a transition (docs/canary.md).

use super::{Notification, NotificationKind};
use crate::identity::NodeId;

impl Notification {
    /// The notice about the monitor itself: `degraded` (too few nodes can
    /// vote, `reason` says which abstain and why) or recovered, decided by
    /// `master` at `time` (RFC 3339 UTC). `seq` is the health's change
    /// count: a degradation and the recovery after it share the incident
    /// key `quptime-monitor-<seq of the degradation>`.
    pub fn monitor(
        degraded: bool,
        seq: u64,
        reason: &str,
        master: &NodeId,
        time: impl Into<String>,
    ) -> Notification {
        let opened = if degraded { seq } else { seq.saturating_sub(1) };
        Notification {
            kind: if degraded {
                NotificationKind::MonitorDegraded
            } else {
                NotificationKind::MonitorRecovered
            },
            check: "quptime monitor".to_string(),
            check_type: None,
            target: reason.to_string(),
            from: None,
            to: None,
            evidence: Vec::new(),
            expectation: None,
            master: master.clone(),
            time: time.into(),
            since: None,
            incident: Some(format!("quptime-monitor-{opened}")),
            digest: Vec::new(),
            digest_total: 0,
        }
    }
}
