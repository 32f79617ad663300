//! The panic boundary and argument checks every export goes through.
//!
//! A Rust panic must never unwind into C: each exported body runs inside
//! [`call`] (or [`call_ptr`] for accessors returning a pointer), which turns
//! a panic into `QU_ERR_PANIC` and any failure into its code plus the
//! thread's last-error text. Pointers from C are checked here: NULL and
//! invalid UTF-8 become error codes before anything else happens.

use std::any::Any;
use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::{Fail, qu_result, set_last_error};

/// Run an export body: `QU_OK`, or the failure's code with its message kept.
pub(crate) fn call(f: impl FnOnce() -> Result<(), Fail>) -> qu_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => qu_result::QU_OK,
        Ok(Err(fail)) => {
            set_last_error(&fail.message, fail.field.as_deref());
            fail.code
        }
        Err(payload) => {
            set_last_error(&panic_message(&*payload), None);
            qu_result::QU_ERR_PANIC
        }
    }
}

/// Run an accessor body returning a pointer: NULL (with the message kept)
/// on any failure or panic.
pub(crate) fn call_ptr<T>(f: impl FnOnce() -> Result<*const T, Fail>) -> *const T {
    let mut out = std::ptr::null();
    let code = call(|| {
        out = f()?;
        Ok(())
    });
    if code == qu_result::QU_OK {
        out
    } else {
        std::ptr::null()
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".into());
    format!("quptime panicked: {what}; the call did not complete (please report this bug)")
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for the returned lifetime.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(p) };
    bytes.to_str().map_err(|e| {
        Fail::new(
            qu_result::QU_ERR_INVALID_UTF8,
            format!(
                "{what} is not valid UTF-8 (byte {}); pass UTF-8 text",
                e.valid_up_to()
            ),
        )
    })
}

/// An optional string argument: NULL (or an empty string) means "not given".
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    p: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let s = unsafe { str_arg(p, what)? };
    Ok((!s.is_empty()).then_some(s))
}

/// Check a required out-parameter before any work is done.
pub(crate) fn out_arg<T>(p: *mut T, what: &str) -> Result<*mut T, Fail> {
    if p.is_null() {
        Err(Fail::null(what))
    } else {
        Ok(p)
    }
}

/// Write an out-parameter (only ever on success, at the end of a call).
///
/// # Safety
/// `p` is NULL (then nothing is written) or valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: valid for writes by the caller's contract.
        unsafe { p.write(value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_code_and_a_message() {
        let code = call(|| panic!("boom"));
        assert_eq!(code, qu_result::QU_ERR_PANIC);
        // SAFETY: a failure was just recorded on this thread.
        let msg = unsafe { CStr::from_ptr(crate::result::qu_last_error()) };
        assert!(msg.to_str().expect("utf-8").contains("boom"));
        let p: *const u8 = call_ptr(|| panic!("again"));
        assert!(p.is_null());
    }

    #[test]
    fn null_and_invalid_utf8_are_rejected() {
        // SAFETY: NULL and a NUL-terminated literal.
        unsafe {
            assert_eq!(
                str_arg(std::ptr::null(), "name").expect_err("null").code,
                qu_result::QU_ERR_NULL_POINTER
            );
            let bad = b"caf\xe9\0";
            assert_eq!(
                str_arg(bad.as_ptr().cast(), "name")
                    .expect_err("utf-8")
                    .code,
                qu_result::QU_ERR_INVALID_UTF8
            );
            assert_eq!(opt_str_arg(c"".as_ptr(), "x").expect("empty"), None);
        }
    }
}
