//! The dns prober: look up one record type (A unless the check says AAAA,
//! CNAME, MX, TXT or NS) for the target name, from the system's resolvers
//! the check's `resolver` (`ip` or `ip:port`, UDP then TCP) or, for checks
//! without one, the cluster-wide resolvers (`qu resolvers set`). Up when
//! there is at least one answer of that type and, with `expect_answer`,
//! one answer's text contains it.
//!
//! The name is always asked as given (a trailing dot is added, so search
//! domains never apply), `/etc/hosts` is not consulted, and nothing is
//! cached: each probe asks the server. The system resolver is built once;
//! one resolver per distinct set of server addresses is built on first use
//! and kept.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::{Resolver, TokioResolver};

use super::{Probe, ProbeResult};
use crate::state::{Check, CheckType, DnsRecord};

/// Answers listed in a detail.
const SHOWN: usize = 3;
/// Characters of one answer shown in a detail.
const ANSWER_CHARS: usize = 60;

/// The resolvers: the system's, and one per set of server addresses in use
/// (a check's own `resolver`, or the cluster-wide list).
pub(crate) struct DnsProber {
    system: Result<TokioResolver, String>,
    /// The cluster-wide resolvers; empty: the system's.
    defaults: Mutex<Vec<SocketAddr>>,
    custom: Mutex<HashMap<Vec<SocketAddr>, TokioResolver>>,
}

impl std::fmt::Debug for DnsProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsProber")
            .field("system", &self.system.as_ref().map(|_| "configured"))
            .finish_non_exhaustive()
    }
}

/// Options for a monitor: no cache, no hosts file.
fn tune(opts: &mut ResolverOpts) {
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
}

impl DnsProber {
    pub(crate) fn new() -> DnsProber {
        let system = TokioResolver::builder_tokio()
            .and_then(|mut b| {
                tune(b.options_mut());
                b.build()
            })
            .map_err(|e| {
                tracing::warn!(error = %e, "no system DNS configuration: dns checks without --resolver will fail");
                format!("dns: no system resolver configuration: {e}")
            });
        DnsProber {
            system,
            defaults: Mutex::new(Vec::new()),
            custom: Mutex::new(HashMap::new()),
        }
    }

    /// Use `servers` for checks without a resolver of their own (the
    /// cluster-wide setting); invalid entries are skipped (the replicated
    /// state only holds validated ones).
    pub(crate) fn set_defaults(&self, servers: &[String]) {
        let parsed: Vec<SocketAddr> = servers
            .iter()
            .filter_map(|s| crate::state::resolvers::parse(s).ok())
            .collect();
        let mut defaults = self.defaults.lock().unwrap_or_else(|e| e.into_inner());
        if *defaults != parsed {
            *defaults = parsed;
        }
    }

    /// The resolver for `check`, or a probe detail saying why there is none.
    fn resolver(&self, check: &Check) -> Result<TokioResolver, String> {
        let servers = match check.dns().and_then(|d| d.resolver.as_ref()) {
            Some(spec) => {
                vec![crate::state::resolvers::parse(spec).map_err(|e| format!("dns: {e}"))?]
            }
            None => self
                .defaults
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        };
        if servers.is_empty() {
            return self.system.clone();
        }
        let mut custom = self.custom.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = custom.get(&servers) {
            return Ok(r.clone());
        }
        let configs = servers
            .iter()
            .map(|addr| {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for conn in &mut server.connections {
                    conn.port = addr.port();
                }
                server
            })
            .collect();
        let mut builder = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(configs),
            TokioRuntimeProvider::default(),
        );
        tune(builder.options_mut());
        let resolver = builder.build().map_err(|e| {
            let list: Vec<String> = servers.iter().map(|a| a.to_string()).collect();
            format!("dns: resolver {}: {e}", list.join(","))
        })?;
        custom.insert(servers, resolver.clone());
        Ok(resolver)
    }
}

fn record_type(record: Option<DnsRecord>) -> RecordType {
    match record.unwrap_or(DnsRecord::A) {
        DnsRecord::A => RecordType::A,
        DnsRecord::Aaaa => RecordType::AAAA,
        DnsRecord::Cname => RecordType::CNAME,
        DnsRecord::Mx => RecordType::MX,
        DnsRecord::Txt => RecordType::TXT,
        DnsRecord::Ns => RecordType::NS,
    }
}

impl Probe for DnsProber {
    const KIND: CheckType = CheckType::Dns;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let resolver = match self.resolver(check) {
            Ok(r) => r,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let rtype = record_type(check.dns().and_then(|d| d.record));
        let name = check.target.trim_end_matches('.');
        let fqdn = format!("{name}.");
        let lookup = resolver.lookup(fqdn.as_str(), rtype).await;
        let latency = start.elapsed();
        let answers: Vec<String> = match lookup {
            Ok(l) => l
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.to_string())
                .collect(),
            Err(e) => return ProbeResult::down(latency, lookup_error(&e, rtype, name)),
        };
        if answers.is_empty() {
            return ProbeResult::down(latency, format!("dns: no {rtype} record for {name}"));
        }
        let listed = list(rtype, &answers);
        match check.dns().and_then(|d| d.expect_answer.as_ref()) {
            Some(want) if !answers.iter().any(|a| a.contains(want.as_str())) => ProbeResult::down(
                latency,
                format!("dns: no answer contains {want:?}: {listed}"),
            ),
            _ => ProbeResult::up(latency, listed),
        }
    }
}

/// `A 192.0.2.1, 192.0.2.2 (+3 more)`, each answer cut short.
fn list(rtype: RecordType, answers: &[String]) -> String {
    let shown: Vec<String> = answers
        .iter()
        .take(SHOWN)
        .map(|a| {
            if a.chars().count() > ANSWER_CHARS {
                let cut: String = a.chars().take(ANSWER_CHARS).collect();
                format!("{cut}…")
            } else {
                a.clone()
            }
        })
        .collect();
    let mut out = format!("{rtype} {}", shown.join(", "));
    if answers.len() > SHOWN {
        out.push_str(&format!(" (+{} more)", answers.len() - SHOWN));
    }
    out
}

/// A failed lookup as a probe detail.
fn lookup_error(err: &NetError, rtype: RecordType, name: &str) -> String {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(nr))
            if nr.response_code == ResponseCode::NXDomain =>
        {
            format!("dns: {name} does not exist (NXDOMAIN)")
        }
        NetError::Dns(DnsError::NoRecordsFound(_)) => format!("dns: no {rtype} record for {name}"),
        NetError::Dns(DnsError::ResponseCode(code)) => format!("dns: server answered {code}"),
        NetError::Timeout => "dns: no answer from the resolver (timed out)".to_string(),
        NetError::Io(e) => format!("dns: {}", super::io_detail(e)),
        other => format!("dns: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_listed_briefly() {
        let many: Vec<String> = (1..=5).map(|i| format!("192.0.2.{i}")).collect();
        assert_eq!(
            list(RecordType::A, &many),
            "A 192.0.2.1, 192.0.2.2, 192.0.2.3 (+2 more)"
        );
        let long = vec!["x".repeat(100)];
        let shown = list(RecordType::TXT, &long);
        assert!(
            shown.starts_with("TXT xxx") && shown.ends_with('…'),
            "{shown}"
        );
        assert_eq!(record_type(None), RecordType::A);
        assert_eq!(record_type(Some(DnsRecord::Mx)), RecordType::MX);
    }
}
