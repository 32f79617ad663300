//! Maintenance windows and silences, as replicated records, and the one
//! pure rule "is this check in maintenance at `t`".
//!
//! A window names checks and a time: once (a start and a length) or
//! weekly (days, a local time of day and an IANA time zone, and a length).
//! A silence (`qu silence web --for 30m`) is a one-off window for one check
//! starting at the proposer's time. During a window the check keeps being
//! probed and judged, but its DOWN is held back (see `state::outbox`); the
//! master releases it when the window ends and the check is still down.
//!
//! Every rule takes the time as an argument: applying a command passes the
//! proposer's clock (`Command::at_ms`), so every node decides the same; the
//! time zone rules are compiled in (`chrono-tz`), not read from the host,
//! so two nodes with different zoneinfo still agree.

use chrono::{Datelike, Duration as Days, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::state::{AlertKind, CheckState, ClusterState, fields};

/// At most this many windows are on record (expired one-off windows are
/// dropped when a window is added).
pub const MAX_WINDOWS: usize = 500;
/// At most this many checks per window.
pub const MAX_WINDOW_CHECKS: usize = 100;
/// Longest reason, in bytes.
pub const MAX_REASON: usize = 500;
/// Longest window: one year.
pub const MAX_WINDOW_MS: u64 = 365 * DAY_MS;
/// Longest occurrence of a weekly window: one week.
pub const MAX_WEEKLY_MS: u64 = 7 * DAY_MS;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// When a window is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum When {
    /// Once, from `start_ms` (ms since the epoch).
    Once {
        /// The start.
        start_ms: u64,
    },
    /// Every week on `days` at `at` (`HH:MM`) local time in `tz`.
    Weekly {
        /// `mon` … `sun`.
        days: Vec<String>,
        /// The local time of day the window opens, `HH:MM`.
        at: String,
        /// The IANA time zone, e.g. `Europe/Berlin`.
        tz: String,
    },
}

/// One maintenance window (or silence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// Its id (assigned by the proposer).
    pub id: String,
    /// The ids of the checks it covers.
    pub checks: Vec<String>,
    /// When it opens.
    pub when: When,
    /// How long each occurrence lasts (ms).
    pub duration_ms: u64,
    /// Why, for the operator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Made by `qu silence` (cleared by `qu silence --clear`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silence: bool,
}

/// `mon`…`sun` as a weekday.
pub fn parse_day(s: &str) -> Result<Weekday> {
    s.trim().parse::<Weekday>().map_err(|_| {
        Error::invalid_field(
            "every",
            format!("{s:?} is not a day of the week: use mon, tue, wed, thu, fri, sat or sun"),
        )
    })
}

/// `HH:MM` as a time of day.
pub fn parse_at(s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
        Error::invalid_field(
            "at",
            format!("{s:?} is not a time of day: use HH:MM, e.g. 02:00"),
        )
    })
}

/// An IANA time zone name.
pub fn parse_tz(s: &str) -> Result<Tz> {
    s.trim().parse::<Tz>().map_err(|_| {
        Error::invalid_field(
            "tz",
            format!("{s:?} is not an IANA time zone: use a name such as Europe/Berlin or UTC"),
        )
    })
}

impl MaintenanceWindow {
    /// Check every field (bounds and syntax), naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        fields::text("window id", &self.id, 64).map_err(|e| e.with_field("id"))?;
        if self.id.is_empty() {
            return Err(Error::invalid_field("id", "a window needs an id"));
        }
        if self.checks.is_empty() {
            return Err(Error::invalid_field(
                "checks",
                "a window needs at least one check",
            ));
        }
        fields::count("checks of a window", self.checks.len(), MAX_WINDOW_CHECKS)
            .map_err(|e| e.with_field("checks"))?;
        fields::text("reason", &self.reason, MAX_REASON).map_err(|e| e.with_field("reason"))?;
        if self.duration_ms < 1000 || self.duration_ms > MAX_WINDOW_MS {
            return Err(Error::invalid_field(
                "for",
                "a window lasts from 1s to one year (365d)",
            ));
        }
        if let When::Weekly { days, at, tz } = &self.when {
            if days.is_empty() || days.len() > 7 {
                return Err(Error::invalid_field(
                    "every",
                    "name 1 to 7 days, e.g. mon,wed",
                ));
            }
            for d in days {
                parse_day(d)?;
            }
            parse_at(at)?;
            parse_tz(tz)?;
            if self.duration_ms > MAX_WEEKLY_MS {
                return Err(Error::invalid_field(
                    "for",
                    "a weekly window lasts at most 7d each time",
                ));
            }
        }
        Ok(())
    }

    /// If the window is open at `t_ms`, when that occurrence ends (ms).
    pub fn open_at(&self, t_ms: u64) -> Option<u64> {
        match &self.when {
            When::Once { start_ms } => {
                let end = start_ms.saturating_add(self.duration_ms);
                (*start_ms <= t_ms && t_ms < end).then_some(end)
            }
            When::Weekly { days, at, tz } => {
                let (tz, at) = (parse_tz(tz).ok()?, parse_at(at).ok()?);
                let days: Vec<Weekday> = days.iter().filter_map(|d| parse_day(d).ok()).collect();
                let t = tz
                    .timestamp_millis_opt(i64::try_from(t_ms).ok()?)
                    .single()?;
                let today = t.date_naive();
                // An occurrence lasts at most a week, so the one holding
                // `t` started on one of the last eight local dates.
                (0..=8)
                    .filter_map(|back| today.checked_sub_signed(Days::days(back)))
                    .filter(|d| days.contains(&d.weekday()))
                    .filter_map(|d| local_start_ms(tz, d, at))
                    .map(|s| (s, s.saturating_add(self.duration_ms)))
                    .filter(|&(s, e)| s <= t_ms && t_ms < e)
                    .map(|(_, e)| e)
                    .max()
            }
        }
    }

    /// Whether the window can never open again after `t_ms`.
    pub fn expired(&self, t_ms: u64) -> bool {
        match self.when {
            When::Once { start_ms } => start_ms.saturating_add(self.duration_ms) <= t_ms,
            When::Weekly { .. } => false,
        }
    }

    /// One line for `qu maintenance list`: `once 2026-…Z for 2h` or
    /// `weekly mon,wed 02:00 Europe/Berlin for 1h`.
    pub fn describe_when(&self) -> String {
        let len =
            crate::state::duration::format(std::time::Duration::from_millis(self.duration_ms));
        match &self.when {
            When::Once { start_ms } => {
                let start = std::time::UNIX_EPOCH + std::time::Duration::from_millis(*start_ms);
                format!(
                    "once {} for {len}",
                    humantime::format_rfc3339_seconds(start)
                )
            }
            When::Weekly { days, at, tz } => {
                format!("weekly {} {at} {tz} for {len}", days.join(","))
            }
        }
    }
}

