//! State levels: how a rolling upgrade stays safe when a release adds new
//! kinds of replicated change.
//!
//! Every node applies every log entry, so a node must never be sent an
//! entry it cannot decode: it would stop applying and fall behind for good.
//! Each release therefore declares the highest [`STATE_LEVEL`] it can apply
//! and reports it in every liveness pong; each [`Mutation`] says the level
//! it needs. A proposer refuses a mutation that some member is known to be
//! too old for, naming that member and its version, so the operator
//! upgrades every node first and only then uses the new feature. Mutations
//! that every release understands (level 1) are never refused, so a mixed
//! cluster keeps working during the upgrade.

use super::policy::POLICY_LEVEL;
use super::{AlertChannel, Check, FIRST_ALERT_TYPES, Mutation};

/// The level a check's probe settings need: 4 for the http request
/// settings and conditions, 5 for tcp send/expect and icmp count/loss/rtt,
/// 6 for dns answer expectations.
fn check_level(c: &Check) -> u32 {
    let deps = if c.depends_on.is_empty() && c.flap_threshold.is_none() && c.flap_window.is_none() {
        1
    } else {
        5
    };
    let probe = match &c.probe {
        super::Probe::Http(p) => p.level(),
        super::Probe::Tcp(p) => p.level(),
        super::Probe::Icmp(p) => p.level(),
        super::Probe::Dns(p) => p.level(),
        super::Probe::Push(p) => p.level(),
        _ => 1,
    };
    probe.max(deps)
}

/// The level a channel needs: 4 for a type after the first three (Slack,
/// PagerDuty, …) or a `ca` setting, 3 for `allow_plain_auth`. Releases
/// before refuse those at apply (unknown type, unknown setting), so a
/// mixed cluster would diverge without the gate.
fn channel_level(c: &AlertChannel) -> u32 {
    if [
        super::escalate::AFTER_KEY,
        super::escalate::TO_KEY,
        crate::engine::digest::THRESHOLD_KEY,
    ]
    .iter()
    .any(|k| c.settings.contains_key(*k))
    {
        6
    } else if c.settings.contains_key(super::route::EVENTS_KEY) {
        5
    } else if !FIRST_ALERT_TYPES.contains(&c.kind.as_str()) || c.settings.contains_key("ca") {
        4
    } else if c.settings.contains_key("allow_plain_auth") {
        3
    } else {
        1
    }
}

/// The highest state level this release applies.
///
/// - 1: the first release (peers, checks, alert channels, enrollments,
///   transitions, outbox).
/// - 2: cluster-wide DNS resolvers, declarations (`qu apply`), the pinned
///   master (`qu leader transfer`), configuration imports (backup restore,
///   recovery).
/// - 3: the SMTP setting `allow_plain_auth` (releases before refuse it as
///   unknown at apply, so a channel that sets it needs this level), key
///   rotation (`qu key rotate`).
/// - 4: the alert types slack, teams, telegram, ntfy, gotify, pushover,
///   pagerduty, opsgenie, matrix, mattermost, googlechat, and the `ca`
///   setting of any channel; outbox entries and check runtimes carry the
///   incident (the seq of the transition that opened it); maintenance
///   windows and silences (`AddMaintenance`, `RemoveMaintenance`,
///   `ClearSilence`, `ReleaseHeld`).
///   Also per-check decision policies (`fail_after`, `recover_after`,
///   `quorum`, `nodes`), member labels and `qu node label`.
///   Also http request settings and conditions (method, headers, body, auth,
///   ip_version, ca, conditions).
/// - 5: the uptime history (`HistoryTick`, `state::history`); the channel
///   setting `events` (per-channel routing); API tokens (`CreateApiToken`,
///   `RevokeApiToken`, `TouchApiToken`); check dependencies (`depends_on`);
///   flap control (`flap_threshold`, `flap_window`, `SetFlapping`, the
///   outbox kind `flapping`); tcp `send` / `expect_reply`; icmp `count`,
///   `max_loss`, `max_rtt`.
/// - 6: tcp `tls`; dns `expect_values`, `expect_count`, `expect_nxdomain`;
///   the uptime history's retention (`SetHistoryDays`, `history.days_kept`);
///   push checks (the check kind `push`, `state::probe_push`).
/// - 6: per-channel degraded alerting (`SetDegraded`, the runtime's
///   `degraded`, the outbox kinds `degraded` / `degraded_cleared`);
///   the connectivity canary (`SetCanaryTargets`, `canary_targets`, a
///   declaration's `canary_targets`)
///   and the monitor's health (`SetMonitorDegraded`, `monitor`, the outbox
///   kinds `monitor_degraded` / `monitor_recovered`).
/// - 6: escalation (the channel settings `escalate_after` / `escalate_to`,
///   `QueueEscalation`, the outbox kind `escalation`, the runtime's
///   `down_ms` / `escalated`) and the storm digest's channel setting
///   `digest_threshold`.
pub const STATE_LEVEL: u32 = 6;

