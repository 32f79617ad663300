//! The caller's check of the daemon: before `qu` sends anything (an SMTP
//! password, a webhook secret) it makes sure the socket is served by a
//! daemon it has reason to trust.
//!
//! Whoever serves the socket path reads every request, so the client, like
//! the server, trusts the filesystem only as far as it can check it:
//! - **the socket's directory** must belong to root, to this user or to the
//!   service user, and be writable by no one else (otherwise its owner, or
//!   anyone, could put their own socket there — `/tmp/quptime-$USER` can be
//!   created by any local user before we get to it);
//! - **the process that listens** (`SO_PEERCRED` of the connected socket)
//!   must run as root, as this user or as the service user.
//!
//! The service user is the account the daemon runs as when that is not the
//! caller: `QUPTIME_SERVICE_USER` (a login name or a uid) when set, else
//! the owner of the data directory (`/etc/quptime`, owned by `quptime` in
//! the packaged install, so a root `qu status` reaches the packaged
//! daemon). Nothing is sent to anyone else; the error names the owner and
//! says what to do. The decisions ([`judge_dir`], [`judge_peer`]) are pure.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::control::socket::user_label;
use crate::error::{Error, ErrorKind, Result};
use crate::paths::{Env, SystemEnv};

/// The environment variable naming the daemon's account.
pub const SERVICE_USER_VAR: &str = "QUPTIME_SERVICE_USER";

/// Whom this client accepts as the daemon: root, `me`, and the service user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) me: u32,
    /// The service user's uid and where it came from.
    pub(crate) service: Option<(u32, String)>,
}

impl Accepted {
    /// The accepted users of this process: see the module docs.
    pub(crate) fn of_process() -> Result<Accepted> {
        let env = SystemEnv;
        let me = env.euid();
        let service = match env.var(SERVICE_USER_VAR).filter(|v| !v.is_empty()) {
            Some(v) => Some((parse_user(&v)?, format!("{SERVICE_USER_VAR}={v}"))),
            None => {
                let dir = crate::paths::data_dir_in(&env);
                std::fs::metadata(&dir).ok().map(|m| {
                    (
                        m.uid(),
                        format!("the owner of the data dir {}", dir.display()),
                    )
                })
            }
        };
        Ok(Accepted { me, service })
    }

    fn allows(&self, uid: u32) -> bool {
        uid == 0 || uid == self.me || self.service.as_ref().is_some_and(|(s, _)| *s == uid)
    }

    /// Who may serve, for messages.
    fn describe(&self) -> String {
        let mut who = format!("root or {}", user_label(self.me));
        if let Some((uid, from)) = &self.service
            && *uid != self.me
            && *uid != 0
        {
            who = format!(
                "root, {} or the service user {} ({from})",
                user_label(self.me),
                user_label(*uid)
            );
        }
        who
    }
}

/// A login name or a numeric uid.
fn parse_user(v: &str) -> Result<u32> {
    if let Ok(uid) = v.parse::<u32>() {
        return Ok(uid);
    }
    crate::paths::passwd_uid(v).ok_or_else(|| {
        Error::invalid(format!(
            "{SERVICE_USER_VAR}={v}: no such user; set it to the login name or uid the qu \
             daemon runs as"
        ))
    })
}

/// The directory of `socket`, as the client sees it.
fn dir_of(socket: &Path) -> &Path {
    match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Refuse a socket directory owned by someone not accepted, or writable by
/// others. A directory that does not exist is left to the connect (which
/// then says nothing listens there).
pub(crate) fn check_dir(socket: &Path, accepted: &Accepted) -> Result<()> {
    let dir = dir_of(socket);
    match std::fs::metadata(dir) {
        Ok(meta) => judge_dir(socket, dir, meta.uid(), meta.mode(), accepted),
        Err(_) => Ok(()),
    }
}

/// [`check_dir`]'s decision.
pub(crate) fn judge_dir(
    socket: &Path,
    dir: &Path,
    owner: u32,
    mode: u32,
    accepted: &Accepted,
) -> Result<()> {
    let mode = mode & 0o7777;
    let why = if !accepted.allows(owner) {
        "another user owns it"
    } else if mode & 0o022 != 0 {
        "other users can write to it"
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::PermissionDenied,
        format!(
            "refusing to use the control socket {socket}: its directory {dir} is owned by \
             {owner} with mode {mode:04o}; {why}, so whoever controls it could serve a fake \
             daemon and read what qu sends. Only {accepted_who} may own it and no one else may \
             write to it: remove {dir} (`qu serve` recreates it with mode 0700), or set \
             QUPTIME_SOCKET to the daemon's socket; if the daemon runs as another account, set \
             {SERVICE_USER_VAR} to it",
            socket = socket.display(),
            dir = dir.display(),
            owner = user_label(owner),
            accepted_who = accepted.describe(),
        ),
    ))
}

