//! The status page as HTML, pure: [`render`] takes the node's status and
//! the time of rendering and returns the document. Server-rendered with
//! maud (text is escaped by the macro; markup is checked at compile time),
//! with no asset from another host; it reloads itself through a
//! `<meta http-equiv="refresh">`, which needs no JavaScript. Its one
//! script, the node's own `/live.js`, only updates the check rows from
//! `/events` between reloads.

use maud::{DOCTYPE, Markup, html};

use super::uptime::PageHistory;
use crate::cluster::{CheckStatus, Status};

/// Seconds between the page's own reloads.
pub(crate) const REFRESH_SECS: u32 = 30;

/// The page for `status`, with the uptime history, response times and
/// incidents when the node gives them, rendered at `now` (RFC 3339).
pub(crate) fn render(status: &Status, history: Option<&PageHistory>, now: &str) -> String {
    let checks: Vec<&CheckStatus> = status.checks.iter().filter(|c| !c.disabled).collect();
    let named: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let down = checks.iter().filter(|c| c.state == "down").count();
    let unknown = checks.iter().filter(|c| c.state == "unknown").count();
    let summary = match (checks.len(), down, unknown) {
        (0, _, _) => "No checks yet.".to_string(),
        (n, 0, 0) => format!("All {n} checks up."),
        (n, d, u) => format!("{d} of {n} checks down, {u} unknown."),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                title { "Status" }
                link rel="stylesheet" href="/style.css";
                script src="/live.js" defer {}
            }
            body {
                h1 { "Status" }
                p.meta {
                    "Served by node " strong { (status.node_id.as_str()) } " · master: "
                    @match &status.master {
                        Some(m) => strong { (m.as_str()) },
                        None => "none",
                    }
                    " · term " (status.term)
                }
                @if !status.quorum {
                    div.notice id="no-quorum" role="alert" {
                        "This cluster has no quorum: it cannot decide new states right now. "
                        "The states below are the last ones it agreed on and may be out of date."
                    }
                }
                p.summary id="summary" { (summary) }
                @if !checks.is_empty() {
                    table id="checks" {
                        thead { tr { th { "Check" } th { "State" } th { "Since" } th { "Votes" } } }
                        tbody { @for c in &checks { (row(c)) } }
                    }
                }
                @if let Some(h) = history {
                    (super::uptime::section(h, &named))
                    (super::uptime::incidents_section(&h.state))
                }
                footer {
                    "Rendered at " (now) "; this page reloads every " (REFRESH_SECS) " s. "
                    "Every node of the cluster serves the same states."
                }
            }
        }
    }
    .into_string()
}

fn row(c: &CheckStatus) -> Markup {
    html! {
        tr.check data-id=(c.id) data-state=(c.state) {
            td.name { (c.name) }
            td { span class={ "state state-" (state_class(&c.state)) } { (c.state.to_uppercase()) } @if c.degraded { " " span class="degraded" { "(degraded)" } } @if c.maintenance { " " span class="maintenance" { "(maintenance)" } } @if !c.blocked_by.is_empty() { " " span class="blocked" { "(blocked by " (c.blocked_by.join(", ")) ")" } } }
            td.since { (c.since.as_deref().unwrap_or("–")) }
            td {
                @if c.votes.is_empty() {
                    (c.ok) " of " (c.total) " ok"
                } @else {
                    ul.votes {
                        @for v in &c.votes {
                            li class=(if v.ok { "vote-ok" } else { "vote-fail" }) {
                                (v.node.as_str()) ": "
                                @if v.ok { "ok, " (v.latency_ms) " ms" } @else { "failed: " (v.detail) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A state's CSS class suffix: only the three known words, never raw text.
fn state_class(state: &str) -> &'static str {
    match state {
        "up" => "up",
        "down" => "down",
        _ => "unknown",
    }
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
