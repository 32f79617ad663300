//! The dashboard's HTML, pure: what a logged-in operator sees (the
//! cluster, every check with each node's vote and evidence, the alert
//! channels masked, the outbox, the maintenance windows) and the forms
//! that change it. Rendered with maud like the status page (text escaped
//! by the macro), with no script: every form is a plain POST carrying the
//! session's CSRF token. A refused form is shown again with its values and
//! the CLI's text for the error next to the field it names.

use maud::{DOCTYPE, Markup, html};

use super::csrf;
use super::forms::Form;
use crate::api::AlertView;
use crate::cluster::{CheckStatus, Status};
use crate::state::api_token::TokenRole;
use crate::state::{Check, ClusterState};

/// Outbox entries shown (the newest).
pub(crate) const OUTBOX_SHOWN: usize = 50;

/// A form that was refused: which one, what was sent, and why.
#[derive(Debug, Clone)]
pub(crate) struct Failed {
    /// The form's id (`add`, `maintenance`, `silence-<check id>`, `edit`).
    pub form: String,
    /// The field the error names, if any.
    pub field: Option<String>,
    /// The error as the CLI words it (message, then the hint).
    pub text: String,
    /// The values sent, to fill the form again.
    pub values: Form,
}

/// What a dashboard page shows.
pub(crate) struct View<'a> {
    /// The node's status (with the master's live votes).
    pub status: &'a Status,
    /// The replicated state.
    pub state: &'a ClusterState,
    /// The name of the token logged in with.
    pub who: &'a str,
    /// Its role: a read token sees no forms.
    pub role: TokenRole,
    /// The session's CSRF token, put in every form.
    pub csrf: &'a str,
    /// A line saying what the last write did.
    pub notice: Option<&'a str>,
    /// A refused form, shown again.
    pub failed: Option<&'a Failed>,
    /// Now, ms since the epoch (for the open windows).
    pub now_ms: u64,
}

impl View<'_> {
    fn writer(&self) -> bool {
        self.role.allows(TokenRole::Write)
    }

    /// The value to show in field `name` of form `form`: what was sent
    /// when that form was refused, else `default`.
    fn value<'b>(&'b self, form: &str, name: &str, default: &'b str) -> &'b str {
        match self.failed {
            Some(f) if f.form == form => f.values.get(name).unwrap_or(default),
            _ => default,
        }
    }

    /// The error next to field `name` of form `form`, if it names it.
    fn error(&self, form: &str, name: &str) -> Markup {
        match self.failed {
            Some(f) if f.form == form && f.field.as_deref() == Some(name) => {
                html! { span.error role="alert" data-field=(name) { (f.text) } }
            }
            _ => html! {},
        }
    }

    /// The error of form `form` that names none of `fields`, if any.
    fn form_error(&self, form: &str, fields: &[&str]) -> Markup {
        match self.failed {
            Some(f)
                if f.form == form && !f.field.as_deref().is_some_and(|x| fields.contains(&x)) =>
            {
                html! { p.error role="alert" data-field=(f.field.as_deref().unwrap_or("")) { (f.text) } }
            }
            _ => html! {},
        }
    }

    fn hidden(&self) -> Markup {
        html! { input type="hidden" name=(csrf::FIELD) value=(self.csrf); }
    }
}

/// A page: the head, a title and `body`.
fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · quptime" }
                link rel="stylesheet" href="/style.css";
                link rel="stylesheet" href="/dashboard/style.css";
            }
            body { (body) }
        }
    }
    .into_string()
}

/// The login form; `token` is its one-off CSRF token.
pub(crate) fn login(token: &str, error: Option<&str>) -> String {
    layout(
        "Dashboard login",
        html! {
            h1 { "Dashboard" }
            p.meta { "Log in with an API token from " code { "qu token create --role write <name>" }
                " (a read token shows the pages and changes nothing)." }
            @if let Some(e) = error { p.error role="alert" id="login-error" { (e) } }
            form method="post" action="/dashboard/login" id="login" {
                input type="hidden" name=(csrf::FIELD) value=(token);
                label { "API token " input type="password" name="token" autocomplete="off" required; }
                " " button type="submit" { "Log in" }
            }
            p { a href="/" { "The public status page" } }
        },
    )
}