/// The level of a state that does not say (written by the first release).
pub(super) fn first() -> u32 {
    1
}

/// Refuse a state (a snapshot read from disk or sent by the leader) that
/// holds changes this release cannot represent.
pub fn check_loadable(state: &super::ClusterState, what: &str) -> crate::Result<()> {
    if state.level > STATE_LEVEL {
        return Err(crate::Error::new(
            crate::ErrorKind::Incompatible,
            format!(
                "{what} needs state level {} but quptime {} reads level {STATE_LEVEL} at most: \
                 it was written by a newer release; upgrade this node",
                state.level,
                crate::VERSION
            ),
        ));
    }
    Ok(())
}

impl Mutation {
    /// The state level a node needs to apply this mutation.
    pub fn required_level(&self) -> u32 {
        self.base_level()
            .max(self.settings_level())
            .max(self.policy_level())
            .max(self.declared_level())
    }

    /// 6 when a declaration sets the canary's reference targets: an older
    /// node would drop the field and keep the old targets.
    fn declared_level(&self) -> u32 {
        match self {
            Mutation::ApplyDeclaration { change } if change.canary_targets.is_some() => 6,
            _ => 1,
        }
    }

    /// 4 when a check in this mutation has a decision policy other than
    /// the default, or a member record carries labels: an older node would
    /// drop those fields and judge (or probe) the check by the old rules.
    fn policy_level(&self) -> u32 {
        let checks: &[Check] = match self {
            Mutation::AddCheck { check } | Mutation::UpdateCheck { check } => {
                std::slice::from_ref(check)
            }
            Mutation::ApplyDeclaration { change } => &change.checks,
            Mutation::ImportConfig { checks, .. } => checks,
            _ => &[],
        };
        let peer = match self {
            Mutation::AddPeer { peer } | Mutation::RequestEnrollment { peer, .. } => Some(peer),
            _ => None,
        };
        let labelled = peer.is_some_and(|p| !p.labels.is_empty());
        checks
            .iter()
            .map(|c| c.policy.level().max(check_level(c)))
            .chain(labelled.then_some(POLICY_LEVEL))
            .max()
            .unwrap_or(1)
    }

    /// The level of the settings the alert channels in this mutation use.
    fn settings_level(&self) -> u32 {
        let channels: &[AlertChannel] = match self {
            Mutation::AddAlert { alert } | Mutation::UpdateAlert { alert } => {
                std::slice::from_ref(alert)
            }
            Mutation::ApplyDeclaration { change } => &change.alerts,
            Mutation::ImportConfig { alerts, .. } => alerts,
            _ => &[],
        };
        channels.iter().map(channel_level).max().unwrap_or(1)
    }

