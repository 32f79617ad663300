//! A check's decision policy: how many rounds before its state changes,
//! how many judging nodes must agree, and which nodes judge it (a label
//! selector over the members' labels).
//!
//! The defaults are the rules of earlier releases (2 rounds each way, a
//! majority of the voters, every voter judging), and a check that keeps
//! them serializes exactly as before; a check that changes any of them
//! needs state level 4 ([`Policy::level`]), so a node too old to honour
//! the policy is never sent one it would silently ignore.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::fields::excerpt;

/// Rounds to go down and to come back when a check does not say.
pub const DEFAULT_ROUNDS: u32 = 2;
/// Fewest and most rounds of `fail_after` and `recover_after`.
pub const ROUNDS_RANGE: (u32, u32) = (1, 20);
/// Most labels on one node, and most `k=v` terms in a check's selector.
pub const MAX_LABELS: usize = 16;
/// Longest label key and value.
pub const MAX_LABEL_TEXT: usize = 63;
/// The state level a check with a non-default policy, or a member with
/// labels, needs.
pub const POLICY_LEVEL: u32 = 4;

/// A node's labels (`region=eu`), and a check's selector over them.
pub type Labels = BTreeMap<String, String>;

/// How many judging nodes must see a failure for a DOWN verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Quorum {
    /// More than half of the judging nodes (the rule of earlier releases).
    #[default]
    Majority,
    /// At least this many judging nodes (≥ 1).
    AtLeast(u32),
    /// Every judging node.
    All,
    /// Any one judging node.
    Any,
}

impl Quorum {
    /// The default, `majority`.
    pub fn is_majority(&self) -> bool {
        *self == Quorum::Majority
    }
}

impl fmt::Display for Quorum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quorum::Majority => f.write_str("majority"),
            Quorum::AtLeast(k) => write!(f, "at-least {k}"),
            Quorum::All => f.write_str("all"),
            Quorum::Any => f.write_str("any"),
        }
    }
}

impl FromStr for Quorum {
    type Err = Error;
    /// `majority`, `all`, `any`, `at-least K` (also `at-least=K`).
    fn from_str(s: &str) -> Result<Quorum> {
        let bad = || {
            Error::invalid(format!(
                "quorum {}: use majority, all, any or at-least K (K from 1)",
                excerpt(s)
            ))
        };
        match s.trim() {
            "majority" => Ok(Quorum::Majority),
            "all" => Ok(Quorum::All),
            "any" => Ok(Quorum::Any),
            t => {
                let k = t
                    .strip_prefix("at-least")
                    .map(|r| r.trim_start_matches([' ', '=']))
                    .ok_or_else(bad)?;
                match k.parse::<u32>() {
                    Ok(k) if k >= 1 => Ok(Quorum::AtLeast(k)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl TryFrom<String> for Quorum {
    type Error = Error;
    fn try_from(s: String) -> Result<Quorum> {
        s.parse()
    }
}

impl From<Quorum> for String {
    fn from(q: Quorum) -> String {
        q.to_string()
    }
}

/// A check's decision policy (flat in the check, each field left out when
/// it is the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Equal DOWN verdicts in a row before the check goes down (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_after: Option<u32>,
    /// Equal UP verdicts in a row before the check comes back (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_after: Option<u32>,
    /// How many judging nodes must fail for DOWN.
    #[serde(default, skip_serializing_if = "Quorum::is_majority")]
    pub quorum: Quorum,
    /// Only voters with all these labels judge (and probe) the check.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: Labels,
}

impl Policy {
    /// Rounds before DOWN (and UNKNOWN).
    pub fn fail_rounds(&self) -> u32 {
        self.fail_after.unwrap_or(DEFAULT_ROUNDS)
    }

    /// Rounds before UP.
    pub fn recover_rounds(&self) -> u32 {
        self.recover_after.unwrap_or(DEFAULT_ROUNDS)
    }

    /// Whether every field has its default.
    pub fn is_default(&self) -> bool {
        *self == Policy::default()
    }

    /// The state level a check with this policy needs.
    pub fn level(&self) -> u32 {
        if self.is_default() { 1 } else { POLICY_LEVEL }
    }

    /// Whether a node with `labels` is selected by `nodes`.
    pub fn selects(&self, labels: &Labels) -> bool {
        self.nodes.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Check the bounds; the error names the field.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("fail_after", self.fail_after),
            ("recover_after", self.recover_after),
        ] {
            if let Some(n) = v
                && !(ROUNDS_RANGE.0..=ROUNDS_RANGE.1).contains(&n)
            {
                return Err(Error::invalid(format!(
                    "{field} {n}: use {} to {} rounds",
                    ROUNDS_RANGE.0, ROUNDS_RANGE.1
                )));
            }
        }
        if let Quorum::AtLeast(0) = self.quorum {
            return Err(Error::invalid("quorum at-least 0: use at-least 1 or more"));
        }
        validate_labels("nodes", &self.nodes)
    }
}

/// Check a set of labels: at most [`MAX_LABELS`], keys of 1 to 63
/// characters from `a-z 0-9 . _ -` starting with a letter or digit, values
/// of 1 to 63 characters from `A-Z a-z 0-9 . _ -`.
pub fn validate_labels(what: &str, labels: &Labels) -> Result<()> {
    if labels.len() > MAX_LABELS {
        return Err(Error::invalid(format!(
            "{what}: {} labels, over the limit of {MAX_LABELS}",
            labels.len()
        )));
    }
    for (k, v) in labels {
        let key_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        let value_ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if k.is_empty()
            || k.len() > MAX_LABEL_TEXT
            || !k.chars().all(key_ok)
            || !k.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            return Err(Error::invalid(format!(
                "{what}: label key {}: use 1 to {MAX_LABEL_TEXT} characters from a-z, 0-9, \
                 '.', '_' and '-', starting with a letter or digit",
                excerpt(k)
            )));
        }
        if v.is_empty() || v.len() > MAX_LABEL_TEXT || !v.chars().all(value_ok) {
            return Err(Error::invalid(format!(
                "{what}: label {k}={}: use a value of 1 to {MAX_LABEL_TEXT} characters from \
                 A-Z, a-z, 0-9, '.', '_' and '-'",
                excerpt(v)
            )));
        }
    }
    Ok(())
}

impl crate::state::ClusterState {
    /// Apply `SetNodeLabels`: the member must exist, the labels be valid.
    pub(super) fn set_node_labels(
        &mut self,
        node: &crate::identity::NodeId,
        labels: &Labels,
    ) -> Result<Option<String>> {
        validate_labels("labels", labels)?;
        let peer = self.peers.get_mut(node).ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::NotFound,
                format!("node {node} is not a member: list them with `qu node list`"),
            )
        })?;
        peer.labels = labels.clone();
        Ok(Some(node.to_string()))
    }
}

