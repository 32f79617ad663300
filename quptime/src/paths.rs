//! Where a node keeps its files and where the control socket lives.
//!
//! Operators, scripts and systemd units already rely on the original `qu`'s
//! layout and lookup order, so both are reproduced exactly, including the
//! v0.1.1 fix that lets `sudo -u quptime qu …` find the daemon's socket under
//! `/run/quptime/` even when `sudo` stripped `RUNTIME_DIRECTORY` and
//! `XDG_RUNTIME_DIR`. The lookups read the process environment through the
//! small [`Env`] trait so that every branch can be tested without touching
//! the real environment, the real euid or the real filesystem.

use std::path::{Path, PathBuf};

/// The node's own settings (`node.yaml`, mode 0600).
pub const NODE_FILE: &str = "node.yaml";
/// The human-readable export of the replicated state (mode 0600).
pub const CLUSTER_FILE: &str = "cluster.yaml";
/// The local trust store (mode 0600).
pub const TRUST_FILE: &str = "trust.yaml";
/// The key directory under the data dir (mode 0700).
pub const KEYS_DIR: &str = "keys";
/// The private key under [`KEYS_DIR`] (mode 0600).
pub const PRIVATE_KEY_FILE: &str = "private.pem";
/// The public key under [`KEYS_DIR`] (mode 0644).
pub const PUBLIC_KEY_FILE: &str = "public.pem";
/// The self-signed certificate under [`KEYS_DIR`] (mode 0644).
pub const CERT_FILE: &str = "cert.pem";
/// The control socket's file name.
pub const SOCKET_NAME: &str = "quptime.sock";

/// The system-wide data directory, used when running as root.
pub const SYSTEM_DATA_DIR: &str = "/etc/quptime";
/// The socket of a daemon run by the packaged systemd unit.
pub const RUN_SOCKET: &str = "/run/quptime/quptime.sock";
/// The same socket where `/var/run` is not a symlink to `/run`.
pub const VAR_RUN_SOCKET: &str = "/var/run/quptime/quptime.sock";

/// What the path lookups need to know about the process and the machine.
pub trait Env {
    /// The environment variable `key`, if set (empty values are treated as
    /// unset by the lookups).
    fn var(&self, key: &str) -> Option<String>;
    /// The effective user id.
    fn euid(&self) -> u32;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// The effective user's name from the password database, or the uid
    /// number when it has none. (`$USER` is consulted before this.)
    fn user_name(&self) -> String;
}

/// The real process environment, euid, filesystem and password database.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var_os(key).map(|v| v.to_string_lossy().into_owned())
    }

    fn euid(&self) -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn user_name(&self) -> String {
        let uid = self.euid();
        passwd_name(uid).unwrap_or_else(|| uid.to_string())
    }
}

/// The login name of `uid` from the password database, if it has one.
pub(crate) fn passwd_name(uid: u32) -> Option<String> {
    passwd_lookup(
        |pwd, buf, result| {
            // SAFETY: every pointer refers to live, correctly sized storage
            // that outlives the call; getpwuid_r writes only within `buf`.
            unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr().cast(), buf.len(), result) }
        },
        |pwd| {
            if pwd.pw_name.is_null() {
                return None;
            }
            // SAFETY: on success pw_name points at a NUL-terminated string in
            // the buffer, which is still alive here.
            let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
            let name = name.to_string_lossy().into_owned();
            (!name.is_empty()).then_some(name)
        },
    )
}

/// The uid of the login `name` from the password database, if it has one.
pub(crate) fn passwd_uid(name: &str) -> Option<u32> {
    let c_name = std::ffi::CString::new(name).ok()?;
    passwd_lookup(
        |pwd, buf, result| {
            // SAFETY: every pointer refers to live, correctly sized storage
            // that outlives the call; getpwnam_r writes only within `buf`.
            unsafe {
                libc::getpwnam_r(
                    c_name.as_ptr(),
                    pwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    result,
                )
            }
        },
        |pwd| Some(pwd.pw_uid),
    )
}

/// One reentrant password-database lookup (`getpwuid_r`, `getpwnam_r`):
/// `call` fills the entry, with the buffer grown on `ERANGE` up to 1 MiB;
/// `read` takes what is wanted from the entry while the buffer it points
/// into is alive. `None` when there is no entry or the lookup fails.
fn passwd_lookup<T>(
    call: impl Fn(&mut libc::passwd, &mut [u8], &mut *mut libc::passwd) -> libc::c_int,
    read: impl FnOnce(&libc::passwd) -> Option<T>,
) -> Option<T> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: an all-zero passwd is a valid value for an out-parameter.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(&mut pwd, &mut buf, &mut result);
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        return read(&pwd);
    }
}

