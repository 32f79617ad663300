//! The fault schedule: a list of steps drawn from a seed with a small
//! splitmix64 generator (no dependency; the same seed gives the same
//! schedule on every machine, so a printed seed replays a failure). Victims
//! are node positions, or "the master", resolved when the step runs.
//!
//! Steps run one after another (a fault, its hold, its heal, then a wait
//! for the cluster to agree again), so that every target outage has one
//! expected answer; failover during an incident is its own kind of step
//! (`TargetAllMasterKill`).

use serde::Serialize;

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, well mixed.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

/// The kinds of fault the rig injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum FaultKind {
    /// A minority cut off both ways (iptables DROP in and out).
    Partition,
    /// The minority hears nobody, the majority still hears the minority.
    Asymmetric,
    /// Random packet loss (`-m statistic`) on one node.
    Loss,
    /// SIGSTOP, hold, SIGCONT.
    Pause,
    /// kill -9, hold, restart.
    KillRestart,
    /// The target refuses a minority of the nodes (iptables by source).
    TargetSome,
    /// The target refuses everyone.
    TargetAll,
    /// The target refuses everyone and the master is killed mid-incident.
    TargetAllMasterKill,
    /// The webhook receiver refuses connections for a while.
    ReceiverDown,
}

impl FaultKind {
    /// Every kind, in the figures table's order.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Partition,
        FaultKind::Asymmetric,
        FaultKind::Loss,
        FaultKind::Pause,
        FaultKind::KillRestart,
        FaultKind::TargetSome,
        FaultKind::TargetAll,
        FaultKind::TargetAllMasterKill,
        FaultKind::ReceiverDown,
    ];

    /// Short name for tables and logs.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Asymmetric => "asymmetric",
            FaultKind::Loss => "loss",
            FaultKind::Pause => "pause",
            FaultKind::KillRestart => "kill9",
            FaultKind::TargetSome => "target-some",
            FaultKind::TargetAll => "target-all",
            FaultKind::TargetAllMasterKill => "target-all+kill-master",
            FaultKind::ReceiverDown => "receiver-down",
        }
    }
}

/// Who a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Victim {
    /// Whichever node is master when the step starts.
    Master,
    /// The node at this position.
    Node(usize),
}

/// One step of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What is done.
    pub kind: FaultKind,
    /// The nodes it hits (partition: the minority; target-some: the nodes
    /// refused); empty for kinds that hit no node.
    pub victims: Vec<Victim>,
    /// How long the fault lasts, ms.
    pub hold_ms: u64,
}

/// The schedule of `steps` steps for `seed` over `nodes` nodes. The first
/// step always cuts the master off (every seed exercises a failover).
pub fn generate(seed: u64, steps: usize, nodes: usize) -> Vec<Step> {
    let mut r = SplitMix::new(seed);
    let minority = nodes.saturating_sub(1) / 2;
    let mut out = Vec::with_capacity(steps);
    for i in 0..steps {
        let kind = if i == 0 {
            FaultKind::Partition
        } else {
            FaultKind::ALL[r.below(FaultKind::ALL.len() as u64) as usize]
        };
        let pick_node = |r: &mut SplitMix| Victim::Node(r.below(nodes as u64) as usize);
        let victims = match kind {
            FaultKind::Partition | FaultKind::Asymmetric => {
                let size = r.between(1, minority.max(1) as u64) as usize;
                let mut v = Vec::new();
                if i == 0 || r.below(2) == 0 {
                    v.push(Victim::Master);
                }
                while v.len() < size {
                    let n = pick_node(&mut r);
                    if !v.contains(&n) {
                        v.push(n);
                    }
                }
                v
            }
            FaultKind::Loss | FaultKind::Pause | FaultKind::KillRestart => {
                vec![if r.below(2) == 0 {
                    Victim::Master
                } else {
                    pick_node(&mut r)
                }]
            }
            FaultKind::TargetSome => {
                let size = r.between(1, minority.max(1) as u64) as usize;
                let mut v = Vec::new();
                while v.len() < size {
                    let n = pick_node(&mut r);
                    if !v.contains(&n) {
                        v.push(n);
                    }
                }
                v
            }
            FaultKind::TargetAll | FaultKind::TargetAllMasterKill | FaultKind::ReceiverDown => {
                Vec::new()
            }
        };
        let hold_ms = match kind {
            // Long enough for 2 rounds each way at a 1 s interval, and
            // for a new master's warm-up when the master is killed.
            FaultKind::TargetAll | FaultKind::TargetSome => r.between(6_000, 8_000),
            FaultKind::TargetAllMasterKill => r.between(9_000, 11_000),
            _ => r.between(2_000, 5_000),
        };
        out.push(Step {
            kind,
            victims,
            hold_ms,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_schedule_and_seeds_differ() {
        assert_eq!(generate(7, 12, 5), generate(7, 12, 5));
        assert_ne!(generate(7, 12, 5), generate(8, 12, 5));
    }

    #[test]
    fn minorities_stay_minorities_and_the_first_step_cuts_the_master() {
        for seed in 0..200 {
            let s = generate(seed, 10, 5);
            assert_eq!(s[0].kind, FaultKind::Partition);
            assert!(s[0].victims.contains(&Victim::Master));
            for step in &s {
                assert!(step.victims.len() <= 2, "seed {seed}: {step:?}");
                let mut v = step.victims.clone();
                v.dedup();
                assert_eq!(v.len(), step.victims.len(), "seed {seed}: {step:?}");
            }
        }
    }

    #[test]
    fn every_kind_is_drawn_over_a_few_seeds() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..20 {
            seen.extend(generate(seed, 8, 5).iter().map(|s| s.kind));
        }
        assert_eq!(seen.len(), FaultKind::ALL.len(), "{seen:?}");
    }

    #[test]
    fn splitmix_matches_its_reference_output() {
        // The reference sequence for seed 0 (splitmix64.c by Vigna).
        let mut r = SplitMix::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
