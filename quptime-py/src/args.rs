//! Python arguments turned into the library's values, with errors that name
//! the Python keyword (`interval=: …`, `port=: …`), never a `qu` flag.
//!
//! Kept apart from the methods so that every conversion has one spelling
//! and one message, and so that the rules (what `port=0` means, which
//! duration text is accepted) are visible in one short file.

use std::net::{IpAddr, TcpListener};
use std::time::Duration;

use quptime::{Error, Timing};

/// Raft timings in seconds: heartbeat, election min, election max, master
/// cooldown, propose timeout.
pub(crate) type TimingSecs = (f64, f64, f64, f64, f64);

/// `err` with its message prefixed by the Python keyword it is about.
pub(crate) fn keyword(field: &str, err: Error) -> Error {
    Error::new(err.kind(), format!("{field}=: {}", err.message()))
}

/// An `InvalidInput` error about the keyword `field`.
pub(crate) fn bad(field: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{field}=: {message}"))
}

/// A port keyword: `None` keeps the saved one; 0 (when allowed) asks for a
/// free one.
pub(crate) fn port_of(port: Option<i64>) -> quptime::Result<Option<u16>> {
    let Some(p) = port else { return Ok(None) };
    u16::try_from(p).map(Some).map_err(|_| {
        bad(
            "port",
            format_args!("{p} is out of range; give a port in 0..65535 (0 picks a free one)"),
        )
    })
}

/// A port the OS reports free on `host` now (for `port=0` where the port
/// must be known before the node binds it: written to `node.yaml`).
pub(crate) fn free_port(host: Option<&str>) -> quptime::Result<u16> {
    let ip = ip_of(host.unwrap_or("0.0.0.0"))?;
    let probe = TcpListener::bind((ip, 0))
        .map_err(|e| bad("port", format_args!("cannot find a free port on {ip}: {e}")))?;
    Ok(probe.local_addr()?.port())
}

/// The `bind=` address.
pub(crate) fn ip_of(host: &str) -> quptime::Result<IpAddr> {
    host.parse().map_err(|_| {
        bad(
            "bind",
            format_args!(
                "{host:?} is not an IP address; give the address to listen on, such as \
                 127.0.0.1 or 0.0.0.0"
            ),
        )
    })
}

/// Go-style duration text (`30s`, `1m30s`, `250ms`) by the library's rule,
/// the one the CLI and files use.
pub(crate) fn text_duration(field: &str, text: &str) -> quptime::Result<Duration> {
    quptime::state::duration::parse(text).map_err(|e| keyword(field, e))
}

fn secs(field: &str, v: f64) -> quptime::Result<Duration> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            bad(
                field,
                format_args!("{v} is not a positive number of seconds"),
            )
        })
}

/// The `Timing` dataclass, field by field.
pub(crate) fn timing_of(t: TimingSecs) -> quptime::Result<Timing> {
    Ok(Timing {
        heartbeat: secs("heartbeat", t.0)?,
        election_min: secs("election_min", t.1)?,
        election_max: secs("election_max", t.2)?,
        master_cooldown: secs("master_cooldown", t.3)?,
        propose_timeout: secs("propose_timeout", t.4)?,
        ..Timing::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_python_keyword() {
        let e = text_duration("interval", "soon").unwrap_err();
        assert!(e.message().starts_with("interval=: "), "{}", e.message());
        assert!(!e.message().contains("--"), "{}", e.message());
        let e = port_of(Some(70000)).unwrap_err();
        assert!(e.message().starts_with("port=: 70000"), "{}", e.message());
        assert_eq!(port_of(Some(0)).unwrap(), Some(0));
        let e = ip_of("localhost").unwrap_err();
        assert!(e.message().starts_with("bind=: "), "{}", e.message());
        let e = timing_of((0.1, 0.0, 1.0, 1.0, 1.0)).unwrap_err();
        assert!(
            e.message().starts_with("election_min=: "),
            "{}",
            e.message()
        );
    }

    #[test]
    fn durations_follow_the_cli_rule() {
        assert_eq!(
            text_duration("t", "1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            text_duration("t", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert!(text_duration("t", "-1s").is_err());
    }

    #[test]
    fn a_free_port_is_not_zero() {
        assert_ne!(free_port(Some("127.0.0.1")).unwrap(), 0);
    }
}
