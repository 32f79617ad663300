//! Drawing `qu top`: a pure function from a [`Model`] to a ratatui
//! [`Buffer`], so every screen is tested with `TestBackend` and no terminal.
//! Laid out for 80×24 and up; without colours (`NO_COLOR`, `TERM=dumb`)
//! states are still words and the selection is still marked with `>`.

use quptime::cluster::{CheckStatus, Status};
use quptime::state::Evidence;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState, Widget};

use super::model::{Model, median_latency};

/// Draw the whole screen into `buf` over `area`.
pub fn draw(m: &Model, area: Rect, buf: &mut Buffer) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    header(m, head, buf);
    footer(m, foot, buf);
    let Some(status) = &m.status else {
        let text = match &m.error {
            Some(e) => format!("no status yet: {e}"),
            None => "waiting for the daemon…".to_string(),
        };
        Paragraph::new(text).render(body, buf);
        return;
    };
    match m.opened() {
        Some(check) => evidence(m, check, body, buf),
        None => overview(m, status, body, buf),
    }
}

fn style(m: &Model, colour: Color) -> Style {
    if m.colour {
        Style::default().fg(colour)
    } else {
        Style::default()
    }
}

fn state_style(m: &Model, state: &str) -> Style {
    match state {
        "up" => style(m, Color::Green),
        "down" => style(m, Color::Red).add_modifier(Modifier::BOLD),
        _ => style(m, Color::Yellow),
    }
}

