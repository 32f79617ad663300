//! Whether a failed delivery is worth trying again.
//!
//! A dispatcher must tell a receiver that is busy or unreachable for now
//! (network errors, timeouts, HTTP 429 and 5xx, SMTP 4xx) from one that
//! will refuse the same message forever (other HTTP 4xx, SMTP 5xx, a
//! channel configuration that cannot work). Notifiers attach a private
//! [`Failure`] marker as the source of the [`Error`] they return; the
//! public [`is_retryable`] and [`retry_after`] read it back, so the one
//! public error type stays the only one.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// Retry-After values above this are capped: a receiver's hint must not
/// park an alert for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What retrying a failed delivery can achieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Nothing: the same request will fail the same way.
    Never,
    /// Probably success, after a back-off of the caller's choosing.
    Later,
    /// Probably success, not before this long (the receiver said so).
    After(Duration),
}

/// The marker a notifier puts in the error's source chain.
#[derive(Debug)]
pub(crate) struct Failure {
    retry: Retry,
    cause: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.retry {
            Retry::Never => f.write_str("permanent failure: retrying will not help"),
            Retry::Later => f.write_str("temporary failure: worth retrying"),
            Retry::After(d) => write!(
                f,
                "temporary failure: retry after {}",
                super::notification::words(d)
            ),
        }
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A failed delivery: `message` for people, `kind` for programs, `retry`
/// for the dispatcher, `cause` for logs (it must not contain secrets).
pub(crate) fn fail(
    kind: ErrorKind,
    retry: Retry,
    message: impl Into<String>,
    cause: Option<Box<dyn StdError + Send + Sync + 'static>>,
) -> Error {
    Error::new(kind, message).with_source(Failure { retry, cause })
}

/// A failure that retrying cannot fix.
pub(crate) fn permanent(kind: ErrorKind, message: impl Into<String>) -> Error {
    fail(kind, Retry::Never, message, None)
}

/// Mark a configuration error (from validation) as permanent, keeping its
/// kind and text.
pub(crate) fn invalid_config(err: Error) -> Error {
    let kind = err.kind();
    let message = err.message().to_string();
    fail(kind, Retry::Never, message, Some(Box::new(err)))
}

fn marker(err: &Error) -> Option<&Failure> {
    let mut next: Option<&(dyn StdError + 'static)> = err.source();
    let mut depth = 0;
    while let Some(e) = next {
        if let Some(f) = e.downcast_ref::<Failure>() {
            return Some(f);
        }
        depth += 1;
        if depth > 16 {
            break;
        }
        next = e.source();
    }
    None
}

/// Whether sending the same alert again later may succeed: true for
/// network failures, timeouts, HTTP 429 and 5xx and SMTP 4xx replies;
/// false for other HTTP 4xx, SMTP 5xx and invalid channel settings. An
/// error that did not come from a notifier is judged by its kind
/// (transport, timeout and I/O errors are retryable).
pub fn is_retryable(err: &Error) -> bool {
    match marker(err) {
        Some(f) => f.retry != Retry::Never,
        None => matches!(
            err.kind(),
            ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Io
        ),
    }
}

/// How long the receiver asked us to wait before retrying (HTTP 429 with a
/// `Retry-After` header or Discord's `retry_after`), at most
/// [`MAX_RETRY_AFTER`].
pub fn retry_after(err: &Error) -> Option<Duration> {
    match marker(err)?.retry {
        Retry::After(d) => Some(d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_decides_and_the_kind_is_the_fallback() {
        let p = permanent(ErrorKind::Transport, "webhook: 404 Not Found");
        assert!(!is_retryable(&p));
        assert_eq!(p.to_string(), "webhook: 404 Not Found");
        let t = fail(
            ErrorKind::Transport,
            Retry::Later,
            "webhook: 500 Internal Server Error",
            None,
        );
        assert!(is_retryable(&t));
        assert_eq!(retry_after(&t), None);
        let a = fail(
            ErrorKind::Transport,
            Retry::After(Duration::from_secs(2)),
            "discord: 429 rate limited, retry after 2s",
            None,
        );
        assert!(is_retryable(&a));
        assert_eq!(retry_after(&a), Some(Duration::from_secs(2)));
        assert!(is_retryable(&Error::new(ErrorKind::Timeout, "slow")));
        assert!(!is_retryable(&Error::invalid("bad")));
        let c = invalid_config(Error::invalid("smtp setting host: missing"));
        assert_eq!(c.kind(), ErrorKind::InvalidInput);
        assert!(!is_retryable(&c));
    }
}
