//! The shipped monitoring files are valid: Prometheus' own `promtool`
//! accepts the alert rules (and rejects a broken copy, so the check is
//! real), and the Grafana dashboard is JSON whose queries use only series
//! the registry exports.

use std::path::PathBuf;
use std::process::Command;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn promtool(args: &[&str]) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}); install Debian's prometheus package \
             (`apt-get install --no-install-recommends prometheus`) or run `bash scripts/test`, \
             which installs it"
            )
        })
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let rules = docs().join("prometheus-alerts.yml");
    let out = promtool(&["check", "rules", rules.to_str().expect("utf-8 path")]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool check rules failed:\n{text}");
    assert!(text.contains("SUCCESS: 11 rules found"), "{text}");

    // A broken expression is refused: the check above is not vacuous.
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.yml");
    let good = std::fs::read_to_string(&rules).expect("read rules");
    let bad = good.replacen(
        "sum by (job) (quptime_master) == 0",
        "sum by (job (quptime_master) == 0",
        1,
    );
    assert_ne!(bad, good, "the rule to break is still there");
    std::fs::write(&broken, bad).expect("write");
    let out = promtool(&["check", "rules", broken.to_str().expect("utf-8 path")]);
    assert!(!out.status.success(), "promtool accepted a broken rule");
}

#[test]
fn promtool_lints_the_exposition_clean() {
    use std::io::Write;
    let m = quptime::metrics::Metrics::new("alpha");
    m.probe("web", false, std::time::Duration::from_millis(20));
    m.delivery("hook", quptime::metrics::DeliveryOutcome::Retry);
    m.mutation(std::time::Duration::from_millis(3), true);
    let text = m.render(&quptime::metrics::Sample {
        checks: vec![quptime::metrics::CheckSample {
            name: "web".into(),
            state: "down".into(),
            votes: Some((0, 3)),
            degraded: false,
            in_maintenance: true,
        }],
        peers: vec![("bravo".into(), true)],
        ..Default::default()
    });
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool (installed by scripts/test)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool");
    let lint =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // promtool lints in the classic text format, which wants HELP on the
    // `_total` sample name; OpenMetrics puts it on the family name. That
    // one finding is expected; anything else is a real problem.
    let problems: Vec<&str> = lint
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            let family = l.strip_suffix("_total no help text");
            !family.is_some_and(|f| text.contains(&format!("# HELP {f} ")))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "promtool check metrics:\n{lint}\n---\n{text}"
    );
    assert!(lint.contains("quptime_probes_total no help text"), "{lint}");
}

#[test]
fn the_grafana_dashboard_queries_only_exported_series() {
    let raw = std::fs::read_to_string(docs().join("grafana-dashboard.json")).expect("read");
    let dash: serde_json::Value = serde_json::from_str(&raw).expect("the dashboard is JSON");
    let panels = dash["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let mut used = std::collections::BTreeSet::new();
    for p in panels {
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr");
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(rest) = word.strip_prefix("quptime_") {
                    let mut name = format!("quptime_{rest}");
                    for suffix in ["_total", "_bucket", "_sum", "_count"] {
                        if let Some(n) = name.strip_suffix(suffix) {
                            name = n.to_string();
                        }
                    }
                    assert!(
                        quptime::metrics::SERIES.contains(&name.as_str()),
                        "panel {:?} uses {word}, which is not exported",
                        p["title"]
                    );
                    used.insert(name);
                }
            }
        }
    }
    for series in [
        "quptime_master",
        "quptime_check_state",
        "quptime_raft_term",
        "quptime_probe_duration_seconds",
        "quptime_disk_free_bytes",
        "quptime_raft_log_bytes",
        "quptime_raft_log_entries",
    ] {
        assert!(
            used.contains(series),
            "the dashboard does not show {series}"
        );
    }
}
