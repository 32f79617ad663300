//! Gives the shared library its soname, `libquptime.so.<major>`, so programs
//! linked against an installed copy record the ABI they were built for and
//! keep working across compatible (same major) updates; `make install`
//! (`Makefile`) installs `libquptime.so.<version>` with the two symlinks.
//! Only the cdylib gets the flag: the staticlib and rlib have no soname.

fn main() {
    let major =
        std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // ELF platforms only: macOS uses install names, Windows has no soname.
    if target_os == "linux" || target_os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libquptime.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
