//! Uptime history every node agrees on: time per check per UTC day (and
//! per UTC hour for the last day) spent up, down, unknown and in
//! maintenance, kept in the replicated state.
//!
//! Why replicated and not computed from each node's raw results: the
//! status page of any node must show the same uptime % and keep showing
//! it after the master dies, a restart, a snapshot install or a node that
//! was away. So the buckets change only on apply, from replicated facts
//! and the proposer's clock (`Command::at_ms`), never a node's own clock:
//! - a `RecordTransition` first credits the time since the check was last
//!   counted to the state it leaves;
//! - the master proposes [`Mutation::HistoryTick`](super::Mutation) every
//!   [`TICK_MS`], which credits every check up to the tick's time, opens
//!   the history of new checks and drops buckets past retention.
//!
//! The figures are therefore exact up to the last tick ([`History::at_ms`])
//! and identical on every node that applied the same log. Maintenance is
//! read from the replicated windows at the start of each minute (a
//! window's edges are counted to the minute). Nothing is written before the
//! first tick, so a state of an older release serializes byte for byte as
//! before; the tick is state level 5.
//!
//! Bounded: [`DAYS_KEPT`] days (or the cluster's `history_days`, 1 to
//! 400, state level 6) and 24 hours per check, one small bucket
//! each, written as a JSON array `[index, up, down, unknown, maintenance]`
//! (milliseconds), and a removed check's history goes with it.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{CheckState, ClusterState};

/// How often the master proposes a [`HistoryTick`](super::Mutation).
pub const TICK_MS: u64 = 60_000;
/// Days of history kept per check unless the cluster says otherwise
/// ([`History::days_kept`], `qu settings set --history-days`).
pub const DAYS_KEPT: u32 = 90;
/// The bounds of that setting.
pub const DAYS_KEPT_RANGE: std::ops::RangeInclusive<u32> = 1..=400;
/// Hours kept per check (for the 24 h figure).
pub const HOURS_KEPT: u32 = 24;
const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;

/// Time spent in each state during one UTC day or hour, in milliseconds
/// (at most a day's worth, so 32 bits each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "[u32; 5]", into = "[u32; 5]")]
pub struct Bucket {
    /// The day (or hour) number since the Unix epoch.
    pub index: u32,
    /// Time agreed up.
    pub up_ms: u32,
    /// Time agreed down.
    pub down_ms: u32,
    /// Time with no agreed state.
    pub unknown_ms: u32,
    /// Time inside a maintenance window (whatever the state).
    pub maintenance_ms: u32,
}

impl From<[u32; 5]> for Bucket {
    fn from(a: [u32; 5]) -> Bucket {
        Bucket {
            index: a[0],
            up_ms: a[1],
            down_ms: a[2],
            unknown_ms: a[3],
            maintenance_ms: a[4],
        }
    }
}

impl From<Bucket> for [u32; 5] {
    fn from(b: Bucket) -> [u32; 5] {
        [b.index, b.up_ms, b.down_ms, b.unknown_ms, b.maintenance_ms]
    }
}

/// The time of a window, summed (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uptime {
    /// Time agreed up.
    pub up_ms: u64,
    /// Time agreed down.
    pub down_ms: u64,
    /// Time with no agreed state.
    pub unknown_ms: u64,
    /// Time inside a maintenance window.
    pub maintenance_ms: u64,
}

impl Uptime {
    fn merge(&mut self, o: &Bucket) {
        self.up_ms += u64::from(o.up_ms);
        self.down_ms += u64::from(o.down_ms);
        self.unknown_ms += u64::from(o.unknown_ms);
        self.maintenance_ms += u64::from(o.maintenance_ms);
    }

    /// Up time over up plus down time, in percent; `None` when the check
    /// was neither (only unknown or in maintenance).
    pub fn percent(&self) -> Option<f64> {
        let judged = self.up_ms.saturating_add(self.down_ms);
        #[allow(clippy::cast_precision_loss)]
        (judged > 0).then(|| self.up_ms as f64 * 100.0 / judged as f64)
    }
}

