//! Per-channel subject and body templates (`subject_template`,
//! `body_template` settings): plain text with `{placeholder}`s, so an
//! operator can shape what a channel says without a template language.
//!
//! Placeholders: `{check}`, `{target}`, `{type}` (`http`), `{kind}` (`DOWN`,
//! `RECOVERED`, `STILL DOWN`, `TEST`), `{state}` (the state entered:
//! `down`, `up`; `test` for test alerts), `{from}` (the state left),
//! `{detail}`, `{evidence}` (`2/3 failing: b=…, c=…`), `{reporters}`
//! (`1/3 OK, 2 failing`), `{expectation}`, `{master}`, `{time}`, `{since}`,
//! and `{subject}` / `{body}` (the default renderings). `{{` and `}}` write
//! a literal brace. A template that is malformed or names an unknown
//! placeholder is refused when the channel is configured; one that slips
//! through anyway (written by a newer version, say) is replaced by the
//! default rendering at send time, never a failed alert.

use std::fmt;

use super::notification::Notification;

/// Every placeholder a `subject_template` or `body_template` may use:
/// `{check}`, `{target}`, `{type}` (`http`), `{kind}` (`DOWN`,
/// `RECOVERED`, `STILL DOWN`, `TEST`), `{state}` (the state entered, `down`
/// or `up`; `test` for test alerts), `{from}` (the state left), `{detail}`,
/// `{evidence}` (`2/3 failing: b=…, c=…`), `{reporters}` (`1/3 OK, 2
/// failing`), `{expectation}`, `{master}`, `{time}`, `{since}` (reminders),
/// and `{subject}` / `{body}` (the default texts). `{{` and `}}` write
/// literal braces. A malformed template or an unknown placeholder is
/// refused by [`validate`](super::validate); at send time it falls back to
/// the default text (and logs a warning), never failing the alert.
pub const PLACEHOLDERS: [&str; 15] = [
    "check",
    "target",
    "type",
    "kind",
    "state",
    "from",
    "detail",
    "evidence",
    "reporters",
    "expectation",
    "master",
    "time",
    "since",
    "subject",
    "body",
];

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    /// `{name}` with a name not in [`PLACEHOLDERS`].
    Unknown(String),
    /// A `{` without its `}`.
    Unclosed(usize),
    /// A `}` without its `{` (write `}}` for a literal brace).
    StrayClose(usize),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Unknown(name) => write!(
                f,
                "unknown placeholder {{{name}}}: use one of {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ),
            TemplateError::Unclosed(at) => write!(
                f,
                "'{{' at character {at} is never closed: write '{{{{' for a literal brace"
            ),
            TemplateError::StrayClose(at) => write!(
                f,
                "'}}' at character {at} closes nothing: write '}}}}' for a literal brace"
            ),
        }
    }
}

/// One piece of a parsed template.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Field(&'a str),
}

/// Split `template` into pieces, refusing malformed ones.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(i) = rest.find(['{', '}']) {
        if i > 0 {
            pieces.push(Piece::Text(&rest[..i]));
        }
        let brace = rest.as_bytes()[i];
        let at = template[..offset + i].chars().count();
        let after = &rest[i + 1..];
        let consumed;
        if after.as_bytes().first() == Some(&brace) {
            pieces.push(Piece::Brace(brace as char));
            consumed = i + 2;
        } else if brace == b'}' {
            return Err(TemplateError::StrayClose(at));
        } else {
            let end = after.find(['}', '{']).ok_or(TemplateError::Unclosed(at))?;
            if after.as_bytes()[end] == b'{' {
                return Err(TemplateError::Unclosed(at));
            }
            let name = after[..end].trim();
            if !PLACEHOLDERS.contains(&name) {
                return Err(TemplateError::Unknown(name.to_string()));
            }
            pieces.push(Piece::Field(name));
            consumed = i + 1 + end + 1;
        }
        offset += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Check a template without rendering it.
pub(crate) fn check(template: &str) -> Result<(), TemplateError> {
    parse(template).map(|_| ())
}

/// Longest template text.
pub const MAX_TEMPLATE: usize = 4 << 10;
/// Longest rendered text: placeholders such as `{body}` repeated in a
/// template cannot make an alert larger than this (the rest is cut).
pub const MAX_RENDERED: usize = 64 << 10;

/// Render `template` for `n`; `subject` and `body` are the default
/// renderings, which `{subject}` and `{body}` insert.
pub(crate) fn render(
    template: &str,
    n: &Notification,
    subject: &str,
    body: &str,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 64);
    for piece in parse(template)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Brace(c) => out.push(c),
            Piece::Field(name) => out.push_str(&value(name, n, subject, body)),
        }
        if out.len() > MAX_RENDERED {
            let mut cut = MAX_RENDERED;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    Ok(out)
}

/// The text a placeholder stands for.
fn value(name: &str, n: &Notification, subject: &str, body: &str) -> String {
    let state = |s: Option<crate::state::CheckState>| s.map(|s| s.as_str()).unwrap_or_default();
    match name {
        "check" => n.check.clone(),
        "target" => n.target.clone(),
        "type" => n.check_type.map(|t| t.as_str()).unwrap_or_default().into(),
        "kind" => n.kind.label().into(),
        "state" if n.to.is_none() => n.kind.as_str().into(),
        "state" => state(n.to).into(),
        "from" => state(n.from).into(),
        "detail" => n.detail(),
        "evidence" => n.evidence_summary(),
        "reporters" => n.reporters(),
        "expectation" => n.expectation.clone().unwrap_or_default(),
        "master" => n.master.to_string(),
        "time" => n.time.clone(),
        "since" => n.since.clone().unwrap_or_default(),
        "subject" => subject.into(),
        "body" => body.into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_text_and_escaped_braces() {
        assert_eq!(
            parse("a {check} {{x}} b").expect("ok"),
            vec![
                Piece::Text("a "),
                Piece::Field("check"),
                Piece::Text(" "),
                Piece::Brace('{'),
                Piece::Text("x"),
                Piece::Brace('}'),
                Piece::Text(" b"),
            ]
        );
        assert_eq!(parse("").expect("empty"), vec![]);
    }

    #[test]
    fn refuses_malformed_and_unknown() {
        assert_eq!(
            parse("x {nope} y"),
            Err(TemplateError::Unknown("nope".into()))
        );
        assert_eq!(parse("ab {check"), Err(TemplateError::Unclosed(3)));
        assert_eq!(parse("é {ch{eck}"), Err(TemplateError::Unclosed(2)));
        assert_eq!(parse("x } y"), Err(TemplateError::StrayClose(2)));
        let text = TemplateError::Unknown("nope".into()).to_string();
        assert!(
            text.contains("{check}") && text.contains("{nope}"),
            "{text}"
        );
    }
}