fn header(m: &Model, area: Rect, buf: &mut Buffer) {
    let line = match &m.status {
        Some(s) => {
            let master = s
                .master
                .as_ref()
                .map_or_else(|| "none".to_string(), |n| n.to_string());
            let quorum = if s.quorum { "yes" } else { "NO" };
            Line::from(vec![
                Span::styled("qu top ", Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(format!(
                    "node {}  term {}  master {master}  quorum ",
                    s.node_id, s.term
                )),
                Span::styled(
                    format!("{quorum} (need {})", s.need),
                    if s.quorum {
                        style(m, Color::Green)
                    } else {
                        style(m, Color::Red)
                    },
                ),
            ])
        }
        None => Line::from("qu top"),
    };
    Paragraph::new(line).render(area, buf);
}

fn footer(m: &Model, area: Rect, buf: &mut Buffer) {
    let text = if m.editing {
        format!("filter: {}_   (Enter keeps, Esc clears)", m.filter)
    } else if let Some(e) = &m.error {
        format!("poll failed: {e}")
    } else if m.open.is_some() {
        "Esc back  q quit".to_string()
    } else {
        let filter = if m.filter.is_empty() {
            String::new()
        } else {
            format!("  [filter: {}]", m.filter)
        };
        format!(
            "/ filter  s sort ({})  Enter evidence  q quit  {}{filter}",
            m.sort.label(),
            short_time(&m.updated)
        )
    };
    let style = if m.error.is_some() {
        style(m, Color::Red)
    } else {
        Style::default()
    };
    Paragraph::new(Span::styled(text, style)).render(area, buf);
}

/// `2026-12-03T12:59:30Z` → `12-03 12:59:30`; anything else as it is.
fn short_time(t: &str) -> String {
    match (t.get(5..10), t.get(11..19)) {
        (Some(d), Some(h)) if t.len() >= 19 => format!("{d} {h}"),
        _ => t.to_string(),
    }
}

fn votes(v: &[Evidence]) -> String {
    v.iter()
        .map(|e| format!("{}{}", e.node.short(), if e.ok { "+" } else { "-" }))
        .collect::<Vec<_>>()
        .join(" ")
}

fn overview(m: &Model, s: &Status, area: Rect, buf: &mut Buffer) {
    let members = (s.peers.len() as u16).min(7) + 2;
    let [top, bottom] =
        Layout::vertical([Constraint::Length(members), Constraint::Min(3)]).areas(area);

    let rows = s.peers.iter().map(|p| {
        let live = if p.live { "LIVE" } else { "down" };
        let role = match (s.master.as_ref() == Some(&p.node_id), p.voter) {
            (true, _) => "master",
            (false, true) => "voter",
            (false, false) => "learner",
        };
        Row::new(vec![
            Span::raw(format!(
                "{}{}",
                p.node_id,
                if p.this_node { " *" } else { "" }
            )),
            Span::raw(p.advertise.clone()),
            Span::styled(
                live,
                if p.live {
                    style(m, Color::Green)
                } else {
                    style(m, Color::Red)
                },
            ),
            Span::raw(role),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Length(22),
            Constraint::Min(20),
            Constraint::Length(5),
            Constraint::Length(7),
        ],
    )
    .header(Row::new(["NODE", "ADVERTISE", "LIVE", "ROLE"]).style(bold()))
    .block(Block::default().borders(Borders::TOP).title(" members "))
    .render(top, buf);

    let visible = m.visible();
    let total = s.checks.len();
    let title = if visible.len() == total {
        format!(" checks ({total}) ")
    } else {
        format!(" checks ({} of {total}) ", visible.len())
    };
    let rows = visible.iter().map(|c| {
        let state = if c.disabled {
            "off".to_string()
        } else {
            c.state.clone()
        };
        Row::new(vec![
            Span::raw(c.name.clone()),
            Span::styled(state, state_style(m, &c.state)),
            Span::raw(format!("{}/{}", c.ok, c.total)),
            Span::raw(votes(&c.votes)),
            Span::raw(median_latency(c).map_or_else(|| "-".into(), |l| format!("{l}ms"))),
            Span::raw(c.since.as_deref().map_or_else(|| "-".into(), short_time)),
        ])
    });
    let mut sel = TableState::default().with_selected(if visible.is_empty() {
        None
    } else {
        Some(m.selected)
    });
    let highlight = if m.colour {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    };
    ratatui::widgets::StatefulWidget::render(
        Table::new(
            rows,
            [
                Constraint::Min(12),
                Constraint::Length(7),
                Constraint::Length(5),
                Constraint::Min(16),
                Constraint::Length(7),
                Constraint::Length(14),
            ],
        )
        .header(Row::new(["NAME", "STATE", "OK", "VOTES", "LATENCY", "SINCE"]).style(bold()))
        .block(Block::default().borders(Borders::TOP).title(title))
        .row_highlight_style(highlight)
        .highlight_symbol("> "),
        bottom,
        buf,
        &mut sel,
    );
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn evidence_table<'a>(m: &Model, ev: &'a [Evidence], title: String) -> Table<'a> {
    let rows = ev.iter().map(|e| {
        Row::new(vec![
            Span::raw(e.node.to_string()),
            Span::styled(
                if e.ok { "ok" } else { "FAIL" },
                if e.ok {
                    style(m, Color::Green)
                } else {
                    style(m, Color::Red)
                },
            ),
            Span::raw(format!("{}ms", e.latency_ms)),
            Span::raw(e.detail.replace(['\n', '\r'], " ")),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Length(22),
            Constraint::Length(4),
            Constraint::Length(8),
            Constraint::Min(20),
        ],
    )
    .header(Row::new(["NODE", "OK", "LATENCY", "DETAIL"]).style(bold()))
    .block(Block::default().borders(Borders::TOP).title(title))
}

fn evidence(m: &Model, c: &CheckStatus, area: Rect, buf: &mut Buffer) {
    let live = (c.votes.len() as u16).min(7) + 2;
    let [about, now, last] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(live),
        Constraint::Min(2),
    ])
    .areas(area);
    Paragraph::new(vec![
        Line::from(vec![
            Span::styled(format!("{} ", c.name), bold()),
            Span::raw(format!("({} {})  ", c.kind, c.target)),
            Span::styled(c.state.clone(), state_style(m, &c.state)),
            Span::raw(match &c.since {
                Some(t) => format!(" since {}", short_time(t)),
                None => String::new(),
            }),
        ]),
        Line::from(format!("id {}  {}/{} ok", c.id, c.ok, c.total)),
    ])
    .render(about, buf);
    let title = if c.votes.is_empty() {
        " evidence now: none (no fresh results, or the master did not answer) ".to_string()
    } else {
        " evidence now (latest result per member) ".to_string()
    };
    evidence_table(m, &c.votes, title).render(now, buf);
    match &c.last_transition {
        Some(t) => evidence_table(
            m,
            &t.evidence,
            format!(
                " last transition {} -> {} at {} by {} (term {}) ",
                t.from,
                t.to,
                short_time(&t.at),
                t.master,
                t.term
            ),
        )
        .render(last, buf),
        None => Paragraph::new("no transition recorded")
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" last transition "),
            )
            .render(last, buf),
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
