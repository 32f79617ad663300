//! The library's one public error type.
//!
//! Every fallible function in `quptime` returns [`Error`]. Callers branch on
//! [`Error::kind`] (stable, `#[non_exhaustive]`, with explicit numeric codes
//! that the C and Python layers map one to one) and show [`Error`]'s
//! `Display` text to people: it says what went wrong and, where there is
//! one, what to do about it. The kind decides; the text explains.

use std::fmt;
use std::io;
use std::path::Path;

/// What class of failure an [`Error`] is. The numeric values are part of the
/// C ABI and never change meaning; new kinds get new numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ErrorKind {
    /// The caller passed something malformed (a bad address, duration, YAML …).
    InvalidInput = 1,
    /// The named thing (file, check, node, alert) does not exist.
    NotFound = 2,
    /// The thing to create exists already (for example an identity).
    AlreadyExists = 3,
    /// An I/O operation failed.
    Io = 4,
    /// The filesystem refused access (owner or mode).
    PermissionDenied = 5,
    /// A file exists but cannot be understood (syntax, schema, missing field).
    Config = 6,
    /// A file or message comes from a newer, incompatible version.
    Incompatible = 7,
    /// TLS setup or handshake failed.
    Tls = 8,
    /// The remote peer is not in this node's trust store.
    NotTrusted = 9,
    /// A network connection failed or broke.
    Transport = 10,
    /// The peer broke the wire protocol (oversized frame, garbage, bad reply).
    Protocol = 11,
    /// An operation did not finish in time.
    Timeout = 12,
    /// The cluster has no quorum, so the operation cannot be committed.
    NoQuorum = 13,
    /// The node or component is shutting down or already stopped.
    Shutdown = 14,
    /// A bug: an invariant of the library did not hold.
    Internal = 15,
}

impl ErrorKind {
    /// A short stable name, used in JSON error replies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Io => "io",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Config => "config",
            ErrorKind::Incompatible => "incompatible",
            ErrorKind::Tls => "tls",
            ErrorKind::NotTrusted => "not_trusted",
            ErrorKind::Transport => "transport",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NoQuorum => "no_quorum",
            ErrorKind::Shutdown => "shutdown",
            ErrorKind::Internal => "internal",
        }
    }

    /// Every kind, in code order (the C and Python layers map each one).
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Io,
        ErrorKind::PermissionDenied,
        ErrorKind::Config,
        ErrorKind::Incompatible,
        ErrorKind::Tls,
        ErrorKind::NotTrusted,
        ErrorKind::Transport,
        ErrorKind::Protocol,
        ErrorKind::Timeout,
        ErrorKind::NoQuorum,
        ErrorKind::Shutdown,
        ErrorKind::Internal,
    ];

    /// Inverse of [`ErrorKind::as_str`]; unknown names map to `Internal` so
    /// that a newer peer's error still surfaces as an error.
    pub fn from_name(name: &str) -> ErrorKind {
        ErrorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or(ErrorKind::Internal)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every fallible `quptime` function.
///
/// Besides its kind and text, an error may name the input **field** it is
/// about (`interval`, `ttl` …) and carry a **hint** naming a `qu` command
/// that helps. Both are kept apart from the text so that each front end
/// words them its own way: `qu` prints `--interval: …` and the hint, C
/// prints `interval: …`, Python `interval=: …`; an embedded user is never
/// told to run a `qu` command unless its front end chooses to say so.
/// `Display` is `field: message` (or just the message), without the hint.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.display_text())]
pub struct Error {
    kind: ErrorKind,
    message: String,
    field: Option<String>,
    hint: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` whose text is `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            field: None,
            hint: None,
            source: None,
        }
    }

    /// An [`ErrorKind::InvalidInput`] error about the input field `field`
    /// (a [`CheckSpec`](crate::api::CheckSpec) field name such as
    /// `interval`, without any front end's decoration).
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::invalid(message).with_field(field)
    }

    /// Say which input field this error is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Error {
        self.field = Some(field.into());
        self
    }

    /// Attach a hint for `qu` users (a command to run, such as "list them
    /// with `qu check list`"); front ends other than `qu` may leave it out.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// The input field this error is about, if it is about one.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The `qu` hint, if any (see [`Error::with_hint`]).
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// `Display`: `field: message`, or the message alone.
    fn display_text(&self) -> String {
        match &self.field {
            Some(f) => format!("{f}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// Attach the underlying cause (kept for `source()` chains and logs).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        self.source = Some(source.into());
        self
    }

    /// What class of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human text, without the source chain, the field or the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an [`ErrorKind::Internal`] error.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// An I/O error on `path`, classified by the OS error and worded so that
    /// the operator knows what to check. `action` is a verb phrase such as
    /// "read" or "write".
    pub fn io_at(action: &str, path: &Path, err: io::Error) -> Error {
        let kind = match err.kind() {
            io::ErrorKind::NotFound => ErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            _ => ErrorKind::Io,
        };
        let mut message = format!("{action} {}: {err}", path.display());
        if kind == ErrorKind::PermissionDenied
            && let Some(hint) = owner_hint(path)
        {
            message.push_str("; ");
            message.push_str(&hint);
        }
        Error::new(kind, message).with_source(err)
    }
}

/// Say who owns `path` (or its nearest existing parent) and who we are, so a
/// permission error tells the operator exactly what to fix.
fn owner_hint(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mut probe = Some(path);
    while let Some(p) = probe {
        if let Ok(meta) = std::fs::metadata(p) {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            return Some(format!(
                "{} is owned by uid {} with mode {:o}, this process runs as uid {me}: \
                 run as the owner or fix ownership (chown) and modes",
                p.display(),
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
        probe = p.parent();
    }
    None
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        let kind = match err.kind() {
            io::ErrorKind::NotFound => ErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => ErrorKind::Transport,
            _ => ErrorKind::Io,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in [
            ErrorKind::InvalidInput,
            ErrorKind::NoQuorum,
            ErrorKind::NotTrusted,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::from_name(k.as_str()), k);
        }
        assert_eq!(ErrorKind::from_name("from_the_future"), ErrorKind::Internal);
    }

    #[test]
    fn io_errors_are_classified_and_name_the_path() {
        let e = Error::io_at(
            "read",
            Path::new("/nonexistent/quptime/node.yaml"),
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("/nonexistent/quptime/node.yaml"));
    }

    #[test]
    fn field_and_hint_are_kept_apart_from_the_text() {
        let e = Error::invalid_field("max_redirects", "use 0 to 20")
            .with_hint("see `qu check add --help`");
        assert_eq!(e.field(), Some("max_redirects"));
        assert_eq!(e.message(), "use 0 to 20");
        assert_eq!(e.to_string(), "max_redirects: use 0 to 20");
        assert_eq!(e.hint(), Some("see `qu check add --help`"));
        let plain = Error::invalid("bad");
        assert_eq!((plain.field(), plain.hint()), (None, None));
        assert_eq!(plain.to_string(), "bad");
    }
}
