//! The settings of icmp checks: how many echoes a probe sends and how much
//! loss and round-trip time it tolerates, and the pure verdict on what came
//! back.
//!
//! The defaults are the single echo of earlier releases: one echo, up on
//! its reply. With `count` above one the echoes go out together and the
//! probe is up while the share lost stays within `max_loss` (default: up
//! while any reply comes) and the average round trip within `max_rtt`; the
//! evidence says which bound broke (`3/5 lost (60% > 40%)`, `rtt avg
//! 250ms > 200ms`). [`judge`] takes the outcomes as values, so it is tested
//! without a socket. A check that sets any of them needs state level 5: an
//! older node would drop the keys and judge a single echo.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::duration;
use crate::state::fields::validate_host;

/// Most echoes per probe.
pub const MAX_COUNT: u8 = 20;
/// Shortest and longest `max_rtt`.
pub const MAX_RTT_RANGE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(60));

/// An ICMP echo: up on a reply (or, with `count`, enough replies, fast
/// enough).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpProbe {
    /// Echoes per probe, 1 to 20; default 1. (State level 5, as the fields
    /// below.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u8>,
    /// Most echoes lost, in percent (0 to 99), before the probe is down;
    /// default: down only when every echo is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_loss: Option<u8>,
    /// Down when the average round trip of the replies is longer.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub max_rtt: Option<Duration>,
}

impl IcmpProbe {
    /// The target is a host name or an IP address; each setting within
    /// its bound.
    pub fn validate(&self, target: &str) -> Result<()> {
        if let Some(n) = self.count
            && !(1..=MAX_COUNT).contains(&n)
        {
            return Err(Error::invalid(format!(
                "count {n}: use 1 to {MAX_COUNT} echoes per probe"
            )));
        }
        if let Some(p) = self.max_loss
            && p > 99
        {
            return Err(Error::invalid(format!(
                "max_loss {p}%: use 0% to 99% (100% would never be down)"
            )));
        }
        if let Some(d) = self.max_rtt {
            duration::in_range("max_rtt", d, MAX_RTT_RANGE, "200ms")?;
        }
        validate_host(target)
    }

    /// Echoes per probe.
    pub fn echoes(&self) -> u8 {
        self.count.unwrap_or(1).clamp(1, MAX_COUNT)
    }

    /// The state level a node needs to probe this check as asked: 5 when a
    /// setting is used, else 1.
    pub fn level(&self) -> u32 {
        if self.count.is_some() || self.max_loss.is_some() || self.max_rtt.is_some() {
            5
        } else {
            1
        }
    }
}

/// What became of one echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Echo {
    /// An echo reply, after this round trip, from this address.
    Reply(Duration, String),
    /// No reply within the timeout.
    Timeout,
    /// Something else came back or sending failed: the detail.
    Failed(String),
}

/// The verdict on a probe's echoes: up or down, its latency (the average
/// round trip, when any reply came) and the detail.
pub fn judge(
    p: &IcmpProbe,
    echoes: &[Echo],
    timeout: Duration,
) -> (bool, Option<Duration>, String) {
    let sent = echoes.len().max(1);
    let rtts: Vec<Duration> = echoes
        .iter()
        .filter_map(|e| match e {
            Echo::Reply(rtt, _) => Some(*rtt),
            _ => None,
        })
        .collect();
    let lost = sent - rtts.len();
    let avg = (!rtts.is_empty()).then(|| rtts.iter().sum::<Duration>() / rtts.len() as u32);
    let from = echoes.iter().find_map(|e| match e {
        Echo::Reply(_, from) => Some(from.as_str()),
        _ => None,
    });
    let Some(avg) = avg else {
        // Nothing came back: the reason of the first echo, as before.
        let why = match echoes.iter().find(|e| matches!(e, Echo::Failed(_))) {
            Some(Echo::Failed(d)) => d.clone(),
            _ => format!("timeout after {}", duration::format(timeout)),
        };
        let detail = if sent == 1 {
            why
        } else {
            format!("{lost}/{sent} lost: {why}")
        };
        return (false, None, detail);
    };
    let loss_pct = lost * 100 / sent;
    if let Some(max) = p.max_loss
        && loss_pct > usize::from(max)
    {
        return (
            false,
            Some(avg),
            format!("{lost}/{sent} lost ({loss_pct}% > {max}%)"),
        );
    }
    if let Some(max) = p.max_rtt
        && avg > max
    {
        return (
            false,
            Some(avg),
            format!(
                "rtt avg {} > {}",
                duration::format(round_ms(avg)),
                duration::format(max)
            ),
        );
    }
    let from = from.unwrap_or("?");
    let detail = if sent == 1 {
        format!("reply from {from}")
    } else {
        format!(
            "{}/{sent} replies from {from}, rtt avg {}",
            rtts.len(),
            duration::format(round_ms(avg))
        )
    };
    (true, Some(avg), detail)
}

