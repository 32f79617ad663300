//! A per-address budget for join attempts (`join.invite`, `join.absorb`
//! and `enroll.request`): the methods anyone who reaches the peer port may
//! call without a trusted key.
//!
//! Each attempt proves a secret (the cluster secret's HMAC, a token's
//! secret), so every one costs a hash, a state lookup and possibly a
//! proposal, and an unbounded stream of guesses would be both a load and a
//! search. Each source IP therefore gets a token bucket: [`BURST`] attempts
//! at once, refilled at [`PER_SECOND`] a second, enough for a joiner that
//! polls once a second while it waits for approval. The table holds at most
//! [`MAX_SOURCES`] addresses; when full, buckets that have refilled (they
//! remember nothing) are dropped, and if none has, the newcomers share one
//! overflow bucket, so the table never grows and a flood from many
//! addresses is still throttled.
//!
//! [`Buckets`] decides with the time passed in (tested without I/O);
//! [`JoinAttempts`] reads the clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

/// Attempts one address may make at once.
pub const BURST: f64 = 20.0;
/// Attempts an address regains per second.
pub const PER_SECOND: f64 = 2.0;
/// Addresses tracked separately; more share one bucket.
pub const MAX_SOURCES: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant, rate: f64, burst: f64) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + gained).min(burst);
        self.at = now;
    }
}

/// The decision, without the clock.
#[derive(Debug)]
pub(crate) struct Buckets {
    burst: f64,
    rate: f64,
    max: usize,
    /// `None` is the overflow bucket shared once the table is full.
    table: HashMap<Option<IpAddr>, Bucket>,
}

impl Buckets {
    pub(crate) fn new(burst: f64, rate: f64, max: usize) -> Buckets {
        Buckets {
            burst,
            rate,
            max,
            table: HashMap::new(),
        }
    }

    /// Take one attempt for `ip` at `now`: `Ok` or how long until the next
    /// one is allowed.
    pub(crate) fn take(&mut self, ip: IpAddr, now: Instant) -> std::result::Result<(), Duration> {
        let (burst, rate) = (self.burst, self.rate);
        let key = if self.table.contains_key(&Some(ip)) || self.room(now) {
            Some(ip)
        } else {
            None
        };
        let bucket = self.table.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.refill(now, rate, burst);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }

    /// Whether a new address fits, after dropping buckets that are full
    /// again (they would start from full anyway).
    fn room(&mut self, now: Instant) -> bool {
        if self.table.len() < self.max {
            return true;
        }
        let (burst, rate) = (self.burst, self.rate);
        self.table.retain(|k, b| {
            b.refill(now, rate, burst);
            k.is_none() || b.tokens < burst
        });
        self.table.len() < self.max
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.len()
    }
}

/// The node's budget of join attempts per source address.
#[derive(Debug)]
pub(crate) struct JoinAttempts {
    buckets: Mutex<Buckets>,
}

impl Default for JoinAttempts {
    fn default() -> JoinAttempts {
        JoinAttempts {
            buckets: Mutex::new(Buckets::new(BURST, PER_SECOND, MAX_SOURCES)),
        }
    }
}

impl JoinAttempts {
    /// Count one attempt from `ip`; refused when its budget is spent,
    /// saying when to retry. The kind is `Transport`, which joiners treat
    /// as "try again" (a joiner waiting for approval keeps polling).
    pub(crate) fn take(&self, ip: IpAddr) -> Result<()> {
        let taken = self
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(ip, Instant::now());
        taken.map_err(|wait| {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            Error::new(
                ErrorKind::Transport,
                format!("too many join attempts from {ip}; retry in {secs}s"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_burst_then_the_refill_rate() {
        let t0 = Instant::now();
        let mut b = Buckets::new(20.0, 2.0, 16);
        for i in 0..20 {
            assert!(b.take(ip(1), t0).is_ok(), "attempt {i}");
        }
        let wait = b.take(ip(1), t0).expect_err("21st refused");
        assert_eq!(wait, Duration::from_millis(500));
        // Another address has its own budget.
        assert!(b.take(ip(2), t0).is_ok());
        // Half a second later one more attempt is allowed, and no second.
        let later = t0 + Duration::from_millis(500);
        assert!(b.take(ip(1), later).is_ok());
        assert!(b.take(ip(1), later).is_err());
        // A joiner polling once a second is never refused once idle.
        let mut t = t0 + Duration::from_secs(30);
        for _ in 0..120 {
            assert!(b.take(ip(3), t).is_ok());
            t += Duration::from_secs(1);
        }
    }

    #[test]
    fn the_table_is_bounded_and_overflow_is_still_throttled() {
        let t0 = Instant::now();
        let mut b = Buckets::new(2.0, 1.0, 4);
        for last in 1..=4 {
            assert!(b.take(ip(last), t0).is_ok());
        }
        // Full of busy buckets: newcomers share the overflow bucket.
        assert!(b.take(ip(10), t0).is_ok());
        assert!(b.take(ip(11), t0).is_ok());
        assert!(b.take(ip(12), t0).is_err());
        assert!(b.len() <= 5, "{}", b.len());
        // Once the old buckets refilled, a newcomer gets its own again.
        let later = t0 + Duration::from_secs(5);
        assert!(b.take(ip(13), later).is_ok());
        assert!(b.take(ip(13), later).is_ok());
        assert!(b.len() <= 5, "{}", b.len());
    }

    #[test]
    fn the_refusal_names_the_address_and_the_wait() {
        let a = JoinAttempts::default();
        for _ in 0..BURST as usize {
            a.take(ip(9)).expect("within the burst");
        }
        let err = a.take(ip(9)).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::Transport);
        assert_eq!(
            err.to_string(),
            "too many join attempts from 127.0.0.9; retry in 1s"
        );
    }
}
