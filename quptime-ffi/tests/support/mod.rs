//! Helpers for driving C programs against the built library: compiling
//! them with gcc, serving a flippable HTTP target, running processes and
//! waiting for the lines they print.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Where cargo put the `libquptime.{so,a}` built for this test run: beside
/// the test binary, in `target/<profile>/deps` (`cargo test` does not copy
/// them up to `target/<profile>`, where an older `cargo build` may have left
/// stale ones).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().expect("target/<profile>/deps").to_path_buf();
    assert!(
        dir.join("libquptime.so").exists() && dir.join("libquptime.a").exists(),
        "libquptime.so/.a not found in {}: cargo builds them with the tests \
         (quptime-ffi's crate types include rlib for that)",
        dir.display()
    );
    soname_link(&dir);
    dir
}

/// The shared library's soname (`build.rs`), which programs linked against
/// it look for at run time.
pub fn soname() -> String {
    format!("libquptime.so.{}", env!("CARGO_PKG_VERSION_MAJOR"))
}

/// `libquptime.so.<major>` → `libquptime.so` in `dir`, so programs linked
/// there (with an rpath to it) find the library by its soname. Several test
/// binaries may race to make it: one that exists is fine.
fn soname_link(dir: &Path) {
    let link = dir.join(soname());
    if link.symlink_metadata().is_err() {
        match std::os::unix::fs::symlink("libquptime.so", &link) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("cannot link {}: {e}", link.display()),
        }
    }
}

/// Run `cmd` to its end and insist on exit 0 (the message names `what`
/// and carries its output); returns the output.
pub fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compile the C file `src` to `out` with warnings as errors, against the
/// shared library (`static_link`: against `libquptime.a`).
pub fn compile(src: &Path, out: &Path, static_link: bool) {
    let lib = lib_dir();
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-I"])
        .arg(root().join("quptime-ffi/include"))
        .arg(src)
        .arg("-o")
        .arg(out);
    if static_link {
        cmd.arg(lib.join("libquptime.a")).args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]);
    } else {
        cmd.arg("-L")
            .arg(&lib)
            .arg("-lquptime")
            .arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    run(&mut cmd, &format!("gcc {}", src.display()));
}

/// Build `examples/c/agent` with its Makefile (pkg-config, gcc) into `out`.
pub fn make_example(out: &Path) -> PathBuf {
    run(
        Command::new("make")
            .arg("-C")
            .arg(root().join("examples/c"))
            .arg(format!("OUT={}", out.display()))
            .arg(format!("LIBDIR={}", lib_dir().display()))
            .arg("CC=gcc"),
        "make -C examples/c",
    );
    out.join("agent")
}

/// The valgrind binary, if installed. CI must have it.
pub fn valgrind() -> Option<&'static str> {
    let ok = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("valgrind is not installed; scripts/test installs it (apt-get install valgrind)");
    }
    ok.then_some("valgrind")
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A real HTTP server on 127.0.0.1 answering 200 until set to fail (503).
#[derive(Debug)]
pub struct HttpTarget {
    pub port: u16,
    status: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
}

impl HttpTarget {
    pub fn start() -> HttpTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind target");
        let port = listener.local_addr().expect("addr").port();
        let status = Arc::new(AtomicU16::new(200));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (status.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let code = s.load(Ordering::SeqCst);
                std::thread::spawn(move || answer(&mut conn, code));
            }
        });
        HttpTarget { port, status, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }

    /// Answer 503 from now on.
    pub fn fail(&self) {
        self.status.store(503, Ordering::SeqCst);
    }
}

fn answer(conn: &mut TcpStream, code: u16) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let reason = if code == 200 {
        "OK"
    } else {
        "Service Unavailable"
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {code} {reason}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

impl Drop for HttpTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A child process whose stdout lines are collected as they come.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let out = child.stdout.take().expect("stdout");
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l.0.lock().expect("lines").push(line);
                l.1.notify_all();
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let e = stderr.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            e.lock().expect("stderr").push_str(&s);
        });
        Proc {
            name: name.into(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        }
    }

    /// Everything printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.0.lock().expect("lines").clone()
    }

    /// Wait for a line matching `pred`; fail the test after `within`.
    pub fn wait_line(&self, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        let mut lines = self.lines.0.lock().expect("lines");
        loop {
            if let Some(l) = lines.iter().find(|l| pred(l)) {
                return l.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                drop(lines);
                panic!(
                    "{}: the expected line did not come within {within:?}\nstdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.lines().join("\n"),
                    self.stderr.lock().expect("stderr")
                );
            }
            lines = self
                .lines
                .1
                .wait_timeout(lines, deadline - now)
                .expect("lines")
                .0;
        }
    }

    /// Send one line to the process's stdin.
    pub fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// Close stdin and wait (up to `within`) for the exit; returns the
    /// status and what the process wrote to stderr.
    pub fn finish(&mut self, within: Duration) -> (ExitStatus, String) {
        self.stdin.take();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the stderr reader catch the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                let err = self.stderr.lock().expect("stderr").clone();
                return (status, err);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "{}: did not exit within {within:?}\nstdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.lines().join("\n"),
                    self.stderr.lock().expect("stderr")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Send SIGTERM (as a service manager would).
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
