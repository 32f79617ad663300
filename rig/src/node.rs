//! One quptime node of the rig: a data directory and control socket on the
//! host's file system (the CLI reaches the daemon over its unix socket, so
//! `qu` commands run in the host namespace) and `qu serve` started inside
//! the node's network namespace with `ip netns exec`, listening on its
//! 10.77.0.x address. The daemon is SIGKILLed on drop and dies with the
//! rig's thread if the rig itself is killed.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::procs::{run_bounded, spawn_tethered};
use crate::{Result, RigError};

/// Peer port of every node (each has its own address).
pub const PORT: u16 = 9901;
/// Bound on one CLI call; a call through a paused node ends here.
pub const CALL_LIMIT: Duration = Duration::from_secs(12);
/// Raft timings of the rig's nodes (fast, the defaults' shape).
pub const TIMING: &[&str] = &["--heartbeat", "100ms", "--election-timeout", "500ms"];

/// What a `qu` call needs to reach a node: its control socket.
#[derive(Debug, Clone)]
pub struct Cli {
    /// The node's name.
    pub name: String,
    home: PathBuf,
    qu: PathBuf,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.qu);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("QUPTIME_DIR", self.home.join("data"))
            .env("QUPTIME_SOCKET", self.home.join("qu.sock"))
            .env("NO_COLOR", "1");
        cmd
    }

    /// `qu <args>` against the node, bounded by [`CALL_LIMIT`].
    pub fn qu(&self, args: &[&str]) -> Result<Output> {
        run_bounded(self.command(args), CALL_LIMIT)
    }
}

/// One node.
#[derive(Debug)]
pub struct RigNode {
    /// `n1` … `n5`; also its NodeId.
    pub name: String,
    /// Its namespace (`qurig-n1`).
    pub ns: String,
    /// Its address (10.77.0.x).
    pub ip: String,
    /// Holds `data/`, `qu.sock`, `serve.log`.
    pub home: PathBuf,
    qu: PathBuf,
    daemon: Option<Child>,
}

impl RigNode {
    /// A node directory under `root` (0700; nothing initialised yet).
    pub fn new(root: &Path, name: &str, ns: &str, ip: &str, qu: &Path) -> Result<RigNode> {
        let home = root.join(name);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&home)
            .map_err(|e| RigError::new(format!("create {}: {e}", home.display())))?;
        Ok(RigNode {
            name: name.into(),
            ns: ns.into(),
            ip: ip.into(),
            home,
            qu: qu.into(),
            daemon: None,
        })
    }

    /// Its data directory.
    pub fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    /// `ip:port` its peers dial.
    pub fn addr(&self) -> String {
        format!("{}:{PORT}", self.ip)
    }

    /// A handle for CLI calls only (cheap to clone into workload threads).
    pub fn cli(&self) -> Cli {
        Cli {
            name: self.name.clone(),
            home: self.home.clone(),
            qu: self.qu.clone(),
        }
    }

    /// `qu <args>` against this node, bounded by [`CALL_LIMIT`].
    pub fn qu(&self, args: &[&str]) -> Result<Output> {
        self.cli().qu(args)
    }

    /// `qu <args>`, which must succeed; its stdout.
    pub fn qu_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.qu(args)?;
        if !out.status.success() {
            return Err(RigError::new(format!(
                "[{}] qu {} failed ({}): {}",
                self.name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `qu init` (founder when `secret` is None; returns the secret).
    pub fn init(&self, secret: Option<&str>) -> Result<String> {
        let port = PORT.to_string();
        let mut args = vec![
            "init",
            "--node-id",
            &self.name,
            "--bind",
            &self.ip,
            "--port",
            &port,
        ];
        if let Some(s) = secret {
            args.extend(["--secret", s]);
        }
        let out = self.qu_ok(&args)?;
        match secret {
            Some(s) => Ok(s.to_string()),
            None => out
                .lines()
                .find_map(|l| l.strip_prefix("cluster secret: "))
                .map(|s| s.trim().to_string())
                .ok_or_else(|| RigError::new(format!("no secret in qu init output: {out}"))),
        }
    }

    /// Start `qu serve` inside the node's namespace (log to `serve.log`).
    pub fn start(&mut self) -> Result<()> {
        if self.daemon.is_some() {
            return Err(RigError::new(format!("{} is already running", self.name)));
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.join("serve.log"))
            .map_err(|e| RigError::new(format!("open serve.log: {e}")))?;
        let mut log2 = log
            .try_clone()
            .map_err(|e| RigError::new(format!("clone log: {e}")))?;
        let _ = writeln!(log2, "==== qu serve (rig)");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns])
            .arg(&self.qu)
            .arg("serve")
            .args(TIMING)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("QUPTIME_DIR", self.data())
            .env("QUPTIME_SOCKET", self.home.join("qu.sock"))
            .env(
                "QUPTIME_LOG",
                std::env::var("QU_RIG_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        // `ip netns exec` execs the command after entering the namespace,
        // so the child's pid is the daemon's (signals reach qu itself).
        self.daemon = Some(spawn_tethered(cmd)?);
        Ok(())
    }

    /// Whether the daemon was started and not yet killed.
    pub fn running(&self) -> bool {
        self.daemon.is_some()
    }

    /// Send `sig` to the daemon.
    pub fn signal(&self, sig: libc::c_int) {
        if let Some(c) = &self.daemon {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe {
                libc::kill(c.id() as libc::pid_t, sig);
            }
        }
    }

    /// kill -9 and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            self.signal_child(&c, libc::SIGCONT);
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn signal_child(&self, c: &Child, sig: libc::c_int) {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe {
            libc::kill(c.id() as libc::pid_t, sig);
        }
    }

    /// Whether the daemon exited on its own (reaps it).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let st = self.daemon.as_mut()?.try_wait().ok().flatten()?;
        self.daemon = None;
        Some(st)
    }

    /// `qu status --json`, or None when the call fails.
    pub fn status(&self) -> Option<Value> {
        let out = self.qu(&["status", "--json"]).ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Poll until the control socket answers, at most `within`.
    pub fn wait_ready(&mut self, within: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(st) = self.exited() {
                return Err(RigError::new(format!(
                    "{} exited during start-up ({st}){}",
                    self.name,
                    self.log_tail(20)
                )));
            }
            if self.status().is_some() {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(RigError::new(format!(
                    "{} not ready within {within:?}{}",
                    self.name,
                    self.log_tail(20)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `qu check list --json`: name → interval in seconds (as listed).
    pub fn checks(&self) -> Result<Vec<(String, String)>> {
        let out = self.qu_ok(&["check", "list", "--json"])?;
        let v: Value = serde_json::from_str(&out)
            .map_err(|e| RigError::new(format!("check list --json: {e}")))?;
        let arr = v
            .as_array()
            .ok_or_else(|| RigError::new("check list --json is not an array"))?;
        Ok(arr
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["interval"]
                        .as_str()
                        .map_or_else(|| c["interval"].to_string(), str::to_string),
                )
            })
            .collect())
    }

    /// The last `n` lines of `serve.log`, for an error message.
    pub fn log_tail(&self, n: usize) -> String {
        let s = std::fs::read_to_string(self.home.join("serve.log")).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let from = lines.len().saturating_sub(n);
        format!(
            "\n---- {} serve.log (last {n} lines)\n{}",
            self.name,
            lines[from..].join("\n")
        )
    }
}

impl Drop for RigNode {
    fn drop(&mut self) {
        self.kill9();
    }
}
