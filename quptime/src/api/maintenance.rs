//! Control methods for maintenance windows and silences:
//! `qu maintenance add|list|remove`, `qu silence`. Each answers with one
//! use case of [`super::usecase`]; the parsing of a window from its
//! command-line form is [`window_from_spec`], pure and unit-tested.

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::control::ControlRouter;
use crate::error::{Error, Result};
use crate::state::maintenance::{MaintenanceWindow, When, parse_at, parse_day, parse_tz};
use crate::state::{ClusterState, Outcome, duration};
use crate::transport::Rpc;

method!(/// `qu maintenance add`.
    AddMaintenance, "maintenance.add", MaintenanceSpec, Outcome);
method!(/// `qu maintenance list`.
    ListMaintenance, "maintenance.list", (), Vec<MaintenanceWindow>);
method!(/// `qu maintenance remove`.
    RemoveMaintenance, "maintenance.remove", String, Outcome);
method!(/// `qu silence <check> --for 30m`: (check, duration).
    Silence, "maintenance.silence", SilenceSpec, Outcome);
method!(/// `qu silence --clear <check>`.
    ClearSilence, "maintenance.clear_silence", String, Outcome);

/// A window as the command line gives it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceSpec {
    /// Check names or ids.
    pub checks: Vec<String>,
    /// One-off: `now` or an RFC 3339 time (exclusive with `every`).
    #[serde(default)]
    pub start: Option<String>,
    /// Weekly: the days (`mon`, `wed`).
    #[serde(default)]
    pub every: Vec<String>,
    /// Weekly: the local time of day, `HH:MM`.
    #[serde(default)]
    pub at: Option<String>,
    /// Weekly: the IANA time zone (default `UTC`).
    #[serde(default)]
    pub tz: Option<String>,
    /// How long (`2h`).
    #[serde(rename = "for")]
    pub duration: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// Arguments of `maintenance.silence`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SilenceSpec {
    /// Check name or id.
    pub check: String,
    /// How long (`30m`).
    #[serde(rename = "for")]
    pub duration: String,
}

/// The window `spec` describes, with id `id`, its check names resolved in
/// `state` and `now` standing for `now_ms`; errors name the field.
pub fn window_from_spec(
    state: &ClusterState,
    spec: &MaintenanceSpec,
    id: String,
    now_ms: u64,
) -> Result<MaintenanceWindow> {
    let checks = spec
        .checks
        .iter()
        .map(|c| state.find_check(c).map(|x| x.id.clone()))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| e.with_field("checks"))?;
    let len = duration::parse(&spec.duration).map_err(|e| e.with_field("for"))?;
    let when = match (&spec.start, spec.every.is_empty()) {
        (Some(_), false) => {
            return Err(Error::invalid_field(
                "start",
                "give either --start (once) or --every (weekly), not both",
            ));
        }
        (Some(start), true) => When::Once {
            start_ms: parse_start(start, now_ms)?,
        },
        (None, true) => {
            return Err(Error::invalid_field(
                "start",
                "give --start <RFC 3339 time or now> (once) or --every mon,wed --at 02:00 (weekly)",
            ));
        }
        (None, false) => {
            let days = spec
                .every
                .iter()
                .flat_map(|d| d.split(','))
                .map(|d| parse_day(d).map(|w| w.to_string().to_lowercase()))
                .collect::<Result<Vec<_>>>()?;
            let at = spec
                .at
                .clone()
                .ok_or_else(|| Error::invalid_field("at", "a weekly window needs --at HH:MM"))?;
            parse_at(&at)?;
            let tz = spec.tz.clone().unwrap_or_else(|| "UTC".into());
            parse_tz(&tz)?;
            When::Weekly { days, at, tz }
        }
    };
    let window = MaintenanceWindow {
        id,
        checks,
        when,
        duration_ms: duration::millis(len),
        reason: spec.reason.clone(),
        silence: false,
    };
    window.validate()?;
    Ok(window)
}

