//! Reading a channel's free-form settings (`BTreeMap<String, String>` in
//! the replicated state) into typed values, with errors that name the
//! setting and the accepted form, and masking the secrets among them
//! before anything is shown or logged.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::state::fields::excerpt;
use crate::state::{AlertChannel, duration};

use super::message::{BODY_TEMPLATE, SUBJECT_TEMPLATE};
use super::template;

/// Longest `headers` JSON of a webhook channel (here, with the other
/// bounds on settings, so the notifiers depend on this file, not it on them).
pub const MAX_HEADERS: usize = 8 << 10;

/// The SMTP setting that permits AUTH over a plain connection.
pub(crate) const ALLOW_PLAIN_AUTH: &str = "allow_plain_auth";

/// Delivery timeout when a channel sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest timeout a channel may set.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Keys every channel type accepts.
pub(crate) const COMMON_KEYS: [&str; 3] = [SUBJECT_TEMPLATE, BODY_TEMPLATE, "timeout"];

/// What masked secrets look like.
pub const MASK: &str = "****";

/// Longest setting name (every known one is far shorter).
pub const MAX_KEY: usize = 64;
/// Longest setting value, other than templates
/// ([`MAX_TEMPLATE`](super::template::MAX_TEMPLATE)) and webhook headers
/// ([`MAX_HEADERS`]).
pub const MAX_VALUE: usize = 2048;

/// A secret setting's value: usable, never shown by `Debug`.
#[derive(Clone)]
pub(crate) struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

/// A channel's settings, read on behalf of the notifier of type `kind`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings<'a> {
    kind: &'static str,
    map: &'a BTreeMap<String, String>,
}

impl<'a> Settings<'a> {
    pub(crate) fn new(kind: &'static str, map: &'a BTreeMap<String, String>) -> Settings<'a> {
        Settings { kind, map }
    }

    /// An error about setting `key`: `smtp setting port: …`.
    pub(crate) fn error(&self, key: &str, what: impl std::fmt::Display) -> Error {
        Error::invalid(format!("{} setting {key}: {what}", self.kind))
    }

    /// The value of `key`, trimmed; `None` when absent or blank.
    pub(crate) fn get(&self, key: &str) -> Option<&'a str> {
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key` exactly as written.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a str> {
        self.map.get(key).map(String::as_str)
    }

    /// The value of `key`, which must be set; `form` says what it looks like.
    pub(crate) fn required(&self, key: &str, form: &str) -> Result<&'a str> {
        self.get(key)
            .ok_or_else(|| self.error(key, format!("missing: set it to {form}")))
    }

    /// Refuse keys outside `own` and the common ones: a typo such as
    /// `passwrod` must not silently send unauthenticated mail. Checked
    /// when a channel is configured, not at send time (an alert is never
    /// held back by a key a newer version added).
    pub(crate) fn only(&self, own: &[&str]) -> Result<()> {
        for key in self.map.keys() {
            if key.len() > MAX_KEY {
                return Err(Error::invalid(format!(
                    "{} channels have no setting {}: use {}",
                    self.kind,
                    excerpt(key),
                    own.join(", ")
                )));
            }
            if !own.contains(&key.as_str()) && !COMMON_KEYS.contains(&key.as_str()) {
                let mut all: Vec<&str> = own.to_vec();
                all.extend(COMMON_KEYS);
                return Err(Error::invalid(format!(
                    "{} channels have no setting {key:?}: use {}",
                    self.kind,
                    all.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Refuse a value over its limit: templates [`template::MAX_TEMPLATE`],
    /// `headers` [`MAX_HEADERS`], the rest [`MAX_VALUE`]
    /// bytes. Checked before any value is parsed.
    pub(crate) fn sizes(&self) -> Result<()> {
        for (key, value) in self.map {
            let max = match key.as_str() {
                SUBJECT_TEMPLATE | BODY_TEMPLATE => template::MAX_TEMPLATE,
                "headers" => MAX_HEADERS,
                super::provider::CA => super::provider::MAX_CA,
                _ => MAX_VALUE,
            };
            if value.len() > max {
                return Err(self.error(
                    key,
                    format!("{} bytes, over the limit of {max}: shorten it", value.len()),
                ));
            }
        }
        Ok(())
    }

    /// Refuse malformed templates (at send time they fall back to the
    /// default rendering instead).
    pub(crate) fn templates(&self) -> Result<()> {
        for key in [SUBJECT_TEMPLATE, BODY_TEMPLATE] {
            if let Some(t) = self.map.get(key) {
                template::check(t).map_err(|e| self.error(key, e))?;
            }
        }
        Ok(())
    }

    /// The `timeout` setting (a duration such as `10s`), bounding one whole
    /// delivery; [`DEFAULT_TIMEOUT`] when unset.
    pub(crate) fn timeout(&self) -> Result<Duration> {
        let Some(text) = self.get("timeout") else {
            return Ok(DEFAULT_TIMEOUT);
        };
        let d = duration::parse(text).map_err(|e| self.error("timeout", e.message()))?;
        if d.is_zero() || d > MAX_TIMEOUT {
            return Err(self.error(
                "timeout",
                format!("{text:?} is out of range: use a duration from 1ms to 10m, such as 30s"),
            ));
        }
        Ok(d)
    }
}

/// `channel`'s settings fit to show: passwords, secrets, tokens and keys,
/// ntfy topics, token-like header values and the paths and queries of
/// URLs (which carry webhook tokens) replaced by `****`. Everything else is shown as it is.
pub fn masked_settings(channel: &AlertChannel) -> BTreeMap<String, String> {
    channel
        .settings
        .iter()
        .map(|(k, v)| {
            let shown = match k.as_str() {
                "webhook" | "url" | "base_url" => mask_url(v),
                "headers" => mask_headers(v),
                // On a public ntfy server the topic name is the password.
                "topic" => MASK.to_string(),
                // A permission, not a secret (its name holds "auth").
                ALLOW_PLAIN_AUTH => v.clone(),
                key if is_secret_name(key) => MASK.to_string(),
                _ => v.clone(),
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Names of settings and headers whose values are secrets.
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "authorization",
        "auth",
        "key",
        "cookie",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// `https://discord.com/****`: scheme and host (and port) kept, user info,
