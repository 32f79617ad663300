//! The icmp prober: one echo request, up on the echo reply; or `count`
//! echoes at once, judged for loss and round trip by
//! `state::probe_icmp::judge` (pure, so its rules are tested without
//! sockets).
//!
//! Sockets come from surge-ping: an unprivileged datagram ICMP socket first
//! (Linux allows it to the groups in `net.ipv4.ping_group_range`, which also
//! covers IPv6), then a raw socket (needs root or CAP_NET_RAW). When neither
//! is allowed the probe is down with a detail naming both fixes. One socket
//! per address family is opened at the first icmp probe (it needs the Tokio
//! runtime) and shared by every probe after it; a failure to open one is not
//! remembered, so fixing the permission takes effect without a restart.
//!
//! Replies are matched by identifier and sequence number: the identifier is
//! random per node, the sequence counts probes, so concurrent probes of one
//! host — and several nodes in one process — never take each other's reply.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};
use tokio::sync::OnceCell;

use super::{Probe, ProbeResult, io_detail, target};
use crate::state::probe_icmp::{Echo, judge};
use crate::state::{Check, CheckType, IcmpProbe};

/// What an operator must do when ICMP sockets are refused.
pub(crate) const NOT_PERMITTED: &str = "icmp: not permitted: allow unprivileged ping with \
     sysctl net.ipv4.ping_group_range=\"0 2147483647\", or grant CAP_NET_RAW \
     (setcap cap_net_raw=+ep qu)";

const PAYLOAD: [u8; 56] = [0; 56];

/// The shared sockets, opened on first use.
pub(crate) struct IcmpProber {
    v4: OnceCell<Client>,
    v6: OnceCell<Client>,
    ident: u16,
    seq: AtomicU16,
}

impl std::fmt::Debug for IcmpProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcmpProber")
            .field("v4_open", &self.v4.initialized())
            .field("v6_open", &self.v6.initialized())
            .field("ident", &self.ident)
            .finish_non_exhaustive()
    }
}

impl IcmpProber {
    pub(crate) fn new() -> IcmpProber {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        IcmpProber {
            v4: OnceCell::new(),
            v6: OnceCell::new(),
            ident: hasher.finish() as u16,
            seq: AtomicU16::new(0),
        }
    }

    /// The socket for `ip`'s family, opening it if needed. The error is a
    /// probe detail.
    async fn client(&self, ip: IpAddr) -> Result<&Client, String> {
        let (cell, kind) = match ip {
            IpAddr::V4(_) => (&self.v4, ICMP::V4),
            IpAddr::V6(_) => (&self.v6, ICMP::V6),
        };
        cell.get_or_try_init(|| async {
            // The default hint is a datagram socket; surge-ping falls back to raw.
            let client = Client::new(&Config::builder().kind(kind).build()).map_err(open_error)?;
            tracing::debug!(
                kind = ?kind,
                socket = ?client.get_socket().get_type(),
                "opened ICMP socket"
            );
            Ok(client)
        })
        .await
    }
}

fn open_error(e: io::Error) -> String {
    if e.kind() == io::ErrorKind::PermissionDenied {
        NOT_PERMITTED.to_string()
    } else {
        format!("icmp: cannot open a socket: {}", io_detail(&e))
    }
}

impl Probe for IcmpProber {
    const KIND: CheckType = CheckType::Icmp;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let ip = match target::resolve(&check.target, 0).await {
            Ok(addrs) => addrs[0].ip(),
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let client = match self.client(ip).await {
            Ok(c) => c,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let settings = match &check.probe {
            crate::state::Probe::Icmp(p) => p.clone(),
            _ => IcmpProbe::default(),
        };
        // Every echo waits until shortly before the check's timeout, so
        // the verdict is ours (`2/5 lost`) rather than the caller's.
        let count = settings.echoes();
        let wait = if count == 1 {
            check.timeout
        } else {
            check
                .timeout
                .saturating_sub((check.timeout / 10).min(Duration::from_secs(1)))
        };
        let echoes = (0..count).map(|i| self.echo(client, ip, wait, i));
        let echoes = futures_util::future::join_all(echoes).await;
        let (ok, rtt, detail) = judge(&settings, &echoes, check.timeout);
        let latency = rtt.unwrap_or_else(|| start.elapsed());
        if ok {
            ProbeResult::up(latency, detail)
        } else {
            ProbeResult::down(start.elapsed(), detail)
        }
    }
}

impl IcmpProber {
    /// One echo, the `i`th of a probe (sent `i` × 10 ms after the first,
    /// so a burst does not trip rate limits), waiting at most `wait`.
    async fn echo(&self, client: &Client, ip: IpAddr, wait: Duration, i: u8) -> Echo {
        let stagger = Duration::from_millis(10) * u32::from(i);
        tokio::time::sleep(stagger).await;
        let mut pinger = client.pinger(ip, PingIdentifier(self.ident)).await;
        pinger.timeout(wait.saturating_sub(stagger));
        let seq = PingSequence(self.seq.fetch_add(1, Ordering::Relaxed));
        match pinger.ping(seq, &PAYLOAD).await {
            Ok((packet, rtt)) => match verdict(&packet) {
                Ok(from) => Echo::Reply(rtt, from.to_string()),
                Err(detail) => Echo::Failed(detail),
            },
            Err(SurgeError::Timeout { .. }) => Echo::Timeout,
            Err(SurgeError::IOError(e)) => Echo::Failed(format!("icmp: send: {}", io_detail(&e))),
            Err(e) => Echo::Failed(format!("icmp: {e}")),
        }
    }
}

/// The source of an echo reply; otherwise the ICMP error that came back
/// instead (`icmp: destination unreachable from 10.0.0.1`).
fn verdict(packet: &IcmpPacket) -> Result<IpAddr, String> {
    let (is_reply, what, from) = match packet {
        IcmpPacket::V4(p) => {
            let t = p.get_icmp_type().0;
            (t == 0, v4_type_name(t), IpAddr::V4(p.get_source()))
        }
        IcmpPacket::V6(p) => {
            let t = p.get_icmpv6_type().0;
            (t == 129, v6_type_name(t), IpAddr::V6(p.get_source()))
        }
    };
    if is_reply {
        Ok(from)
    } else {
        Err(format!("icmp: {what} from {from}"))
    }
}

fn v4_type_name(t: u8) -> String {
    match t {
        3 => "destination unreachable".into(),
        11 => "time exceeded".into(),
        12 => "parameter problem".into(),
        5 => "redirect".into(),
        other => format!("type {other}"),
    }
}

fn v6_type_name(t: u8) -> String {
    match t {
        1 => "destination unreachable".into(),
        2 => "packet too big".into(),
        3 => "time exceeded".into(),
        4 => "parameter problem".into(),
        other => format!("type {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_fix() {
        let detail = open_error(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(detail.contains("ping_group_range"), "{detail}");
        assert!(detail.contains("CAP_NET_RAW"), "{detail}");
        let detail = open_error(io::Error::from_raw_os_error(libc::EAFNOSUPPORT));
        assert!(
            detail.starts_with("icmp: cannot open a socket: "),
            "{detail}"
        );
    }

    #[test]
    fn type_names() {
        assert_eq!(v4_type_name(3), "destination unreachable");
        assert_eq!(v6_type_name(1), "destination unreachable");
        assert_eq!(v4_type_name(42), "type 42");
    }
}
