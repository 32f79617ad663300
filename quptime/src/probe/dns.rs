//! The dns prober: look up one record type (A unless the check says AAAA,
//! CNAME, MX, TXT or NS) for the target name, and judge the answer by the
//! check's expectations ([`DnsProbe::judge`]).
//!
//! The servers asked are the check's `resolver` (`ip` or `ip:port`), else
//! the cluster-wide resolvers (`qu resolvers set`), else the system's
//! (`/etc/resolv.conf`). They are asked **one at a time, in the order
//! given**: a server that does not answer in its share of the timeout,
//! cannot be reached or answers REFUSED is passed over for the next one;
//! the first server that answers decides, whatever it says (records,
//! NXDOMAIN, SERVFAIL), and its address is in the evidence
//! (`A 192.0.2.1 from 9.9.9.9:53`, `SERVFAIL from 9.9.9.9:53`). So two
//! resolvers that disagree never make a check flip at random, which
//! hickory's pool would (it asks two servers at once and takes the first
//! reply, and reorders servers by their response times). Each server has
//! a resolver of its own (UDP, then TCP when an answer is truncated), built
//! on first use and kept.
//!
//! The name is always asked as given (a trailing dot is added, so search
//! domains never apply), `/etc/hosts` is not consulted, and nothing is
//! cached: each probe asks the server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts, ServerOrderingStrategy,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::{Resolver, TokioResolver};

use super::{Probe, ProbeResult};
use crate::state::{Check, CheckType, DnsProbe, DnsRecord};

/// Answers listed in a detail.
const SHOWN: usize = 3;
/// Characters of one answer shown in a detail.
const ANSWER_CHARS: usize = 60;
/// Servers kept with a resolver of their own; past this the cache starts
/// afresh (checks come and go; eight cluster-wide resolvers and one per
/// check are far below it).
const MAX_SERVERS: usize = 1024;
/// Time kept back from the check's timeout, so that the last server's
/// silence is reported by this prober (naming it) rather than by the
/// probe's overall timeout.
const MARGIN: Duration = Duration::from_millis(50);

/// The servers to ask and one resolver per server.
pub(crate) struct DnsProber {
    /// The system's name servers, in `/etc/resolv.conf` order.
    system: Result<Vec<SocketAddr>, String>,
    /// The cluster-wide resolvers; empty: the system's.
    defaults: Mutex<Vec<SocketAddr>>,
    servers: Mutex<HashMap<SocketAddr, TokioResolver>>,
}

impl std::fmt::Debug for DnsProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsProber")
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

impl DnsProber {
    pub(crate) fn new() -> DnsProber {
        let system = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| e.to_string())
            .and_then(|(config, _)| {
                let servers = server_addrs(&config);
                if servers.is_empty() {
                    Err("no nameserver listed".to_string())
                } else {
                    Ok(servers)
                }
            })
            .map_err(|e| {
                tracing::warn!(error = %e, "no system DNS configuration: dns checks without --resolver will fail");
                format!("dns: no system resolver configuration: {e}")
            });
        DnsProber {
            system,
            defaults: Mutex::new(Vec::new()),
            servers: Mutex::new(HashMap::new()),
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

    /// The servers to ask for `check`, in order, or a probe detail saying
    /// why there are none.
    fn servers_for(&self, check: &Check) -> Result<Vec<SocketAddr>, String> {
        if let Some(spec) = check.dns().and_then(|d| d.resolver.as_ref()) {
            return Ok(vec![
                crate::state::resolvers::parse(spec).map_err(|e| format!("dns: {e}"))?,
            ]);
        }
        let defaults = self
            .defaults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if defaults.is_empty() {
            return self.system.clone();
        }
        Ok(defaults)
    }

    /// The resolver that asks `server` alone.
    fn resolver(&self, server: SocketAddr) -> Result<TokioResolver, String> {
        let mut cache = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = cache.get(&server) {
            return Ok(r.clone());
        }
        let mut config = NameServerConfig::udp_and_tcp(server.ip());
        for conn in &mut config.connections {
            conn.port = server.port();
        }
        let mut builder = Resolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![config]),
            TokioRuntimeProvider::default(),
        );
        tune(builder.options_mut());
        let resolver = builder
            .build()
            .map_err(|e| format!("dns: resolver {server}: {e}"))?;
        if cache.len() >= MAX_SERVERS {
            cache.clear();
        }
        cache.insert(server, resolver.clone());
        Ok(resolver)
    }
}