/// What a stretch of time is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Up,
    Down,
    Unknown,
    Maintenance,
}

impl Bucket {
    fn add(&mut self, kind: Kind, ms: u64) {
        let slot = match kind {
            Kind::Up => &mut self.up_ms,
            Kind::Down => &mut self.down_ms,
            Kind::Unknown => &mut self.unknown_ms,
            Kind::Maintenance => &mut self.maintenance_ms,
        };
        *slot = slot.saturating_add(u32::try_from(ms).unwrap_or(u32::MAX));
    }

    /// This one bucket as an [`Uptime`].
    pub fn totals(&self) -> Uptime {
        let mut u = Uptime::default();
        u.merge(self);
        u
    }
}

/// One check's buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckHistory {
    /// Counted up to this instant (ms since the epoch, proposer's clock).
    pub since_ms: u64,
    /// Per UTC day, oldest first, at most [`History::days`].
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub days: VecDeque<Bucket>,
    /// Per UTC hour, oldest first, at most [`HOURS_KEPT`].
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub hours: VecDeque<Bucket>,
}

/// The cluster's uptime history (state level 5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The time of the last tick: every figure is counted up to here
    /// (0: no tick yet, history off).
    pub at_ms: u64,
    /// By check id.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckHistory>,
    /// Days kept per check when set (state level 6); [`DAYS_KEPT`] when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_kept: Option<u32>,
}

impl History {
    /// Whether nothing was ever recorded (then it is not serialized).
    pub fn is_empty(&self) -> bool {
        self.at_ms == 0 && self.checks.is_empty() && self.days_kept.is_none()
    }

    /// The days kept per check now.
    pub fn days(&self) -> u32 {
        self.days_kept.unwrap_or(DAYS_KEPT)
    }

    /// An estimate of the heap memory this history holds, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.checks
            .iter()
            .map(|(id, h)| {
                id.capacity()
                    + std::mem::size_of::<CheckHistory>()
                    + 64 // B-tree node share
                    + (h.days.capacity() + h.hours.capacity()) * std::mem::size_of::<Bucket>()
            })
            .sum()
    }
}

/// A check's uptime % over the four windows, as the status page, the
/// badges, `/api/status`, `qu status --json`, the C ABI and Python show it:
/// cut (not rounded) to three decimals, so 99.9996 is not shown as 100;
/// `None` for a window in which it was never judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UptimeFigures {
    /// The last 24 hours.
    #[serde(rename = "24h")]
    pub h24: Option<f64>,
    /// The last 7 UTC days (today included).
    #[serde(rename = "7d")]
    pub d7: Option<f64>,
    /// The last 30 UTC days.
    #[serde(rename = "30d")]
    pub d30: Option<f64>,
    /// The last 90 UTC days.
    #[serde(rename = "90d")]
    pub d90: Option<f64>,
}

// The figures are never NaN (a percent of a non-zero total, or None).
impl Eq for UptimeFigures {}

/// `p` cut to three decimals (99.9996 → 99.999). The tiny allowance
/// keeps a figure such as 99.99, which binary floating point holds as
/// 99.98999…, from being cut to 99.989.
pub fn cut_percent(p: f64) -> f64 {
    ((p * 1000.0) + 1e-6).floor() / 1000.0
}

/// Whether the master should propose a tick at its clock `wall_ms`: at
/// once when history is off, then every [`TICK_MS`] (a master whose clock
/// is behind the last tick waits until it has caught up).
pub fn tick_due(h: &History, wall_ms: u64) -> bool {
    h.at_ms == 0 || wall_ms >= h.at_ms.saturating_add(TICK_MS)
}