/// A refusal (403 and the like) with what to do.
pub(crate) fn refused(title: &str, why: &str) -> String {
    layout(
        title,
        html! {
            h1 { (title) }
            p.error id="refused" role="alert" { (why) }
            p { a href="/dashboard" { "Back to the dashboard" } " · " a href="/dashboard/login" { "Log in" } }
        },
    )
}

fn header(v: &View) -> Markup {
    html! {
        h1 { "Dashboard" }
        p.meta {
            "Node " strong { (v.status.node_id.as_str()) } " · logged in as "
            strong id="who" { (v.who) } " (" (v.role) " token) · "
            a href="/" { "status page" } " "
        }
        form.inline method="post" action="/dashboard/logout" id="logout" {
            (v.hidden()) button type="submit" { "Log out" }
        }
        @if let Some(n) = v.notice { p.done id="notice" role="status" { (n) } }
        (v.form_error("top", &[]))
        @if !v.writer() { p.meta id="read-only" { "This is a read token: the forms are hidden, and writes are refused." } }
    }
}

/// The main page.
pub(crate) fn main(v: &View) -> String {
    layout(
        "Dashboard",
        html! {
            (header(v))
            (cluster(v.status))
            (checks(v))
            @if v.writer() { (add_form(v)) }
            (maintenance(v))
            (channels(v.state))
            (outbox(v.state))
        },
    )
}

fn cluster(s: &Status) -> Markup {
    html! {
        h2 { "Cluster" }
        table id="cluster" {
            tr { th { "Master" } td id="master" { @match &s.master { Some(m) => (m.as_str()), None => "none" } } }
            tr { th { "Term" } td { (s.term) } }
            tr { th { "Quorum" } td id="quorum" { @if s.quorum { "yes" } @else { "NO" } " (" (s.need) " votes needed)" } }
            tr { th { "Lease" } td { @if s.is_master { "this node holds the master lease" } @else { "held by the master" }
                " · liveness within " (s.live_within_ms) " ms" } }
            @if let Some(p) = &s.pinned_master { tr { th { "Pinned master" } td { (p.node_id.as_str()) " until " (p.until) } } }
            @if let Some(u) = &s.unhealthy { tr { th { "Unhealthy" } td.error { (u) } } }
            tr { th { "Config version" } td id="version" { (s.config_version) } }
        }
        table id="members" {
            thead { tr { th { "Member" } th { "Address" } th { "Live" } th { "Voter" } th { "Last seen" } th { "Labels" } } }
            tbody {
                @for p in &s.peers {
                    tr data-node=(p.node_id.as_str()) {
                        td { (p.node_id.as_str()) @if p.this_node { " (this node)" } }
                        td { (p.advertise) }
                        td { @if p.live { "yes" } @else { strong { "no" } } }
                        td { @if p.voter { "yes" } @else { "learner" } }
                        td { (p.last_seen.as_deref().unwrap_or("–")) }
                        td { @for (k, val) in &p.labels { code { (k) "=" (val) } " " } }
                    }
                }
            }
        }
    }
}

fn checks(v: &View) -> Markup {
    html! {
        h2 { "Checks" }
        @if v.status.checks.is_empty() { p { "No checks yet." } }
        @else {
            table id="checks" {
                thead { tr { th { "Check" } th { "State" } th { "Votes" } th { "Last change" } @if v.writer() { th { "Change" } } } }
                tbody { @for c in &v.status.checks { (check_row(v, c)) } }
            }
        }
    }
}

