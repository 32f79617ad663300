//! The settings of push checks (cron jobs, backups, batch work): the job
//! calls the check's push URL, and the check is down when no call arrives
//! within `period` + `grace`.
//!
//! Nothing probes a push check: its state comes from the beats that reach
//! the master (`engine::push` decides). Its secret is a push token of 256
//! random bits, shown once as the URL path `/push/<token>`; the replicated
//! state keeps only its `sha256:` ([`PushProbe::token_hash`], like API
//! tokens in `state::api_token`), so a snapshot or a backup holds no usable
//! URL. The hash is the cluster's, not the operator's: the documents that
//! describe a check ([`ProbeFields`](super::ProbeFields): `qu check add`,
//! declaration files, `qu export`) never carry it, a change of the other
//! settings keeps it, and `qu check push-url <name> --rotate` replaces it.
//! A push check needs state level 6: an older node cannot read the kind.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ClusterState;
use super::api_token::hash_secret;
use crate::error::{Error, Result};
use crate::state::duration::{self, in_range};
use crate::state::model::Check;

/// Shortest and longest `period` (a beat at least every second, at most
/// every 35 days: a monthly job).
pub const PERIOD_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(35 * 86_400));
/// Shortest and longest `grace`.
pub const GRACE_RANGE: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(35 * 86_400));
/// The path prefix of a push URL on the web listener.
pub const PUSH_PATH: &str = "/push/";
/// Length of a push token's text (256 bits as hex).
pub const TOKEN_LEN: usize = 64;

/// A push check: up while beats arrive, down when none came within
/// `period` + `grace` or a beat reports a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushProbe {
    /// The longest expected time between two beats (the job's schedule:
    /// `24h` for a nightly job). Required.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub period: Option<Duration>,
    /// How much later than `period` a beat may come before the check is
    /// down (the job's run time); default 0.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration::opt"
    )]
    pub grace: Option<Duration>,
    /// `sha256:<hex>` of the push token; set by the cluster, never by a
    /// document (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
}

