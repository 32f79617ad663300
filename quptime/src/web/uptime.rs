//! The history part of the status page, pure: per check a bar of the last
//! 90 UTC days (server-rendered SVG, a `<title>` per day as its tooltip,
//! no script), the uptime % over 24 h / 7 d / 30 d / 90 d, and the recent
//! incidents with their evidence and duration. Everything comes from the
//! replicated state ([`crate::state::history`], the transitions), so every
//! node renders the same figures.

use maud::{Markup, html};

use crate::state::history::{Bucket, Uptime, Window};
use crate::state::{CheckState, ClusterState};

/// Days in a bar.
pub(crate) const BAR_DAYS: u32 = 90;
/// Incidents listed at most.
pub(crate) const MAX_INCIDENTS: usize = 20;
const DAY_MS: u64 = 86_400_000;

/// `99.931%` (cut, not rounded, so 99.9996 is not shown as 100%), or `–`
/// when the check was never judged in the window.
pub(crate) fn percent_text(u: Option<Uptime>) -> String {
    match u.and_then(|u| u.percent()) {
        Some(p) => format!("{:.3}%", crate::state::history::cut_percent(p)),
        None => "–".into(),
    }
}

/// The colour of a day or a figure: green at 100 %, light green from
/// 99 %, orange from 95 %, red below; blue for maintenance only, grey for
/// no data.
pub(crate) fn colour(u: &Uptime) -> &'static str {
    match u.percent() {
        Some(p) if p >= 100.0 => "#2e7d32",
        Some(p) if p >= 99.0 => "#7cb342",
        Some(p) if p >= 95.0 => "#f9a825",
        Some(_) => "#c62828",
        None if u.maintenance_ms > 0 => "#1e88e5",
        None => "#bdbdbd",
    }
}

/// `2026-03-02` for a day number.
fn date(index: u32) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::from(index) * DAY_MS);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}

/// `2h 30m` (the largest two units).
pub(crate) fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn day_title(b: &Bucket) -> String {
    let u = b.totals();
    format!(
        "{}: {} up, {} down, {} unknown, {} maintenance ({})",
        date(b.index),
        duration_text(u.up_ms),
        duration_text(u.down_ms),
        duration_text(u.unknown_ms),
        duration_text(u.maintenance_ms),
        percent_text(Some(u)),
    )
}

/// The 90-day bar of `check_id`, oldest day on the left. A run of days
/// all at 100 % (or all without data) is one bar segment with one
/// tooltip, which keeps the page of a healthy cluster small.
fn bar(state: &ClusterState, check_id: &str) -> Markup {
    let days = state.uptime_days(check_id, BAR_DAYS);
    let width = days.len() * 5;
    let mergeable = |b: &Bucket| {
        let u = b.totals();
        u.percent().is_none_or(|p| p >= 100.0) && (u.percent().is_some() || u.maintenance_ms == 0)
    };
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, b) in days.iter().enumerate() {
        match runs.last_mut() {
            Some((start, len))
                if mergeable(b)
                    && mergeable(&days[*start])
                    && colour(&b.totals()) == colour(&days[*start].totals()) =>
            {
                *len += 1
            }
            _ => runs.push((i, 1)),
        }
    }
    html! {
        svg.bar width=(width) height="24"
            viewBox={ "0 0 " (width) " 24" } role="img"
            aria-label={ "uptime of the last " (BAR_DAYS) " days" } {
            @for (start, len) in runs {
                @let first = &days[start];
                @let last = &days[start + len - 1];
                rect x=(start * 5) width=(len * 5 - 1) height="24" rx="1"
                    fill=(colour(&first.totals())) data-day=(date(first.index)) {
                    title {
                        @if len == 1 { (day_title(first)) } @else {
                            (date(first.index)) " – " (date(last.index)) ": "
                            (percent_text(Some(first.totals())).replace('–', "no data"))
                        }
                    }
                }
            }
        }
    }
}

/// What the history part of a page is drawn from: the replicated state
/// and this node's own recent raw results per check id.
pub(crate) struct PageHistory {
    /// The node's replicated state.
    pub(crate) state: std::sync::Arc<ClusterState>,
    /// The node serving the page (whose probes the charts show).
    pub(crate) node: String,
    /// Its recent raw results, by check id, oldest first.
    pub(crate) results: std::collections::HashMap<String, Vec<crate::results::RawResult>>,
}

/// The uptime table: one row per check in `checks` (id, name).
pub(crate) fn section(h: &PageHistory, checks: &[(&str, &str)]) -> Markup {
    let state = &*h.state;
    html! {
        h2 { "Uptime" }
        @if state.history.at_ms == 0 {
            p.meta id="no-history" { "No uptime counted yet: the master starts within a minute." }
        }
        table id="uptime" {
            thead { tr {
                th { "Check" } th { "Last " (BAR_DAYS) " days" }
                @for w in Window::ALL { th { (w.as_str()) } }
                th { "Response time from " (h.node) }
            } }
            tbody {
                @for (id, name) in checks {
                    tr.uptime data-id=(id) {
                        td.name { (name) }
                        td { (bar(state, id)) }
                        @for w in Window::ALL {
                            @let u = state.uptime(id, w);
                            td class="pct" data-window=(w.as_str()) { (percent_text(u)) }
                        }
                        td.latency {
                            (super::latency::chart(&h.node, h.results.get(*id).map_or(&[][..], Vec::as_slice)))
                        }
                    }
                }
            }
        }
        p.meta {
            "Counted up to " (counted_at(state)) " by the cluster; uptime is up time over up and \
             down time (unknown and maintenance left out)."
        }
    }
}

fn counted_at(state: &ClusterState) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(state.history.at_ms),
    )
    .to_string()
}

/// One incident: a DOWN and what ended it, if anything yet.
pub(crate) struct Incident<'a> {
    pub(crate) down: &'a crate::state::TransitionRecord,
    pub(crate) end: Option<&'a crate::state::TransitionRecord>,
}

fn ms_of(rfc3339: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339(rfc3339).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(crate::state::duration::millis)
}

/// The recent incidents of the replicated transitions, newest first.
pub(crate) fn incidents(state: &ClusterState) -> Vec<Incident<'_>> {
    let mut out: Vec<Incident<'_>> = Vec::new();
    for t in &state.transitions {
        if t.to == CheckState::Down {
            out.push(Incident { down: t, end: None });
        } else if t.from == CheckState::Down
            && let Some(open) = out
                .iter_mut()
                .rev()
                .find(|i| i.down.check_id == t.check_id && i.end.is_none())
        {
            open.end = Some(t);
        }
    }
    out.reverse();
    out.truncate(MAX_INCIDENTS);
    out
}

/// The incidents list.
pub(crate) fn incidents_section(state: &ClusterState) -> Markup {
    let list = incidents(state);
    html! {
        h2 { "Incidents" }
        @if list.is_empty() {
            p.meta id="no-incidents" { "No incidents on record." }
        } @else {
            ul id="incidents" {
                @for i in &list {
                    li.incident data-id=(i.down.check_id) {
                        strong { (i.down.check_name) } " down at " (i.down.at) ", "
                        @match (i.end, ms_of(&i.down.at)) {
                            (Some(e), Some(start)) => {
                                "for " (duration_text(ms_of(&e.at).unwrap_or(start).saturating_sub(start)))
                                " (" (e.to.as_str()) " at " (e.at) ")"
                            }
                            _ => span.ongoing { "ongoing" },
                        }
                        br;
                        span.evidence { (i.down.evidence_summary()) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "uptime_tests.rs"]
mod tests;
