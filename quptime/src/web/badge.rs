//! SVG status badges (`/badge/<check>/status.svg`), pure: the check's name
//! on the left, its state on the right in the state's colour, in the flat
//! style READMEs already show. Text goes through maud, so a name cannot
//! break out of the SVG.

use maud::html;

use crate::cluster::{CheckStatus, Status};
use crate::state::history::{Uptime, Window};

/// The check `key` names: its id first, else its name.
pub(crate) fn find<'a>(status: &'a Status, key: &str) -> Option<&'a CheckStatus> {
    (status.checks.iter().find(|c| c.id == key))
        .or_else(|| status.checks.iter().find(|c| c.name == key))
}

/// The word a badge shows: the state, or `disabled` (a badge embedded
/// somewhere keeps working while its check is off).
pub(crate) fn shown_state(check: &CheckStatus) -> &str {
    if check.disabled {
        "disabled"
    } else {
        &check.state
    }
}

/// The colour for `state`: green up, red down, grey otherwise.
pub(crate) fn colour(state: &str) -> &'static str {
    match state {
        "up" => "#2e7d32",
        "down" => "#c62828",
        _ => "#757575",
    }
}

/// Approximate width of `s` in 11 px Verdana, plus padding.
fn width(s: &str) -> usize {
    s.chars().count() * 7 + 10
}

/// The badge for a check called `label` in `state`.
pub(crate) fn status_svg(label: &str, state: &str) -> String {
    svg(label, state, colour(state))
}

/// The uptime badge of `name` over `window` (`/badge/<check>/uptime/30d.svg`):
/// the figure of the replicated history, coloured like the page's bars.
pub(crate) fn uptime_svg(name: &str, window: Window, uptime: Option<Uptime>) -> String {
    let fill = uptime.as_ref().map_or("#bdbdbd", super::uptime::colour);
    svg(
        &format!("{name} {}", window.as_str()),
        &super::uptime::percent_text(uptime),
        fill,
    )
}

/// A flat badge: `label` on grey, `state` on `fill`.
fn svg(label: &str, state: &str, fill: &str) -> String {
    let (lw, rw) = (width(label), width(state));
    let total = lw + rw;
    let title = format!("{label}: {state}");
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(total) height="20" role="img"
            aria-label=(title) {
            title { (title) }
            rect width=(lw) height="20" fill="#555" {}
            rect x=(lw) width=(rw) height="20" fill=(fill) {}
            g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif"
                font-size="11" {
                text x=(lw / 2) y="14" { (label) }
                text x=(lw + rw / 2) y="14" { (state) }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_badge_names_the_check_and_colours_its_state() {
        let up = status_svg("web", "up");
        assert!(
            up.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{up}"
        );
        assert!(
            up.contains(">web</text>") && up.contains(">up</text>"),
            "{up}"
        );
        assert!(up.contains("fill=\"#2e7d32\""), "{up}");
        let down = status_svg("web", "down");
        assert!(down.contains("fill=\"#c62828\"") && !down.contains("#2e7d32"));
        assert!(status_svg("web", "unknown").contains("fill=\"#757575\""));
    }

    #[test]
    fn the_uptime_badge_shows_the_window_and_the_figure() {
        let u = Uptime {
            up_ms: 999,
            down_ms: 1,
            ..Uptime::default()
        };
        let svg = uptime_svg("web", Window::Days30, Some(u));
        assert!(svg.contains(">web 30d</text>"), "{svg}");
        assert!(svg.contains(">99.900%</text>"), "{svg}");
        assert!(svg.contains("fill=\"#7cb342\""), "{svg}");
        let none = uptime_svg("web", Window::Hours24, None);
        assert!(
            none.contains(">–</text>") && none.contains("#bdbdbd"),
            "{none}"
        );
    }

    #[test]
    fn text_in_a_badge_is_escaped() {
        let svg = status_svg("<script>x</script>", "up");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;"), "{svg}");
    }
}
