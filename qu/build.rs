//! Stamps the commit into `qu --version` (`qu 0.1.0 (commit 1a2b3c4d5e6f)`),
//! so a binary found on a host, or inside a .deb, says which source built it.
//!
//! The commit is `git rev-parse --short=12 HEAD`, with `-dirty` when tracked
//! files differ from it. Without git (a source tarball) it is `unknown`, or
//! `QUPTIME_BUILD_COMMIT` when a packager sets it. The script reruns when
//! HEAD, the branch it points to or the index move (worktrees included: the
//! paths come from `git rev-parse --git-path`), not on every edit: an edit
//! that is neither staged nor committed shows as `-dirty` only from the next
//! rerun.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=QUPTIME_BUILD_COMMIT");
    let commit = match std::env::var("QUPTIME_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => from_git().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env=QU_BUILD_COMMIT={commit}");
}

/// `git` in the crate's directory; its trimmed stdout if it succeeded.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        // Never take a lock or refresh the index: a build must not write to
        // the repository (and a refreshed index would rerun this script).
        .arg("--no-optional-locks")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

fn from_git() -> Option<String> {
    let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
    watch(&["HEAD", "index", "packed-refs"]);
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        // refs/heads/<branch> lives in the common dir of a worktree. Not
        // its whole directory: other worktrees' commits would rerun this.
        if let Some(path) = git(&["rev-parse", "--git-path", &branch]) {
            rerun_if_exists(&absolute(&path));
        }
    }
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}

/// Rerun when these files of the git dir change.
fn watch(names: &[&str]) {
    for name in names {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            rerun_if_exists(&absolute(&path));
        }
    }
}

/// `git rev-parse --git-path` answers relative to the crate's directory.
fn absolute(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        return p;
    }
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join(p)
}

/// A path cargo is told to watch must exist, or cargo reruns every build.
fn rerun_if_exists(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
