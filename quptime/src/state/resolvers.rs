//! The cluster-wide DNS resolvers: a replicated setting that `dns` checks
//! without a `--resolver` of their own use instead of the system's
//! configuration, so every node asks the same servers (a node's local
//! `/etc/resolv.conf` may point at a split-horizon or broken resolver, which
//! would make the nodes disagree for reasons that have nothing to do with
//! the target).

use core::net::{IpAddr, SocketAddr};

use crate::error::{Error, Result};

/// At most this many cluster-wide resolvers.
pub const MAX_RESOLVERS: usize = 8;

/// `ip` or `ip:port` (IPv6 with a port in brackets); port 53 by default.
pub fn parse(spec: &str) -> std::result::Result<SocketAddr, String> {
    let spec = spec.trim();
    if let Ok(ip) = spec.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    spec.parse::<SocketAddr>().map_err(|_| {
        format!(
            "bad resolver {}; use ip or ip:port (e.g. 9.9.9.9 or [2620:fe::fe]:53)",
            crate::state::fields::excerpt(spec)
        )
    })
}

/// Check a list for `qu resolvers set`: each entry valid, no duplicates, at
/// most [`MAX_RESOLVERS`]. Returns the canonical `ip:port` forms.
pub fn validate(list: &[String]) -> Result<Vec<String>> {
    if list.len() > MAX_RESOLVERS {
        return Err(Error::invalid(format!(
            "{} resolvers given; at most {MAX_RESOLVERS} are allowed",
            list.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for spec in list {
        let addr = parse(spec).map_err(Error::invalid)?;
        let canonical = addr.to_string();
        if out.contains(&canonical) {
            return Err(Error::invalid(format!(
                "resolver {canonical} is listed twice; list each server once"
            )));
        }
        out.push(canonical);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_a_default_port_and_bad_ones_are_named() {
        assert_eq!(parse("9.9.9.9").unwrap().to_string(), "9.9.9.9:53");
        assert_eq!(parse("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse("[2620:fe::fe]:53").unwrap().port(), 53);
        assert!(parse("dns.example").unwrap_err().contains("dns.example"));
        assert_eq!(
            validate(&["1.1.1.1".into(), "9.9.9.9:5353".into()]).unwrap(),
            vec!["1.1.1.1:53", "9.9.9.9:5353"]
        );
        let e = validate(&["1.1.1.1".into(), "1.1.1.1:53".into()]).unwrap_err();
        assert!(e.message().contains("twice"), "{e}");
        let many: Vec<String> = (1..=9).map(|i| format!("10.0.0.{i}")).collect();
        assert!(validate(&many).is_err());
        assert!(validate(&[]).unwrap().is_empty());
    }
}