impl PushProbe {
    /// The target is empty (the job calls the check); `period` is set and
    /// both durations within their bounds.
    pub fn validate(&self, target: &str) -> Result<()> {
        if !target.is_empty() {
            return Err(Error::invalid_field(
                "target",
                "a push check has no target: the job calls the check's push URL; leave the \
                 target out",
            ));
        }
        let Some(period) = self.period else {
            return Err(Error::invalid_field(
                "period",
                "a push check needs a period, the longest time between two beats (--period 24h)",
            ));
        };
        in_range("period", period, PERIOD_RANGE, "24h or 5m")
            .map_err(|e| e.with_field("period"))?;
        in_range("grace", self.grace(), GRACE_RANGE, "1h or 30s")
            .map_err(|e| e.with_field("grace"))?;
        if let Some(h) = &self.token_hash {
            let hex = h.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::invalid_field(
                    "token_hash",
                    "a push token hash is sha256:<64 hex digits>",
                ));
            }
        }
        Ok(())
    }

    /// The period (1 day when unset; validation requires one).
    pub fn period(&self) -> Duration {
        self.period.unwrap_or(Duration::from_secs(86_400))
    }

    /// The grace (0 when unset).
    pub fn grace(&self) -> Duration {
        self.grace.unwrap_or(Duration::ZERO)
    }

    /// The state level the kind needs: 6.
    pub fn level(&self) -> u32 {
        6
    }

    /// Whether `token` (the URL's text) is this check's token; compared in
    /// constant time.
    pub fn matches(&self, token_hash: &str) -> bool {
        let Some(want) = &self.token_hash else {
            return false;
        };
        let (a, b) = (want.as_bytes(), token_hash.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// A fresh push token: its text (64 hex digits, shown once) and the hash
/// to replicate.
pub fn new_token() -> Result<(String, String)> {
    let text = crate::secret::generate()?;
    let hash = hash_secret(&text);
    Ok((text, hash))
}

/// The URL path of a push token.
pub fn push_path(token: &str) -> String {
    format!("{PUSH_PATH}{token}")
}

/// Whether `text` is shaped like a push token (so a wrong one is refused
/// before it is hashed).
pub fn token_shaped(text: &str) -> bool {
    text.len() == TOKEN_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ClusterState {
    /// The enabled or disabled push check whose token is `token`: every
    /// push check's hash is compared in constant time, with no early exit,
    /// so the time taken says nothing about how close a guess was.
    pub fn find_push(&self, token: &str) -> Option<&Check> {
        if !token_shaped(token) {
            return None;
        }
        let hash = hash_secret(&token.to_ascii_lowercase());
        let mut found = None;
        for check in self.checks.values() {
            if let super::Probe::Push(p) = &check.probe
                && p.matches(&hash)
                && found.is_none()
            {
                found = Some(check);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::CheckType;

    fn push(period: Option<u64>, grace: Option<u64>) -> PushProbe {
        PushProbe {
            period: period.map(Duration::from_secs),
            grace: grace.map(Duration::from_secs),
            token_hash: None,
        }
    }

    #[test]
    fn period_is_required_and_bounded_and_the_target_empty() {
        push(Some(86_400), Some(3600)).validate("").expect("valid");
        let e = push(None, None).validate("").expect_err("no period");
        assert_eq!(e.field(), Some("period"), "{e}");
        assert!(e.message().contains("--period"), "{e}");
        let e = push(Some(0), None).validate("").expect_err("zero");
        assert_eq!(e.field(), Some("period"), "{e}");
        let e = push(Some(60), Some(40 * 86_400))
            .validate("")
            .expect_err("grace");
        assert_eq!(e.field(), Some("grace"), "{e}");
        let e = push(Some(60), None)
            .validate("http://x/")
            .expect_err("target");
        assert_eq!(e.field(), Some("target"), "{e}");
    }

    #[test]
    fn a_token_is_found_by_its_text_only() {
        let (text, hash) = new_token().expect("token");
        assert!(token_shaped(&text));
        let mut state = ClusterState::default();
        let mut c = Check::blank(CheckType::Push);
        c.id = "c1".into();
        c.name = "backup".into();
        c.probe = crate::state::Probe::Push(PushProbe {
            token_hash: Some(hash),
            ..push(Some(60), None)
        });
        c.validate().expect("valid");
        state.checks.insert(c.id.clone(), c);
        assert_eq!(
            state.find_push(&text).map(|c| c.name.as_str()),
            Some("backup")
        );
        let (other, _) = new_token().expect("token");
        assert!(state.find_push(&other).is_none());
        assert!(state.find_push("short").is_none());
        assert!(state.find_push(&"z".repeat(64)).is_none());
    }

    #[test]
    fn the_hash_is_the_clusters_level_6_kept_by_edits_and_out_of_documents() {
        let (_, hash) = new_token().expect("token");
        let mut c = Check::blank(CheckType::Push);
        c.name = "backup".into();
        c.probe = crate::state::Probe::Push(PushProbe {
            token_hash: Some(hash.clone()),
            ..push(Some(60), None)
        });
        let add = crate::state::Mutation::AddCheck { check: c.clone() };
        assert_eq!(add.required_level(), 6);
        let fields = crate::state::ProbeFields::of(&c.probe);
        assert_eq!(fields.push.token_hash, None, "documents never carry it");
        let mut changes = serde_json::Map::new();
        changes.insert("grace".into(), "30s".into());
        let patched = crate::state::ProbeFields::patch(&c.probe, &changes).expect("patch");
        let crate::state::Probe::Push(p) = patched else {
            panic!("kind changed");
        };
        assert_eq!(p.grace, Some(Duration::from_secs(30)));
        assert_eq!(p.token_hash.as_deref(), Some(hash.as_str()), "kept");
        let mut given = crate::state::ProbeFields::default();
        given.push.token_hash = Some(hash);
        let e = given.into_probe(CheckType::Push).expect_err("a given hash");
        assert_eq!(e.field(), Some("token_hash"), "{e}");
        let mut stray = crate::state::ProbeFields::default();
        stray.push.period = Some(Duration::from_secs(60));
        let e = stray.into_probe(CheckType::Tcp).expect_err("period on tcp");
        assert!(
            e.message().contains("period applies to push checks only"),
            "{e}"
        );
    }
}