/// Refuse a daemon process (`uid`, `pid` from `SO_PEERCRED`) not accepted.
pub(crate) fn judge_peer(
    socket: &Path,
    uid: u32,
    pid: Option<i32>,
    accepted: &Accepted,
) -> Result<()> {
    if accepted.allows(uid) {
        return Ok(());
    }
    let pid = pid.map_or_else(String::new, |p| format!(", pid {p}"));
    Err(Error::new(
        ErrorKind::PermissionDenied,
        format!(
            "refusing to talk to the control socket {}: the process serving it runs as {}{pid}, \
             not as {}; nothing was sent. If that account runs your qu daemon, set \
             {SERVICE_USER_VAR} to it; otherwise find out who started it (it could be \
             impersonating the daemon) and point qu at the real socket with QUPTIME_SOCKET",
            socket.display(),
            user_label(uid),
            accepted.describe()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted() -> Accepted {
        Accepted {
            me: 1000,
            service: Some((998, "the owner of the data dir /etc/quptime".into())),
        }
    }

    #[test]
    fn the_directory_must_be_ours_and_private() {
        let sock = Path::new("/tmp/quptime-alice/quptime.sock");
        let dir = Path::new("/tmp/quptime-alice");
        let a = accepted();
        for owner in [0, 1000, 998] {
            assert!(judge_dir(sock, dir, owner, 0o40700, &a).is_ok());
            assert!(judge_dir(sock, dir, owner, 0o40755, &a).is_ok());
        }
        let e = judge_dir(sock, dir, 1001, 0o40700, &a).expect_err("foreign");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let t = e.to_string();
        assert!(
            t.contains("another user owns it") && t.contains("uid 1001"),
            "{t}"
        );
        assert!(
            t.contains("/tmp/quptime-alice") && t.contains("remove"),
            "{t}"
        );
        for mode in [0o40777, 0o40770, 0o41777, 0o40702] {
            let t = judge_dir(sock, dir, 1000, mode, &a)
                .expect_err("shared")
                .to_string();
            assert!(t.contains("other users can write to it"), "{t}");
        }
    }

    #[test]
    fn only_root_the_caller_and_the_service_user_may_serve() {
        let sock = Path::new("/run/quptime/quptime.sock");
        let a = accepted();
        for uid in [0, 1000, 998] {
            assert!(judge_peer(sock, uid, Some(7), &a).is_ok());
        }
        let t = judge_peer(sock, 65534, Some(42), &a)
            .expect_err("nobody")
            .to_string();
        assert!(t.contains("uid 65534") || t.contains("nobody"), "{t}");
        assert!(
            t.contains("pid 42") && t.contains("nothing was sent"),
            "{t}"
        );
        assert!(t.contains(SERVICE_USER_VAR), "{t}");
        assert!(t.contains("the service user"), "{t}");
        let alone = Accepted {
            me: 1000,
            service: None,
        };
        assert!(judge_peer(sock, 998, None, &alone).is_err());
    }

    #[test]
    fn a_service_user_is_a_name_or_a_uid() {
        assert_eq!(parse_user("0").expect("uid"), 0);
        assert_eq!(parse_user("root").expect("root"), 0);
        let e = parse_user("no-such-user-here").expect_err("unknown");
        assert!(e.to_string().contains("no such user"), "{e}");
    }
}
