//! The tcp prober: up when a TCP connection to `host:port` is accepted.
//! Nothing is sent; the connection is closed at once.

use std::time::Instant;

use super::{Probe, ProbeResult, io_detail, target};
use crate::state::{Check, CheckType};

/// Connects and hangs up. Stateless.
#[derive(Debug)]
pub(crate) struct TcpProber;

impl Probe for TcpProber {
    const KIND: CheckType = CheckType::Tcp;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let (host, port) = match target::split_host_port(&check.target, None) {
            Ok(hp) => hp,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let addrs = match target::resolve(&host, port).await {
            Ok(a) => a,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        match target::connect(&addrs).await {
            Ok(_stream) => ProbeResult::up(start.elapsed(), "connected"),
            Err(e) => ProbeResult::down(start.elapsed(), format!("connect: {}", io_detail(&e))),
        }
    }
}