/// The instant (ms) `at` local time on `date` in `tz`. An ambiguous time
/// (the hour repeated when clocks go back) is its first occurrence; a time
/// that does not exist (skipped when clocks go forward) becomes the first
/// half hour after it that does (02:30 on the spring-forward night in
/// Berlin opens at 03:00 CEST).
fn local_start_ms(tz: Tz, date: NaiveDate, at: NaiveTime) -> Option<u64> {
    let naive = date.and_time(at);
    (0..=4)
        .find_map(|step| {
            tz.from_local_datetime(&(naive + Days::minutes(30 * step)))
                .earliest()
        })
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
}

impl ClusterState {
    /// If `check_id` is in maintenance at `t_ms`, when the latest window
    /// holding it ends (ms).
    pub fn in_maintenance(&self, check_id: &str, t_ms: u64) -> Option<u64> {
        self.maintenance
            .values()
            .filter(|w| w.checks.iter().any(|c| c == check_id))
            .filter_map(|w| w.open_at(t_ms))
            .max()
    }

    pub(crate) fn add_maintenance(&mut self, w: &MaintenanceWindow, now_ms: u64) -> Result<()> {
        w.validate()?;
        for c in &w.checks {
            if !self.checks.contains_key(c) {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no check {c:?} in this cluster"),
                )
                .with_field("checks")
                .with_hint("list them with `qu check list`"));
            }
        }
        if self.maintenance.contains_key(&w.id) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("maintenance window {:?} already exists", w.id),
            ));
        }
        let live = self
            .maintenance
            .values()
            .filter(|x| !x.expired(now_ms))
            .count();
        if live >= MAX_WINDOWS {
            return Err(Error::invalid(format!(
                "{live} maintenance windows are on record, the most this cluster keeps: \
                 remove some first"
            ))
            .with_hint("`qu maintenance remove <id>`, see `qu maintenance list`"));
        }
        self.maintenance.retain(|_, x| !x.expired(now_ms));
        self.maintenance.insert(w.id.clone(), w.clone());
        Ok(())
    }

    pub(crate) fn remove_maintenance(&mut self, id: &str) -> Result<()> {
        self.maintenance.remove(id).map(|_| ()).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no maintenance window {id:?} in this cluster"),
            )
            .with_hint("list them with `qu maintenance list`")
        })
    }

    /// Remove every silence of `check` (an id or name); the ids removed.
    pub(crate) fn clear_silence(&mut self, check: &str) -> Result<Vec<String>> {
        let id = self.find_check(check)?.id.clone();
        let ids: Vec<String> = self
            .maintenance
            .values()
            .filter(|w| w.silence && w.checks == [id.clone()])
            .map(|w| w.id.clone())
            .collect();
        if ids.is_empty() {
            return Err(
                Error::new(ErrorKind::NotFound, format!("check {check} has no silence"))
                    .with_hint("list windows with `qu maintenance list`"),
            );
        }
        for i in &ids {
            self.maintenance.remove(i);
        }
        Ok(ids)
    }

    /// The DOWN of `check_id` held back by a window or a parent that was
    /// down, queued at `now_ms` when the check is still down and nothing
    /// holds it any more ([`ClusterState::holds_back`]).
    pub(crate) fn release_held(&mut self, check_id: &str, now_ms: u64) -> Result<()> {
        let rt = self.check_states.get(check_id);
        let held = rt.is_some_and(|r| r.held && r.state == CheckState::Down);
        let seq = self
            .transitions
            .iter()
            .rev()
            .find(|t| t.check_id == check_id && t.to == CheckState::Down)
            .map(|t| t.seq);
        let (true, false, Some(seq)) = (held, self.holds_back(check_id, now_ms), seq) else {
            return Err(Error::invalid(format!(
                "no held DOWN of check {check_id} to release"
            )));
        };
        self.queue_for(check_id, seq, AlertKind::Down, seq);
        if let Some(r) = self.check_states.get_mut(check_id) {
            r.held = false;
            r.alerted_down = true;
            r.incident = seq;
            r.last_alert_ms = now_ms;
            r.down_ms = now_ms;
            r.escalated.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "maintenance_tests.rs"]
mod tests;
