//! `qu top` in a real terminal: a one-node `qu serve` with an up and a down
//! check, and `qu top` inside an 80×24 tmux session of its own (a private
//! tmux server socket). Keys go in with `send-keys`, the screen comes out
//! with `capture-pane`: the checks are shown, `/` filters the others away,
//! Enter opens the evidence, `q` exits 0; with `NO_COLOR` the screen has no
//! colour codes, with colours it has some.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{Cluster, FAST, QU, text, wait_for};

/// A tmux server of this test only, killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn new(dir: &Path) -> Option<Tmux> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is not installed; scripts/test installs it (apt-get install tmux)"
            );
            eprintln!("SKIPPED: tmux is not installed (scripts/test installs it)");
            return None;
        }
        Some(Tmux {
            socket: dir.join("tmux.sock"),
        })
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {}: {}",
            args.join(" "),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The pane's text (`escapes`: with its colour and attribute codes).
    fn screen(&self, session: &str, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", session];
        if escapes {
            args.push("-e");
        }
        self.run(&args)
    }

    /// Wait until the screen satisfies `pred`; fail with the screen.
    fn wait(&self, session: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen(session, false);
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, session: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", session];
        args.extend(keys);
        self.run(&args);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Whether an escape-coded screen sets any foreground or background colour.
fn has_colour(screen: &str) -> bool {
    screen.split("\x1b[").skip(1).any(|seq| {
        let Some(end) = seq.find(|c: char| c.is_ascii_alphabetic()) else {
            return false;
        };
        seq[end..].starts_with('m')
            && seq[..end].split(';').any(|p| {
                matches!(
                    p.parse::<u32>(),
                    Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
                )
            })
    })
}

/// Start `qu top` for `node` in a new 80×24 session; the shell line after
/// it reports its exit code on the screen.
fn start_top(tmux: &Tmux, session: &str, node: &support::Node, env: &str) {
    let cmd = format!(
        "env -i PATH=/usr/bin:/bin TERM=xterm-256color {env} QUPTIME_DIR='{}' QUPTIME_SOCKET='{}' '{QU}' top; \
         echo \"qu top exited $?\"; sleep 120",
        node.data().display(),
        node.socket().display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "80",
        "-y",
        "24",
        &cmd,
    ]);
}

#[test]
fn qu_top_shows_filters_opens_evidence_and_quits_in_80x24_tmux() {
    let c = Cluster::formed(1, FAST);
    let Some(tmux) = Tmux::new(c.root()) else {
        return;
    };
    let n = &c.nodes[0];
    // A real listener (up) and a closed port (down).
    let up = TcpListener::bind("127.0.0.1:0").expect("listener");
    let up_addr = up.local_addr().expect("addr").to_string();
    std::thread::spawn(move || for _conn in up.incoming() {});
    let closed = TcpListener::bind("127.0.0.1:0").expect("port");
    let closed_addr = closed.local_addr().expect("addr").to_string();
    drop(closed);
    n.qu_ok(&[
        "check",
        "add",
        "tcp",
        "web-front",
        &up_addr,
        "--interval",
        "1s",
    ]);
    n.qu_ok(&[
        "check",
        "add",
        "tcp",
        "db-main",
        &closed_addr,
        "--interval",
        "1s",
    ]);
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "web-front up and db-main down",
        || {
            let s = n.status()?;
            let state = |name: &str| {
                s["checks"]
                    .as_array()?
                    .iter()
                    .find(|c| c["name"] == name)
                    .map(|c| c["state"].as_str().unwrap_or("").to_string())
            };
            (state("web-front")? == "up" && state("db-main")? == "down").then_some(())
        },
    );

    start_top(&tmux, "top", n, "");
    let screen = tmux.wait("top", "both checks with states", |s| {
        s.lines()
            .any(|l| l.contains("web-front") && l.contains(" up "))
            && s.lines()
                .any(|l| l.contains("db-main") && l.contains("down"))
    });
    assert!(
        screen.contains("node n1") && screen.contains("quorum yes (need 1)"),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("n1 *") && l.contains("LIVE")),
        "{screen}"
    );
    // Per-member votes and latency reach the screen.
    assert!(
        screen
            .lines()
            .any(|l| l.contains("db-main") && l.contains("n1-")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("web-front") && l.contains("n1+")),
        "{screen}"
    );
    assert!(screen.lines().count() <= 24 && screen.lines().all(|l| l.chars().count() <= 80));
    assert!(
        has_colour(&tmux.screen("top", true)),
        "colours expected by default"
    );

    // `/` filter: only web-front is left.
    tmux.keys("top", &["/", "w", "e", "b", "Enter"]);
    let screen = tmux.wait("top", "db-main filtered away", |s| {
        s.contains("web-front") && !s.contains("db-main")
    });
    assert!(screen.contains("checks (1 of 2)"), "{screen}");

    // Enter opens web-front's evidence.
    tmux.keys("top", &["Enter"]);
    let screen = tmux.wait("top", "web-front's evidence", |s| {
        s.contains("evidence now")
    });
    assert!(screen.contains(&format!("(tcp {up_addr})")), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.starts_with("n1") && l.contains(" ok ")),
        "{screen}"
    );
    assert!(screen.contains("last transition unknown -> up"), "{screen}");

    // Esc back to the list, `q` quits with 0.
    tmux.keys("top", &["Escape"]);
    tmux.wait("top", "the list again", |s| s.contains("checks (1 of 2)"));
    tmux.keys("top", &["q"]);
    tmux.wait("top", "qu top exited 0", |s| s.contains("qu top exited 0"));

    // Without colours (NO_COLOR, or a dumb terminal): the same screen, and
    // no colour code anywhere.
    for (session, env) in [("plain", "NO_COLOR=1"), ("dumb", "TERM=dumb")] {
        start_top(&tmux, session, n, env);
        tmux.wait(session, "the checks without colour", |s| {
            s.contains("web-front") && s.contains("db-main")
        });
        let coded = tmux.screen(session, true);
        assert!(
            !has_colour(&coded),
            "{env}: the screen has colour codes:\n{coded:?}"
        );
        let plain = tmux.screen(session, false);
        assert!(
            plain
                .lines()
                .any(|l| l.starts_with("> ") && l.contains("db-main")),
            "{env}: the selection is marked without colour:\n{plain}"
        );
        tmux.keys(session, &["Escape"]);
        tmux.wait(session, "qu top exited 0 on Esc", |s| {
            s.contains("qu top exited 0")
        });
    }
}