/// `d` to whole milliseconds (at least 1 ms), for evidence.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis((d.as_millis() as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn reply(n: u64) -> Echo {
        Echo::Reply(ms(n), "10.0.0.1".into())
    }

    #[test]
    fn defaults_are_the_single_echo() {
        let p = IcmpProbe::default();
        assert_eq!(p.echoes(), 1);
        assert_eq!(p.level(), 1);
        let t = Duration::from_secs(2);
        assert_eq!(
            judge(&p, &[reply(3)], t),
            (true, Some(ms(3)), "reply from 10.0.0.1".into())
        );
        assert_eq!(
            judge(&p, &[Echo::Timeout], t),
            (false, None, "timeout after 2s".into())
        );
        let e = Echo::Failed("icmp: destination unreachable from 10.0.0.9".into());
        assert_eq!(
            judge(&p, std::slice::from_ref(&e), t).2,
            "icmp: destination unreachable from 10.0.0.9"
        );
        let p = IcmpProbe {
            count: Some(3),
            ..IcmpProbe::default()
        };
        assert_eq!(
            judge(&p, &[Echo::Timeout, e, Echo::Timeout], t).2,
            "3/3 lost: icmp: destination unreachable from 10.0.0.9"
        );
    }

    #[test]
    fn loss_and_rtt_bounds_give_their_evidence() {
        let t = Duration::from_secs(2);
        let p = IcmpProbe {
            count: Some(5),
            max_loss: Some(40),
            max_rtt: Some(ms(200)),
        };
        assert_eq!(p.level(), 5);
        let lossy = [
            reply(1),
            reply(1),
            Echo::Timeout,
            Echo::Timeout,
            Echo::Timeout,
        ];
        assert_eq!(judge(&p, &lossy, t).2, "3/5 lost (60% > 40%)");
        let ok = [reply(1), reply(1), reply(1), Echo::Timeout, Echo::Timeout];
        assert_eq!(
            judge(&p, &ok, t),
            (
                true,
                Some(ms(1)),
                "3/5 replies from 10.0.0.1, rtt avg 1ms".into()
            )
        );
        let slow = [reply(250), reply(250), reply(250), reply(250), reply(250)];
        let (up, _, detail) = judge(&p, &slow, t);
        assert!(!up);
        assert_eq!(detail, "rtt avg 250ms > 200ms");
    }

    #[test]
    fn bounds_name_the_field() {
        let mut p = IcmpProbe {
            count: Some(21),
            ..IcmpProbe::default()
        };
        assert!(
            p.validate("h.test")
                .unwrap_err()
                .to_string()
                .contains("count 21: use 1 to 20")
        );
        p.count = Some(0);
        assert!(p.validate("h.test").is_err());
        p.count = Some(20);
        p.validate("h.test").expect("valid");
        p.max_loss = Some(100);
        assert!(
            p.validate("h.test")
                .unwrap_err()
                .to_string()
                .contains("max_loss 100%")
        );
        p.max_loss = Some(99);
        p.max_rtt = Some(Duration::from_secs(61));
        assert!(
            p.validate("h.test")
                .unwrap_err()
                .to_string()
                .contains("max_rtt 1m1s")
        );
    }
}
