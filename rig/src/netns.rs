//! Network namespaces for the rig: one bridge in the host namespace (no
//! address on it) and one namespace per participant, joined to the bridge
//! by a veth pair, with an address on 10.77.0.0/24. The rig uses no other
//! address, and every name it creates starts with `qurig-` (`qr-` for the
//! host ends of the veth pairs) so a stale run can be found and removed.

use std::process::Command;
use std::time::Duration;

use crate::procs::must;
use crate::{Result, RigError};

/// Prefix of every namespace and of the bridge.
pub const PREFIX: &str = "qurig-";
/// The bridge in the host namespace.
pub const BRIDGE: &str = "qurig-br";
/// The rig's subnet (addresses only inside its namespaces).
pub const SUBNET: &str = "10.77.0";

/// The namespaces of one run; deleted on drop.
#[derive(Debug)]
pub struct Net {
    spaces: Vec<String>,
}

/// The namespace name of participant `short` (`n1`, `tgt`, …).
pub fn ns_name(short: &str) -> String {
    format!("{PREFIX}{short}")
}

/// `10.77.0.<host>`.
pub fn addr(host: u8) -> String {
    format!("{SUBNET}.{host}")
}

/// Remove what a previous run left behind: every `qurig-*` namespace and
/// the bridge (a deleted namespace takes its veth ends with it).
pub fn cleanup_stale() -> Result<()> {
    let list = must("ip", &["netns", "list"])?;
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.starts_with(PREFIX) {
            must("ip", &["netns", "delete", name])?;
        }
    }
    delete_veths()?;
    if link_exists(BRIDGE) {
        must("ip", &["link", "delete", BRIDGE])?;
    }
    // The kernel tears a deleted namespace down asynchronously; its veth
    // ends can linger for a moment and a new run would collide with them.
    crate::procs::wait_until(
        "the last run's veth pairs to go",
        Duration::from_secs(30),
        || veths().is_ok_and(|v| v.is_empty()),
    )
}

/// Host ends of the rig's veth pairs (`qr-*`).
fn veths() -> Result<Vec<String>> {
    let list = must("ip", &["-o", "link", "show"])?;
    Ok(list
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| n.starts_with("qr-"))
        .collect())
}

/// Delete every `qr-*` link (deleting one end removes the pair).
fn delete_veths() -> Result<()> {
    for v in veths()? {
        // It may be gone already with its namespace.
        let _ = must("ip", &["link", "delete", &v]);
    }
    Ok(())
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Net {
    /// Clean up stale leftovers, then create the bridge.
    pub fn new() -> Result<Net> {
        for tool in ["ip", "iptables"] {
            if Command::new(tool).arg("-V").output().is_err() {
                return Err(RigError::new(format!(
                    "{tool} is not installed (apt-get install -y iproute2 iptables)"
                )));
            }
        }
        cleanup_stale()?;
        must("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        must("ip", &["link", "set", BRIDGE, "up"])?;
        Ok(Net { spaces: Vec::new() })
    }

    /// Create namespace `short` with `10.77.0.<host>/24` on its `eth0`.
    pub fn add(&mut self, short: &str, host: u8) -> Result<String> {
        let ns = ns_name(short);
        let veth = format!("qr-{short}");
        if veth.len() > 15 {
            return Err(RigError::new(format!(
                "participant name {short:?} is too long (veth names are at most 15 bytes)"
            )));
        }
        must("ip", &["netns", "add", &ns])?;
        self.spaces.push(ns.clone());
        must(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        )?;
        must("ip", &["link", "set", &veth, "master", BRIDGE, "up"])?;
        must("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        must("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        let cidr = format!("{}/24", addr(host));
        must("ip", &["-n", &ns, "addr", "add", &cidr, "dev", "eth0"])?;
        Ok(ns)
    }

    /// Names of the namespaces created so far.
    pub fn spaces(&self) -> &[String] {
        &self.spaces
    }
}

/// Run `iptables args…` inside namespace `ns`.
pub fn iptables(ns: &str, args: &[&str]) -> Result<()> {
    let mut all = vec!["netns", "exec", ns, "iptables", "-w"];
    all.extend_from_slice(args);
    must("ip", &all).map(|_| ())
}

/// Remove every rule the rig added in `ns` (INPUT and OUTPUT of `filter`).
pub fn flush(ns: &str) -> Result<()> {
    iptables(ns, &["-F", "INPUT"])?;
    iptables(ns, &["-F", "OUTPUT"])
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = delete_veths();
        for ns in self.spaces.drain(..).rev() {
            let _ = must("ip", &["netns", "delete", &ns]);
        }
        if link_exists(BRIDGE) {
            let _ = must("ip", &["link", "delete", BRIDGE]);
        }
    }
}
