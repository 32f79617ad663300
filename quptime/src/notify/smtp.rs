//! The SMTP notifier: one plain-text mail per alert to all recipients at
//! once, through lettre's tokio transport with rustls.
//!
//! Settings: `host`, `port`, `from` and `to` (comma-separated) are
//! required; `tls` is `starttls` (the default: upgrade, and refuse a server
//! that cannot), `tls` (implicit TLS, usually port 465) or `none` (local
//! relays only); `user` and `password` together turn on AUTH (PLAIN or
//! LOGIN, whichever the server offers); AUTH over `tls = none` sends the
//! password in clear, so it is refused (when the channel is added and
//! again before every send) unless `allow_plain_auth` is `true`;
//! `hello` overrides the name sent in
//! EHLO (default: this host's name); `timeout` (default 30s) bounds
//! the connection and the whole conversation. lettre's async transport
//! times out only the connect, so the conversation is bounded here.
//!
//! Every mail has `Date`, `Message-ID` and `Auto-Submitted: auto-generated`
//! headers (the last keeps auto-responders from answering); lettre encodes
//! a non-ASCII subject (RFC 2047) and body.

use std::error::Error as StdError;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message as Email};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::error::{ErrorKind, Result};

use super::Notifier;
use super::failure::{Retry, fail, permanent};
use super::http::{causes, io_reason, tls_failure};
use super::message::Message;
use super::notification::{Notification, words};
use super::settings::{ALLOW_PLAIN_AUTH, Secret, Settings};
use super::tls::{NotifyTls, describe_chain};

/// Settings of an SMTP channel (besides the common ones).
const KEYS: [&str; 9] = [
    "host",
    "port",
    "from",
    "to",
    "user",
    "password",
    "tls",
    "hello",
    ALLOW_PLAIN_AUTH,
];

/// Why AUTH over a plain connection is refused, and what to do.
pub const PLAIN_AUTH_REFUSED: &str = "SMTP AUTH over a plain connection sends the password in clear; \
     use --starttls or --tls, or --allow-plain-auth (setting allow_plain_auth = true)";

const USER_AGENT: &str = concat!("quptime/", env!("CARGO_PKG_VERSION"));

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    StartTls,
    Implicit,
    None,
}

/// A parsed SMTP channel.
#[derive(Debug)]
pub(crate) struct SmtpConfig {
    host: String,
    port: u16,
    from: Mailbox,
    to: Vec<Mailbox>,
    credentials: Option<(String, Secret)>,
    security: Security,
    hello: Option<String>,
    allow_plain_auth: bool,
    timeout: Duration,
}

impl SmtpConfig {
    /// Refuse AUTH over a plain connection unless the channel allows it.
    pub(crate) fn refuse_plain_auth(&self) -> Result<()> {
        if self.credentials.is_some() && self.security == Security::None && !self.allow_plain_auth {
            return Err(crate::Error::invalid(format!("smtp: {PLAIN_AUTH_REFUSED}")));
        }
        Ok(())
    }
}

/// Sends mail; holds the node's TLS material.
#[derive(Debug)]
pub(crate) struct SmtpNotifier {
    tls: std::sync::Arc<NotifyTls>,
}

impl SmtpNotifier {
    pub(crate) fn new(tls: std::sync::Arc<NotifyTls>) -> SmtpNotifier {
        SmtpNotifier { tls }
    }
}

