//! Handles: what C holds instead of pointers into Rust memory.
//!
//! A handle is an opaque token, never dereferenced: each live object sits in
//! a per-type [`Registry`] under a number that is never reused in the
//! process, and the handle C receives is that number. So a freed handle, a
//! handle freed twice, a handle of another type or a made-up pointer is
//! found missing and answered with `QU_ERR_INVALID_HANDLE` instead of
//! touching freed memory. The registry keeps an `Arc`: a call in progress on
//! one thread keeps its object alive while another thread frees the handle.
//!
//! Strings the library hands out (`char **` out-parameters) are real heap
//! pointers, remembered in a set so `qu_string_free` refuses a pointer it
//! did not give out or has already freed (unless the allocator handed the
//! same address to a newer string, which is then the one freed).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CString, c_char};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::result::{Fail, qu_result};

/// Handle numbers, shared by all types so that no two live handles of any
/// types are equal. Spaced by 16 so they look like aligned pointers.
static NEXT: AtomicUsize = AtomicUsize::new(0x100);

/// The live objects of one handle type.
#[derive(Debug)]
pub(crate) struct Registry<T> {
    live: Mutex<BTreeMap<usize, Arc<T>>>,
    what: &'static str,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> Registry<T> {
    pub(crate) const fn new(what: &'static str) -> Registry<T> {
        Registry {
            live: Mutex::new(BTreeMap::new()),
            what,
        }
    }

    /// Register `value` and return its handle.
    pub(crate) fn insert<H>(&self, value: T) -> *mut H {
        let id = NEXT.fetch_add(1, Ordering::Relaxed) << 4;
        lock(&self.live).insert(id, Arc::new(value));
        std::ptr::without_provenance_mut(id)
    }

    /// The object behind `handle`.
    pub(crate) fn get<H>(&self, handle: *const H) -> Result<Arc<T>, Fail> {
        if handle.is_null() {
            return Err(Fail::null(self.what));
        }
        lock(&self.live)
            .get(&handle.addr())
            .cloned()
            .ok_or_else(|| self.invalid())
    }

    /// Unregister `handle`, returning its object (dropped by the caller,
    /// outside the lock).
    pub(crate) fn remove<H>(&self, handle: *const H) -> Result<Arc<T>, Fail> {
        if handle.is_null() {
            return Err(Fail::null(self.what));
        }
        lock(&self.live)
            .remove(&handle.addr())
            .ok_or_else(|| self.invalid())
    }

    /// For the `_free` functions: like [`Registry::remove`], but NULL is
    /// accepted (as `free(NULL)` is) and releases nothing.
    pub(crate) fn release<H>(&self, handle: *const H) -> Result<Option<Arc<T>>, Fail> {
        if handle.is_null() {
            return Ok(None);
        }
        self.remove(handle).map(Some)
    }

    fn invalid(&self) -> Fail {
        Fail::new(
            qu_result::QU_ERR_INVALID_HANDLE,
            format!(
                "{} is not a live handle (already freed, never returned by quptime, \
                 or of another type)",
                self.what
            ),
        )
    }
}

/// Addresses of the strings handed out and not yet freed.
static STRINGS: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

/// Hand `s` to C as a string it must free with `qu_string_free`.
pub(crate) fn give_string(s: String) -> *mut c_char {
    let c = CString::new(s.replace('\0', " ")).unwrap_or_default();
    let p = c.into_raw();
    lock(&STRINGS).insert(p.addr());
    p
}

/// A string stored with a handle and lent to C (interior NULs replaced).
pub(crate) fn lend(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Free a string returned through a `char **` out-parameter of this
/// library. NULL is accepted and does nothing.
///
/// Returns `QU_ERR_INVALID_HANDLE` (and frees nothing) for a pointer this
/// library did not hand out or has already freed; never pass a pointer from
/// `qu_last_error`, `qu_version` or a transition accessor.
///
/// # Safety
/// `s` is NULL or any pointer value; it is only freed when it is a live
/// string of this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qu_string_free(s: *mut c_char) -> qu_result {
    crate::guard::call(|| {
        if s.is_null() {
            return Ok(());
        }
        if !lock(&STRINGS).remove(&s.addr()) {
            return Err(Fail::new(
                qu_result::QU_ERR_INVALID_HANDLE,
                "the string was not returned by quptime or has already been freed",
            ));
        }
        // SAFETY: `s` came from `CString::into_raw` in `give_string` and was
        // still registered, so it is freed exactly once.
        drop(unsafe { CString::from_raw(s) });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing;

    #[test]
    fn freed_and_foreign_handles_are_refused() {
        static THINGS: Registry<u32> = Registry::new("thing");
        let h: *mut Thing = THINGS.insert(7);
        assert_eq!(*THINGS.get(h).expect("live"), 7);
        THINGS.remove(h).expect("first free");
        let err = THINGS.remove(h).expect_err("second free");
        assert_eq!(err.code, qu_result::QU_ERR_INVALID_HANDLE);
        let bogus: *const Thing = std::ptr::without_provenance(0x1234_5670);
        assert_eq!(
            THINGS.get(bogus).expect_err("bogus").code,
            qu_result::QU_ERR_INVALID_HANDLE
        );
        assert_eq!(
            THINGS
                .get::<Thing>(std::ptr::null())
                .expect_err("null")
                .code,
            qu_result::QU_ERR_NULL_POINTER
        );
    }

    #[test]
    fn strings_are_freed_once() {
        let s = give_string("hello".into());
        // SAFETY: s was handed out above; the second call must refuse it.
        unsafe {
            assert_eq!(qu_string_free(s), qu_result::QU_OK);
            assert_eq!(qu_string_free(s), qu_result::QU_ERR_INVALID_HANDLE);
            assert_eq!(qu_string_free(std::ptr::null_mut()), qu_result::QU_OK);
        }
    }
}
