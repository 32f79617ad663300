//! Result codes and the thread-local last-error message.
//!
//! Every fallible export returns a [`qu_result`]. Codes 1–15 are the
//! library's `ErrorKind` values one to one (so C, Python and Rust agree on
//! what a number means); codes from 100 up are failures only the C layer can
//! have (a NULL pointer, invalid UTF-8, a freed handle, a caught panic). The
//! human text of the most recent failure on the calling thread is kept for
//! `qu_last_error()`.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

use quptime::{Error, ErrorKind};

/// The outcome of a call. The numeric values are part of the ABI and never
/// change meaning; new codes get new numbers.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qu_result {
    /// Success: the out-parameters were written.
    QU_OK = 0,
    /// The caller passed something malformed (a bad address, duration, YAML …).
    QU_ERR_INVALID_INPUT = 1,
    /// The named thing (file, check, node, alert channel) does not exist.
    QU_ERR_NOT_FOUND = 2,
    /// The thing to create exists already (an identity, a check name …).
    QU_ERR_ALREADY_EXISTS = 3,
    /// An I/O operation failed.
    QU_ERR_IO = 4,
    /// The filesystem refused access (owner or mode).
    QU_ERR_PERMISSION_DENIED = 5,
    /// A file exists but cannot be understood.
    QU_ERR_CONFIG = 6,
    /// A file or message comes from a newer, incompatible version.
    QU_ERR_INCOMPATIBLE = 7,
    /// TLS setup or handshake failed.
    QU_ERR_TLS = 8,
    /// The remote peer is not in this node's trust store.
    QU_ERR_NOT_TRUSTED = 9,
    /// A network connection failed or broke.
    QU_ERR_TRANSPORT = 10,
    /// The peer broke the wire protocol.
    QU_ERR_PROTOCOL = 11,
    /// Nothing arrived or finished within the time allowed (also the
    /// ordinary answer of `qu_subscription_next` when no transition came).
    QU_TIMEOUT = 12,
    /// The cluster has no quorum, so the change cannot be committed.
    QU_ERR_NO_QUORUM = 13,
    /// The node has been shut down, or the subscription has ended: no more
    /// transitions will come.
    QU_CLOSED = 14,
    /// A bug: an invariant of the library did not hold.
    QU_ERR_INTERNAL = 15,
    /// A required pointer argument was NULL.
    QU_ERR_NULL_POINTER = 100,
    /// A string argument is not valid UTF-8.
    QU_ERR_INVALID_UTF8 = 101,
    /// The handle is not a live handle of the expected type: already freed,
    /// never returned by this library, or of another type.
    QU_ERR_INVALID_HANDLE = 102,
    /// The library panicked; the call did not complete (please report it).
    QU_ERR_PANIC = 103,
}

use qu_result::*;

impl qu_result {
    /// The code for a library error kind (unknown future kinds: internal).
    pub(crate) fn from_kind(kind: ErrorKind) -> qu_result {
        match kind {
            ErrorKind::InvalidInput => QU_ERR_INVALID_INPUT,
            ErrorKind::NotFound => QU_ERR_NOT_FOUND,
            ErrorKind::AlreadyExists => QU_ERR_ALREADY_EXISTS,
            ErrorKind::Io => QU_ERR_IO,
            ErrorKind::PermissionDenied => QU_ERR_PERMISSION_DENIED,
            ErrorKind::Config => QU_ERR_CONFIG,
            ErrorKind::Incompatible => QU_ERR_INCOMPATIBLE,
            ErrorKind::Tls => QU_ERR_TLS,
            ErrorKind::NotTrusted => QU_ERR_NOT_TRUSTED,
            ErrorKind::Transport => QU_ERR_TRANSPORT,
            ErrorKind::Protocol => QU_ERR_PROTOCOL,
            ErrorKind::Timeout => QU_TIMEOUT,
            ErrorKind::NoQuorum => QU_ERR_NO_QUORUM,
            ErrorKind::Shutdown => QU_CLOSED,
            _ => QU_ERR_INTERNAL,
        }
    }

