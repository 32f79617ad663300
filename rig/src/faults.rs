//! Injecting and healing the faults of a schedule step, for real: iptables
//! rules inside the namespaces the rig made (partitions, loss, a target
//! refusing some or all sources, the receiver refusing), and signals to
//! the daemons (SIGSTOP/SIGCONT, kill -9 and a restart).

use crate::Result;
use crate::netns::{flush, iptables};
use crate::node::RigNode;
use crate::schedule::FaultKind;

/// Port of the HTTP target.
pub const TARGET_PORT: u16 = 8080;
/// Port of the webhook receiver.
pub const RECEIVER_PORT: u16 = 8081;

/// Namespaces of the target and the receiver.
#[derive(Debug, Clone)]
pub struct Others {
    /// The target's namespace.
    pub target_ns: String,
    /// The receiver's namespace.
    pub receiver_ns: String,
}

/// Cut `minority` (positions) off from the rest. `both_ways`: neither side
/// hears the other; otherwise only the minority stops hearing the majority
/// (the majority still receives what the minority sends).
pub fn partition(nodes: &[RigNode], minority: &[usize], both_ways: bool) -> Result<()> {
    for &m in minority {
        for (j, other) in nodes.iter().enumerate() {
            if minority.contains(&j) {
                continue;
            }
            iptables(
                &nodes[m].ns,
                &["-A", "INPUT", "-s", &other.ip, "-j", "DROP"],
            )?;
            if both_ways {
                iptables(
                    &nodes[m].ns,
                    &["-A", "OUTPUT", "-d", &other.ip, "-j", "DROP"],
                )?;
            }
        }
    }
    Ok(())
}

/// Drop `percent` % of the packets node `i` receives from the rig subnet.
pub fn loss(nodes: &[RigNode], i: usize, percent: u32) -> Result<()> {
    let p = format!("{:.2}", f64::from(percent) / 100.0);
    iptables(
        &nodes[i].ns,
        &[
            "-A",
            "INPUT",
            "-s",
            "10.77.0.0/24",
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &p,
            "-j",
            "DROP",
        ],
    )
}

/// The target refuses (TCP reset) the nodes at `from`, or everyone.
pub fn target_refuses(others: &Others, nodes: &[RigNode], from: Option<&[usize]>) -> Result<()> {
    let port = TARGET_PORT.to_string();
    match from {
        None => refuse(&others.target_ns, &port, None),
        Some(list) => {
            for &i in list {
                refuse(&others.target_ns, &port, Some(&nodes[i].ip))?;
            }
            Ok(())
        }
    }
}

/// The receiver refuses every connection.
pub fn receiver_down(others: &Others) -> Result<()> {
    refuse(&others.receiver_ns, &RECEIVER_PORT.to_string(), None)
}

fn refuse(ns: &str, port: &str, source: Option<&str>) -> Result<()> {
    let mut args = vec!["-A", "INPUT", "-p", "tcp", "--dport", port];
    if let Some(s) = source {
        args.extend(["-s", s]);
    }
    args.extend(["-j", "REJECT", "--reject-with", "tcp-reset"]);
    iptables(ns, &args)
}

/// Remove every rule from every namespace of the rig.
pub fn heal_network(nodes: &[RigNode], others: &Others) -> Result<()> {
    for n in nodes {
        flush(&n.ns)?;
    }
    flush(&others.target_ns)?;
    flush(&others.receiver_ns)
}

/// Whether a kind stops processes (and so needs them resumed or restarted).
pub fn is_process_fault(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::Pause | FaultKind::KillRestart | FaultKind::TargetAllMasterKill
    )
}
