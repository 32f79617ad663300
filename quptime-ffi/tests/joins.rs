//! Joins and moves through the C ABI (`tests/c/test_joins.c`, compiled
//! with gcc `-Wall -Wextra -Werror`): ten token joins in a row whose ids
//! sort both before and after the founder's; a member restarted on a new
//! port counted again; a member the log no longer reaches (it advertises a
//! port it left) shown as not live although its pings arrive.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use support::{compile, root};

fn program(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("test_joins");
    compile(
        &root().join("quptime-ffi/tests/c/test_joins.c"),
        &out,
        false,
    );
    out
}

/// `n` distinct free loopback ports (all held while choosing).
fn ports(n: usize) -> Vec<String> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("addr").port().to_string())
        .collect()
}

fn run(mode: &str, n: usize, expect: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = program(tmp.path());
    let data = tmp.path().join("nodes");
    std::fs::create_dir_all(&data).expect("mkdir");
    let out = Command::new(&exe)
        .arg(mode)
        .arg(&data)
        .args(ports(n))
        .output()
        .expect("run test_joins");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(expect),
        "test_joins {mode}: {}\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn ten_token_joins_in_a_row_succeed_whatever_the_ids() {
    run("joins", 11, "ok 11 live voters");
}

#[test]
fn a_member_restarted_on_a_new_port_counts_again() {
    run("moved", 4, "ok c counted again");
}

#[test]
fn a_member_the_log_stops_reaching_is_not_live() {
    run("stale", 4, "ok c not live");
}
