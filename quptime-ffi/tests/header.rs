//! `include/quptime.h` is generated from the sources by cbindgen and
//! committed; this test regenerates it in memory and fails when the
//! committed file differs (run with `QUPTIME_BLESS=1` to rewrite it).

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let version = format!(
        "\n/* The version of quptime this header belongs to (Cargo.toml). */\n\
         #define QU_VERSION \"{}\"\n\
         #define QU_VERSION_MAJOR {}\n\
         #define QU_VERSION_MINOR {}\n\
         #define QU_VERSION_PATCH {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .with_after_include(version)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("utf-8 header")
}

#[test]
fn header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/quptime.h");
    let fresh = generate();
    if std::env::var_os("QUPTIME_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/quptime.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/quptime.h is out of date with quptime-ffi/src; regenerate it with \
         `QUPTIME_BLESS=1 cargo test -p quptime-ffi --test header` and commit it"
    );
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let header = generate();
    let v = env!("CARGO_PKG_VERSION");
    assert!(
        header.contains(&format!("#define QU_VERSION \"{v}\"")),
        "{header}"
    );
    for (name, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(header.contains(&format!("#define QU_VERSION_{name} {value}\n")));
    }
    // Every export made it into the header.
    for f in [
        "qu_cluster_start_with",
        "qu_cluster_join",
        "qu_subscription_next",
        "qu_cluster_subscribe_callback",
        "qu_transition_callback",
        "qu_string_free",
        "QU_ERR_PANIC = 103",
    ] {
        assert!(header.contains(f), "{f} missing from the header");
    }
}