impl Notifier for SmtpNotifier {
    const KIND: &'static str = "smtp";
    const KEYS: &'static [&'static str] = &KEYS;
    type Config = SmtpConfig;

    fn config(s: Settings<'_>) -> Result<SmtpConfig> {
        let host = s.required("host", "the mail server's name or address")?;
        if host.contains(char::is_whitespace) || host.contains('/') {
            return Err(s.error("host", format!("{host:?} is not a host name or address")));
        }
        let port = s.required("port", "a port number such as 587 (465 for tls = tls)")?;
        let port =
            port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                s.error("port", format!("{port:?} is not a port: use 1 to 65535"))
            })?;
        let from = s.required("from", "an address such as alerts@example.com")?;
        let from = mailbox(&s, "from", from)?;
        let to_text = s.required("to", "addresses separated by commas")?;
        let mut to = Vec::new();
        for addr in to_text.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            to.push(mailbox(&s, "to", addr)?);
        }
        if to.is_empty() {
            return Err(s.error("to", "no address given: use addresses separated by commas"));
        }
        // The password is taken as it is: spaces may be part of it.
        let password = s.raw("password").filter(|p| !p.is_empty());
        let credentials = match (s.get("user"), password) {
            (Some(u), Some(p)) => Some((u.to_string(), Secret(p.to_string()))),
            (None, None) => None,
            _ => {
                return Err(s.error(
                    "user",
                    "user and password go together: set both for AUTH, or neither",
                ));
            }
        };
        let security = match s
            .get("tls")
            .unwrap_or("starttls")
            .to_ascii_lowercase()
            .as_str()
        {
            "starttls" => Security::StartTls,
            "tls" => Security::Implicit,
            "none" => Security::None,
            other => {
                return Err(s.error("tls", format!("{other:?}: use starttls, tls or none")));
            }
        };
        let allow_plain_auth = match s.get(ALLOW_PLAIN_AUTH).map(str::to_ascii_lowercase) {
            None => false,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => {
                return Err(s.error(ALLOW_PLAIN_AUTH, format!("{v:?}: use true or false")));
            }
        };
        Ok(SmtpConfig {
            host: host.to_string(),
            port,
            from,
            to,
            credentials,
            security,
            hello: s.get("hello").map(str::to_string),
            allow_plain_auth,
            timeout: s.timeout()?,
        })
    }

    async fn send(&self, c: &SmtpConfig, _n: &Notification, m: &Message) -> Result<String> {
        // Defence in depth: a channel stored by an older release, or
        // edited around the check at add time, still never sends the
        // password in clear.
        c.refuse_plain_auth()
            .map_err(|e| permanent(e.kind(), e.message().to_string()))?;
        let mut email = Email::builder()
            .from(c.from.clone())
            .subject(m.subject.clone())
            .date_now()
            .message_id(None)
            .user_agent(USER_AGENT.to_string())
            .header(AutoSubmitted)
            .header(ContentType::TEXT_PLAIN);
        for to in &c.to {
            email = email.to(to.clone());
        }
        let email = email.body(m.body.clone()).map_err(|e| {
            permanent(
                ErrorKind::InvalidInput,
                format!("smtp: build the mail: {e}"),
            )
        })?;
        let tls = match c.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(self.tls.smtp(&c.host).map_err(config_error)?),
            Security::Implicit => Tls::Wrapper(self.tls.smtp(&c.host).map_err(config_error)?),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
            .port(c.port)
            .tls(tls)
            .timeout(Some(c.timeout));
        if let Some(name) = &c.hello {
            transport = transport.hello_name(ClientId::Domain(name.clone()));
        }
        if let Some((user, password)) = &c.credentials {
            transport = transport
                .credentials(Credentials::new(user.clone(), password.0.clone()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        let transport = transport.build();
        let answer = match tokio::time::timeout(c.timeout, transport.send(email)).await {
            Err(_) => {
                return Err(fail(
                    ErrorKind::Timeout,
                    Retry::Later,
                    format!("smtp: timeout after {}", words(c.timeout)),
                    None,
                ));
            }
            Ok(Err(e)) => return Err(smtp_error(c, e)),
            Ok(Ok(answer)) => answer,
        };
        let text: Vec<&str> = answer.message().collect();
        Ok(format!("{} {}", answer.code(), text.join(" "))
            .trim()
            .to_string())
    }
}

fn mailbox(s: &Settings<'_>, key: &str, text: &str) -> Result<Mailbox> {
    Mailbox::from_str(text).map_err(|e| {
        s.error(
            key,
            format!(
                "{text:?} is not an email address ({e}): use user@example.com \
                 or \"Name <user@example.com>\""
            ),
        )
    })
}

/// A TLS setup problem (no roots, bad extra root) is permanent.
fn config_error(e: crate::Error) -> crate::Error {
    permanent(e.kind(), e.message().to_string())
}

/// lettre's error as `smtp: 535 5.7.8 Authentication credentials invalid`,
/// `smtp: connect to mail.test:25: connection refused`, classified.
fn smtp_error(c: &SmtpConfig, e: lettre::transport::smtp::Error) -> crate::Error {
    if let Some(code) = e.status() {
        let said = e.source().map(|s| s.to_string()).unwrap_or_default();
        let retry = if e.is_permanent() {
            Retry::Never
        } else {
            Retry::Later
        };
        let message = format!("smtp: {code} {said}").trim().to_string();
        return fail(ErrorKind::Transport, retry, message, None);
    }
    if e.is_timeout() {
        let message = format!("smtp: timeout after {}", words(c.timeout));
        return fail(ErrorKind::Timeout, Retry::Later, message, Some(Box::new(e)));
    }
    let chain = causes(&e as &(dyn StdError + 'static));
    if let Some((reason, retry)) = tls_failure(&chain) {
        let message = format!("smtp: {reason}");
        return fail(ErrorKind::Tls, retry, message, Some(Box::new(e)));
    }
    let detail = describe_chain(&e);
    if e.is_tls() {
        let message = format!("smtp: tls: {detail}");
        return fail(ErrorKind::Tls, Retry::Later, message, Some(Box::new(e)));
    }
    if e.is_client() {
        // lettre refuses locally: STARTTLS or AUTH not offered, bad address.
        let said = e.source().map_or(detail, |s| s.to_string());
        let hint = if said.contains("STARTTLS") {
            ": the server cannot encrypt; use tls = tls if it speaks implicit TLS \
             (usually port 465), tls = none only for a trusted local relay"
        } else if said.contains("authentication mechanism") {
            ": the server offers neither AUTH PLAIN nor AUTH LOGIN here"
        } else {
            ""
        };
        let message = format!("smtp: {said}{hint}");
        return fail(
            ErrorKind::InvalidInput,
            Retry::Never,
            message,
            Some(Box::new(e)),
        );
    }
    let io = chain
        .iter()
        .rev()
        .find_map(|x| x.downcast_ref::<io::Error>());
    // lettre says "Connection error" when it could not connect at all and
    // "network error" when the connection broke during the conversation.
    let stage = if detail.starts_with("Connection") {
        "connect to"
    } else {
        "talking to"
    };
    let message = match io {
        Some(io) => format!("smtp: {stage} {}:{}: {}", c.host, c.port, io_reason(io)),
        None => format!("smtp: {detail}"),
    };
    fail(
        ErrorKind::Transport,
        Retry::Later,
        message,
        Some(Box::new(e)),
    )
}

/// `Auto-Submitted: auto-generated` (RFC 3834).
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_s: &str) -> std::result::Result<Self, Box<dyn StdError + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}
