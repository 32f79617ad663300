//! Tidy: the layering rules of ARCHITECTURE.md ("Dependency rules"),
//! checked by reading the source tree as text, so a violation fails in CI
//! before it grows into an import cycle nobody meant.
//!
//! It checks four things: the pure decision modules (`state`,
//! `aggregate`) import nothing that does I/O and nothing of the layers
//! above them; the master engine (`engine/`) touches no runtime, socket,
//! disk or driver (it may name the data types of `notify` and `probe`);
//! the front ends (`qu`, `quptime-ffi`, `quptime-py`) do not
//! reach into the Raft layer; and every source file starts with a `//!`
//! doc that says why it exists. Each rule is a plain function over file
//! text, tested on a violation as well as run on the tree.

use std::fs;
use std::path::{Path, PathBuf};

/// What a file of the pure core may not name: the layers above it and
/// anything that reaches the disk or the network.
const PURE_FORBIDDEN: &[&str] = &[
    "crate::notify",
    "crate::store",
    "crate::cluster",
    "crate::consensus",
    "crate::transport",
    "tokio",
    "std::fs",
    "std::net",
];

/// What a file of the master engine may not name: the runtime, the disk,
/// the network, and the drivers and layers that perform its actions.
const ENGINE_FORBIDDEN: &[&str] = &[
    "crate::store",
    "crate::cluster",
    "crate::consensus",
    "crate::transport",
    "tokio",
    "std::fs",
    "std::net",
    "std::thread",
    "Instant::now",
    "SystemTime::now",
];

/// The workspace root (this crate lives in `quptime/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds quptime/")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, sorted, as paths relative to the root.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The code of `text` without comments: lines whose first token is `//`
/// (docs and remarks may name what the code must not use), and the tail
/// of a line after `//`.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let code = line.split("//").next().unwrap_or("");
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

/// Whether `name` occurs in `code` as a path, not as part of a longer
/// identifier (`tokio` but not `tokio_util`'s neighbour `my_tokio`).
fn names(code: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The forbidden names `text` (a file of the pure core) uses, as
/// `line: name`.
fn pure_violations(text: &str) -> Vec<String> {
    violations(text, PURE_FORBIDDEN)
}

/// The names of `forbidden` that `text` uses, as `line: name`.
fn violations(text: &str, forbidden: &'static [&'static str]) -> Vec<String> {
    code_lines(text)
        .flat_map(|(n, code)| {
            forbidden
                .iter()
                .filter(move |name| names(code, name))
                .map(move |name| format!("line {n}: {name}"))
        })
        .collect()
}

/// Where `text` (a front end's file) names the Raft layer: `quptime::consensus`
/// or `consensus` inside a `use quptime::{…}` group.
fn front_end_violations(text: &str) -> Vec<String> {
    let flat: String = code_lines(text)
        .map(|(_, c)| c)
        .collect::<Vec<_>>()
        .join(" ");
    let mut found = Vec::new();
    if names(&flat, "quptime::consensus") {
        found.push("quptime::consensus".to_string());
    }
    for (at, _) in flat.match_indices("quptime::{") {
        let group = &flat[at..];
        let group = &group[..group.find(';').unwrap_or(group.len())];
        if names(group, "consensus") {
            found.push("consensus in a use quptime::{...} group".to_string());
        }
    }
    found
}

/// Whether `text` starts (after blank lines) with an inner doc comment.
fn has_leading_doc(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start().starts_with("//!"))
}

/// The files of the pure core: `quptime/src/state/` and `aggregate*`.
fn pure_files() -> Vec<PathBuf> {
    let src = root().join("quptime/src");
    let mut files = rust_files(&src.join("state"));
    files.push(src.join("aggregate.rs"));
    if src.join("aggregate").is_dir() {
        files.extend(rust_files(&src.join("aggregate")));
    }
    files
}

const FRONT_ENDS: [&str; 3] = ["qu/src", "quptime-ffi/src", "quptime-py/src"];

