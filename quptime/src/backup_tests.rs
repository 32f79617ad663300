//! Backup files: what is written, what is refused, and that a refused
//! restore changes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::consensus::log_store::LogStore;
use crate::consensus::types::TypeConfig;
use crate::init::{InitOptions, init_node};
use crate::state::{Command, Mutation};

fn node(dir: &Path, id: &str) {
    init_node(
        dir,
        InitOptions {
            node_id: Some(id.into()),
            bind_addr: Some("127.0.0.1".into()),
            ..InitOptions::default()
        },
    )
    .expect("init");
}

fn state() -> ClusterState {
    let alert: AlertChannel = serde_json::from_value(serde_json::json!({
        "id": "a1", "name": "hook", "type": "webhook",
        "settings": {"url": "http://127.0.0.1:9/x"}
    }))
    .expect("alert");
    let check: Check = serde_json::from_value(serde_json::json!({
        "id": "c1", "name": "web", "type": "tcp", "target": "127.0.0.1:9",
        "interval": "30s", "timeout": "5s", "alerts": ["a1"],
    }))
    .expect("check");
    let mut s = ClusterState::default();
    let me = NodeId::new("a").expect("id");
    s.apply_with(
        &Command::new(me.clone(), Mutation::AddAlert { alert }),
        crate::notify::validate,
    )
    .expect("alert");
    s.apply_with(
        &Command::new(me, Mutation::AddCheck { check }),
        crate::notify::validate,
    )
    .expect("check");
    s
}

/// Every file under `dir` with its bytes, to prove nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_backup_round_trips_with_mode_0600() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    node(&a, "a");
    let b = Backup::of(&a, &state(), "daemon").expect("backup");
    let file = tmp.path().join("b.json");
    b.write(&file).expect("write");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = Backup::read(&file).expect("read");
    assert_eq!(back, b);
    assert_eq!(back.checks.len(), 1);
    assert_eq!(back.alerts.len(), 1);
    assert!(
        !format!("{back:?}").contains("PRIVATE KEY"),
        "Debug leaks the key"
    );
}

#[test]
fn bad_backup_files_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    node(&a, "a");
    let good =
        serde_json::to_value(Backup::of(&a, &state(), "daemon").expect("backup")).expect("json");
    let file = tmp.path().join("b.json");
    let err = Backup::read(&file).expect_err("missing");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("no such backup file"), "{err}");

    let mut cases: Vec<(String, ErrorKind, &str)> = vec![
        ("{not json".into(), ErrorKind::Config, "not JSON"),
        (
            "{\"kind\": \"other\"}".into(),
            ErrorKind::Config,
            "\"kind\"",
        ),
    ];
    let mut newer = good.clone();
    newer["format"] = 2.into();
    cases.push((
        newer.to_string(),
        ErrorKind::Incompatible,
        "backup format 2",
    ));
    let mut unknown = good.clone();
    unknown["extra"] = 1.into();
    cases.push((unknown.to_string(), ErrorKind::Config, "extra"));
    let mut wrong_node = good.clone();
    wrong_node["node_id"] = "zz".into();
    cases.push((wrong_node.to_string(), ErrorKind::Config, "names node a"));
    let mut dangling = good;
    dangling["alerts"] = serde_json::json!([]);
    cases.push((dangling.to_string(), ErrorKind::Config, "\"a1\""));
    for (text, kind, want) in cases {
        std::fs::write(&file, &text).expect("write");
        let err = Backup::read(&file).expect_err("refused");
        assert_eq!(err.kind(), kind, "{err}");
        assert!(err.message().contains(want), "want {want:?} in {err}");
        assert!(
            err.message().contains("qu backup create") || kind != ErrorKind::Config,
            "{err}"
        );
    }
}

#[test]
fn restore_into_an_empty_dir_writes_the_identity_and_an_import() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    node(&a, "a");
    let b = Backup::of(&a, &state(), "daemon").expect("backup");
    let fresh = tmp.path().join("fresh");
    let done = restore(&fresh, &b, "test").expect("restore");
    assert!(done.wrote_identity);
    assert_eq!((done.checks, done.alerts), (1, 1));
    assert_eq!(done.kept_raft, None);
    let id = Identity::load(&fresh, NodeId::new("a").expect("id")).expect("identity");
    assert_eq!(id.cert_pem(), b.identity.cert);
    let import = PendingImport::load(&fresh.join("raft"))
        .expect("load")
        .expect("pending");
    assert_eq!(import.checks, b.checks);
    assert_eq!(import.alerts, b.alerts);
    let mode = std::fs::metadata(fresh.join("keys/private.pem"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Restoring again over the same node keeps the old storage aside.
    let again = restore(&fresh, &b, "test").expect("again");
    assert!(!again.wrote_identity);
    let kept = again.kept_raft.expect("kept");
    assert!(kept.join("import.json").exists(), "{}", kept.display());
}

#[test]
fn a_refused_restore_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, other) = (tmp.path().join("a"), tmp.path().join("other"));
    node(&a, "a");
    node(&other, "other");
    let b = Backup::of(&a, &state(), "daemon").expect("backup");
    let before = snapshot(&other);
    let err = restore(&other, &b, "test").expect_err("another node");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.message().contains("not the backup's node a"), "{err}");
    assert_eq!(snapshot(&other), before);

    // A running node (it holds the Raft log lock) is refused, too.
    let store = LogStore::<TypeConfig>::open(&a.join("raft/log")).expect("open log");
    let before = snapshot(&a);
    let err = restore(&a, &b, "test").expect_err("running");
    assert!(err.message().contains("is running"), "{err}");
    assert_eq!(snapshot(&a), before);
    drop(store);
}

#[test]
fn an_interrupted_swap_is_refused_at_start_with_the_fix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    node(&a, "a");
    let b = Backup::of(&a, &state(), "daemon").expect("backup");
    let fresh = tmp.path().join("fresh");
    restore(&fresh, &b, "test").expect("restore");
    // As if the process died between the two renames of `refound`.
    let new = fresh.join("raft.new-2025-01-01T000000Z");
    std::fs::rename(fresh.join("raft"), &new).expect("rename");
    let err = PendingImport::load(&fresh.join("raft")).expect_err("refused");
    assert!(err.message().contains("was interrupted"), "{err}");
    assert!(err.message().contains("raft.new-2025"), "{err}");
}
