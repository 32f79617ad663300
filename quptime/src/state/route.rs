//! Per-channel routing (issue #17): which alert events a channel receives.
//!
//! The list is stored in the channel's `events` setting (comma-separated
//! names), so the replicated channel document keeps its shape; a channel
//! without it receives every event, exactly as before. [`routes`] is the
//! one pure decision every producer of outbox entries calls, at queue time
//! (state apply), so every node agrees and nothing is queued that will
//! never be sent.

use super::{AlertChannel, AlertKind};
use crate::error::{Error, Result};

/// The channel setting that holds the routed event names.
pub const EVENTS_KEY: &str = "events";

/// Every event name a channel may ask for, including kinds that later
/// releases produce (they are accepted and stored now).
pub const EVENT_NAMES: &[&str] = &[
    "down",
    "recovered",
    "reminder",
    "degraded",
    "monitor-degraded",
    "flapping",
];

/// Bound on the setting's length (every name once, with separators).
const MAX_EVENTS_LEN: usize = 256;

/// Parse an `events` value: comma-separated names from [`EVENT_NAMES`],
/// at least one, no duplicates. The error names the field and the
/// accepted names.
pub fn parse_events(value: &str) -> Result<Vec<&'static str>> {
    if value.len() > MAX_EVENTS_LEN {
        return Err(Error::invalid_field(
            EVENTS_KEY,
            format!("longer than {MAX_EVENTS_LEN} characters: list each event once"),
        ));
    }
    let mut out = Vec::new();
    for raw in value.split(',') {
        let name = raw.trim();
        let Some(known) = EVENT_NAMES.iter().find(|n| **n == name) else {
            return Err(Error::invalid_field(
                EVENTS_KEY,
                format!(
                    "unknown event {name:?}: use a comma-separated list of {}",
                    EVENT_NAMES.join(", ")
                ),
            ));
        };
        if out.contains(known) {
            return Err(Error::invalid_field(
                EVENTS_KEY,
                format!("event {name:?} listed twice: list each event once"),
            ));
        }
        out.push(*known);
    }
    Ok(out)
}

/// Check a channel's `events` setting, if present.
pub fn validate(channel: &AlertChannel) -> Result<()> {
    match channel.settings.get(EVENTS_KEY) {
        Some(v) => parse_events(v).map(drop),
        None => Ok(()),
    }
}

/// Whether `channel` receives `event` (a name from [`EVENT_NAMES`]). No
/// `events` setting: everything. An unparsable setting (only possible in a
/// document written outside validation) routes everything, so an alert is
/// never lost to a typo.
pub fn routes(channel: &AlertChannel, event: &str) -> bool {
    match channel.settings.get(EVENTS_KEY) {
        None => true,
        Some(v) => parse_events(v).map_or(true, |names| names.contains(&event)),
    }
}

/// Whether `channel` names `event` in its `events` setting: the events
/// that are opt-in (`degraded`) go only to channels that ask for them, so
/// a channel set up before they existed hears nothing new.
pub fn routes_explicitly(channel: &AlertChannel, event: &str) -> bool {
    channel
        .settings
        .get(EVENTS_KEY)
        .and_then(|v| parse_events(v).ok())
        .is_some_and(|names| names.contains(&event))
}

/// The routing name of an outbox alert kind.
pub fn event_name(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Down => "down",
        AlertKind::Recovered => "recovered",
        AlertKind::Reminder => "reminder",
        AlertKind::Flapping => "flapping",
        AlertKind::Degraded | AlertKind::DegradedCleared => "degraded",
        AlertKind::MonitorDegraded | AlertKind::MonitorRecovered => super::canary::EVENT,
        // Asked for by name: queued without the target's filter.
        AlertKind::Escalation => "escalation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(events: Option<&str>) -> AlertChannel {
        let mut settings = std::collections::BTreeMap::new();
        if let Some(e) = events {
            settings.insert(EVENTS_KEY.to_string(), e.to_string());
        }
        AlertChannel {
            id: "c1".into(),
            name: "ops".into(),
            kind: "webhook".into(),
            default: false,
            disabled: false,
            settings,
        }
    }

    #[test]
    fn every_kind_has_a_known_name() {
        for k in [AlertKind::Down, AlertKind::Recovered, AlertKind::Reminder] {
            assert!(EVENT_NAMES.contains(&event_name(k)));
        }
    }

    #[test]
    fn no_setting_routes_everything() {
        let c = channel(None);
        assert!(EVENT_NAMES.iter().all(|e| routes(&c, e)));
    }

    #[test]
    fn listed_events_only() {
        let c = channel(Some("down, flapping"));
        assert!(routes(&c, "down"));
        assert!(routes(&c, "flapping"));
        assert!(!routes(&c, "recovered"));
        assert!(!routes(&c, "reminder"));
    }

    #[test]
    fn bad_lists_name_the_field() {
        for bad in ["", "down,,up", "down,down", "downn"] {
            let e = parse_events(bad).unwrap_err().to_string();
            assert!(e.contains("events"), "{bad:?}: {e}");
        }
        assert!(parse_events(&"down,".repeat(100)).is_err());
    }

    /// Queue time: a channel routed to `recovered` only gets no DOWN entry
    /// and does get the RECOVERED; an unrouted channel gets both.
    #[test]
    fn the_filter_applies_when_entries_are_queued() {
        use crate::state::{CheckState, CheckType, ClusterState, Command, Mutation, NodeId};
        let mut s = ClusterState::default();
        let cmd = |m| Command::new(NodeId::new("a").expect("id"), m);
        for (id, events) in [("all", None), ("rec", Some("recovered"))] {
            let mut a = channel(events);
            a.id = id.into();
            a.name = format!("n-{id}");
            a.default = true;
            a.settings
                .insert("url".into(), "http://127.0.0.1:9/x".into());
            s.apply(&cmd(Mutation::AddAlert { alert: a }))
                .expect("alert");
        }
        let mut c = crate::state::Check::blank(CheckType::Tcp);
        c.id = "c1".into();
        c.name = "db".into();
        c.target = "db.internal:5432".into();
        s.apply(&cmd(Mutation::AddCheck { check: c }))
            .expect("check");
        let t = |from, to| {
            cmd(Mutation::RecordTransition {
                check_id: "c1".into(),
                from,
                to,
                term: 1,
                evidence: vec![],
            })
        };
        s.apply(&t(CheckState::Unknown, CheckState::Up))
            .expect("up");
        s.apply(&t(CheckState::Up, CheckState::Down)).expect("down");
        s.apply(&t(CheckState::Down, CheckState::Up)).expect("up");
        let got: Vec<(AlertKind, &str)> = s
            .outbox
            .values()
            .map(|e| (e.kind, e.channel.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (AlertKind::Down, "all"),
                (AlertKind::Recovered, "all"),
                (AlertKind::Recovered, "rec"),
            ]
        );
    }
}
