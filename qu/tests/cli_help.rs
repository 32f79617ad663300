//! The command-line surface as a user meets it: every command and
//! subcommand answers `--help` (found by walking `qu --help` recursively),
//! each shows an `Example:` line, every command documented in the
//! behaviour reference (plus `demo`, `completion` and `man`) exists with
//! its documented flags, and completions and the manual page are generated
//! from the same definition.

use std::collections::BTreeMap;
use std::process::{Command, Output};

const QU: &str = env!("CARGO_BIN_EXE_qu");

fn qu(args: &[&str]) -> Output {
    Command::new(QU)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run qu")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `qu <path> --help`, which must succeed.
fn help(path: &[String]) -> String {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let out = qu(&args);
    assert!(
        out.status.success(),
        "qu {} exited {}: {}",
        args.join(" "),
        out.status,
        text(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "help writes to stdout only");
    text(&out.stdout)
}

/// The names in the `Commands:` section of a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path below `qu` with its `--help` text.
fn walk() -> BTreeMap<Vec<String>, String> {
    let mut found = BTreeMap::new();
    let mut todo = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let text = help(&path);
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        found.insert(path, text);
    }
    found
}

#[test]
fn every_command_has_help_with_an_example() {
    let tree = walk();
    assert!(tree.len() > 40, "only {} commands found", tree.len());
    let mut missing = Vec::new();
    for (path, text) in &tree {
        if path.is_empty() {
            continue;
        }
        let cmd = format!("qu {}", path.join(" "));
        assert!(text.contains(&format!("Usage: {cmd}")), "{cmd}: {text}");
        // An example of this very command (`source <(qu completion bash)`
        // counts for `completion`).
        let example = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Example: "));
        match example {
            Some(e) if e.contains(&cmd) => {}
            _ => missing.push(cmd.clone()),
        }
        // The short form works too.
        let mut short: Vec<&str> = path.iter().map(String::as_str).collect();
        short.push("-h");
        assert!(qu(&short).status.success(), "{cmd} -h");
    }
    assert!(
        missing.is_empty(),
        "commands without an `Example: {{the command}} …` line in --help: {missing:#?}"
    );
}

/// The documented commands (reference/qu-behaviour.md, README, ours) and
/// flags each must accept.
const DOCUMENTED: &[(&str, &[&str])] = &[
    (
        "init",
        &[
            "--advertise",
            "--bind",
            "--port",
            "--secret",
            "--node-id",
            "--label",
        ],
    ),
    (
        "serve",
        &[
            "--log-format",
            "--heartbeat",
            "--election-timeout",
            "--master-cooldown",
            "--metrics-addr",
            "--http",
            "--snapshot-every",
            "--results-max-size",
        ],
    ),
    ("status", &["--json", "--watch", "--interval"]),
    ("node add", &["-y", "--yes"]),
    ("node list", &["--json"]),
    ("node remove", &[]),
    ("node label", &["--remove"]),
    (
        "check add http",
        &[
            "--expect",
            "--interval",
            "--timeout",
            "--body-match",
            "--alerts",
        ],
    ),
    (
        "check add tcp",
        &[
            "--interval",
            "--timeout",
            "--alerts",
            "--fail-after",
            "--recover-after",
            "--quorum",
            "--nodes",
        ],
    ),
    ("check add icmp", &["--interval", "--timeout", "--alerts"]),
    ("check add tls", &["--warn-days", "--sni"]),
    ("check add dns", &["--record", "--resolver", "--expect"]),
    ("check list", &["--json"]),
    (
        "check edit",
        &["--interval", "--name", "--target", "--quorum", "--nodes"],
    ),
    ("check enable", &[]),
    ("check disable", &[]),
    ("check test", &["--state"]),
    ("check remove", &[]),
    (
        "alert add smtp",
        &[
            "--host",
            "--port",
            "--from",
            "--to",
            "--user",
            "--password",
            "--starttls",
            "--allow-plain-auth",
            "--default",
        ],
    ),
    ("alert add discord", &["--webhook", "--default"]),
    ("alert add webhook", &["--url", "--header", "--secret"]),
    ("alert list", &["--json"]),
    ("alert edit", &["--set"]),
    ("alert enable", &[]),
    ("alert disable", &[]),
    ("alert default", &[]),
    ("alert remove", &[]),
    ("alert test", &[]),
    ("trust list", &["--json"]),
    ("trust remove", &[]),
    ("key rotate", &["--json"]),
    ("token create", &["--role"]),
    ("token list", &["--json"]),
    ("token revoke", &[]),
    ("enroll create", &["--name", "--ttl", "--auto-approve"]),
    ("enroll join", &["--yes", "--advertise"]),
    ("enroll list", &["--json"]),
    ("enroll approve", &[]),
    ("enroll revoke", &[]),
    ("backup create", &[]),
    ("backup restore", &["-y", "--yes"]),
    ("recover", &["--force-new-cluster", "-y", "--yes"]),
    ("apply", &["-f", "--file", "--dry-run", "--prune"]),
    ("export", &["-o", "--output"]),
    ("snapshot", &["--json"]),
    ("leader transfer", &["--hold", "--clear"]),
    ("demo", &["--flip", "--duration"]),
    ("completion", &[]),
    ("man", &[]),
];

#[test]
fn every_documented_command_exists_with_its_flags() {
    let tree = walk();
    for (cmd, flags) in DOCUMENTED {
        let path: Vec<String> = cmd.split(' ').map(str::to_string).collect();
        let text = tree
            .get(&path)
            .unwrap_or_else(|| panic!("`qu {cmd}` is documented but does not exist"));
        for flag in *flags {
            let listed = text
                .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                .any(|w| w == *flag);
            assert!(listed, "`qu {cmd} --help` does not list {flag}:\n{text}");
        }
    }
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _qu"),
        ("zsh", "#compdef qu"),
        ("fish", "complete -c qu"),
    ] {
        let out = qu(&["completion", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        for word in ["enroll", "check", "demo", "interval", "body-match"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    // The bash script loads in bash and registers the completion.
    let bash = Command::new("bash")
        .args([
            "--norc",
            "-c",
            &format!("source <('{QU}' completion bash) && complete -p qu"),
        ])
        .output()
        .expect("run bash");
    assert!(bash.status.success(), "{}", text(&bash.stderr));
    assert!(text(&bash.stdout).contains("_qu"), "{}", text(&bash.stdout));

    let out = qu(&["completion", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(text(&out.stderr).contains("[possible values: bash, zsh, fish]"));
}

#[test]
fn man_pages_are_generated_for_qu_and_each_command() {
    let out = qu(&["man"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH qu 1"),
        "{page}"
    );
    assert!(page.contains(".TH qu 1"), "{page}");
    for cmd in ["init", "serve", "status", "check", "alert", "demo"] {
        assert!(
            page.contains(&format!("qu\\-{cmd}(1)")),
            "qu(1) lacks {cmd}"
        );
    }

    let out = qu(&["man", "check", "add", "http"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.contains(".TH qu-check-add-http 1"), "{page}");
    assert!(page.contains("body\\-match"), "{page}");

    let out = qu(&["man", "check", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: `qu check` has no command \"nope\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// `qu --version` names the package version and the commit it was built
/// from: the same `git rev-parse --short=12 HEAD` as the source tree this
/// test runs in (`-dirty` allowed: a tree being worked on), or `unknown`
/// when there is no git to ask.
#[test]
fn version_names_the_commit() {
    let out = qu(&["--version"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    let prefix = format!("qu {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .trim_end()
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("`qu --version` printed {line:?}, not `{prefix}<commit>)`"));
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_string());
    match head {
        Some(head) => assert!(
            commit == head || commit == format!("{head}-dirty"),
            "`qu --version` names commit {commit:?}, the tree is at {head}"
        ),
        None => assert_eq!(commit, "unknown", "no git here, yet a commit was named"),
    }
    // Every subcommand answers --version the same way (propagate_version).
    let sub = qu(&["status", "--version"]);
    assert_eq!(
        text(&sub.stdout).trim_end(),
        format!("qu-status {}", &line.trim_end()[3..])
    );
}