/// A variable's value, with empty values counting as unset.
fn non_empty(env: &impl Env, key: &str) -> Option<String> {
    env.var(key).filter(|v| !v.is_empty())
}

/// The data directory of this process: see [`data_dir_in`].
pub fn data_dir() -> PathBuf {
    data_dir_in(&SystemEnv)
}

/// The data directory: `$QUPTIME_DIR`, else `/etc/quptime` when euid is 0,
/// else `$XDG_CONFIG_HOME/quptime`, else `$HOME/.config/quptime`, else (no
/// home at all, as the original) `./quptime`.
pub fn data_dir_in(env: &impl Env) -> PathBuf {
    if let Some(dir) = non_empty(env, "QUPTIME_DIR") {
        return PathBuf::from(dir);
    }
    if env.euid() == 0 {
        return PathBuf::from(SYSTEM_DATA_DIR);
    }
    if let Some(config) = non_empty(env, "XDG_CONFIG_HOME") {
        return Path::new(&config).join("quptime");
    }
    match non_empty(env, "HOME") {
        Some(home) => Path::new(&home).join(".config").join("quptime"),
        None => PathBuf::from("./quptime"),
    }
}

/// The control socket of this process: see [`socket_path_in`].
pub fn socket_path() -> PathBuf {
    socket_path_in(&SystemEnv)
}