/// The windows the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last 24 hours (the current UTC hour and the 23 before).
    Hours24,
    /// The current UTC day and the 6 before.
    Days7,
    /// The current UTC day and the 29 before.
    Days30,
    /// The current UTC day and the 89 before.
    Days90,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Window; 4] = [
        Window::Hours24,
        Window::Days7,
        Window::Days30,
        Window::Days90,
    ];

    /// `24h`, `7d`, `30d`, `90d` (the badge URL's word).
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hours24 => "24h",
            Window::Days7 => "7d",
            Window::Days30 => "30d",
            Window::Days90 => "90d",
        }
    }

    /// The window named `s`, if any.
    pub fn parse(s: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// Split `[from, to)` at every `step` boundary, calling `f(start, len)`.
fn split(from: u64, to: u64, step: u64, mut f: impl FnMut(u64, u64)) {
    let mut t = from;
    while t < to {
        let end = (t / step + 1).saturating_mul(step).min(to);
        f(t, end - t);
        t = end;
    }
}

/// Add `ms` of `kind` at time `t` to the bucket of `t / unit`, keeping
/// buckets in order.
fn credit(buckets: &mut VecDeque<Bucket>, unit: u64, t: u64, kind: Kind, ms: u64) {
    let index = index_of(t, unit);
    match buckets.back_mut() {
        Some(b) if b.index == index => b.add(kind, ms),
        Some(b) if b.index > index => {
            if let Some(b) = buckets.iter_mut().find(|b| b.index == index) {
                b.add(kind, ms);
            }
        }
        _ => {
            let mut b = Bucket {
                index,
                ..Bucket::default()
            };
            b.add(kind, ms);
            buckets.push_back(b);
        }
    }
}

impl ClusterState {
    /// Credit `check_id`'s time since it was last counted up to `at_ms`
    /// to its current state (a no-op before the first tick, and for a
    /// proposer clock behind the last count).
    pub(crate) fn history_accrue(&mut self, check_id: &str, at_ms: u64) {
        if self.history.at_ms == 0 {
            return;
        }
        let state = self
            .check_states
            .get(check_id)
            .map_or(CheckState::Unknown, |r| r.state);
        let base = match state {
            CheckState::Up => Kind::Up,
            CheckState::Down => Kind::Down,
            CheckState::Unknown => Kind::Unknown,
        };
        let windowed = self
            .maintenance
            .values()
            .any(|w| w.checks.iter().any(|c| c == check_id));
        let Some(h) = self.history.checks.get(check_id) else {
            self.history.checks.insert(
                check_id.to_string(),
                CheckHistory {
                    since_ms: at_ms,
                    ..CheckHistory::default()
                },
            );
            return;
        };
        let from = h.since_ms;
        if at_ms <= from {
            return;
        }
        // Pieces of at most a minute when a window may hold the check,
        // else of at most an hour.
        let mut pieces = Vec::new();
        let step = if windowed { MINUTE_MS } else { HOUR_MS };
        split(from, at_ms, step, |t, len| {
            let kind = if windowed && self.in_maintenance(check_id, t).is_some() {
                Kind::Maintenance
            } else {
                base
            };
            pieces.push((t, kind, len));
        });
        let days = self.history.days();
        let Some(h) = self.history.checks.get_mut(check_id) else {
            return;
        };
        for (t, kind, len) in pieces {
            credit(&mut h.days, DAY_MS, t, kind, len);
            credit(&mut h.hours, HOUR_MS, t, kind, len);
        }
        h.since_ms = at_ms;
        trim(h, at_ms, days);
    }

    /// Keep `days` days of history per check from now on (1 to 400),
    /// dropping older buckets at once; the default is not written, so a
    /// cluster that never changed it serializes as before.
    pub(crate) fn set_history_days(&mut self, days: u32) -> crate::error::Result<()> {
        validate_days(days)?;
        self.history.days_kept = (days != DAYS_KEPT).then_some(days);
        let now = self.history.at_ms;
        for h in self.history.checks.values_mut() {
            trim(h, now, days);
        }
        Ok(())
    }

    /// Apply a tick: count every check up to `at_ms`, open the history of
    /// checks that have none, drop removed checks and old buckets.
    pub(crate) fn history_tick(&mut self, at_ms: u64) {
        if self.history.at_ms == 0 {
            self.history.at_ms = at_ms;
        }
        let ids: Vec<String> = self.checks.keys().cloned().collect();
        for id in &ids {
            self.history_accrue(id, at_ms);
        }
        let checks = &self.checks;
        self.history.checks.retain(|id, _| checks.contains_key(id));
        self.history.at_ms = self.history.at_ms.max(at_ms);
        let now = self.history.at_ms;
        let days = self.history.days();
        for h in self.history.checks.values_mut() {
            trim(h, now, days);
        }
    }

    /// `check_id`'s time in `window`, summed, counted up to the last tick.
    pub fn uptime(&self, check_id: &str, window: Window) -> Option<Uptime> {
        let h = self.history.checks.get(check_id)?;
        let now = self.history.at_ms;
        let (buckets, unit, n) = match window {
            Window::Hours24 => (&h.hours, HOUR_MS, 24),
            Window::Days7 => (&h.days, DAY_MS, 7),
            Window::Days30 => (&h.days, DAY_MS, 30),
            Window::Days90 => (&h.days, DAY_MS, 90),
        };
        let first = (index_of(now, unit) + 1).saturating_sub(n);
        let mut sum = Uptime::default();
        for b in buckets.iter().filter(|b| b.index >= first) {
            sum.merge(b);
        }
        Some(sum)
    }

    /// `check_id`'s uptime % over 24 h / 7 d / 30 d / 90 d ([`Window::ALL`]),
    /// counted up to the last tick; `None` when it has no history yet.
    pub fn uptime_figures(&self, check_id: &str) -> Option<UptimeFigures> {
        let pct = |w| {
            self.uptime(check_id, w)
                .and_then(|u| u.percent())
                .map(cut_percent)
        };
        self.history.checks.get(check_id)?;
        Some(UptimeFigures {
            h24: pct(Window::Hours24),
            d7: pct(Window::Days7),
            d30: pct(Window::Days30),
            d90: pct(Window::Days90),
        })
    }

    /// `check_id`'s last `n` UTC days, oldest first, one entry per day
    /// (days with nothing counted are empty buckets of their index).
    pub fn uptime_days(&self, check_id: &str, n: u32) -> Vec<Bucket> {
        let today = index_of(self.history.at_ms, DAY_MS);
        let first = (today + 1).saturating_sub(n);
        let days = self.history.checks.get(check_id).map(|h| &h.days);
        (first..=today)
            .map(|index| {
                days.and_then(|d| d.iter().find(|b| b.index == index).copied())
                    .unwrap_or(Bucket {
                        index,
                        ..Bucket::default()
                    })
            })
            .collect()
    }
}

/// The bucket number of `t` (a day or an hour since the epoch; u32 lasts
/// until the year 2459 for hours).
fn index_of(t: u64, unit: u64) -> u32 {
    u32::try_from(t / unit).unwrap_or(u32::MAX)
}

/// `days` as a history retention, or the error naming the setting.
pub fn validate_days(days: u32) -> crate::error::Result<()> {
    if DAYS_KEPT_RANGE.contains(&days) {
        return Ok(());
    }
    Err(crate::error::Error::invalid_field(
        "history_days",
        format!(
            "history days must be from {} to {} (got {days}); the default is {DAYS_KEPT}",
            DAYS_KEPT_RANGE.start(),
            DAYS_KEPT_RANGE.end()
        ),
    ))
}

/// Drop the buckets that fell out of a `days` retention at `now_ms`.
fn trim(h: &mut CheckHistory, now_ms: u64, days: u32) {
    let first_day = (index_of(now_ms, DAY_MS) + 1).saturating_sub(days);
    while h.days.front().is_some_and(|b| b.index < first_day) {
        h.days.pop_front();
    }
    let first_hour = (index_of(now_ms, HOUR_MS) + 1).saturating_sub(HOURS_KEPT);
    while h.hours.front().is_some_and(|b| b.index < first_hour) {
        h.hours.pop_front();
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "history_days_tests.rs"]
mod days_tests;
