//! Network addresses as text: the `host:port` form of a node's advertised
//! address and of a TCP check's target, checked without resolving anything.
//!
//! Its own pure module because both the durable `node.yaml` ([`crate::store`])
//! and the replicated cluster state ([`crate::state`]) validate the same form,
//! and the state must not depend on the module that writes files.

use core::net::Ipv6Addr;

use crate::error::{Error, Result};

/// Parse a port: an integer from 1 to 65535, digits only.
pub(crate) fn parse_port(port: &str) -> Result<u16> {
    match port.parse::<u16>() {
        Ok(p) if p != 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(Error::invalid(format!(
            "{port:?} is not a port: use an integer from 1 to 65535"
        ))),
    }
}

/// Check that `addr` has the form `host:port`: a host name or IPv4 address,
/// or a bracketed IPv6 address (`[2001:db8::1]:9901`), and a port from 1 to
/// 65535. Nothing is resolved.
pub fn check_host_port(addr: &str) -> Result<()> {
    let form = "use host:port, e.g. node1.example.com:9901, 10.0.0.5:9901 or [2001:db8::5]:9901";
    // A host name has at most 253 characters; with brackets and a port,
    // an address has at most this many (checked before it is quoted).
    const MAX_ADDR: usize = 253 + 2 + 6;
    if addr.len() > MAX_ADDR {
        return Err(Error::invalid(format!(
            "an address of {} bytes is too long (at most {MAX_ADDR}): {form}",
            addr.len()
        )));
    }
    let fail = |why: &str| Err(Error::invalid(format!("{addr:?} {why}: {form}")));
    if addr.contains("://") {
        return fail("has a URL scheme");
    }
    if addr.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/') {
        return fail("is not a network address");
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return fail("has no port");
    };
    if let Some(inner) = host.strip_prefix('[') {
        let is_v6 = inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<Ipv6Addr>().is_ok());
        if !is_v6 {
            return fail("has a malformed bracketed IPv6 address");
        }
    } else if host.contains(':') {
        return fail("is an IPv6 address without brackets");
    } else if host.is_empty() {
        return fail("has no host");
    }
    parse_port(port).map(|_| ())
}
