//! Which node is master, with real `qu serve` processes: after a restart
//! of the whole cluster the lowest NodeId takes the role at once (there is
//! no incumbent to protect), while a lower node returning to a healthy
//! cluster waits the master cooldown.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Cluster, FAST, wait_for};

/// The master every node in `c` agrees on, if they do.
fn agreed_master(c: &Cluster) -> Option<String> {
    let mut masters = c.nodes.iter().map(|n| {
        n.status()
            .and_then(|s| s["master"].as_str().map(str::to_string))
    });
    let first = masters.next()??;
    masters
        .all(|m| m.as_deref() == Some(&first))
        .then_some(first)
}

#[test]
fn a_full_restart_makes_the_lowest_node_master_at_once() {
    // The default cooldown (2 min) would hold any other node in place.
    let mut c = Cluster::formed(3, FAST);
    for node in &mut c.nodes {
        node.terminate();
    }
    for node in &mut c.nodes {
        node.start();
    }
    for node in &mut c.nodes {
        node.wait_ready(Duration::from_secs(20));
    }
    let started = Instant::now();
    let master = wait_for(
        Duration::from_secs(5),
        Duration::from_millis(50),
        "every node to agree on n1 as master within 5 s of the restart",
        || agreed_master(&c).filter(|m| m == "n1"),
    );
    println!(
        "lowest NodeId {master} master {:?} after all three answered",
        started.elapsed()
    );
}

#[test]
fn a_lower_node_returning_to_a_healthy_cluster_waits_the_cooldown() {
    let cooldown = Duration::from_secs(8);
    let mut args = FAST.to_vec();
    args.extend(["--master-cooldown", "8s"]);
    let mut c = Cluster::formed(3, &args);
    wait_for(
        Duration::from_secs(20),
        Duration::from_millis(100),
        "n1 master",
        || agreed_master(&c).filter(|m| m == "n1"),
    );
    c.nodes[0].terminate();
    let survivors = |c: &Cluster| -> Option<String> {
        let s: Vec<Value> = c.nodes[1..].iter().filter_map(|n| n.status()).collect();
        let m = s.first()?["master"].as_str()?.to_string();
        (s.len() == 2
            && s.iter()
                .all(|x| x["master"] == m.as_str() && x["quorum"] == true))
        .then_some(m)
    };
    let incumbent = wait_for(
        Duration::from_secs(20),
        Duration::from_millis(100),
        "a new master among n2 and n3",
        || survivors(&c),
    );
    assert_ne!(incumbent, "n1");
    c.nodes[0].start_ready();
    // n1 is back and live on the incumbent; for a good part of the
    // cooldown the incumbent keeps the role.
    let back = Instant::now();
    let incumbent_node = c.index_of(&incumbent);
    wait_for(
        Duration::from_secs(10),
        Duration::from_millis(100),
        "the incumbent to see n1 live",
        || {
            c.nodes[incumbent_node]
                .members()
                .iter()
                .any(|(id, _, live)| id == "n1" && *live)
                .then_some(())
        },
    );
    while back.elapsed() < cooldown / 2 {
        if let Some(m) = agreed_master(&c) {
            assert_eq!(
                m,
                incumbent,
                "n1 took over {:?} after returning, before the cooldown ({cooldown:?})",
                back.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // After the cooldown it takes the role back.
    wait_for(
        Duration::from_secs(30),
        Duration::from_millis(100),
        "n1 to be master again after the cooldown",
        || agreed_master(&c).filter(|m| m == "n1"),
    );
    assert!(
        back.elapsed() >= cooldown,
        "n1 took over after {:?}",
        back.elapsed()
    );
}