/// path and query masked. Text that is not a URL is masked whole.
pub(crate) fn mask_url(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(u) if u.host_str().is_some() => {
            let host = u.host_str().unwrap_or_default();
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let hidden = u.path() != "/" || u.query().is_some() || !u.username().is_empty();
            let tail = if hidden { MASK } else { "" };
            format!("{}://{host}{port}/{tail}", u.scheme())
        }
        _ => MASK.to_string(),
    }
}

/// Header JSON with the values of secret-looking headers masked; text that
/// is not a JSON object is masked whole.
fn mask_headers(text: &str) -> String {
    match serde_json::from_str::<BTreeMap<String, String>>(text) {
        Ok(map) => {
            let masked: BTreeMap<String, String> = map
                .into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(&k) {
                        MASK.to_string()
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect();
            serde_json::to_string(&masked).unwrap_or_else(|_| MASK.to_string())
        }
        Err(_) => MASK.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_scheme_and_host_only() {
        assert_eq!(
            mask_url("https://discord.com/api/webhooks/123/abcSECRET"),
            "https://discord.com/****"
        );
        assert_eq!(
            mask_url("http://user:pw@127.0.0.1:8080/hook?token=x"),
            "http://127.0.0.1:8080/****"
        );
        assert_eq!(mask_url("https://hooks.test/"), "https://hooks.test/");
        assert_eq!(mask_url("not a url with a secret"), MASK);
    }

    #[test]
    fn timeouts_are_bounded() {
        let mut map = BTreeMap::new();
        let s = Settings::new("smtp", &map);
        assert_eq!(s.timeout().expect("default"), DEFAULT_TIMEOUT);
        map.insert("timeout".to_string(), "2h".to_string());
        let err = Settings::new("smtp", &map).timeout().expect_err("too long");
        assert!(
            err.to_string().starts_with("smtp setting timeout:"),
            "{err}"
        );
    }
}