    /// A static NUL-terminated description of `code`.
    fn describe(code: u32) -> &'static str {
        match code {
            0 => "ok\0",
            1 => "invalid input\0",
            2 => "not found\0",
            3 => "already exists\0",
            4 => "I/O error\0",
            5 => "permission denied\0",
            6 => "configuration error\0",
            7 => "incompatible version\0",
            8 => "TLS error\0",
            9 => "peer not trusted\0",
            10 => "transport error\0",
            11 => "protocol error\0",
            12 => "timed out\0",
            13 => "no quorum\0",
            14 => "closed (shut down)\0",
            15 => "internal error\0",
            100 => "NULL pointer argument\0",
            101 => "invalid UTF-8 in a string argument\0",
            102 => "invalid handle (freed, foreign or of another type)\0",
            103 => "panic inside the library\0",
            _ => "unknown result code\0",
        }
    }
}

/// A failed call: the code returned, the text kept for `qu_last_error`
/// and the input field it is about, for `qu_last_error_field`.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) code: qu_result,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
}

impl Fail {
    pub(crate) fn new(code: qu_result, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub(crate) fn null(what: &str) -> Fail {
        Fail::new(
            QU_ERR_NULL_POINTER,
            format!("{what} is NULL; pass a valid pointer"),
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(QU_ERR_INVALID_INPUT, message)
    }
}

/// The C name of the library's input field `field`: the `qu_node_options`
/// member or builder setter that sets it, else the field itself.
fn c_field(field: &str) -> &str {
    match field {
        "heartbeat" => "heartbeat_ms",
        "election_min" | "election_max" => "election_timeout_ms",
        "bind_addr" => "bind",
        "bind_port" => "port",
        f => f,
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        // C wording: `interval: …`; the `qu` hint is left out (it names
        // commands of a tool an embedding program may not have).
        let field = e.field().map(|f| c_field(f).to_string());
        let message = match &field {
            Some(f) => format!("{f}: {}", e.message()),
            None => e.message().to_string(),
        };
        Fail {
            code: qu_result::from_kind(e.kind()),
            message,
            field,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    static LAST_FIELD: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Remember `message` (and the field it names, if any) as this thread's
/// last error.
pub(crate) fn set_last_error(message: &str, field: Option<&str>) {
    let c = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c(message)));
    LAST_FIELD.with(|e| *e.borrow_mut() = field.map(c));
}

/// The input field the most recent failed call on the calling thread was
/// about (such as "interval" for a bad check interval, "ttl", or a
/// `qu_node_options` member such as "election_timeout_ms"), or NULL when
/// that failure was not about one field (or no call has failed yet).
///
/// Ownership: borrowed; valid until the next failing call on the same
/// thread. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn qu_last_error_field() -> *const c_char {
    LAST_FIELD.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |s| s.as_ptr()))
}

/// A static, NUL-terminated English description of a result code (never
/// NULL; unknown codes get "unknown result code"). Never free it.
///
/// Thread-safe; may be called at any time.
#[unsafe(no_mangle)]
pub extern "C" fn qu_result_describe(code: u32) -> *const c_char {
    qu_result::describe(code).as_ptr().cast()
}

/// The message of the most recent failed call made on the calling thread
/// (what went wrong and, where there is one, what to do), or NULL when no
/// call on this thread has failed yet. Successful calls leave it as it was.
///
/// Ownership: borrowed from the library; valid until the next failing call
/// on the same thread. Never free it; copy it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn qu_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |s| s.as_ptr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_keeps_its_number() {
        for kind in ErrorKind::ALL {
            assert_eq!(qu_result::from_kind(kind) as u32, kind as u32, "{kind}");
        }
    }

    #[test]
    fn a_field_error_is_worded_for_c() {
        let f = Fail::from(Error::invalid_field("election_min", "too short").with_hint("qu x"));
        assert_eq!(f.code, QU_ERR_INVALID_INPUT);
        assert_eq!(f.message, "election_timeout_ms: too short");
        assert_eq!(f.field.as_deref(), Some("election_timeout_ms"));
        let f = Fail::from(Error::invalid_field("interval", "bad"));
        assert_eq!(f.message, "interval: bad");
    }

    #[test]
    fn descriptions_are_nul_terminated_and_total() {
        for code in [0, 1, 12, 14, 15, 100, 103, 7777] {
            // SAFETY: qu_result_describe returns a static NUL-terminated string.
            let s = unsafe { std::ffi::CStr::from_ptr(qu_result_describe(code)) };
            assert!(!s.to_bytes().is_empty());
        }
    }
}
