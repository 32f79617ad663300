//! `trust.yaml`: the on-disk form of the local trust store.
//!
//! Which keys this node accepts as which nodes must survive restarts and
//! crashes exactly, so the file is written with [`super::write_atomic`]
//! (mode 0600) and checked when read: a malformed fingerprint or a node
//! listed twice is refused with the entry named, rather than silently
//! trusting the wrong key or none. The layout is the original `qu`'s
//! (`entries:` with `node_id`, `address`, `fingerprint`, `cert_pem`,
//! `added_at`), plus a `schema` number; the Go `qu`'s unused
//! `public_key_pem` is accepted on load and dropped. The in-memory store and
//! its policy live in [`crate::trust`]; this module is only the file.

use std::collections::HashSet;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{SCHEMA_VERSION, ensure_dir, legacy_schema, save_yaml};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::{Fingerprint, NodeId};
use crate::paths::TRUST_FILE;

/// One trusted peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawEntry")]
pub struct TrustEntry {
    /// The peer's NodeId.
    pub node_id: String,
    /// Where the peer was last known to listen (`host:port`).
    pub address: String,
    /// `sha256:<64 lowercase hex>` of the peer's public key (SPKI DER).
    pub fingerprint: String,
    /// The peer's certificate in PEM (stored as `cert_pem`; may be empty in
    /// files written by the Go `qu`).
    #[serde(rename = "cert_pem")]
    pub cert: String,
    /// When this node first trusted the peer, RFC 3339 UTC (may be empty).
    pub added_at: String,
}

/// What a `trust.yaml` entry may contain, including the Go `qu`'s fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    node_id: String,
    #[serde(default)]
    address: String,
    fingerprint: String,
    #[serde(default)]
    cert_pem: String,
    /// Written (always empty) by the Go `qu`; the certificate has the key.
    #[serde(default, rename = "public_key_pem")]
    _public_key_pem: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    added_at: String,
}

impl From<RawEntry> for TrustEntry {
    fn from(raw: RawEntry) -> TrustEntry {
        TrustEntry {
            node_id: raw.node_id,
            address: raw.address,
            fingerprint: raw.fingerprint,
            cert: raw.cert_pem,
            added_at: raw.added_at,
        }
    }
}

/// The content of `trust.yaml` (mode 0600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// File schema; 1 when the file has none (written by the Go `qu`).
    #[serde(default = "legacy_schema")]
    pub schema: u32,
    /// The trusted peers, in file order.
    #[serde(default)]
    pub entries: Vec<TrustEntry>,
}

impl Default for TrustFile {
    fn default() -> TrustFile {
        TrustFile {
            schema: SCHEMA_VERSION,
            entries: Vec::new(),
        }
    }
}

/// The current time as RFC 3339 UTC to the second, for
/// [`TrustEntry::added_at`].
pub fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl TrustFile {
    /// Load `dir/trust.yaml`; a missing file is an empty trust store.
    /// Fingerprints in uppercase hex are accepted and normalised; any other
    /// malformed entry is an [`ErrorKind::Config`] error naming it.
    pub fn load(dir: &Path) -> Result<TrustFile> {
        let path = dir.join(TRUST_FILE);
        match crate::store::read_file(&path)? {
            Some(text) => TrustFile::parse(&path, &text),
            None => Ok(TrustFile::default()),
        }
    }

    /// Parse and check the text of a `trust.yaml` (`path` names it in
    /// errors): what [`TrustFile::load`] does once the file is read.
    pub fn parse(path: &Path, text: &str) -> Result<TrustFile> {
        let mut file: TrustFile = crate::store::parse_yaml(path, text)?;
        for entry in &mut file.entries {
            if let Ok(fp) = Fingerprint::parse(&entry.fingerprint) {
                entry.fingerprint = fp.to_string();
            }
        }
        file.validate().map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{}: {}; fix or remove that entry by hand, or restore the file \
                     from a backup",
                    path.display(),
                    e.message()
                ),
            )
        })?;
        Ok(file)
    }

    /// Write `dir/trust.yaml` atomically and durably with mode 0600,
    /// creating `dir` (mode 0700) if it does not exist. An invalid file is
    /// refused ([`ErrorKind::InvalidInput`]) and the old one left as it was.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.validate()?;
        if !dir.is_dir() {
            ensure_dir(dir, 0o700)?;
        }
        save_yaml(&dir.join(TRUST_FILE), self, 0o600)
    }

    /// Check every entry: a valid NodeId listed once, a fingerprint of the
    /// form `sha256:<64 lowercase hex>`, and `added_at` empty or RFC 3339
    /// UTC. The error names the offending entry.
    pub fn validate(&self) -> Result<()> {
        if self.schema == 0 || self.schema > SCHEMA_VERSION {
            return Err(Error::invalid(format!(
                "schema: {} is not a schema this qu writes (1 to {SCHEMA_VERSION})",
                self.schema
            )));
        }
        let mut seen = HashSet::new();
        for (i, e) in self.entries.iter().enumerate() {
            let at = |why: String| {
                Error::invalid(format!("entry {} (node {:?}): {why}", i + 1, e.node_id))
            };
            NodeId::new(e.node_id.as_str()).map_err(|err| at(err.message().to_owned()))?;
            if !seen.insert(e.node_id.as_str()) {
                return Err(at("this node is listed more than once".to_owned()));
            }
            if !is_canonical_fingerprint(&e.fingerprint) {
                return Err(at(format!(
                    "fingerprint {:?} is malformed: expected sha256: followed by 64 \
                     lowercase hex digits",
                    e.fingerprint
                )));
            }
            if !e.added_at.is_empty() && humantime::parse_rfc3339(&e.added_at).is_err() {
                return Err(at(format!(
                    "added_at {:?} is not an RFC 3339 UTC time such as 2026-05-15T07:17:28Z",
                    e.added_at
                )));
            }
        }
        Ok(())
    }
}

