//! Targets as the tcp, tls and icmp probers need them: `host[:port]` split
//! once (IPv6 in brackets), host names resolved by the system (so
//! `/etc/hosts` and `nsswitch.conf` apply, as for any other program on the
//! host), and a connect that tries every address in turn.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;

use super::io_detail;

/// Split `host:port`, `[v6]:port`, `host`, `[v6]` or a bare IPv6 address.
/// Without a port, `default_port` is used; `None` makes the port required.
pub(crate) fn split_host_port(
    target: &str,
    default_port: Option<u16>,
) -> Result<(String, u16), String> {
    let bad_port = |p: &str| format!("bad port {p:?} in target {target:?}: use 1 to 65535");
    let parse_port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad_port(p)),
    };
    let missing = || format!("target {target:?} needs a port (host:port)");
    if let Some(rest) = target.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("target {target:?}: unclosed '['"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), parse_port(p)?)),
            None if after.is_empty() => Ok((host.to_string(), default_port.ok_or_else(missing)?)),
            None => Err(format!("target {target:?}: unexpected {after:?} after ']'")),
        };
    }
    if target.parse::<IpAddr>().is_ok() {
        return Ok((target.to_string(), default_port.ok_or_else(missing)?));
    }
    match target.rsplit_once(':') {
        Some((host, p)) if !host.is_empty() => Ok((host.to_string(), parse_port(p)?)),
        Some(_) => Err(format!("target {target:?} has no host")),
        None if target.is_empty() => Err("empty target".to_string()),
        None => Ok((target.to_string(), default_port.ok_or_else(missing)?)),
    }
}

/// The addresses of `host` (an IP literal needs no lookup). The error is a
/// probe detail: `dns: …`.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("dns: {host}: {}", io_detail(&e)))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("dns: no address for {host}"));
    }
    Ok(addrs)
}

/// Connect to the first address that accepts; the error is the last one.
pub(crate) async fn connect(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: &str, d: Option<u16>) -> (String, u16) {
        split_host_port(t, d).expect(t)
    }

    #[test]
    fn probe_targets_split() {
        assert_eq!(
            ok("example.com:8443", Some(443)),
            ("example.com".into(), 8443)
        );
        assert_eq!(ok("example.com", Some(443)), ("example.com".into(), 443));
        assert_eq!(ok("[::1]:853", Some(443)), ("::1".into(), 853));
        assert_eq!(ok("[::1]", Some(443)), ("::1".into(), 443));
        assert_eq!(ok("::1", Some(443)), ("::1".into(), 443));
        assert_eq!(ok("127.0.0.1:80", None), ("127.0.0.1".into(), 80));
        for bad in ["db", "db:0", "db:x", ":80", "[::1", "[::1]x", ""] {
            assert!(split_host_port(bad, None).is_err(), "{bad}");
        }
        assert!(
            split_host_port("db", None)
                .unwrap_err()
                .contains("needs a port")
        );
    }

    #[tokio::test]
    async fn probe_literals_resolve_without_lookup() {
        let addrs = resolve("127.0.0.1", 9).await.expect("literal");
        assert_eq!(addrs, vec!["127.0.0.1:9".parse().expect("addr")]);
        let addrs = resolve("::1", 9).await.expect("literal");
        assert_eq!(addrs, vec!["[::1]:9".parse().expect("addr")]);
    }
}
