//! `make -C quptime-ffi install` gives a C user a library they can build
//! against without this source tree: it installs into a temporary prefix,
//! then builds the example agent (`examples/c/`) from the installed copy
//! only — with pkg-config (gcc and clang) and with CMake's
//! `find_package(quptime)` — and runs each build with `LD_LIBRARY_PATH` set
//! to the prefix's `lib/` alone: the agent starts a node, sees its check go
//! up, and stops cleanly on SIGTERM.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use support::{HttpTarget, Proc, free_port, lib_dir, root, run, soname};

fn stdout(out: Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `tool` runs; in CI (env `CI`) a missing tool fails the test,
/// elsewhere the step is skipped with a message.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed; scripts/test installs it (apt-get install {tool})"
        );
        eprintln!("SKIPPED: {tool} is not installed (scripts/test installs it)");
    }
    ok
}

/// The dynamic section of an ELF file, as `readelf -d` prints it.
fn dynamic(file: &Path) -> String {
    stdout(run(
        Command::new("readelf").arg("-d").arg(file),
        &format!("readelf -d {}", file.display()),
    ))
}

/// Run the agent built at `exe` against the installed library only: it must
/// resolve `libquptime.so.<major>` from `prefix/lib`, watch a real HTTP
/// target until the check is up, and exit 0 after SIGTERM.
fn run_agent(exe: &Path, prefix: &Path, data: &Path, what: &str) {
    let lib = prefix.join("lib");
    let dy = dynamic(exe);
    assert!(
        dy.contains(&format!("Shared library: [{}]", soname())),
        "{what}: the agent does not need {}:\n{dy}",
        soname()
    );
    assert!(
        !dy.contains("RPATH") && !dy.contains("RUNPATH"),
        "{what}: the agent has a built-in library path (it must find the library through LD_LIBRARY_PATH):\n{dy}"
    );
    let ldd = stdout(run(
        Command::new("ldd").arg(exe).env("LD_LIBRARY_PATH", &lib),
        "ldd agent",
    ));
    let want = format!("{} => {}", soname(), lib.join(soname()).display());
    assert!(
        ldd.contains(&want),
        "{what}: ldd does not show {want}:\n{ldd}"
    );

    let target = HttpTarget::start();
    let within = Duration::from_secs(30);
    let mut agent = Proc::spawn(
        what,
        Command::new(exe)
            .args(["-f", "-b", "127.0.0.1", "-n", "installed", "-p"])
            .arg(free_port().to_string())
            .arg(data)
            .arg(target.url())
            .env("LD_LIBRARY_PATH", &lib)
            .env_remove("LD_PRELOAD"),
    );
    agent.wait_line(within, |l| l.starts_with("agent: node installed listening"));
    agent.wait_line(within, |l| l.contains(" web unknown -> up"));
    agent.terminate();
    let (status, stderr) = agent.finish(within);
    assert!(status.success(), "{what}: {status}: {stderr}");
    agent.wait_line(within, |l| l == "agent: stopped");
}

/// Build the example with its Makefile against the installed `.pc` only:
/// pkg-config's whole search path is the prefix, and the tree's header and
/// library directories are pointed at nothing.
fn make_installed(prefix: &Path, out: &Path, cc: &str) -> PathBuf {
    std::fs::create_dir_all(out).expect("build dir");
    let nowhere = out.join("not-the-tree");
    let pc = prefix.join("lib/pkgconfig");
    let flags = stdout(run(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "quptime"])
            .env("PKG_CONFIG_LIBDIR", &pc)
            .env("PKG_CONFIG_PATH", &pc),
        "pkg-config quptime",
    ));
    assert!(
        flags.contains(&format!("-I{}", prefix.join("include").display()))
            && flags.contains(&format!("-L{}", prefix.join("lib").display()))
            && !flags.contains("target"),
        "pkg-config does not point at the prefix: {flags}"
    );
    run(
        Command::new("make")
            .arg("-C")
            .arg(root().join("examples/c"))
            .arg("INSTALLED=1")
            .arg(format!("OUT={}", out.display()))
            .arg(format!("CC={cc}"))
            .arg(format!("INCLUDEDIR={}", nowhere.display()))
            .arg(format!("LIBDIR={}", nowhere.display()))
            .env("PKG_CONFIG_LIBDIR", &pc)
            .env("PKG_CONFIG_PATH", &pc),
        &format!("make -C examples/c INSTALLED=1 CC={cc}"),
    );
    out.join("agent")
}

#[test]
fn installed_library_builds_and_runs_the_example_with_gcc_clang_and_cmake() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let prefix = tmp.path().join("prefix");
    let version = env!("CARGO_PKG_VERSION");
    run(
        Command::new("make")
            .arg("-C")
            .arg(root().join("quptime-ffi"))
            .arg("install")
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("LIBDIR={}", lib_dir().display())),
        "make -C quptime-ffi install",
    );

    // The files, the real library under its full version and the links.
    let lib = prefix.join("lib");
    let real = format!("libquptime.so.{version}");
    for f in [
        "include/quptime.h",
        "lib/libquptime.a",
        "lib/pkgconfig/quptime.pc",
        "lib/cmake/quptime/quptimeConfig.cmake",
        "lib/cmake/quptime/quptimeConfigVersion.cmake",
    ] {
        assert!(prefix.join(f).is_file(), "{f} was not installed");
    }
    let meta = std::fs::symlink_metadata(lib.join(&real)).expect("the versioned library");
    assert!(meta.is_file(), "{real} is not a regular file");
    let link = |name: &str| std::fs::read_link(lib.join(name)).map(|p| p.display().to_string());
    assert_eq!(link(&soname()).expect("soname link"), real);
    assert_eq!(link("libquptime.so").expect("dev link"), soname());
    let dy = dynamic(&lib.join(&real));
    assert!(
        dy.contains(&format!("Library soname: [{}]", soname())),
        "the installed library has no soname {}:\n{dy}",
        soname()
    );
    let pc = std::fs::read_to_string(lib.join("pkgconfig/quptime.pc")).expect("quptime.pc");
    assert!(pc.contains(&format!("Version: {version}")), "{pc}");

    // pkg-config, with gcc and clang.
    for cc in ["gcc", "clang"] {
        if cc == "clang" && !have("clang") {
            continue;
        }
        let exe = make_installed(&prefix, &tmp.path().join(format!("build-{cc}")), cc);
        run_agent(
            &exe,
            &prefix,
            &tmp.path().join(format!("node-{cc}")),
            &format!("agent ({cc}, pkg-config)"),
        );
    }

    // CMake: find_package(quptime 0.1) through CMAKE_PREFIX_PATH alone.
    if have("cmake") {
        let build = tmp.path().join("build-cmake");
        run(
            Command::new("cmake")
                .arg("-S")
                .arg(root().join("examples/c"))
                .arg("-B")
                .arg(&build)
                .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
                .arg("-DCMAKE_C_COMPILER=gcc")
                // No rpath into the build: the run below proves LD_LIBRARY_PATH finds it.
                .arg("-DCMAKE_SKIP_RPATH=ON"),
            "cmake configure examples/c",
        );
        run(
            Command::new("cmake").arg("--build").arg(&build),
            "cmake --build",
        );
        run_agent(
            &build.join("agent"),
            &prefix,
            &tmp.path().join("node-cmake"),
            "agent (cmake find_package)",
        );
    }
}