/// `now` or an RFC 3339 time (any offset) as ms since the epoch.
fn parse_start(text: &str, now_ms: u64) -> Result<u64> {
    if text.trim() == "now" {
        return Ok(now_ms);
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
        .ok_or_else(|| {
            Error::invalid_field(
                "start",
                format!("{text:?} is not a time: use now or RFC 3339, e.g. 2026-05-01T22:00:00Z"),
            )
        })
}

/// Add the maintenance methods to `router`.
pub(crate) fn routes(router: ControlRouter, cluster: &Cluster) -> ControlRouter {
    use super::usecase as uc;
    routes!(router, cluster,
        AddMaintenance => |c, spec| uc::add_maintenance(&c, spec).await,
        ListMaintenance => |c, ()| Ok(uc::list_maintenance(&c)),
        RemoveMaintenance => |c, id| uc::remove_maintenance(&c, &id).await,
        Silence => |c, s| uc::silence(&c, &s.check, &s.duration).await,
        ClearSilence => |c, check| uc::clear_silence(&c, &check).await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Check, CheckType};

    fn state() -> ClusterState {
        let mut s = ClusterState::default();
        for id in ["c1", "c2"] {
            let c = Check {
                id: id.into(),
                name: format!("{id}-name"),
                target: "127.0.0.1:1".into(),
                ..Check::blank(CheckType::Tcp)
            };
            s.checks.insert(id.into(), c);
        }
        s
    }

    #[test]
    fn a_spec_becomes_a_window_and_errors_name_the_field() {
        let s = state();
        let spec = MaintenanceSpec {
            checks: vec!["c1-name".into(), "c2".into()],
            start: Some("2026-05-01T22:00:00+02:00".into()),
            duration: "2h".into(),
            ..Default::default()
        };
        let w = window_from_spec(&s, &spec, "w".into(), 5).expect("once");
        assert_eq!(w.checks, vec!["c1", "c2"]);
        assert_eq!(w.duration_ms, 7_200_000);
        assert_eq!(
            w.when,
            When::Once {
                start_ms: 1_777_665_600_000
            }
        );
        let now = MaintenanceSpec {
            start: Some("now".into()),
            ..spec.clone()
        };
        assert_eq!(
            window_from_spec(&s, &now, "w".into(), 5).expect("now").when,
            When::Once { start_ms: 5 }
        );
        let weekly = MaintenanceSpec {
            start: None,
            every: vec!["Mon,wed".into()],
            at: Some("02:00".into()),
            tz: Some("Europe/Berlin".into()),
            ..spec.clone()
        };
        let w = window_from_spec(&s, &weekly, "w".into(), 5).expect("weekly");
        assert!(matches!(&w.when, When::Weekly { days, .. } if days == &["mon", "wed"]));
        let field = |sp: MaintenanceSpec| {
            window_from_spec(&s, &sp, "w".into(), 5)
                .unwrap_err()
                .field()
                .map(String::from)
        };
        let bad = [
            (
                MaintenanceSpec {
                    checks: vec!["nope".into()],
                    ..spec.clone()
                },
                "checks",
            ),
            (
                MaintenanceSpec {
                    duration: "soon".into(),
                    ..spec.clone()
                },
                "for",
            ),
            (
                MaintenanceSpec {
                    duration: "400d".into(),
                    ..spec.clone()
                },
                "for",
            ),
            (
                MaintenanceSpec {
                    start: Some("tomorrow".into()),
                    ..spec.clone()
                },
                "start",
            ),
            (
                MaintenanceSpec {
                    start: None,
                    ..spec.clone()
                },
                "start",
            ),
            (
                MaintenanceSpec {
                    at: None,
                    ..weekly.clone()
                },
                "at",
            ),
            (
                MaintenanceSpec {
                    tz: Some("Nowhere/X".into()),
                    ..weekly.clone()
                },
                "tz",
            ),
            (
                MaintenanceSpec {
                    reason: "r".repeat(600),
                    ..spec.clone()
                },
                "reason",
            ),
        ];
        for (sp, f) in bad {
            assert_eq!(field(sp.clone()).as_deref(), Some(f), "{sp:?}");
        }
    }
}