fn check_row(v: &View, c: &CheckStatus) -> Markup {
    let silence = format!("silence-{}", c.id);
    html! {
        tr.check data-id=(c.id) data-state=(c.state) {
            td { strong.name { (c.name) } br; small { (c.kind) " " (c.target) } }
            td {
                span class={ "state state-" (state_class(&c.state)) } { (c.state.to_uppercase()) }
                @if c.disabled { " " span.disabled { "(disabled)" } }
                @if c.maintenance { " " span { "(maintenance" @if let Some(u) = &c.maintenance_until { " until " (u) } ")" } }
                @if let Some(r) = &c.reason { br; small { (r) } }
            }
            td {
                @if c.votes.is_empty() { (c.ok) " of " (c.total) " ok" @if !c.detail.is_empty() { br; small { (c.detail) } } }
                @else { ul.votes { @for e in &c.votes {
                    li class=(if e.ok { "vote-ok" } else { "vote-fail" }) {
                        (e.node.as_str()) ": " @if e.ok { "ok, " (e.latency_ms) " ms" } @else { "failed: " (e.detail) }
                    }
                } } }
            }
            td { @match &c.last_transition {
                Some(t) => { (t.from.as_str()) " → " (t.to.as_str()) " at " (t.at) br; small.evidence { (t.evidence_summary()) } },
                None => "–",
            } }
            @if v.writer() { td.actions {
                a href={ "/dashboard/checks/" (c.id) "/edit" } { "Edit" }
                form.inline method="post" action={ "/dashboard/checks/" (c.id) (if c.disabled { "/enable" } else { "/disable" }) } {
                    (v.hidden()) button type="submit" { @if c.disabled { "Enable" } @else { "Disable" } }
                }
                form.inline method="post" action={ "/dashboard/checks/" (c.id) "/silence" } {
                    (v.hidden())
                    (v.form_error(&silence, &["for"]))
                    input type="text" name="for" size="4" value=(v.value(&silence, "for", "1h")) aria-label="silence for";
                    button type="submit" { "Silence" }
                    (v.error(&silence, "for"))
                }
            } }
        }
    }
}

/// A labelled text input of form `form`, with its error.
fn input(v: &View, form: &str, name: &str, label: &str, default: &str, hint: &str) -> Markup {
    html! {
        label {
            (label) " "
            input type="text" name=(name) value=(v.value(form, name, default)) placeholder=(hint);
        }
        (v.error(form, name))
    }
}

fn add_form(v: &View) -> Markup {
    const FIELDS: [&str; 5] = ["name", "type", "target", "interval", "timeout"];
    let kind = v.value("add", "type", "http");
    html! {
        h2 { "Add a check" }
        form method="post" action="/dashboard/checks" id="add-check" {
            (v.hidden())
            (v.form_error("add", &FIELDS))
            (input(v, "add", "name", "Name", "", "web"))
            label { "Type " select name="type" {
                @for t in ["http", "tcp", "tls", "dns", "icmp"] { option value=(t) selected[kind == t] { (t) } }
            } }
            (v.error("add", "type"))
            (input(v, "add", "target", "Target", "", "https://example.com/health"))
            (input(v, "add", "interval", "Interval", "", "30s"))
            (input(v, "add", "timeout", "Timeout", "", "10s"))
            button type="submit" { "Add check" }
        }
    }
}

