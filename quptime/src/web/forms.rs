//! The dashboard's HTML forms as the use cases' documents, pure: a
//! `application/x-www-form-urlencoded` body decoded (bounded: the body by
//! the listener, the fields here) and turned into the same [`CheckSpec`],
//! [`CheckPatch`] and [`MaintenanceSpec`] the CLI sends, so a form can
//! only do what `qu` can, with the same validation.

use crate::api::{CheckPatch, CheckSpec, MaintenanceSpec};
use crate::error::{Error, Result};
use crate::state::CheckType;

/// Most fields in one form.
pub(crate) const MAX_FIELDS: usize = 32;

/// A decoded form: its fields in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Form(pub Vec<(String, String)>);

impl Form {
    /// Decode a urlencoded body.
    pub(crate) fn parse(body: &[u8]) -> Result<Form> {
        let mut fields = Vec::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if fields.len() == MAX_FIELDS {
                return Err(Error::invalid(format!(
                    "the form has more than {MAX_FIELDS} fields; send the dashboard's own form"
                )));
            }
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            fields.push((decode(k)?, decode(v)?));
        }
        Ok(Form(fields))
    }

    /// The first value of field `name`, trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// The value of `name` when it is not empty.
    fn set(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// The add-check form as `qu check add` would send it.
    pub(crate) fn check_spec(&self) -> Result<CheckSpec> {
        let kind = CheckType::parse(self.get("type").unwrap_or_default())
            .map_err(|e| e.with_field("type"))?;
        let mut spec = CheckSpec::new(
            self.get("name").unwrap_or_default(),
            kind,
            self.get("target").unwrap_or_default(),
        );
        spec.interval = self.set("interval");
        spec.timeout = self.set("timeout");
        Ok(spec)
    }

    /// The edit form as `qu check edit` would send it: an empty field
    /// keeps the current value.
    pub(crate) fn check_patch(&self) -> CheckPatch {
        CheckPatch {
            name: self.set("name"),
            target: self.set("target"),
            interval: self.set("interval"),
            timeout: self.set("timeout"),
            ..CheckPatch::default()
        }
    }

    /// The maintenance form as `qu maintenance add` would send it: check
    /// names separated by commas or spaces, starting `now` unless a start
    /// time is given.
    pub(crate) fn maintenance_spec(&self) -> MaintenanceSpec {
        MaintenanceSpec {
            checks: (self.get("checks").unwrap_or_default())
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            start: Some(self.set("start").unwrap_or_else(|| "now".into())),
            duration: self.get("for").unwrap_or_default().to_string(),
            reason: self.get("reason").unwrap_or_default().to_string(),
            ..MaintenanceSpec::default()
        }
    }
}

/// Percent-decoding with `+` as a space; the result must be UTF-8.
fn decode(raw: &[u8]) -> Result<String> {
    let bad = || Error::invalid("the form is not validly encoded; send the dashboard's own form");
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_body_is_decoded() {
        let f = Form::parse(b"name=my+web&target=http%3A%2F%2F127.0.0.1%3A80%2F&empty=&flag")
            .expect("form");
        assert_eq!(f.get("name"), Some("my web"));
        assert_eq!(f.get("target"), Some("http://127.0.0.1:80/"));
        assert_eq!(f.get("empty"), Some(""));
        assert_eq!(f.get("flag"), Some(""));
        assert_eq!(f.get("none"), None);
        assert_eq!(
            Form::parse("n=%C3%A9t%C3%A9".as_bytes())
                .expect("utf-8")
                .get("n"),
            Some("été")
        );
    }

    #[test]
    fn bad_encodings_and_too_many_fields_are_refused() {
        for bad in [&b"a=%zz"[..], b"a=%4", b"a=%ff%fe"] {
            assert!(Form::parse(bad).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("f{i}=1")).collect();
        let e = Form::parse(many.join("&").as_bytes()).expect_err("too many");
        assert!(e.message().contains("more than 32 fields"), "{e}");
    }

    #[test]
    fn the_add_form_is_a_check_spec() {
        let f = Form::parse(b"name=web&type=tcp&target=127.0.0.1%3A22&interval=5s&timeout=")
            .expect("form");
        let spec = f.check_spec().expect("spec");
        assert_eq!(spec.name, "web");
        assert_eq!(spec.kind, CheckType::Tcp);
        assert_eq!(spec.target, "127.0.0.1:22");
        assert_eq!(spec.interval.as_deref(), Some("5s"));
        assert_eq!(spec.timeout, None, "empty means the default");
        let e = Form::parse(b"name=x&type=gopher&target=y")
            .expect("form")
            .check_spec()
            .expect_err("bad type");
        assert_eq!(e.field(), Some("type"));
    }

    #[test]
    fn the_edit_form_keeps_what_is_left_empty() {
        let p = Form::parse(b"name=&target=t2&interval=1m")
            .expect("form")
            .check_patch();
        assert_eq!(p.name, None);
        assert_eq!(p.target.as_deref(), Some("t2"));
        assert_eq!(p.interval.as_deref(), Some("1m"));
    }

    #[test]
    fn the_maintenance_form_starts_now_by_default() {
        let m = Form::parse(b"checks=web%2C+db&for=1h&reason=upgrade")
            .expect("form")
            .maintenance_spec();
        assert_eq!(m.checks, vec!["web", "db"]);
        assert_eq!(m.start.as_deref(), Some("now"));
        assert_eq!(m.duration, "1h");
        assert_eq!(m.reason, "upgrade");
    }
}
