//! The response-time chart of one check as seen by this node, pure: a
//! server-rendered SVG line of its last raw results (from the node's own
//! store, [`crate::results`]), failures as red marks, min / avg / max in
//! the tooltip. No script; each node charts its own probes.

use maud::{Markup, html};

use crate::results::RawResult;

/// Results charted per check.
pub(crate) const CHART_POINTS: usize = 120;
const W: u64 = 240;
const H: u64 = 32;

/// `min / avg / max` latency of the successful results, in ms.
pub(crate) fn summary(results: &[RawResult]) -> Option<(u32, u32, u32)> {
    let ok: Vec<u32> = results
        .iter()
        .filter(|r| r.ok)
        .map(|r| r.latency_ms)
        .collect();
    let (min, max) = (ok.iter().min()?, ok.iter().max()?);
    let avg = ok.iter().map(|&l| u64::from(l)).sum::<u64>() / ok.len() as u64;
    Some((*min, u32::try_from(avg).unwrap_or(u32::MAX), *max))
}

/// The chart, from `node`'s point of view.
pub(crate) fn chart(node: &str, results: &[RawResult]) -> Markup {
    let Some((min, avg, max)) = summary(results) else {
        return html! { span.meta { "–" } };
    };
    let top = u64::from(max.max(1));
    let n = results.len().max(2) as u64 - 1;
    let x = |i: usize| i as u64 * W / n;
    let y = |l: u32| H - 2 - u64::from(l.min(max)) * (H - 4) / top;
    let line: Vec<String> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ok)
        .map(|(i, r)| format!("{},{}", x(i), y(r.latency_ms)))
        .collect();
    let failed = results.iter().filter(|r| !r.ok).count();
    let title = format!(
        "response time from {node}, last {} results: min {min} ms, avg {avg} ms, max {max} ms, \
         {failed} failed",
        results.len()
    );
    html! {
        svg.latency width=(W) height=(H) viewBox={ "0 0 " (W) " " (H) } role="img"
            aria-label=(title) data-node=(node) {
            title { (title) }
            polyline points=(line.join(" ")) fill="none" stroke="#1565c0" stroke-width="1.5" {}
            @for (i, _) in results.iter().enumerate().filter(|(_, r)| !r.ok) {
                rect x=(x(i).saturating_sub(1)) y="0" width="2" height=(H) fill="#c62828" {}
            }
        }
        " " span.meta.avg { (avg) " ms" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(at_ms: u64, ok: bool, latency_ms: u32) -> RawResult {
        RawResult {
            at_ms,
            ok,
            latency_ms,
        }
    }

    #[test]
    fn the_chart_plots_successes_and_marks_failures() {
        let results = [
            r(1, true, 10),
            r(2, true, 30),
            r(3, false, 5000),
            r(4, true, 20),
        ];
        assert_eq!(summary(&results), Some((10, 20, 30)));
        let svg = chart("n2", &results).into_string();
        assert!(svg.contains(r#"data-node="n2""#), "{svg}");
        assert!(
            svg.contains("min 10 ms, avg 20 ms, max 30 ms, 1 failed"),
            "{svg}"
        );
        // Three points on the line (x 0, 80, 240), one red mark at x 160.
        assert!(svg.contains(r#"points="0,21 80,2 240,12""#), "{svg}");
        assert!(
            svg.contains(r##"<rect x="159" y="0" width="2" height="32" fill="#c62828">"##),
            "{svg}"
        );
        assert!(svg.contains("20 ms</span>"), "{svg}");
    }

    #[test]
    fn no_successes_no_chart() {
        assert_eq!(
            chart("n1", &[r(1, false, 3)]).into_string(),
            r#"<span class="meta">–</span>"#
        );
        assert_eq!(
            chart("n1", &[]).into_string(),
            r#"<span class="meta">–</span>"#
        );
    }
}
