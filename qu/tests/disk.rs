//! Storage faults under a real `qu serve`: a full disk (a small tmpfs
//! holding the data dir, root only) refuses writes with a clear error,
//! `/healthz` says so, and writes work again once space is back, without a
//! restart and with nothing acknowledged lost; a follower whose disk is
//! full refuses the master's entries (it does not die) and catches up once
//! space is back, while the others commit; a storage failure that
//! cannot be refused (the Raft directory removed under a running node)
//! makes the daemon exit non-zero with the cause, as systemd needs to
//! restart it.

mod support;

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{Cluster, FAST, Node, http_get, private_dir, root_or_skip, text, wait_for};

/// A tmpfs mounted at a directory, unmounted when dropped (also when the
/// test panics).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        private_dir(at);
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(out.status.success(), "mount tmpfs: {}", text(&out.stderr));
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the daemon may still hold files open if the test failed.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fill the filesystem of `path` (a new file) until it refuses a byte.
fn fill(path: &Path) -> u64 {
    let mut f = File::create(path).expect("create filler");
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
        assert!(written < 1 << 30, "the tmpfs never filled up");
    }
    // Smaller writes take the last partial pages too.
    while f.write(&[0u8; 512]).is_ok_and(|n| n > 0) {}
    written
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn a_full_disk_refuses_writes_clearly_and_recovers_without_a_restart() {
    if !root_or_skip(
        "a_full_disk_refuses_writes_clearly_and_recovers_without_a_restart",
        "mount a tmpfs",
    ) {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    // Declared first, so it is unmounted after the daemon is killed.
    let tmpfs = Tmpfs::mount(&root.path().join("n1/data"), "64m");
    let (mut node, metrics) = Node::founder_with_metrics(root.path(), "n1");
    let mut acknowledged = Vec::new();
    for name in ["before-1", "before-2", "before-3"] {
        let out = wait_for(
            Duration::from_secs(10),
            Duration::from_millis(100),
            "first write",
            || Some(node.try_add_tcp_check(name, "1h")).filter(|o| o.status.success()),
        );
        assert!(out.status.success());
        acknowledged.push(name.to_string());
    }
    assert_eq!(http_get(&metrics, "/healthz"), (200, "ok\n".to_string()));

    let filler = tmpfs.0.join("filler");
    let filled = fill(&filler);
    assert!(filled > 32 << 20, "filled only {filled} bytes");

    // Refused before Raft sees it, with what is wrong and what to do.
    let out = node.try_add_tcp_check("while-full", "1h");
    assert!(!out.status.success(), "a write on a full disk was accepted");
    let err = text(&out.stderr);
    eprintln!("refused: {err}");
    assert!(err.contains("disk full: "), "{err}");
    assert!(err.contains("bytes free on "), "{err}");
    assert!(
        err.contains(&format!("under {}", node.data().join("raft").display())),
        "{err}"
    );
    assert!(err.contains("free space and retry"), "{err}");
    let (code, body) = http_get(&metrics, "/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(body.starts_with("unhealthy: disk full: "), "{body}");
    assert_eq!(body.lines().count(), 1, "{body}");
    let (_, scraped) = http_get(&metrics, "/metrics");
    assert!(
        scraped.contains("quptime_healthy{node=\"n1\"} 0"),
        "{scraped}"
    );
    let status = node.status().expect("status while full");
    let why = status["unhealthy"].as_str().unwrap_or_default();
    assert!(why.starts_with("disk full: "), "{status}");
    let shown = node.qu_ok(&["status"]);
    assert!(shown.contains("UNHEALTHY  disk full: "), "{shown}");
    // Still running, still answering, nothing lost or half-applied.
    assert!(node.running());
    assert_eq!(sorted(node.check_names()), acknowledged);

    // Space back: writes work again in the same process.
    std::fs::remove_file(&filler).expect("remove filler");
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "healthy again",
        || (http_get(&metrics, "/healthz").0 == 200).then_some(()),
    );
    let out = node.try_add_tcp_check("after", "1h");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stderr),
        node.log_tail(30)
    );
    acknowledged.push("after".to_string());
    assert_eq!(sorted(node.check_names()), sorted(acknowledged.clone()));
    let (_, scraped) = http_get(&metrics, "/metrics");
    for series in [
        "quptime_disk_free_bytes",
        "quptime_raft_log_bytes",
        "quptime_raft_log_entries",
        "quptime_data_dir_bytes",
    ] {
        assert!(
            scraped.contains(&format!("{series}{{node=\"n1\"}} ")),
            "no {series}:\n{scraped}"
        );
    }
    assert!(
        scraped.contains("quptime_healthy{node=\"n1\"} 1"),
        "{scraped}"
    );
    assert!(node.status().expect("status").get("unhealthy").is_none());
    let log = std::fs::read_to_string(node.log()).expect("serve.log");
    assert!(
        !log.contains("raft stopped"),
        "Raft went fatal:{}",
        node.log_tail(40)
    );

    // And everything acknowledged survives a restart.
    assert!(node.terminate().success(), "{}", node.log_tail(30));
    node.start_ready();
    let names = wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "checks after restart",
        || {
            let names = sorted(node.check_names());
            (names.len() == acknowledged.len()).then_some(names)
        },
    );
    assert_eq!(names, sorted(acknowledged));
}