fn maintenance(v: &View) -> Markup {
    const FIELDS: [&str; 4] = ["checks", "start", "for", "reason"];
    let name = |id: &String| {
        v.state
            .checks
            .get(id)
            .map_or(id.clone(), |c| c.name.clone())
    };
    html! {
        h2 { "Maintenance windows" }
        @if v.state.maintenance.is_empty() { p { "None." } }
        @else {
            table id="maintenance" {
                thead { tr { th { "When" } th { "Checks" } th { "Reason" } th { "Now" } } }
                tbody { @for w in v.state.maintenance.values() {
                    tr data-id=(w.id) {
                        td { (w.describe_when()) }
                        td { @for (i, c) in w.checks.iter().enumerate() { @if i > 0 { ", " } (name(c)) } }
                        td { (w.reason) @if w.silence { " (silence)" } }
                        td { @if w.open_at(v.now_ms).is_some() { "open" } @else if w.expired(v.now_ms) { "over" } @else { "later" } }
                    }
                } }
            }
        }
        @if v.writer() {
            form method="post" action="/dashboard/maintenance" id="add-maintenance" {
                (v.hidden())
                (v.form_error("maintenance", &FIELDS))
                (input(v, "maintenance", "checks", "Checks", "", "web, db"))
                (input(v, "maintenance", "start", "Start", "now", "now or 2026-01-01T02:00:00Z"))
                (input(v, "maintenance", "for", "For", "1h", "2h"))
                (input(v, "maintenance", "reason", "Reason", "", "upgrade"))
                button type="submit" { "Start window" }
            }
        }
    }
}

fn channels(state: &ClusterState) -> Markup {
    html! {
        h2 { "Alert channels" }
        @if state.alerts.is_empty() { p { "None." } }
        @else {
            table id="channels" {
                thead { tr { th { "Channel" } th { "Type" } th { "Settings (masked)" } } }
                tbody { @for a in state.alerts.values().map(AlertView::of) {
                    tr data-id=(a.id) {
                        td { (a.name) @if a.default { " (default)" } @if a.disabled { " (disabled)" } }
                        td { (a.kind) }
                        td { @for (k, val) in &a.settings { code { (k) "=" (val) } " " } }
                    }
                } }
            }
        }
    }
}

fn outbox(state: &ClusterState) -> Markup {
    let channel = |id: &str| {
        state
            .alerts
            .get(id)
            .map_or(id.to_string(), |a| a.name.clone())
    };
    html! {
        h2 { "Outbox" }
        @if state.outbox.is_empty() { p { "Nothing sent yet." } }
        @else {
            table id="outbox" {
                thead { tr { th { "#" } th { "Alert" } th { "Check" } th { "Channel" } th { "Delivery" } } }
                tbody { @for e in state.outbox.values().rev().take(OUTBOX_SHOWN) {
                    tr {
                        td { (e.id) }
                        td { (format!("{:?}", e.kind).to_uppercase()) }
                        td { (state.transitions.iter().find(|t| t.seq == e.transition).map_or("–", |t| t.check_name.as_str())) }
                        td { (channel(&e.channel)) }
                        td { @if let Some(at) = &e.delivered_at { "delivered " (at) }
                             @else if let Some(f) = &e.failed { span.error { "failed: " (f) } }
                             @else { "pending" } }
                    }
                } }
            }
        }
    }
}

/// The edit form of `check`.
pub(crate) fn edit(v: &View, check: &Check) -> String {
    const FIELDS: [&str; 4] = ["name", "target", "interval", "timeout"];
    let interval = crate::state::duration::format(check.interval);
    let timeout = crate::state::duration::format(check.timeout);
    layout(
        "Edit check",
        html! {
            (header(v))
            h2 { "Edit " (check.name) }
            form method="post" action={ "/dashboard/checks/" (check.id) "/edit" } id="edit-check" {
                (v.hidden())
                (v.form_error("edit", &FIELDS))
                (input(v, "edit", "name", "Name", &check.name, ""))
                (input(v, "edit", "target", "Target", &check.target, ""))
                (input(v, "edit", "interval", "Interval", &interval, ""))
                (input(v, "edit", "timeout", "Timeout", &timeout, ""))
                button type="submit" { "Save" }
            }
            p { a href="/dashboard" { "Back" } }
        },
    )
}

/// A state's CSS class suffix: only the three known words.
fn state_class(state: &str) -> &'static str {
    match state {
        "up" => "up",
        "down" => "down",
        _ => "unknown",
    }
}

#[cfg(test)]
#[path = "dashboard_page_tests.rs"]
mod tests;