/// The first address of each name server in `config`.
fn server_addrs(config: &ResolverConfig) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for ns in &config.name_servers {
        let port = ns.connections.first().map_or(53, |c| c.port);
        let addr = SocketAddr::new(ns.ip, port);
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

/// Options for a monitor asking one server: no cache, no hosts file, one
/// query at a time, no retry of its own (the prober moves on to the next
/// server instead), and a timeout the prober's own deadline cuts short.
fn tune(opts: &mut ResolverOpts) {
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.num_concurrent_reqs = 1;
    opts.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    opts.attempts = 0;
    opts.timeout = Duration::from_secs(300);
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

/// What one server said.
enum Said {
    /// Records (possibly none of the type asked).
    Answers(Vec<String>),
    /// The name does not exist.
    NxDomain,
    /// No record of the type (NOERROR, empty answer).
    NoData,
    /// An error code that is the server's answer (SERVFAIL and the like).
    Code(ResponseCode),
}

/// Why a server was passed over.
fn passed_over(err: &NetError) -> Option<String> {
    match err {
        NetError::Timeout => Some("timed out".into()),
        NetError::Io(e) => Some(super::io_detail(e)),
        NetError::NoConnections => Some("no connection".into()),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => Some("REFUSED".into()),
        _ => None,
    }
}

/// The server's answer, out of a lookup's result (`Err` with a detail for
/// failures that are not an answer).
fn said(result: Result<Lookup, NetError>, rtype: RecordType) -> Result<Said, NetError> {
    match result {
        Ok(l) => Ok(Said::Answers(
            l.answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.to_string())
                .collect(),
        )),
        Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => Ok(match nr.response_code {
            ResponseCode::NXDomain => Said::NxDomain,
            ResponseCode::NoError => Said::NoData,
            code => Said::Code(code),
        }),
        Err(NetError::Dns(DnsError::ResponseCode(code))) if code != ResponseCode::Refused => {
            Ok(Said::Code(code))
        }
        Err(e) => Err(e),
    }
}

impl Probe for DnsProber {
    const KIND: CheckType = CheckType::Dns;

    async fn probe(&self, check: &Check) -> ProbeResult {
        let start = Instant::now();
        let servers = match self.servers_for(check) {
            Ok(s) => s,
            Err(e) => return ProbeResult::down(start.elapsed(), e),
        };
        let blank = DnsProbe::default();
        let spec = check.dns().unwrap_or(&blank);
        let rtype = record_type(spec.record);
        let name = check.target.trim_end_matches('.');
        let fqdn = format!("{name}.");
        let deadline = start + check.timeout.saturating_sub(MARGIN.min(check.timeout / 10));
        let mut skipped: Vec<String> = Vec::new();
        for (i, server) in servers.iter().enumerate() {
            let resolver = match self.resolver(*server) {
                Ok(r) => r,
                Err(e) => return ProbeResult::down(start.elapsed(), e),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let share = left / u32::try_from(servers.len() - i).unwrap_or(u32::MAX);
            let result =
                match tokio::time::timeout(share, resolver.lookup(fqdn.as_str(), rtype)).await {
                    Ok(r) => r,
                    Err(_) => Err(NetError::Timeout),
                };
            match said(result, rtype) {
                Ok(answer) => {
                    let latency = start.elapsed();
                    return verdict(spec, rtype, name, answer, &from(*server, &skipped), latency);
                }
                Err(e) => match passed_over(&e) {
                    Some(why) => skipped.push(format!("{server} {why}")),
                    None => {
                        return ProbeResult::down(
                            start.elapsed(),
                            format!("dns: {e}{}", from(*server, &skipped)),
                        );
                    }
                },
            }
        }
        ProbeResult::down(
            start.elapsed(),
            format!("dns: no answer: {}", skipped.join(", ")),
        )
    }
}

/// ` from 9.9.9.9:53`, and the servers passed over before it.
fn from(server: SocketAddr, skipped: &[String]) -> String {
    if skipped.is_empty() {
        format!(" from {server}")
    } else {
        format!(" from {server} ({})", skipped.join(", "))
    }
}

/// The probe result for what a server said.
fn verdict(
    spec: &DnsProbe,
    rtype: RecordType,
    name: &str,
    answer: Said,
    from: &str,
    latency: Duration,
) -> ProbeResult {
    match answer {
        Said::NxDomain if spec.expect_nxdomain => {
            ProbeResult::up(latency, format!("NXDOMAIN{from}"))
        }
        Said::NxDomain => ProbeResult::down(
            latency,
            format!("dns: {name} does not exist (NXDOMAIN{from})"),
        ),
        Said::Code(code) => ProbeResult::down(latency, format!("dns: {}{from}", code_name(code))),
        Said::NoData if spec.expect_nxdomain => ProbeResult::down(
            latency,
            format!("dns: expected NXDOMAIN, the name exists without {rtype} records{from}"),
        ),
        Said::NoData => {
            ProbeResult::down(latency, format!("dns: no {rtype} record for {name}{from}"))
        }
        Said::Answers(answers) if answers.is_empty() && !spec.expect_nxdomain => {
            ProbeResult::down(latency, format!("dns: no {rtype} record for {name}{from}"))
        }
        Said::Answers(answers) => {
            let listed = list(rtype, &answers);
            match spec.judge(&answers) {
                Ok(()) => ProbeResult::up(latency, format!("{listed}{from}")),
                Err(why) => ProbeResult::down(latency, format!("dns: {why}: {listed}{from}")),
            }
        }
    }
}

/// `SERVFAIL`, `NOTIMP`: the code as DNS tools print it.
fn code_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("server answered {other}"),
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

    #[test]
    fn the_evidence_names_the_server_and_those_passed_over() {
        let a: SocketAddr = "127.0.0.1:5301".parse().unwrap();
        assert_eq!(from(a, &[]), " from 127.0.0.1:5301");
        assert_eq!(
            from(a, &["127.0.0.1:5300 timed out".into()]),
            " from 127.0.0.1:5301 (127.0.0.1:5300 timed out)"
        );
        let spec = DnsProbe::default();
        let r = verdict(
            &spec,
            RecordType::A,
            "web.test",
            Said::Code(ResponseCode::ServFail),
            " from 127.0.0.1:5301",
            Duration::ZERO,
        );
        assert!(!r.ok);
        assert_eq!(r.detail, "dns: SERVFAIL from 127.0.0.1:5301");
        assert_eq!(
            passed_over(&NetError::Timeout).as_deref(),
            Some("timed out")
        );
        assert!(
            passed_over(&NetError::Dns(DnsError::ResponseCode(
                ResponseCode::ServFail
            )))
            .is_none()
        );
    }
}