#[test]
fn a_follower_with_a_full_disk_refuses_entries_stays_up_and_catches_up() {
    if !root_or_skip(
        "a_follower_with_a_full_disk_refuses_entries_stays_up_and_catches_up",
        "mount a tmpfs",
    ) {
        return;
    }
    let mut c = Cluster::empty();
    let tmpfs = Tmpfs::mount(&c.root().join("n3/data"), "64m");
    for i in 1..=3 {
        let node = Node::new(c.root(), &format!("n{i}"), FAST);
        let secret = (i > 1).then_some(c.secret.clone());
        c.secret = node.init(secret.as_deref());
        c.nodes.push(node);
    }
    for node in &mut c.nodes {
        node.start_ready();
    }
    c.wait_founded();
    for i in 1..3 {
        let addr = c.nodes[i].addr();
        c.nodes[0].qu_ok(&["node", "add", &addr, "-y"]);
    }
    c.wait_agreement(&[0, 1, 2], 0, Duration::from_secs(20));
    c.nodes[0].add_tcp_check("before", "1h");
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "n3 has `before`",
        || {
            c.nodes[2]
                .check_names()
                .contains(&"before".to_string())
                .then_some(())
        },
    );

    let filler = tmpfs.0.join("filler");
    fill(&filler);
    // The two others are a majority: writes commit on them.
    for name in ["during-1", "during-2"] {
        c.nodes[0].add_tcp_check(name, "1h");
    }
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "n2 has `during-2`",
        || {
            c.nodes[1]
                .check_names()
                .contains(&"during-2".to_string())
                .then_some(())
        },
    );
    let status = wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "n3 reports its full disk",
        || {
            let status = c.nodes[2].status()?;
            let why = status["unhealthy"].as_str().unwrap_or_default();
            why.starts_with("disk full: ").then_some(status)
        },
    );
    assert!(c.nodes[2].running(), "{status}");
    // n3 refuses the entries instead of failing on them: it keeps running
    // and holds none of them.
    std::thread::sleep(Duration::from_secs(2));
    assert!(c.nodes[2].running());
    assert!(!c.nodes[2].check_names().contains(&"during-1".to_string()));

    std::fs::remove_file(&filler).expect("remove filler");
    wait_for(
        Duration::from_secs(20),
        Duration::from_millis(200),
        "n3 catches up",
        || {
            let names = c.nodes[2].check_names();
            names.contains(&"during-2".to_string()).then_some(())
        },
    );
    let log = std::fs::read_to_string(c.nodes[2].log()).expect("serve.log");
    assert!(
        !log.contains("raft stopped"),
        "n3's Raft went fatal:{}",
        c.nodes[2].log_tail(40)
    );
    c.nodes[2].add_tcp_check("after", "1h");
    c.wait_agreement(&[0, 1, 2], 0, Duration::from_secs(20));
}

#[test]
fn a_fatal_storage_error_makes_serve_exit_non_zero_with_the_cause() {
    let root = tempfile::tempdir().expect("tempdir");
    let (mut node, _metrics) = Node::founder_with_metrics(root.path(), "n1");
    let out = wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "first write",
        || Some(node.try_add_tcp_check("web", "1h")).filter(|o| o.status.success()),
    );
    assert!(out.status.success());

    // The Raft directory vanishes under the running node (an operator's
    // `rm -rf`, a lost mount): the next snapshot cannot be written, which
    // Raft cannot survive.
    // Renamed away in one step: removing it file by file races the node,
    // which may create a file in it meanwhile.
    let raft = node.data().join("raft");
    std::fs::rename(&raft, node.data().join("raft.gone")).expect("move raft/ away");
    let _ = node.qu(&["snapshot"]);
    let status = node.wait_exit(Duration::from_secs(30));
    assert!(!status.success(), "qu serve exited 0 after a fatal error");
    assert_eq!(status.code(), Some(1), "{status}");
    let log = std::fs::read_to_string(node.log()).expect("serve.log");
    let last = log
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line at exit:{}", node.log_tail(30)));
    eprintln!("exit line: {last}");
    assert!(last.contains("the node failed for good"), "{last}");
    assert!(last.contains("raft stopped: "), "{last}");
    assert!(last.contains("No such file or directory"), "{last}");
}
