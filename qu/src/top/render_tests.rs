//! Tests of `qu top`'s drawing on an 80×24 test terminal: what an operator
//! sees over a small SSH window is asserted line by line.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::*;
use crate::top::model::Key;
use crate::top::model::tests::sample;

/// Draw `m` on an 80×24 test terminal; the screen's lines, and the buffer.
fn screen(m: &Model) -> (Vec<String>, Buffer) {
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    t.draw(|f| draw(m, f.area(), f.buffer_mut())).expect("draw");
    let buf = t.backend().buffer().clone();
    let lines = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect();
    (lines, buf)
}

fn model(colour: bool) -> Model {
    let mut m = Model::new(colour);
    m.update(sample(), "2026-12-03T13:02:00Z".into());
    m
}

fn line<'a>(lines: &'a [String], needle: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{}", lines.join("\n")))
}

#[test]
fn the_overview_fits_80x24_with_members_and_checks() {
    let (lines, _) = screen(&model(true));
    let all = lines.join("\n");
    assert!(
        lines[0].contains("node alpha") && lines[0].contains("term 7"),
        "{all}"
    );
    assert!(lines[0].contains("master alpha") && lines[0].contains("quorum yes (need 2)"));
    assert!(line(&lines, "bravo").contains("LIVE"));
    assert!(line(&lines, "charlie").contains("down"));
    assert!(line(&lines, "alpha *").contains("master"));
    let api = line(&lines, "api ");
    assert!(api.starts_with("> "), "the first check is selected: {api}");
    assert!(api.contains("down") && api.contains("0/2") && api.contains("alpha- bravo-"));
    assert!(
        api.contains("2ms") && api.contains("12-03 13:01:00"),
        "{api}"
    );
    let home = line(&lines, "homepage");
    assert!(home.contains("up") && home.contains("alpha+ bravo+") && home.contains("90ms"));
    assert!(line(&lines, "dns-zone").contains("unknown"));
    assert!(
        lines[23].contains("/ filter") && lines[23].contains("q quit"),
        "{all}"
    );
}

#[test]
fn the_filter_hides_other_checks_and_is_shown() {
    let mut m = model(true);
    m.key(Key::Char('/'));
    m.key(Key::Char('h'));
    m.key(Key::Char('o'));
    let (lines, _) = screen(&m);
    let all = lines.join("\n");
    assert!(
        all.contains("homepage") && !all.contains("api ") && !all.contains("dns-zone"),
        "{all}"
    );
    assert!(lines[23].contains("filter: ho_"), "{all}");
    assert!(all.contains("checks (1 of 3)"), "{all}");
}

#[test]
fn enter_shows_the_evidence_now_and_of_the_last_transition() {
    let mut m = model(true);
    m.key(Key::Enter);
    let (lines, _) = screen(&m);
    let all = lines.join("\n");
    assert!(
        lines[1].contains("api") && lines[1].contains("tcp api.example.com:443"),
        "{all}"
    );
    assert!(all.contains("evidence now"), "{all}");
    assert!(
        all.contains("last transition up -> down at 12-03 13:01:00 by alpha (term 7)"),
        "{all}"
    );
    assert!(line(&lines, "timed out after 1s").contains("1000ms"));
    assert!(line(&lines, "timed out after 1s").contains("FAIL"));
    assert!(lines[23].contains("Esc back"), "{all}");
}

#[test]
fn a_check_with_no_votes_says_so() {
    let mut m = model(true);
    m.key(Key::Down);
    m.key(Key::Enter);
    let (lines, _) = screen(&m);
    let all = lines.join("\n");
    assert!(
        all.contains("dns-zone") && all.contains("evidence now: none"),
        "{all}"
    );
    assert!(all.contains("no transition recorded"), "{all}");
}

#[test]
fn without_colour_no_cell_has_a_colour_and_the_selection_is_marked() {
    let (lines, buf) = screen(&model(false));
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "a coloured cell without colours");
        assert_eq!(cell.bg, Color::Reset);
    }
    assert!(line(&lines, "api ").starts_with("> "));
    // With colours, states are coloured.
    let (_, buf) = screen(&model(true));
    assert!(buf.content().iter().any(|c| c.fg == Color::Red));
    assert!(buf.content().iter().any(|c| c.fg == Color::Green));
}

#[test]
fn before_the_first_answer_the_error_is_shown() {
    let mut m = Model::new(false);
    m.failed("cannot connect to /run/quptime/qu.sock".into());
    let (lines, _) = screen(&m);
    assert!(lines.join("\n").contains("no status yet: cannot connect"));
}
