//! The C ABI as C programs use it: `tests/c/test_quptime.c` and the example
//! agent (`examples/c/`) are compiled with gcc `-Wall -Wextra -Werror`
//! against the library cargo just built, and run as real processes forming
//! real clusters on loopback, against a real local HTTP target.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{HttpTarget, Proc, compile, free_port, make_example, root, valgrind};

fn test_program(dir: &Path, static_link: bool) -> std::path::PathBuf {
    let out = dir.join(if static_link {
        "test_static"
    } else {
        "test_quptime"
    });
    compile(
        &root().join("quptime-ffi/tests/c/test_quptime.c"),
        &out,
        static_link,
    );
    out
}

/// Misuse (NULL, freed and foreign handles, double frees, invalid YAML and
/// UTF-8) answers error codes and never crashes; linked statically, so the
/// staticlib and its native libraries are proven too.
#[test]
fn misuse_is_answered_with_error_codes_from_the_static_library() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = test_program(tmp.path(), true);
    let out = Command::new(&exe)
        .arg("misuse")
        .arg(tmp.path().join("node"))
        .arg(free_port().to_string())
        .output()
        .expect("run the misuse test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(", 0 failures"),
        "{}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// memcheck, failing on any error or definite/indirect leak, with the
/// documented suppressions of `tests/c/valgrind.supp` (false positives on
/// ring's AES-GCM assembly only).
fn memcheck(valgrind: &str, log: &Path) -> Command {
    let mut cmd = Command::new(valgrind);
    cmd.args([
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99",
        "--num-callers=30",
        "-s",
    ])
    .arg(format!(
        "--suppressions={}",
        root().join("quptime-ffi/tests/c/valgrind.supp").display()
    ))
    .arg(format!("--log-file={}", log.display()));
    cmd
}

/// memcheck reports no errors and no definitely or indirectly lost blocks
/// for the misuse run, and for a node that sees a DOWN through both APIs.
/// ("Still reachable" statics of std, tokio and openraft, and one block of
/// a static hash set in quptime's store that memcheck calls "possibly
/// lost", are not leaks and are not counted.)
#[test]
fn the_c_test_runs_clean_under_valgrind() {
    let Some(valgrind) = valgrind() else {
        eprintln!("valgrind is not installed here: skipped (CI installs it and runs this)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = test_program(tmp.path(), false);
    let summary = |log: &Path| {
        let text = std::fs::read_to_string(log).expect("valgrind log");
        assert!(text.contains("ERROR SUMMARY: 0 errors"), "{text}");
        assert!(
            text.contains("definitely lost: 0 bytes") || text.contains("no leaks are possible"),
            "{text}"
        );
        assert!(
            text.contains("indirectly lost: 0 bytes") || text.contains("no leaks are possible"),
            "{text}"
        );
    };

    let log = tmp.path().join("misuse.vg");
    let out = memcheck(valgrind, &log)
        .arg(&exe)
        .arg("misuse")
        .arg(tmp.path().join("misuse"))
        .arg(free_port().to_string())
        .output()
        .expect("run valgrind");
    assert!(
        out.status.success(),
        "{}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    summary(&log);

    // One node (a cluster of one), a check, a DOWN through pull and callback.
    let target = HttpTarget::start();
    let log = tmp.path().join("node.vg");
    let mut cmd = memcheck(valgrind, &log);
    cmd.arg(&exe)
        .arg("node")
        .arg(tmp.path().join("solo"))
        .arg(free_port().to_string())
        .args(["solo", "found", &target.url(), "0"]);
    let mut node = Proc::spawn("valgrind node", &mut cmd);
    let slow = Duration::from_secs(90);
    node.wait_line(slow, |l| l == "pull web unknown up");
    target.fail();
    node.wait_line(slow, |l| l == "pull web up down");
    node.wait_line(slow, |l| l == "callback web up down");
    node.send("quit");
    let (status, stderr) = node.finish(slow);
    let bye = node.wait_line(slow, |l| l.starts_with("bye "));
    assert!(!bye.contains("downs=0"), "{bye}");
    assert!(
        status.success(),
        "{status}: {stderr}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    summary(&log);
}

/// Three C agents on loopback form a cluster (a founder and two token
/// joiners, one of them the example agent built with its Makefile and
/// pkg-config); when the local target goes down, the DOWN arrives at every
/// node, through the pull and the callback API.
#[test]
fn three_c_agents_see_a_down_through_pull_and_callback() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let exe = test_program(tmp.path(), false);
    let agent = make_example(tmp.path());
    let target = HttpTarget::start();
    let within = Duration::from_secs(30);

    let mut a = Proc::spawn(
        "node a",
        Command::new(&exe)
            .arg("node")
            .arg(tmp.path().join("a"))
            .arg(free_port().to_string())
            .args(["a", "found", &target.url(), "2"]),
    );
    a.wait_line(within, |l| l == "ready");
    let tokens: Vec<String> = a
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("token ").map(String::from))
        .collect();
    assert_eq!(tokens.len(), 2, "{:?}", a.lines());
    a.wait_line(within, |l| l == "pull web unknown up");

    let mut b = Proc::spawn(
        "node b",
        Command::new(&exe)
            .arg("node")
            .arg(tmp.path().join("b"))
            .arg(free_port().to_string())
            .args(["b", "join", &tokens[0]]),
    );
    b.wait_line(within, |l| l == "ready");
    let c = Proc::spawn(
        "example agent c",
        Command::new(&agent)
            .args(["-f", "-b", "127.0.0.1", "-n", "c", "-j", &tokens[1], "-p"])
            .arg(free_port().to_string())
            .arg(tmp.path().join("c")),
    );
    c.wait_line(within, |l| l.starts_with("agent: node c listening"));

    // Wait until all three are voting members, then take the target down.
    let deadline = std::time::Instant::now() + within;
    loop {
        a.send("status");
        std::thread::sleep(Duration::from_millis(300));
        let voters = a
            .lines()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("status ").map(String::from))
            .map(|s| s.matches("\"voter\":true").count())
            .unwrap_or(0);
        if voters == 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cluster did not reach 3 voters: {:?}",
            a.lines()
        );
    }
    target.fail();

    for node in [&a, &b] {
        node.wait_line(within, |l| {
            l.starts_with("pull web ") && l.ends_with(" down")
        });
        node.wait_line(within, |l| {
            l.starts_with("callback web ") && l.ends_with(" down")
        });
    }
    let down = c.wait_line(within, |l| l.contains(" web ") && l.contains("-> down"));
    assert!(down.contains("failing"), "{down}");

    // Graceful stops: SIGTERM for the agent, "quit" for the test nodes.
    let mut c = c;
    c.terminate();
    let (status, stderr) = c.finish(within);
    assert!(status.success(), "agent: {status}: {stderr}");
    assert!(
        c.lines().iter().any(|l| l == "agent: stopped"),
        "{:?}",
        c.lines()
    );
    for node in [&mut b, &mut a] {
        node.send("quit");
        let (status, stderr) = node.finish(within);
        assert!(status.success(), "{}: {status}: {stderr}", node.name);
        let bye = node.wait_line(within, |l| l.starts_with("bye "));
        assert!(!bye.contains("downs=0"), "{bye}");
    }
}

/// The header is also valid C++ (`extern "C"`, fixed-width enums): a C++
/// agent includes it as is.
#[test]
fn the_header_compiles_as_cpp() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("agent.cpp");
    std::fs::write(
        &src,
        "#include \"quptime.h\"\n#include <cstring>\n\
         int main() { qu_node_options o{}; o.data_dir = \"x\"; qu_cluster *c = nullptr;\n\
         return std::strcmp(qu_version(), QU_VERSION) == 0 && o.port == 0 && !c ? 0 : 1; }\n",
    )
    .expect("write");
    let out = Command::new("g++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("quptime-ffi/include"))
        .arg(&src)
        .arg("-L")
        .arg(support::lib_dir())
        .arg("-lquptime")
        .arg(format!("-Wl,-rpath,{}", support::lib_dir().display()))
        .arg("-o")
        .arg(tmp.path().join("agent"))
        .output()
        .expect("run g++ (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(tmp.path().join("agent"))
        .status()
        .expect("run");
    assert!(run.success(), "{run}");
}