/// The control socket, first match wins:
/// 1. `$QUPTIME_SOCKET`;
/// 2. `$RUNTIME_DIRECTORY/quptime.sock` (its first entry when systemd passes
///    several, colon-separated);
/// 3. `/run/quptime/quptime.sock` if it exists (whoever we are: this is how
///    `sudo -u quptime qu status` finds the packaged daemon);
/// 4. `/var/run/quptime/quptime.sock` if it exists, or when euid is 0;
/// 5. `$XDG_RUNTIME_DIR/quptime/quptime.sock`;
/// 6. `$TMPDIR/quptime-<user>/quptime.sock` (`$TMPDIR` defaults to `/tmp`;
///    the user is `$USER`, else the password database, else the uid).
pub fn socket_path_in(env: &impl Env) -> PathBuf {
    if let Some(socket) = non_empty(env, "QUPTIME_SOCKET") {
        return PathBuf::from(socket);
    }
    if let Some(runtime) = non_empty(env, "RUNTIME_DIRECTORY") {
        let first = runtime.split(':').next().unwrap_or_default();
        if !first.is_empty() {
            return Path::new(first).join(SOCKET_NAME);
        }
    }
    if env.exists(Path::new(RUN_SOCKET)) {
        return PathBuf::from(RUN_SOCKET);
    }
    if env.exists(Path::new(VAR_RUN_SOCKET)) || env.euid() == 0 {
        return PathBuf::from(VAR_RUN_SOCKET);
    }
    if let Some(runtime) = non_empty(env, "XDG_RUNTIME_DIR") {
        return Path::new(&runtime).join("quptime").join(SOCKET_NAME);
    }
    let tmp = non_empty(env, "TMPDIR").unwrap_or_else(|| "/tmp".to_owned());
    let user = non_empty(env, "USER").unwrap_or_else(|| env.user_name());
    Path::new(&tmp)
        .join(format!("quptime-{user}"))
        .join(SOCKET_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[derive(Default)]
    struct FakeEnv {
        vars: HashMap<&'static str, &'static str>,
        euid: u32,
        existing: HashSet<&'static str>,
    }

    impl FakeEnv {
        fn user(vars: &[(&'static str, &'static str)]) -> FakeEnv {
            FakeEnv {
                vars: vars.iter().copied().collect(),
                euid: 1000,
                existing: HashSet::new(),
            }
        }
        fn root(vars: &[(&'static str, &'static str)]) -> FakeEnv {
            FakeEnv {
                euid: 0,
                ..FakeEnv::user(vars)
            }
        }
        fn with_file(mut self, path: &'static str) -> FakeEnv {
            self.existing.insert(path);
            self
        }
    }

    impl Env for FakeEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.vars.get(key).map(|v| v.to_string())
        }
        fn euid(&self) -> u32 {
            self.euid
        }
        fn exists(&self, path: &Path) -> bool {
            self.existing.contains(path.to_str().unwrap())
        }
        fn user_name(&self) -> String {
            "pwname".to_owned()
        }
    }

    fn data(env: &FakeEnv) -> String {
        data_dir_in(env).display().to_string()
    }

    fn sock(env: &FakeEnv) -> String {
        socket_path_in(env).display().to_string()
    }

    #[test]
    fn data_dir_follows_the_original_order() {
        let all = [
            ("QUPTIME_DIR", "/srv/qu"),
            ("XDG_CONFIG_HOME", "/home/u/.cfg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(data(&FakeEnv::user(&all)), "/srv/qu");
        assert_eq!(data(&FakeEnv::root(&all)), "/srv/qu");
        assert_eq!(data(&FakeEnv::root(&all[1..])), "/etc/quptime");
        assert_eq!(data(&FakeEnv::user(&all[1..])), "/home/u/.cfg/quptime");
        assert_eq!(data(&FakeEnv::user(&all[2..])), "/home/u/.config/quptime");
        assert_eq!(data(&FakeEnv::user(&[])), "./quptime");
    }

    #[test]
    fn empty_variables_count_as_unset_for_the_data_dir() {
        let env = FakeEnv::user(&[
            ("QUPTIME_DIR", ""),
            ("XDG_CONFIG_HOME", ""),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(data(&env), "/home/u/.config/quptime");
    }

    #[test]
    fn explicit_socket_wins_over_everything() {
        let env = FakeEnv::root(&[
            ("QUPTIME_SOCKET", "/x/s.sock"),
            ("RUNTIME_DIRECTORY", "/run/quptime"),
            ("XDG_RUNTIME_DIR", "/run/user/0"),
        ])
        .with_file(RUN_SOCKET);
        assert_eq!(sock(&env), "/x/s.sock");
    }

    #[test]
    fn runtime_directory_uses_its_first_entry() {
        let env = FakeEnv::user(&[("RUNTIME_DIRECTORY", "/run/a:/run/b")]).with_file(RUN_SOCKET);
        assert_eq!(sock(&env), "/run/a/quptime.sock");
        let env = FakeEnv::user(&[("RUNTIME_DIRECTORY", "/run/only")]);
        assert_eq!(sock(&env), "/run/only/quptime.sock");
        // An empty first entry is no directory at all.
        let env = FakeEnv::user(&[("RUNTIME_DIRECTORY", ":/run/b"), ("XDG_RUNTIME_DIR", "/x")]);
        assert_eq!(sock(&env), "/x/quptime/quptime.sock");
    }

    #[test]
    fn v0_1_1_fix_finds_the_systemd_socket_for_a_non_root_user() {
        // `sudo -u quptime qu status`: no RUNTIME_DIRECTORY, no
        // XDG_RUNTIME_DIR, not root, but the packaged daemon's socket exists.
        let env = FakeEnv::user(&[("USER", "quptime")]).with_file(RUN_SOCKET);
        assert_eq!(sock(&env), RUN_SOCKET);
        // It also wins over a user's XDG_RUNTIME_DIR.
        let env = FakeEnv::user(&[("XDG_RUNTIME_DIR", "/run/user/1000")]).with_file(RUN_SOCKET);
        assert_eq!(sock(&env), RUN_SOCKET);
    }

    #[test]
    fn var_run_socket_when_it_exists_or_as_root() {
        let env = FakeEnv::user(&[("XDG_RUNTIME_DIR", "/run/user/1000")]).with_file(VAR_RUN_SOCKET);
        assert_eq!(sock(&env), VAR_RUN_SOCKET);
        let env = FakeEnv::root(&[("XDG_RUNTIME_DIR", "/run/user/0")]);
        assert_eq!(sock(&env), VAR_RUN_SOCKET);
        // /run beats /var/run when both exist.
        let env = FakeEnv::root(&[])
            .with_file(VAR_RUN_SOCKET)
            .with_file(RUN_SOCKET);
        assert_eq!(sock(&env), RUN_SOCKET);
    }

    #[test]
    fn user_mode_socket_under_xdg_runtime_dir() {
        let env = FakeEnv::user(&[("XDG_RUNTIME_DIR", "/run/user/1000"), ("USER", "u")]);
        assert_eq!(sock(&env), "/run/user/1000/quptime/quptime.sock");
    }

    #[test]
    fn last_resort_is_a_per_user_temp_dir() {
        let env = FakeEnv::user(&[("USER", "alice"), ("TMPDIR", "/var/tmp")]);
        assert_eq!(sock(&env), "/var/tmp/quptime-alice/quptime.sock");
        let env = FakeEnv::user(&[("USER", "alice"), ("TMPDIR", "")]);
        assert_eq!(sock(&env), "/tmp/quptime-alice/quptime.sock");
        // No $USER: the password database (or the uid) names the directory.
        let env = FakeEnv::user(&[("USER", ""), ("XDG_RUNTIME_DIR", "")]);
        assert_eq!(sock(&env), "/tmp/quptime-pwname/quptime.sock");
    }

    #[test]
    fn system_env_names_the_current_user() {
        let name = SystemEnv.user_name();
        assert!(!name.is_empty());
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        if uid == 0 {
            assert_eq!(name, "root");
        }
        assert_eq!(SystemEnv.euid(), uid);
        assert!(SystemEnv.exists(Path::new("/")));
        assert!(!SystemEnv.exists(Path::new("/nonexistent/quptime/x")));
    }
}