#[test]
fn the_pure_core_imports_no_io_and_no_upper_layer() {
    let files = pure_files();
    assert!(files.len() > 5, "found the state files: {files:?}");
    let bad: Vec<String> = files
        .iter()
        .flat_map(|f| {
            pure_violations(&read(f))
                .into_iter()
                .map(move |v| format!("{} {v}", relative(f)))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "state/ and aggregate are pure (decisions without I/O, below notify, store, \
         cluster, consensus, transport): move what they need into them, or pass it in:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_engine_reads_no_clock_and_does_no_io() {
    // Its unit tests build virtual time from one `Instant::now()`; the
    // rule is for the engine itself.
    let files: Vec<PathBuf> = rust_files(&root().join("quptime/src/engine"))
        .into_iter()
        .filter(|f| !f.to_string_lossy().ends_with("_tests.rs"))
        .collect();
    assert!(files.len() >= 4, "found the engine files: {files:?}");
    let bad: Vec<String> = files
        .iter()
        .flat_map(|f| {
            violations(&read(f), ENGINE_FORBIDDEN)
                .into_iter()
                .map(move |v| format!("{} {v}", relative(f)))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "engine/ decides without I/O (time and events in, actions out): the drivers in \
         cluster/ read the clock and perform the actions:\n{}",
        bad.join("\n")
    );
}

#[test]
fn front_ends_do_not_name_the_raft_layer() {
    let mut bad = Vec::new();
    for dir in FRONT_ENDS {
        let files = rust_files(&root().join(dir));
        assert!(!files.is_empty(), "{dir} has sources");
        for f in files {
            for v in front_end_violations(&read(&f)) {
                bad.push(format!("{} {v}", relative(&f)));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "front ends use the crate root (quptime::Timing, quptime::backup::has_storage, \
         NodeOptions), not quptime::consensus:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_source_file_starts_with_a_doc_that_says_why() {
    let mut bad = Vec::new();
    for dir in ["quptime/src"].into_iter().chain(FRONT_ENDS) {
        for f in rust_files(&root().join(dir)) {
            if !has_leading_doc(&read(&f)) {
                bad.push(relative(&f));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "these files lack a leading //! doc (say why the file exists):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_rules_catch_what_they_forbid() {
    // The pure-core rule: an import, a path in code, but not a comment.
    assert_eq!(
        pure_violations("//! x\nuse crate::notify::validate;\n"),
        ["line 2: crate::notify"]
    );
    assert_eq!(
        pure_violations("fn f() { let _ = std::fs::read(\"x\"); }"),
        ["line 1: std::fs"]
    );
    assert_eq!(
        pure_violations("use tokio::sync::watch;"),
        ["line 1: tokio"]
    );
    assert!(pure_violations("/// calls `crate::notify::validate`\nfn f() {}").is_empty());
    assert!(pure_violations("use core::net::IpAddr;").is_empty());
    assert!(pure_violations("use crate::notifyish;").is_empty());
    // The engine rule: the clock too, but the data types of notify.
    assert_eq!(
        violations("let now = Instant::now();", ENGINE_FORBIDDEN),
        ["line 1: Instant::now"]
    );
    assert!(violations("use crate::notify::Notification;", ENGINE_FORBIDDEN).is_empty());
    // The front-end rule: a path, or a member of a use group.
    assert_eq!(
        front_end_violations("use quptime::consensus::Timing;"),
        ["quptime::consensus"]
    );
    assert_eq!(
        front_end_violations("use quptime::{\n    Cluster,\n    consensus,\n};"),
        ["consensus in a use quptime::{...} group"]
    );
    assert!(front_end_violations("use quptime::{Cluster, Timing};").is_empty());
    // The doc rule.
    assert!(has_leading_doc("\n//! Why.\nuse x;"));
    assert!(!has_leading_doc("use x;\n//! late"));
    assert!(!has_leading_doc("/// an item doc\nfn f() {}"));
}
