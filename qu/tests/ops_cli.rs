//! Config as code and maintenance through real `qu` processes against two
//! real daemons: `qu apply -f` (dry run, diff, one mutation, a second apply
//! is a no-op, a malformed file is refused with its line and field and
//! changes nothing), `qu export` (0600 file, `export | apply -f -` changes
//! nothing), `qu status --watch` without a terminal, `qu snapshot` and
//! `qu leader transfer`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use support::{Cluster, FAST, text, wait_for};

const FILE: &str = "\
alerts:
  - name: hook
    type: webhook
    settings:
      url: http://127.0.0.1:9/hook
checks:
  - name: web
    type: http
    target: http://127.0.0.1:9/health
    interval: 15s
    alerts: [hook]
    disabled: true
  - name: db
    type: tcp
    target: 127.0.0.1:9
    disabled: true
";

fn config_version(c: &Cluster) -> u64 {
    c.nodes[0].status().expect("status")["config_version"]
        .as_u64()
        .expect("config_version")
}

#[test]
fn apply_export_watch_snapshot_and_leader_transfer() {
    let c = Cluster::formed(2, FAST);
    let (n1, n2) = (&c.nodes[0], &c.nodes[1]);
    let file = c.root().join("cluster.yaml");
    std::fs::write(&file, FILE).expect("write file");
    let path = file.to_str().expect("utf-8 path");

    let v0 = config_version(&c);
    let out = n1.qu_ok(&["apply", "-f", path, "--dry-run"]);
    assert!(out.contains("+ alert hook\n"), "{out}");
    assert!(out.contains("+ check web\n"), "{out}");
    assert!(out.contains("    interval: 15s\n"), "{out}");
    assert!(out.contains("settings.url: http://127.0.0.1:9/"), "{out}");
    assert!(
        out.ends_with("dry run: 3 changes not applied (run without --dry-run to apply)\n"),
        "{out}"
    );
    assert_eq!(config_version(&c), v0, "a dry run changes nothing");

    let out = n2.qu_ok(&["apply", "-f", path]);
    assert!(
        out.ends_with(&format!(
            "applied 3 changes as one mutation (config ver {})\n",
            v0 + 1
        )),
        "{out}"
    );
    let out = n1.qu_ok(&["apply", "-f", path]);
    assert_eq!(
        out,
        format!(
            "no changes: the cluster matches {path} (config ver {})\n",
            v0 + 1
        )
    );

    // A typo: refused with file, line, column and field; nothing changes.
    std::fs::write(&file, FILE.replace("interval: 15s", "intervall: 15s")).expect("write");
    let bad = n1.qu(&["apply", "-f", path, "--prune"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(
        err.starts_with(&format!(
            "error: {path}: line 10 column 5: unknown field `intervall`"
        )),
        "{err}"
    );
    // A bad value in a valid file.
    std::fs::write(&file, FILE.replace("127.0.0.1:9\n", "127.0.0.1\n")).expect("write");
    let err = text(&n1.qu(&["apply", "-f", path]).stderr);
    assert!(err.contains("line 13: check \"db\": tcp target"), "{err}");
    assert_eq!(
        config_version(&c),
        v0 + 1,
        "a malformed file changes nothing"
    );

    // export → 0600 file; export | apply -f - is a no-op.
    let exported = c.root().join("export.yaml");
    n1.qu_ok(&["export", "-o", exported.to_str().expect("path")]);
    let mode = std::fs::metadata(&exported)
        .expect("export")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let yaml = std::fs::read_to_string(&exported).expect("read export");
    assert!(yaml.contains("url: http://127.0.0.1:9/hook"), "{yaml}");
    let mut cmd = n2.command(&["apply", "-f", "-", "--prune"]);
    cmd.stdin(Stdio::from(std::fs::File::open(&exported).expect("open")));
    let out = cmd.output().expect("run qu apply -f -");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("no changes"),
        "{}",
        text(&out.stdout)
    );

    // Nothing on standard input with --prune: refused, not "delete all".
    let blank = n2.qu(&["apply", "-f", "-", "--prune"]);
    assert!(
        text(&blank.stderr).contains("the declaration is empty"),
        "{}",
        text(&blank.stderr)
    );
    assert_eq!(n1.check_names().len(), 2);

    // --watch without a terminal: frames after timestamp lines, no escapes.
    let out = n1.qu_ok(&["status", "--watch", "--interval", "200ms", "--count", "2"]);
    assert_eq!(
        out.matches("\n--- ").count() + usize::from(out.starts_with("--- ")),
        2,
        "{out}"
    );
    assert_eq!(out.matches("CHECKS\n").count(), 2, "{out}");
    assert!(!out.contains('\x1b'), "{out:?}");

    let out = n1.qu_ok(&["snapshot"]);
    assert!(out.starts_with("snapshot up to entry "), "{out}");

    // n1 founded the cluster and is master; the transfer goes to n2.
    let out = n1.qu_ok(&["leader", "transfer", "--hold", "10m"]);
    assert!(
        out.starts_with(&format!("master is now {}", n2.id)),
        "{out}"
    );
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "n2 as master",
        || {
            let s = n1.status()?;
            (s["master"].as_str() == Some(n2.id.as_str())).then_some(())
        },
    );
    // Status says the role is held by hand, and how to end that.
    let s = n1.status().expect("status");
    assert_eq!(s["pinned_master"]["node_id"].as_str(), Some(n2.id.as_str()));
    let human = n1.qu_ok(&["status"]);
    assert!(human.contains(&format!("held by {}", n2.id)), "{human}");
    assert!(human.contains("leader transfer --clear"), "{human}");
    let out = n2.qu_ok(&["leader", "transfer", "--clear"]);
    assert!(out.contains("cleared"), "{out}");
    wait_for(
        Duration::from_secs(5),
        Duration::from_millis(100),
        "the pin to be gone from n1's status",
        || n1.status()?.get("pinned_master").is_none().then_some(()),
    );
}
