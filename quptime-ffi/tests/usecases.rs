//! The use-case functions of the C ABI as a C program uses them
//! (`tests/c/test_usecases.c`, gcc `-Wall -Wextra -Werror`): two nodes in
//! one process on free ports, a check added, edited, disabled and enabled,
//! the second node added and reading the first's writes after
//! `qu_cluster_wait_applied`, enrollments, resolvers, export/apply, the
//! master role, and errors that name their field. Also run under memcheck
//! when valgrind is installed, as the other C tests are.

mod support;

use std::path::Path;
use std::process::Command;

use support::{compile, root, valgrind};

fn program(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("test_usecases");
    compile(
        &root().join("quptime-ffi/tests/c/test_usecases.c"),
        &out,
        false,
    );
    out
}

fn assert_clean(out: &std::process::Output, extra: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(", 0 failures"),
        "{}\n{stdout}\n{}\n{extra}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_use_cases_work_from_c_on_two_nodes_in_one_process() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = program(tmp.path());
    let data = tmp.path().join("nodes");
    std::fs::create_dir_all(&data).expect("mkdir");
    let out = Command::new(&exe)
        .arg(&data)
        .output()
        .expect("run test_usecases");
    assert_clean(&out, "");
}

#[test]
fn the_use_case_test_runs_clean_under_valgrind() {
    let Some(valgrind) = valgrind() else {
        eprintln!("valgrind is not installed here: skipped (CI installs it and runs this)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = program(tmp.path());
    let data = tmp.path().join("nodes");
    std::fs::create_dir_all(&data).expect("mkdir");
    let log = tmp.path().join("usecases.vg");
    let out = Command::new(valgrind)
        .args([
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99",
            "--num-callers=30",
        ])
        .arg(format!(
            "--suppressions={}",
            root().join("quptime-ffi/tests/c/valgrind.supp").display()
        ))
        .arg(format!("--log-file={}", log.display()))
        .arg(&exe)
        .arg(&data)
        .output()
        .expect("run valgrind");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_clean(&out, &text);
    assert!(text.contains("ERROR SUMMARY: 0 errors"), "{text}");
}
