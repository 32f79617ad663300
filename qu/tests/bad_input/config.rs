//! Declarations and fields: the inputs that once stopped every commit
//! (an alias bomb, a 5 MB file, a 120 KB host) and their relatives.

use std::time::{Duration, Instant};

use crate::support::Cluster;
use crate::{cluster, picture, refused, still_fine};

fn write(c: &Cluster, name: &str, text: &str) -> String {
    let path = c.root().join(name);
    std::fs::write(&path, text).expect("write declaration");
    path.display().to_string()
}

#[test]
fn oversized_and_alias_bomb_declarations_are_refused_and_commits_go_on() {
    let c = cluster(3);
    let n1 = &c.nodes[0];
    let mut cases = 0;

    // 1. 0.9 MB of text whose aliases expand to 10.8 MB.
    let before = picture(&c);
    let big = "x".repeat(900_000);
    let mut bomb = format!(
        "checks:\n  - name: a\n    type: http\n    target: http://127.0.0.1:9/\n    body_match: &big \"{big}\"\nlater:\n"
    );
    for _ in 0..12 {
        bomb.push_str("  - *big\n");
    }
    let file = write(&c, "bomb.yaml", &bomb);
    refused(n1, &["apply", "-f", &file], "aliases");
    still_fine(&c, &before, "0.9 MB alias bomb");
    cases += 1;

    // 2. Nested aliases ("billion laughs").
    let before = picture(&c);
    let mut laughs = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let p = format!("*a{}", i - 1);
        laughs.push_str(&format!(
            "a{i}: &a{i} [{p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}]\n"
        ));
    }
    let file = write(&c, "laughs.yaml", &laughs);
    refused(n1, &["apply", "-f", &file], "aliases");
    still_fine(&c, &before, "billion laughs");
    cases += 1;

    // 3. A 5 MB declaration: refused by the CLI, which reads at most the cap.
    let before = picture(&c);
    let file = write(&c, "five.yaml", &format!("# {}\n", "y".repeat(5_000_000)));
    refused(n1, &["apply", "-f", &file], "more than 1048576 bytes");
    still_fine(&c, &before, "5 MB declaration");
    cases += 1;

    // 4. /dev/zero: fails at once, not when memory runs out.
    let before = picture(&c);
    let started = Instant::now();
    refused(n1, &["apply", "-f", "/dev/zero"], "more than 1048576 bytes");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    still_fine(&c, &before, "/dev/zero");
    cases += 1;

    // 5. Under the file cap but over the proposal cap once encoded (JSON
    // doubles every backslash): refused with the size and the cap.
    let before = picture(&c);
    let slashes = "\\".repeat(1000);
    let mut text = String::from("checks:\n");
    for i in 0..900 {
        text.push_str(&format!(
            "  - {{name: big{i}, type: http, target: 'http://127.0.0.1:9/', body_match: '{slashes}'}}\n"
        ));
    }
    assert!(text.len() < 1 << 20);
    let file = write(&c, "wide.yaml", &text);
    refused(n1, &["apply", "-f", &file], "over the cap of 1048576 bytes");
    still_fine(&c, &before, "proposal over the cap");
    cases += 1;

    // 6. A 120 KB tcp host on the command line.
    let before = picture(&c);
    let host = format!("{}:5432", "h".repeat(120_000));
    refused(
        n1,
        &["check", "add", "tcp", "huge", &host],
        "over the limit of 2048",
    );
    still_fine(&c, &before, "120 KB tcp host (flag)");
    cases += 1;

    // 7. The same host in a declaration: the error names the record.
    let before = picture(&c);
    let file = write(
        &c,
        "host.yaml",
        &format!("checks:\n  - name: huge\n    type: tcp\n    target: {host}\n"),
    );
    refused(n1, &["apply", "-f", &file], "over the limit of 2048");
    still_fine(&c, &before, "120 KB tcp host (declaration)");
    cases += 1;

    // 8. A 100 KB body match.
    let before = picture(&c);
    let body = "w".repeat(100_000);
    refused(
        n1,
        &[
            "check",
            "add",
            "http",
            "web",
            "http://127.0.0.1:9/",
            "--body-match",
            &body,
        ],
        "body_match is 100000 bytes, over the limit of 1024",
    );
    still_fine(&c, &before, "100 KB body match");
    cases += 1;

    // 9. A 10 KB alert template.
    let before = picture(&c);
    let template = "t".repeat(10_000);
    let file = write(
        &c,
        "template.yaml",
        &format!(
            "alerts:\n  - name: hook\n    type: webhook\n    settings:\n      url: http://127.0.0.1:9/\n      body_template: {template}\n"
        ),
    );
    refused(n1, &["apply", "-f", &file], "over the limit of 4096");
    still_fine(&c, &before, "10 KB template");
    cases += 1;

    eprintln!("declarations and fields: {cases} cases");
    assert_eq!(cases, 9);
}

/// Ten changes of ~0.8 MB each behind a stopped member: together they are
/// twice the 4 MiB frame cap, so replication must cut its batches by bytes
/// (once, one batch of them wedged the follower for good).
#[test]
fn a_member_behind_several_large_changes_catches_up() {
    let mut c = cluster(3);
    c.nodes[2].terminate();
    for round in 0..10 {
        let fill = char::from(b'a' + round as u8).to_string().repeat(1000);
        let mut text = String::from("checks:\n");
        for i in 0..700 {
            text.push_str(&format!(
                "  - {{name: wide{i}, type: http, target: 'http://127.0.0.1:9/', disabled: true, body_match: '{fill}'}}\n"
            ));
        }
        let file = write(&c, &format!("round{round}.yaml"), &text);
        c.nodes[0].qu_ok(&["apply", "-f", &file]);
    }
    c.nodes[2].start();
    c.nodes[2].wait_ready(Duration::from_secs(20));
    let all = [0, 1, 2];
    let want = c.nodes[0].status().expect("status")["config_version"]
        .as_u64()
        .expect("version");
    c.wait_agreement(&all, want, Duration::from_secs(60));
    let before = picture(&c);
    still_fine(&c, &before, "catch-up over large entries");
}
