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

/// `err`, said to be about the keyword `field` (shown as `field=: …`).
pub(crate) fn keyword(field: &str, err: Error) -> Error {
    err.with_field(field)
}

/// An `InvalidInput` error about the keyword `field`.
pub(crate) fn bad(field: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid_field(field, message.to_string())
}

/// The Python keyword for a field the library names: the same name, except
/// where the Python API spells it differently (`bind=` sets `bind_addr`).
pub(crate) fn python_keyword(field: &str) -> &str {
    match field {
        "bind_addr" => "bind",
        "bind_port" => "port",
        "kind" => "type",
        other => other,
    }
}

/// The text a Python user sees: `keyword=: message`, with no `qu` hint.
pub(crate) fn python_text(err: &Error) -> String {
    match err.field() {
        Some(f) => format!("{}=: {}", python_keyword(f), err.message()),
        None => err.message().to_string(),
    }
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

/// The `Timing` dataclass, field by field, validated by the library's
/// rule (election timeout at least twice the heartbeat, …).
pub(crate) fn timing_of(t: TimingSecs) -> quptime::Result<Timing> {
    let timing = Timing {
        heartbeat: secs("heartbeat", t.0)?,
        election_min: secs("election_min", t.1)?,
        election_max: secs("election_max", t.2)?,
        master_cooldown: secs("master_cooldown", t.3)?,
        propose_timeout: secs("propose_timeout", t.4)?,
        ..Timing::default()
    };
    timing.validate()?;
    Ok(timing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: quptime::Result<impl std::fmt::Debug>) -> String {
        python_text(&e.expect_err("an error"))
    }

    #[test]
    fn errors_name_the_python_keyword() {
        let t = text(text_duration("interval", "soon"));
        assert!(
            t.starts_with("interval=: \"soon\" is not a duration"),
            "{t}"
        );
        assert!(!t.contains("--"), "{t}");
        assert!(text(port_of(Some(70000))).starts_with("port=: 70000"));
        assert_eq!(port_of(Some(0)).expect("0 is a port"), Some(0));
        assert!(text(ip_of("localhost")).starts_with("bind=: "));
        assert!(text(timing_of((0.1, 0.0, 1.0, 1.0, 1.0))).starts_with("election_min=: "));
        let lib = Error::invalid_field("bind_addr", "not an IP address").with_hint("`qu init`");
        assert_eq!(python_text(&lib), "bind=: not an IP address", "no qu hint");
    }

    #[test]
    fn timing_is_validated_by_the_library_rule() {
        let t = text(timing_of((0.4, 0.5, 1.0, 1.0, 1.0)));
        assert!(
            t.starts_with("election_min=: ") && t.contains("twice the heartbeat"),
            "{t}"
        );
        let t = text(timing_of((0.1, 0.5, 0.4, 1.0, 1.0)));
        assert!(t.starts_with("election_max=: "), "{t}");
        assert!(timing_of((0.1, 0.5, 1.0, 600.0, 2.0)).is_ok());
    }

    #[test]
    fn durations_follow_the_cli_rule() {
        let d = |t| text_duration("t", t).expect("a duration");
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("250ms"), Duration::from_millis(250));
        assert!(text_duration("t", "-1s").is_err());
    }

    #[test]
    fn a_free_port_is_not_zero() {
        assert_ne!(free_port(Some("127.0.0.1")).expect("a free port"), 0);
    }
}