    /// The level this kind of mutation needs, whatever it holds.
    fn base_level(&self) -> u32 {
        match self {
            Mutation::AddPeer { .. }
            | Mutation::RemovePeer { .. }
            | Mutation::AddCheck { .. }
            | Mutation::UpdateCheck { .. }
            | Mutation::RemoveCheck { .. }
            | Mutation::AddAlert { .. }
            | Mutation::UpdateAlert { .. }
            | Mutation::RemoveAlert { .. }
            | Mutation::CreateEnrollment { .. }
            | Mutation::RequestEnrollment { .. }
            | Mutation::ApproveEnrollment { .. }
            | Mutation::RevokeEnrollment { .. }
            | Mutation::ConsumeEnrollment { .. }
            | Mutation::MarkDelivered { .. }
            | Mutation::QueueReminder { .. }
            | Mutation::RecordTransition { .. } => 1,
            Mutation::SetDnsResolvers { .. }
            | Mutation::ApplyDeclaration { .. }
            | Mutation::PinMaster { .. }
            | Mutation::ImportConfig { .. } => 2,
            Mutation::RotateKey { .. } => 3,
            Mutation::SetNodeLabels { .. }
            | Mutation::AddMaintenance { .. }
            | Mutation::RemoveMaintenance { .. }
            | Mutation::ClearSilence { .. }
            | Mutation::ReleaseHeld { .. } => 4,
            Mutation::HistoryTick {}
            | Mutation::CreateApiToken { .. }
            | Mutation::RevokeApiToken { .. }
            | Mutation::TouchApiToken { .. }
            | Mutation::SetFlapping { .. } => 5,
            Mutation::SetHistoryDays { .. }
            | Mutation::SetCanaryTargets { .. }
            | Mutation::SetMonitorDegraded { .. }
            | Mutation::SetDegraded { .. }
            | Mutation::QueueEscalation { .. } => 6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_mutation_needs_more_than_this_release_applies() {
        let m = Mutation::SetDnsResolvers { resolvers: vec![] };
        assert!(m.required_level() <= STATE_LEVEL);
        let m = Mutation::RemoveCheck { check: "x".into() };
        assert_eq!(m.required_level(), 1);
    }

    #[test]
    fn a_channel_that_allows_plain_auth_needs_level_3() {
        let mut alert = AlertChannel {
            id: "a1".into(),
            name: "mail".into(),
            kind: "smtp".into(),
            default: false,
            disabled: false,
            settings: Default::default(),
        };
        assert_eq!(
            Mutation::AddAlert {
                alert: alert.clone()
            }
            .required_level(),
            1
        );
        alert
            .settings
            .insert("allow_plain_auth".into(), "true".into());
        assert_eq!(
            Mutation::UpdateAlert {
                alert: alert.clone()
            }
            .required_level(),
            3
        );
        let import = Mutation::ImportConfig {
            checks: vec![],
            alerts: vec![alert],
            dns_resolvers: vec![],
            retention: None,
        };
        assert_eq!(import.required_level(), 3);
    }

    #[test]
    fn channels_of_the_new_types_or_with_a_ca_need_level_4() {
        let mut alert = AlertChannel {
            id: "a2".into(),
            name: "pager".into(),
            kind: "pagerduty".into(),
            default: false,
            disabled: false,
            settings: Default::default(),
        };
        let add = |a: &AlertChannel| Mutation::AddAlert { alert: a.clone() }.required_level();
        let update = |a: &AlertChannel| Mutation::UpdateAlert { alert: a.clone() }.required_level();
        for kind in crate::state::ALERT_TYPES {
            alert.kind = kind.into();
            let want = if FIRST_ALERT_TYPES.contains(&kind) {
                1
            } else {
                4
            };
            assert_eq!(add(&alert), want, "{kind}");
            assert_eq!(update(&alert), want, "{kind}");
        }
        alert.kind = "webhook".into();
        alert.settings.insert("ca".into(), "PEM".into());
        assert_eq!(add(&alert), 4);
        let decl = Mutation::ImportConfig {
            checks: vec![],
            alerts: vec![alert],
            dns_resolvers: vec![],
            retention: None,
        };
        assert_eq!(decl.required_level(), 4);
    }

    #[test]
    fn a_channel_with_routed_events_needs_level_5() {
        let mut alert = AlertChannel {
            id: "a3".into(),
            name: "ops".into(),
            kind: "webhook".into(),
            default: false,
            disabled: false,
            settings: Default::default(),
        };
        alert.settings.insert("events".into(), "down".into());
        assert_eq!(
            Mutation::AddAlert {
                alert: alert.clone()
            }
            .required_level(),
            5
        );
        assert_eq!(Mutation::UpdateAlert { alert }.required_level(), 5);
        assert_eq!(STATE_LEVEL, 6);
    }

    #[test]
    fn a_policy_or_labels_need_level_4_and_the_default_does_not() {
        let mut check = Check::blank(super::super::CheckType::Tcp);
        assert_eq!(
            Mutation::AddCheck {
                check: check.clone()
            }
            .required_level(),
            1
        );
        check.policy.fail_after = Some(3);
        assert_eq!(
            Mutation::UpdateCheck {
                check: check.clone()
            }
            .required_level(),
            4
        );
        let import = Mutation::ImportConfig {
            checks: vec![check],
            alerts: vec![],
            dns_resolvers: vec![],
            retention: None,
        };
        assert_eq!(import.required_level(), 4);
        let m = Mutation::SetNodeLabels {
            node_id: crate::NodeId::new("n1").unwrap(),
            labels: Default::default(),
        };
        assert_eq!(m.required_level(), 4);
    }

    #[test]
    fn an_http_check_with_request_settings_needs_level_4() {
        let mut check = Check::blank(super::super::CheckType::Http);
        assert_eq!(
            Mutation::AddCheck {
                check: check.clone()
            }
            .required_level(),
            1
        );
        if let Some(http) = check.http_mut() {
            http.bearer = Some("t".into());
        }
        assert_eq!(
            Mutation::UpdateCheck {
                check: check.clone()
            }
            .required_level(),
            4
        );
        let import = Mutation::ImportConfig {
            checks: vec![check],
            alerts: vec![],
            dns_resolvers: vec![],
            retention: None,
        };
        assert_eq!(import.required_level(), 4);
    }

    #[test]
    fn a_tcp_check_that_sends_or_expects_needs_level_5() {
        let mut check = Check::blank(super::super::CheckType::Tcp);
        if let super::super::Probe::Tcp(p) = &mut check.probe {
            p.expect_reply = Some("+PONG".into());
        }
        let m = Mutation::AddCheck {
            check: check.clone(),
        };
        assert_eq!(m.required_level(), 5);
        if let super::super::Probe::Tcp(p) = &mut check.probe {
            p.tls = true;
        }
        assert_eq!(Mutation::AddCheck { check }.required_level(), 6);
    }

    #[test]
    fn a_dns_check_with_answer_expectations_needs_level_6() {
        let mut check = Check::blank(super::super::CheckType::Dns);
        let plain = Mutation::AddCheck {
            check: check.clone(),
        };
        assert_eq!(plain.required_level(), 1);
        if let super::super::Probe::Dns(p) = &mut check.probe {
            p.expect_nxdomain = true;
        }
        let m = Mutation::UpdateCheck { check };
        assert_eq!(m.required_level(), 6);
    }

    #[test]
    fn a_state_remembers_its_level_and_newer_states_are_refused() {
        let mut s = super::super::ClusterState::default();
        let cmd = |m| super::super::Command::new(crate::NodeId::new("n1").unwrap(), m);
        s.apply(&cmd(Mutation::SetDnsResolvers { resolvers: vec![] }))
            .expect("applied");
        assert_eq!(s.level, 2);
        check_loadable(&s, "x").expect("this release reads its own states");
        // A state from the JSON of an older release has level 1.
        let old: super::super::ClusterState = serde_json::from_str(r#"{"version": 3}"#).unwrap();
        assert_eq!(old.level, 1);
        s.level = STATE_LEVEL + 1;
        let e = check_loadable(&s, "snapshot.json").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Incompatible);
        assert!(e.message().contains("snapshot.json"), "{e}");
        assert!(e.message().contains("upgrade this node"), "{e}");
    }
}
