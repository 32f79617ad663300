//! C ABI for embedding a quptime monitor node in C and C++ programs.
//!
//! This crate is a thin layer: opaque handles, `#[repr(u32)]` result codes
//! and a panic boundary around the `quptime` library. It holds no monitoring
//! logic of its own. The full surface (start, checks, subscriptions) lands
//! with the C ABI issue; today it exposes the library version so that C
//! builds and linking can be wired up and tested.

use std::ffi::c_char;

/// The library version as a NUL-terminated static string (never free it).
#[unsafe(no_mangle)]
pub extern "C" fn qu_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_nul_terminated_and_matches_the_library() {
        // SAFETY: qu_version returns a pointer to a static NUL-terminated string.
        let s = unsafe { std::ffi::CStr::from_ptr(qu_version()) };
        assert_eq!(s.to_str().expect("utf-8"), quptime::VERSION);
    }
}