/// Parse `k=v` terms (`region=eu`) into labels, validated.
pub fn parse_labels<S: AsRef<str>>(what: &str, terms: &[S]) -> Result<Labels> {
    let mut out = Labels::new();
    for t in terms {
        let t = t.as_ref();
        let (k, v) = t.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "{what}: {}: write a label as key=value",
                excerpt(t)
            ))
        })?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    validate_labels(what, &out)?;
    Ok(out)
}

/// `current` with the `k=v` terms of `set` set and the keys of `remove`
/// removed, validated.
pub fn relabel<S: AsRef<str>>(current: &Labels, set: &[S], remove: &[S]) -> Result<Labels> {
    let mut out = current.clone();
    for k in remove {
        out.remove(k.as_ref().trim());
    }
    out.extend(parse_labels("labels", set)?);
    validate_labels("labels", &out)?;
    Ok(out)
}

/// Labels as `k=v,k=v` (empty when none), for tables.
pub fn format_labels(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_texts_round_trip_and_bad_ones_are_refused() {
        for (text, q) in [
            ("majority", Quorum::Majority),
            ("all", Quorum::All),
            ("any", Quorum::Any),
            ("at-least 2", Quorum::AtLeast(2)),
        ] {
            assert_eq!(text.parse::<Quorum>().unwrap(), q);
            assert_eq!(q.to_string(), text);
        }
        assert_eq!("at-least=3".parse::<Quorum>().unwrap(), Quorum::AtLeast(3));
        for bad in [
            "",
            "most",
            "at-least 0",
            "at-least",
            "at-least -1",
            "at-least x",
        ] {
            let e = bad.parse::<Quorum>().unwrap_err();
            assert!(e.message().contains("at-least K"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_default_policy_is_invisible_and_needs_no_new_level() {
        let p = Policy::default();
        assert_eq!(serde_json::to_string(&p).unwrap(), "{}");
        assert_eq!(p.level(), 1);
        assert_eq!((p.fail_rounds(), p.recover_rounds()), (2, 2));
        let p = Policy {
            quorum: Quorum::AtLeast(2),
            ..Policy::default()
        };
        assert_eq!(p.level(), POLICY_LEVEL);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"quorum":"at-least 2"}"#
        );
    }

    #[test]
    fn bounds_are_checked_and_name_the_field() {
        let p = Policy {
            fail_after: Some(21),
            ..Policy::default()
        };
        assert!(
            p.validate()
                .unwrap_err()
                .message()
                .contains("fail_after 21")
        );
        let p = Policy {
            recover_after: Some(0),
            ..Policy::default()
        };
        assert!(
            p.validate()
                .unwrap_err()
                .message()
                .contains("recover_after")
        );
        let e = parse_labels("nodes", &["Region=eu"]).unwrap_err();
        assert!(e.message().contains("label key"), "{e}");
        let e = parse_labels("nodes", &["region=e u"]).unwrap_err();
        assert!(e.message().contains("region="), "{e}");
        let e = parse_labels("nodes", &["region"]).unwrap_err();
        assert!(e.message().contains("key=value"), "{e}");
        let many: Vec<String> = (0..17).map(|i| format!("k{i}=v")).collect();
        assert!(parse_labels("labels", &many).is_err());
    }

    #[test]
    fn a_selector_needs_every_term_to_match() {
        let p = Policy {
            nodes: parse_labels("nodes", &["region=eu", "tier=1"]).unwrap(),
            ..Policy::default()
        };
        let eu1 = parse_labels("l", &["region=eu", "tier=1", "x=y"]).unwrap();
        let eu2 = parse_labels("l", &["region=eu", "tier=2"]).unwrap();
        assert!(p.selects(&eu1));
        assert!(!p.selects(&eu2));
        assert!(!p.selects(&Labels::new()));
        assert!(Policy::default().selects(&Labels::new()));
    }
}
