//! What `qu top` shows and how keys change it, without a terminal: the last
//! status (or the error of the last poll), the filter, the sort order, the
//! selected check and whether its evidence is open. Pure, so every key is
//! tested without I/O; `render.rs` draws it and `mod.rs` feeds it.

use quptime::cluster::{CheckStatus, Status};

/// A key press, as the loop reads it from the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Up,
    Down,
    /// Ctrl-C: quits from anywhere.
    Interrupt,
}

/// What the loop does after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    Quit,
}

/// The order of the checks table; `s` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Down first, then unknown, then up; by name within a state.
    State,
    Name,
    /// Slowest median latency first.
    Latency,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::State => Sort::Name,
            Sort::Name => Sort::Latency,
            Sort::Latency => Sort::State,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::State => "state",
            Sort::Name => "name",
            Sort::Latency => "latency",
        }
    }
}

/// The dashboard's whole state.
#[derive(Debug, Clone)]
pub struct Model {
    /// The last status received.
    pub status: Option<Status>,
    /// Why the last poll failed (the status shown is then older).
    pub error: Option<String>,
    /// When the last poll answered (RFC 3339 UTC).
    pub updated: String,
    /// Only checks whose name, id, type or target contain this (any case).
    pub filter: String,
    /// The filter is being typed (after `/`, until Enter or Esc).
    pub editing: bool,
    pub sort: Sort,
    /// Index into [`Model::visible`].
    pub selected: usize,
    /// The id of the check whose evidence is open.
    pub open: Option<String>,
    /// Whether to draw colours (off for `NO_COLOR` and `TERM=dumb`).
    pub colour: bool,
}

/// Colours unless `NO_COLOR` is set (to anything) or the terminal is dumb.
pub fn colour_wanted(no_color: Option<&str>, term: Option<&str>) -> bool {
    no_color.is_none() && term != Some("dumb")
}

/// The median latency of a check's votes, in ms.
pub fn median_latency(c: &CheckStatus) -> Option<u64> {
    let mut l: Vec<u64> = c.votes.iter().map(|v| v.latency_ms).collect();
    if l.is_empty() {
        return None;
    }
    l.sort_unstable();
    Some(l[l.len() / 2])
}

fn state_rank(state: &str) -> u8 {
    match state {
        "down" => 0,
        "unknown" => 1,
        _ => 2,
    }
}

impl Model {
    pub fn new(colour: bool) -> Model {
        Model {
            status: None,
            error: None,
            updated: String::new(),
            filter: String::new(),
            editing: false,
            sort: Sort::State,
            selected: 0,
            open: None,
            colour,
        }
    }

    /// A poll answered: keep the selection on the same check if it is
    /// still shown.
    pub fn update(&mut self, status: Status, now: String) {
        let keep = self.selected_check().map(|c| c.id.clone());
        self.status = Some(status);
        self.error = None;
        self.updated = now;
        self.reselect(keep);
    }

    /// A poll failed: keep showing the last status, with the error.
    pub fn failed(&mut self, error: String) {
        self.error = Some(error);
    }

    /// The checks shown: filtered, then sorted.
    pub fn visible(&self) -> Vec<&CheckStatus> {
        let Some(s) = &self.status else {
            return Vec::new();
        };
        let needle = self.filter.to_lowercase();
        let mut v: Vec<&CheckStatus> = s
            .checks
            .iter()
            .filter(|c| {
                needle.is_empty()
                    || [&c.name, &c.id, &c.kind, &c.target]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&needle))
            })
            .collect();
        match self.sort {
            Sort::State => v.sort_by(|a, b| {
                (state_rank(&a.state), &a.name).cmp(&(state_rank(&b.state), &b.name))
            }),
            Sort::Name => v.sort_by(|a, b| a.name.cmp(&b.name)),
            Sort::Latency => v.sort_by(|a, b| {
                median_latency(b)
                    .cmp(&median_latency(a))
                    .then_with(|| a.name.cmp(&b.name))
            }),
        }
        v
    }

    pub fn selected_check(&self) -> Option<&CheckStatus> {
        self.visible().get(self.selected).copied()
    }

    /// The check whose evidence is open, if it still exists.
    pub fn opened(&self) -> Option<&CheckStatus> {
        let id = self.open.as_ref()?;
        self.status.as_ref()?.checks.iter().find(|c| &c.id == id)
    }

    fn reselect(&mut self, id: Option<String>) {
        let visible = self.visible();
        self.selected = match id.and_then(|id| visible.iter().position(|c| c.id == id)) {
            Some(i) => i,
            None => self.selected.min(visible.len().saturating_sub(1)),
        };
    }

    /// Apply one key.
    pub fn key(&mut self, key: Key) -> Action {
        if key == Key::Interrupt {
            return Action::Quit;
        }
        if self.editing {
            let keep = self.selected_check().map(|c| c.id.clone());
            match key {
                Key::Enter => self.editing = false,
                Key::Esc => {
                    self.editing = false;
                    self.filter.clear();
                }
                Key::Backspace => {
                    self.filter.pop();
                }
                // Bounded: a filter longer than any field is useless.
                Key::Char(c) if !c.is_control() && self.filter.chars().count() < 64 => {
                    self.filter.push(c)
                }
                _ => {}
            }
            self.reselect(keep);
            return Action::Continue;
        }
        if self.open.is_some() {
            match key {
                Key::Char('q') => return Action::Quit,
                Key::Esc | Key::Enter | Key::Backspace => self.open = None,
                _ => {}
            }
            return Action::Continue;
        }
        match key {
            Key::Char('q') | Key::Esc => return Action::Quit,
            Key::Char('/') => self.editing = true,
            Key::Char('s') => {
                let keep = self.selected_check().map(|c| c.id.clone());
                self.sort = self.sort.next();
                self.reselect(keep);
            }
            Key::Up | Key::Char('k') => self.selected = self.selected.saturating_sub(1),
            Key::Down | Key::Char('j') if self.selected + 1 < self.visible().len() => {
                self.selected += 1
            }
            Key::Enter => self.open = self.selected_check().map(|c| c.id.clone()),
            _ => {}
        }
        Action::Continue
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
pub(crate) mod tests;
