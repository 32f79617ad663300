//! How field values are checked and reported.
//!
//! Every text or list an operator (or a peer) can put into the replicated
//! state has a bound, so one record can never make a proposal, a snapshot,
//! a log line or an alert unreasonably large. The bounds themselves are
//! named constants next to the fields they bound (`model.rs`, `notify/`);
//! this module holds the checks they share: lengths and counts (run before
//! a value is parsed), duration ranges, URLs and host names, and
//! [`excerpt`], which keeps an error message short however long the
//! offending value is.

use crate::addr::check_host_port;
use crate::error::{Error, Result};

/// Longest host name (DNS allows 253 characters).
pub const MAX_HOST: usize = 253;

/// Characters of an offending value quoted in an error message.
pub const EXCERPT: usize = 80;

/// `value` quoted for an error message, cut to [`EXCERPT`] characters.
pub fn excerpt(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(EXCERPT).collect();
    if chars.next().is_some() {
        format!("{head:?}… ({} bytes)", value.len())
    } else {
        format!("{head:?}")
    }
}

/// `text` cut to at most `max` bytes (on a character boundary, with `…`
/// when cut): for texts the node itself puts into proposals (probe
/// details, delivery errors), which must not be refused for their size.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Refuse `value` when it is longer than `max` bytes, naming `what`.
pub fn text(what: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::invalid(format!(
            "{what} is {} bytes, over the limit of {max}: shorten it",
            value.len()
        )));
    }
    Ok(())
}

/// Refuse a list of more than `max` entries, naming `what`.
pub fn count(what: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::invalid(format!(
            "{len} {what} given; at most {max} are allowed"
        )));
    }
    Ok(())
}

pub(crate) fn validate_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let host = rest
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let host_only = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if rest.is_none()
        || host_only.is_empty()
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(format!(
            "http target {} is not a URL: use http://host[:port]/path or https://…",
            excerpt(url)
        )));
    }
    if let Some((_, port)) = host_only.rsplit_once(':')
        && !host_only.ends_with(']')
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(Error::invalid(format!(
            "http target {} has a bad port {}: use 1 to 65535",
            excerpt(url),
            excerpt(port)
        )));
    }
    Ok(())
}

pub(crate) fn validate_host(host: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if host.is_empty() || host.len() > MAX_HOST || !host.chars().all(ok) {
        return Err(Error::invalid(format!(
            "target {} is not a host name or IP address (at most {MAX_HOST} characters)",
            excerpt(host)
        )));
    }
    Ok(())
}

pub(crate) fn validate_host_opt_port(target: &str) -> Result<()> {
    if check_host_port(target).is_ok() {
        return Ok(());
    }
    validate_host(target).map_err(|_| {
        Error::invalid(format!(
            "tls target {}: use host or host:port (default port 443)",
            excerpt(target)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_in_messages() {
        assert_eq!(excerpt("db"), "\"db\"");
        let long = "x".repeat(120_000);
        let shown = excerpt(&long);
        assert!(shown.len() < 120, "{shown}");
        assert!(shown.ends_with("(120000 bytes)"), "{shown}");
        let e = text("tcp target", &long, 253).expect_err("too long");
        assert!(
            e.message().contains("120000 bytes, over the limit of 253"),
            "{e}"
        );
        assert!(text("name", "ok", 2).is_ok());
        assert!(count("alert channels", 33, 32).is_err());
        assert_eq!(cut("short", 10), "short");
        let c = cut(&"é".repeat(1000), 101);
        assert!(c.len() <= 101 && c.ends_with('…'), "{c}");
    }
}
