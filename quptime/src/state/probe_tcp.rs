//! The settings of tcp checks: an optional text to send and an optional
//! reply to wait for (banner checks: SMTP `220`, SSH `SSH-`, Redis
//! `PING\r\n` / `+PONG`), and the escapes they are written with.
//!
//! Both texts are stored as written, escapes and all (`PING\r\n`), so a
//! listing or an export shows them as the operator typed them; the prober
//! decodes them with [`unescape`] (`\r`, `\n`, `\t`, `\\`), which
//! [`TcpProbe::validate`] runs first so a bad escape is refused when the
//! check is added, naming the field. A check that uses either needs state
//! level 5: an older node would drop the keys and only connect.
//!
//! `tls` makes the conversation run inside TLS (SMTPS on 465, IMAPS, a
//! Redis behind stunnel): the chain is verified against the node's trust
//! roots, as tls checks do, with the target's host as the server name. It
//! needs state level 6, so an older node never probes such a check in the
//! clear and calls a refused handshake "up".

use serde::{Deserialize, Serialize};

use crate::addr::check_host_port;
use crate::error::{Error, Result};
use crate::state::fields::{self as limits, excerpt};

/// Longest `send` and `expect_reply` text.
pub const MAX_SEND: usize = 1024;
/// Most bytes of the reply a tcp check reads before judging it.
pub const MAX_REPLY: usize = 4096;

/// A TCP connect: up when the connection is accepted and, when asked,
/// the reply (after `send`, if set) contains `expect_reply`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpProbe {
    /// Text sent once connected, with `\r \n \t \\` escapes. (State level 5,
    /// as the field below.)
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::probe::opt_text"
    )]
    pub send: Option<String>,
    /// Text the reply must contain (the first 4 KiB read within the
    /// timeout), with the same escapes; alone it checks the banner.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::probe::opt_text"
    )]
    pub expect_reply: Option<String>,
    /// Talk TLS once connected (state level 6).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
}

impl TcpProbe {
    /// The target is `host:port`; `send` and `expect_reply` within their
    /// bound, with valid escapes, `expect_reply` not empty.
    pub fn validate(&self, target: &str) -> Result<()> {
        for (what, v) in [("send", &self.send), ("expect_reply", &self.expect_reply)] {
            if let Some(v) = v {
                limits::text(what, v, MAX_SEND)?;
                unescape(what, v)?;
            }
        }
        if self.expect_reply.as_deref() == Some("") {
            return Err(Error::invalid(
                "expect_reply: empty; give the text the reply must contain (like +PONG)",
            ));
        }
        check_host_port(target).map_err(|e| Error::invalid(format!("tcp target: {}", e.message())))
    }

    /// The state level a node needs to probe this check as asked: 6 with
    /// `tls`, 5 when `send` or `expect_reply` is set, else 1.
    pub fn level(&self) -> u32 {
        if self.tls {
            6
        } else if self.send.is_some() || self.expect_reply.is_some() {
            5
        } else {
            1
        }
    }
}

/// The bytes `text` stands for: `\r`, `\n`, `\t` and `\\` decoded, other
/// characters as they are. Another escape is an error naming `what`.
pub fn unescape(what: &str, text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            other => {
                let seen = other.map_or("\\ at the end".to_string(), |c| format!("\\{c}"));
                return Err(Error::invalid(format!(
                    "{what} {}: unknown escape {seen}; use \\r, \\n, \\t or \\\\ (a backslash)",
                    excerpt(text)
                )));
            }
        }
    }
    Ok(out)
}

/// `bytes` as printable text for evidence: at most `max` bytes shown,
/// `\r \n \t \\` and `\xNN` for other non-printable bytes, `…` when cut.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let shown = &bytes[..bytes.len().min(max)];
    let mut out = String::with_capacity(shown.len() + 8);
    for chunk in shown.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_bad_ones_name_the_field() {
        assert_eq!(unescape("send", "PING\\r\\n").unwrap(), b"PING\r\n");
        assert_eq!(unescape("send", "a\\tb\\\\c").unwrap(), b"a\tb\\c");
        let e = unescape("send", "x\\q").unwrap_err().to_string();
        assert!(e.contains("send \"x\\\\q\": unknown escape \\q"), "{e}");
        let e = unescape("expect_reply", "x\\").unwrap_err().to_string();
        assert!(
            e.contains("expect_reply") && e.contains("at the end"),
            "{e}"
        );
    }

    #[test]
    fn evidence_text_is_escaped_and_cut() {
        assert_eq!(escape_bytes(b"-ERR x\r\n", 64), "-ERR x\\r\\n");
        assert_eq!(escape_bytes(&[0, 0xff, b'a'], 64), "\\x00\\xffa");
        assert_eq!(escape_bytes(b"abcdef", 3), "abc…");
    }

    #[test]
    fn validation_bounds_and_level() {
        let mut p = TcpProbe::default();
        assert_eq!(p.level(), 1);
        p.validate("h.test:6379").expect("plain tcp");
        p.send = Some("PING\\r\\n".into());
        assert_eq!(p.level(), 5);
        p.validate("h.test:6379").expect("valid");
        p.send = Some("x".repeat(MAX_SEND + 1));
        let e = p.validate("h.test:6379").unwrap_err().to_string();
        assert!(e.contains("send is 1025 bytes"), "{e}");
        p.send = None;
        p.expect_reply = Some(String::new());
        let e = p.validate("h.test:6379").unwrap_err().to_string();
        assert!(e.contains("expect_reply: empty"), "{e}");
        p.expect_reply = Some("+PONG".into());
        assert_eq!(p.level(), 5);
        assert!(p.validate("no-port").is_err());
    }
}
