//! Running commands for the rig: every call bounded, output captured,
//! failures reported with the command line and its stderr.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, RigError};

/// Run `cmd` to completion, at most `limit`; killed when it overruns.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Output> {
    let what = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| RigError::new(format!("spawn {what}: {e}")))?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RigError::new(format!(
                    "{what} did not finish within {limit:?}"
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(RigError::new(format!("wait for {what}: {e}"))),
        }
    };
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: join(out),
        stderr: join(err),
    })
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Run `program args…` (10 s bound) and insist on exit 0.
pub fn must(program: &str, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_bounded(cmd, Duration::from_secs(10))?;
    if !out.status.success() {
        return Err(RigError::new(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Spawn a long-running process that dies with the thread that forked it
/// (`PR_SET_PDEATHSIG`), so a killed rig leaves no daemon behind.
pub fn spawn_tethered(mut cmd: Command) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let what = format!("{cmd:?}");
    // SAFETY: prctl is async-signal-safe and touches no parent memory.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| RigError::new(format!("spawn {what}: {e}")))
}

/// Wait until `f` holds, polling every 50 ms, at most `within`.
pub fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(RigError::new(format!(
                "timed out after {within:?} waiting for {what}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
