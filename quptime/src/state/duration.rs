//! Durations in the Go syntax operators know from the original `qu`
//! (`5s`, `1m30s`, `2h`, `250ms`), for the CLI and for files.
//!
//! Every step is checked: a term or a sum too large for a [`Duration`]
//! (or over Go's own bound, [`MAX`]) is refused with an error, never a
//! panic or a wrap-around, and [`millis`] converts without truncating, so
//! `18446744073709552s` can never turn into a few hundred milliseconds.
//! Each field then applies its own, much smaller, bound.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

use crate::error::{Error, Result};

/// The longest duration the syntax accepts: Go's limit (2^63 - 1 ns,
/// about 292 years). Fields have far smaller bounds of their own.
pub const MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// Longest duration text read (a longer one is refused unread).
pub const MAX_TEXT: usize = 64;

/// Why a text is not a duration.
enum Bad {
    /// Not the syntax.
    Syntax,
    /// The syntax, but over [`MAX`] (or too large for a `Duration`).
    TooLong,
    /// Longer than [`MAX_TEXT`] characters.
    TooManyChars(usize),
}

/// Parse `5s`, `1m30s`, `2h`, `250ms`; a clear error names the accepted form.
pub fn parse(s: &str) -> Result<Duration> {
    scan(s).map_err(|bad| match bad {
        Bad::TooLong => Error::invalid(format!(
            "{} is too long a duration: the syntax allows at most {}h (about 292 years), \
             and each setting has a smaller bound of its own",
            shown(s),
            MAX.as_secs() / 3600
        )),
        bad => explain(s, bad),
    })
}

/// Parse a duration for setting `what`, which must lie in `range`; the
/// error names the range and `example`.
pub fn parse_within(
    what: &str,
    s: &str,
    range: (Duration, Duration),
    example: &str,
) -> Result<Duration> {
    match scan(s) {
        Ok(d) => in_range(what, d, range, example).map(|()| d),
        Err(Bad::TooLong) => Err(out_of_range(what, &shown(s), range, example)),
        Err(bad) => Err(Error::invalid(format!(
            "{what}: {}",
            explain(s, bad).message()
        ))),
    }
}

/// [`parse_within`] for the input field `field` (`interval`, `ttl` …): the
/// error carries the field name ([`Error::field`]) instead of a flag in its
/// text, so each front end names it its own way.
pub fn parse_field(
    field: &str,
    s: &str,
    range: (Duration, Duration),
    example: &str,
) -> Result<Duration> {
    let within = match scan(s) {
        Ok(d) => (range.0..=range.1).contains(&d).then_some(d),
        Err(Bad::TooLong) => None,
        Err(bad) => return Err(explain(s, bad).with_field(field)),
    };
    within.ok_or_else(|| {
        Error::invalid_field(
            field,
            format!(
                "{} is out of range: use a duration from {} to {}, such as {example}",
                shown(s),
                format(range.0),
                format(range.1)
            ),
        )
    })
}

/// Refuse `d` outside `range`, saying the bounds and an example.
pub fn in_range(what: &str, d: Duration, range: (Duration, Duration), example: &str) -> Result<()> {
    if d < range.0 || d > range.1 {
        return Err(out_of_range(what, &format(d), range, example));
    }
    Ok(())
}

fn out_of_range(what: &str, shown: &str, range: (Duration, Duration), example: &str) -> Error {
    Error::invalid(format!(
        "{what} {shown}: use a duration from {} to {}, such as {example}",
        format(range.0),
        format(range.1)
    ))
}

fn shown(s: &str) -> String {
    let head: String = s.chars().take(MAX_TEXT).collect();
    if head.len() < s.len() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

fn explain(s: &str, bad: Bad) -> Error {
    match bad {
        Bad::TooManyChars(n) => Error::invalid(format!(
            "a duration of {n} characters is not accepted (at most {MAX_TEXT}): use a number \
             with a unit, such as 30s or 1m30s"
        )),
        _ => Error::invalid(format!(
            "{} is not a duration: use a number with a unit, such as 500ms, 30s, 1m30s or 2h",
            shown(s)
        )),
    }
}

fn scan(s: &str) -> std::result::Result<Duration, Bad> {
    let t = s.trim();
    if t.len() > MAX_TEXT {
        return Err(Bad::TooManyChars(t.len()));
    }
    if t.is_empty() || t.starts_with('-') {
        return Err(Bad::Syntax);
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or(Bad::Syntax)?;
        if digits == 0 {
            return Err(Bad::Syntax);
        }
        let value: f64 = rest[..digits].parse().map_err(|_| Bad::Syntax)?;
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
            _ => return Err(Bad::Syntax),
        };
        rest = &rest[unit_len..];
        let term = Duration::try_from_secs_f64(value * scale).map_err(|_| Bad::TooLong)?;
        total = total
            .checked_add(term)
            .filter(|t| *t <= MAX)
            .ok_or(Bad::TooLong)?;
    }
    Ok(total)
}

/// Whole milliseconds of `d`, saturating at `u64::MAX` (about 584 million
/// years) instead of truncating the high bits as `as u64` would.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
    fn field_errors_name_the_field_apart_from_the_text() {
        let range = (Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(
            parse_field("ttl", "30s", range, "1h").expect("in range"),
            Duration::from_secs(30)
        );
        for bad in ["soon", "2m", "18446744073709552s"] {
            let e = parse_field("ttl", bad, range, "1h").expect_err(bad);
            assert_eq!(e.field(), Some("ttl"), "{bad}");
            assert!(!e.message().contains("ttl"), "{}", e.message());
            assert!(e.message().contains(&format!("{bad:?}")), "{}", e.message());
        }
        let e = parse_field("ttl", "2m", range, "1h").expect_err("too long");
        assert!(e.message().contains("from 1s to 1m"), "{}", e.message());
    }

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

    #[test]
    fn huge_durations_are_refused_not_wrapped() {
        for huge in [
            "18446744073709552s",
            "18446744073709549568s18446744073709549568s",
            "2562048h",
            "1e400s",
            &"9".repeat(400),
        ] {
            let e = parse(huge).expect_err(huge);
            assert!(e.message().len() < 400, "{e}");
        }
        let long = parse(&"1s".repeat(40)).expect_err("too long text");
        assert!(long.message().contains("at most 64"), "{long}");
        let range = (Duration::from_secs(1), Duration::from_secs(30 * 86_400));
        let e = parse_within("remind", "18446744073709552s", range, "1h").expect_err("remind");
        assert!(e.message().contains("from 1s to 720h"), "{e}");
        let e = parse_within("remind", "721h", range, "1h").expect_err("remind");
        assert!(
            e.message()
                .contains("remind 721h: use a duration from 1s to 720h"),
            "{e}"
        );
        assert!(parse_within("remind", "1x", range, "1h").is_err());
        assert_eq!(
            parse_within("remind", "2h", range, "1h").expect("ok"),
            Duration::from_secs(7200)
        );
        assert!(parse("2562047h").is_ok());
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(millis(Duration::from_millis(384)), 384);
    }
}