/// Whether `s` is `sha256:` followed by exactly 64 lowercase hex digits.
pub fn is_canonical_fingerprint(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const FP_A: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const FP_B: &str = "sha256:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbC+/=\n\
                       -----END CERTIFICATE-----\n";

    fn entry(id: &str, fp: &str) -> TrustEntry {
        TrustEntry {
            node_id: id.into(),
            address: "[2001:db8::1]:9901".into(),
            fingerprint: fp.into(),
            cert: PEM.into(),
            added_at: "2026-05-15T07:17:28Z".into(),
        }
    }

    fn write(dir: &Path, text: &str) {
        std::fs::write(dir.join(TRUST_FILE), text).unwrap();
    }

    #[test]
    fn missing_file_is_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(TrustFile::load(dir.path()).unwrap(), TrustFile::default());
    }

    #[test]
    fn round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = TrustFile::default();
        file.entries.push(entry("node-b", FP_B));
        file.entries.push(entry("0123", FP_A));
        file.entries[1].cert = String::new();
        file.entries[1].added_at = rfc3339_now();
        file.save(dir.path()).unwrap();
        assert_eq!(TrustFile::load(dir.path()).unwrap(), file);
        let meta = std::fs::metadata(dir.path().join(TRUST_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        TrustFile::default().save(dir.path()).unwrap();
        assert!(TrustFile::load(dir.path()).unwrap().entries.is_empty());
    }

    #[test]
    fn loads_a_file_written_by_the_go_qu() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "entries:\n    - node_id: 3f2a1c9e-0b6d-4e59-9d1a-8c7b6a5f4e3d\n      \
             address: 10.0.0.2:9901\n      fingerprint: {FP_A}\n      public_key_pem: \"\"\n      \
             cert_pem: |\n        -----BEGIN CERTIFICATE-----\n        MIIB\n        \
             -----END CERTIFICATE-----\n      added_at: 2026-05-15T07:17:28.123456789Z\n"
        );
        write(dir.path(), &text);
        let file = TrustFile::load(dir.path()).unwrap();
        assert_eq!(file.schema, 1);
        let e = &file.entries[0];
        assert_eq!(e.address, "10.0.0.2:9901");
        assert_eq!(e.fingerprint, FP_A);
        assert_eq!(
            e.cert,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(e.added_at, "2026-05-15T07:17:28.123456789Z");
    }

    #[test]
    fn uppercase_fingerprints_are_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let upper = FP_A.replace("aabb", "AABB");
        write(
            dir.path(),
            &format!("schema: 1\nentries:\n- node_id: a\n  fingerprint: {upper}\n"),
        );
        assert_eq!(
            TrustFile::load(dir.path()).unwrap().entries[0].fingerprint,
            FP_A
        );
    }

    #[test]
    fn malformed_entries_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needles) in [
            (
                "entries:\n- node_id: a\n  fingerprint: sha256:abc\n".to_owned(),
                &["entry 1", "\"a\"", "fingerprint"][..],
            ),
            (
                "entries:\n- node_id: a\n  fingerprint: md5:00\n".to_owned(),
                &["fingerprint"][..],
            ),
            (
                format!(
                    "entries:\n- {{node_id: a, fingerprint: {FP_A}}}\n- {{node_id: a, fingerprint: {FP_B}}}\n"
                ),
                &["entry 2", "more than once"][..],
            ),
            (
                format!("entries:\n- {{node_id: a, fingerprint: {FP_A}, added_at: yesterday}}\n"),
                &["added_at"][..],
            ),
            (
                format!("entries:\n- node_id: a\n  fingerprint: {FP_A}\n  cert: x\n"),
                &["unknown field `cert`", "line 4"][..],
            ),
            ("entries: [\n".to_owned(), &["line"][..]),
        ] {
            write(dir.path(), &text);
            let err = TrustFile::load(dir.path()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{text}: {err}");
            let msg = err.to_string();
            assert!(msg.contains("trust.yaml"), "{msg}");
            for needle in needles {
                assert!(msg.contains(needle), "{text}: {msg}");
            }
        }
    }

    #[test]
    fn newer_schema_is_refused_and_the_file_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let text = "schema: 7\nentries: []\nrevoked: []\n";
        write(dir.path(), text);
        let err = TrustFile::load(dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        assert!(err.to_string().contains("schema 7"), "{err}");
        let after = std::fs::read_to_string(dir.path().join(TRUST_FILE)).unwrap();
        assert_eq!(after, text);
    }

    #[test]
    fn save_refuses_invalid_entries_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = TrustFile::default();
        file.entries.push(entry("a", FP_A));
        file.save(dir.path()).unwrap();
        let before = std::fs::read(dir.path().join(TRUST_FILE)).unwrap();
        file.entries.push(entry("b", &FP_B.to_uppercase()));
        let err = file.save(dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("entry 2"), "{err}");
        assert_eq!(std::fs::read(dir.path().join(TRUST_FILE)).unwrap(), before);
    }
}
