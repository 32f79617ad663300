//! [`Timing`]: the Raft timers and write policies of a node, and the one
//! place that says which combinations work ([`Timing::validate`], called by
//! `Cluster::start`), so `qu serve`, the C ABI and Python refuse the same
//! settings with the same explanation.

use std::time::Duration;

use super::DISK_RESERVE;
use crate::error::{Error, Result};
use crate::state::duration::format;

/// The longest heartbeat, election timeout or propose timeout accepted:
/// far from any overflow, and longer than any usable cluster needs.
pub const MAX_TIMER: Duration = Duration::from_secs(3600);

/// Raft timings and policies. The defaults suit nodes in different networks.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Leader heartbeat (default 400 ms).
    pub heartbeat: Duration,
    /// Election timeout range (default 0.8–1.6 s); the upper bound is the
    /// leader lease, so failover takes about 1.6–2.4 s after a master dies.
    pub election_min: Duration,
    /// See `election_min`.
    pub election_max: Duration,
    /// How long a lower NodeId must be continuously live before the master
    /// hands over to it (default 2 min).
    pub master_cooldown: Duration,
    /// How long a proposal may take before it fails with `no quorum`
    /// (default 3 s).
    pub propose_timeout: Duration,
    /// Take a snapshot every this many applied entries (default 1000).
    pub snapshot_every: u64,
    /// Refuse writes while the Raft directory's filesystem has fewer free
    /// bytes than this (default [`DISK_RESERVE`], 32 MiB).
    pub disk_reserve: u64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            heartbeat: Duration::from_millis(400),
            election_min: Duration::from_millis(800),
            election_max: Duration::from_millis(1600),
            master_cooldown: Duration::from_secs(120),
            propose_timeout: Duration::from_secs(3),
            snapshot_every: 1000,
            disk_reserve: DISK_RESERVE,
        }
    }
}

impl Timing {
    /// Refuse timings a cluster cannot work with: a zero or over-long timer
    /// ([`MAX_TIMER`]), an election timeout under twice the heartbeat
    /// (followers would start elections between heartbeats), or a maximum
    /// election timeout below the minimum. The error names the field.
    pub fn validate(&self) -> Result<()> {
        for (field, d) in [
            ("heartbeat", self.heartbeat),
            ("election_min", self.election_min),
            ("election_max", self.election_max),
            ("propose_timeout", self.propose_timeout),
        ] {
            if d.is_zero() || d > MAX_TIMER {
                return Err(Error::invalid_field(
                    field,
                    format!(
                        "{} is out of range: use a duration from 1ms to {}",
                        format(d),
                        format(MAX_TIMER)
                    ),
                ));
            }
        }
        if self.election_min < self.heartbeat * 2 {
            return Err(Error::invalid_field(
                "election_min",
                format!(
                    "the election timeout ({}) must be at least twice the heartbeat ({}): \
                     followers would start elections between heartbeats",
                    format(self.election_min),
                    format(self.heartbeat)
                ),
            ));
        }
        if self.election_max < self.election_min {
            return Err(Error::invalid_field(
                "election_max",
                format!(
                    "the maximum election timeout ({}) is below the minimum ({})",
                    format(self.election_max),
                    format(self.election_min)
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_defaults_and_fast_test_timings_are_valid() {
        Timing::default().validate().expect("defaults");
        let fast = Timing {
            heartbeat: ms(100),
            election_min: ms(500),
            election_max: ms(1000),
            ..Timing::default()
        };
        fast.validate().expect("fast");
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let base = Timing::default();
        for (t, field, says) in [
            (
                Timing {
                    election_min: ms(150),
                    ..Timing::default()
                },
                "election_min",
                "at least twice the heartbeat (400ms)",
            ),
            (
                Timing {
                    election_max: ms(799),
                    ..Timing::default()
                },
                "election_max",
                "below the minimum (800ms)",
            ),
            (
                Timing {
                    heartbeat: Duration::ZERO,
                    ..base.clone()
                },
                "heartbeat",
                "out of range",
            ),
            (
                Timing {
                    propose_timeout: MAX_TIMER + ms(1),
                    ..base.clone()
                },
                "propose_timeout",
                "out of range",
            ),
        ] {
            let e = t.validate().expect_err(field);
            assert_eq!(e.field(), Some(field));
            assert!(e.message().contains(says), "{}", e.message());
        }
    }
}
