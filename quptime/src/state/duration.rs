//! Durations in the Go syntax operators know from the original `qu`
//! (`5s`, `1m30s`, `2h`, `250ms`), for the CLI and for files.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

use crate::error::{Error, Result};

/// Parse `5s`, `1m30s`, `2h`, `250ms`; a clear error names the accepted form.
pub fn parse(s: &str) -> Result<Duration> {
    let t = s.trim();
    let bad = || {
        Error::invalid(format!(
            "{s:?} is not a duration: use a number with a unit, such as 500ms, 30s, 1m30s or 2h"
        ))
    };
    if t.is_empty() || t.starts_with('-') {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(value * scale).map_err(|_| bad())?;
    }
    Ok(total)
}

/// Format compactly: `30s`, `1m30s`, `250ms`, `2h`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// serde: serialize as the compact text.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// serde: accept the text form.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

/// serde for `Option<Duration>` in the same text form.
pub mod opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize `Some` as text (callers skip `None`).
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Accept text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations() {
        assert_eq!(parse("5s").expect("5s"), Duration::from_secs(5));
        assert_eq!(parse("1m30s").expect("1m30s"), Duration::from_secs(90));
        assert_eq!(parse("2h").expect("2h"), Duration::from_secs(7200));
        assert_eq!(parse("250ms").expect("ms"), Duration::from_millis(250));
        assert_eq!(parse("1.5s").expect("1.5s"), Duration::from_millis(1500));
        for bad in ["", "5", "s", "-5s", "5 parsecs", "1m30"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for d in ["30s", "1m30s", "2h", "250ms", "1h0m1s"] {
            let parsed = parse(d).expect(d);
            assert_eq!(parse(&format(parsed)).expect("round"), parsed);
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
    }
}
