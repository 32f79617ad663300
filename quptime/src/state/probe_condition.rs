//! Conditions of http checks: small expressions judged on every response
//! (`status in 200..299`, `json $.status == "ok"`, `response_time < 300ms`).
//!
//! Our own syntax, parsed once when the check is read (at `check add`, at
//! apply, when a node loads its state), so a bad condition is refused with
//! the column it went wrong at and an example, and a probe only evaluates.
//! Parsing and evaluation are pure: [`Condition::eval`] takes what a probe
//! observed ([`Observed`]) and answers the first failure as evidence text
//! (`json $.status was "degraded"`). A condition is stored as its text, so
//! the wire shape is a list of strings and its meaning is reparsed by the
//! release that reads it.
//!
//! Grammar (one condition):
//! - `status OP CODE` or `status in LOW..HIGH`
//! - `response_time OP DURATION` (`300ms`, `2s`)
//! - `body contains "TEXT"`, `body matches "REGEX"`
//! - `json PATH OP VALUE`, PATH `$.a.b[0]`, VALUE a JSON literal
//! - `header NAME OP "TEXT"` (`==`, `!=`, `contains`)
//! - `cert_expiry OP DURATION` (`7d`, `36h`; https targets)
//!
//! with OP one of `==`, `!=`, `<`, `<=`, `>`, `>=`.

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, Result};

/// Longest condition text.
pub const MAX_CONDITION: usize = 1024;
/// Most conditions on one check.
pub const MAX_CONDITIONS: usize = 16;
/// Compiled size bound of a `body matches` regex.
const REGEX_SIZE: usize = 256 * 1024;
/// Deepest JSON path.
const MAX_PATH: usize = 32;

const EXAMPLES: &str = "status == 200, status in 200..299, response_time < 300ms, \
    body contains \"ok\", body matches \"up|ok\", json $.status == \"ok\", \
    json $.queue.depth < 100, header Content-Type contains \"json\", cert_expiry > 7d";

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.key`
    Key(String),
    /// `[n]`
    Index(usize),
}

/// What a condition tests.
#[derive(Debug, Clone)]
enum Test {
    Status(Op, u16),
    StatusIn(u16, u16),
    ResponseTime(Op, Duration),
    BodyContains(String),
    BodyMatches(regex::Regex),
    Json(Vec<Step>, Op, Value),
    Header(String, HeaderOp, String),
    CertExpiry(Op, Duration),
}

/// How a header is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderOp {
    Eq,
    Ne,
    Contains,
}

/// A parsed condition; equal when their texts are.
#[derive(Debug, Clone)]
pub struct Condition {
    text: String,
    test: Test,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Condition) -> bool {
        self.text == other.text
    }
}
impl Eq for Condition {}

/// What one response showed, for [`Condition::eval`].
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The status code.
    pub status: u16,
    /// Time to the response (headers and body).
    pub elapsed: Duration,
    /// Response headers, names as sent.
    pub headers: &'a [(String, String)],
    /// The first 1 MiB of the body.
    pub body: &'a [u8],
    /// Time left on the server's certificate; `None` for plain http.
    pub cert_left: Option<Duration>,
}

impl Condition {
    /// Parse `text`; the error names the column and shows examples.
    pub fn parse(text: &str) -> Result<Condition> {
        if text.len() > MAX_CONDITION {
            return Err(Error::invalid(format!(
                "condition is {} bytes, over the limit of {MAX_CONDITION}",
                text.len()
            )));
        }
        let test = Parser { s: text, pos: 0 }
            .condition()
            .map_err(|(pos, what)| {
                Error::invalid(format!(
                    "condition {text:?}: at column {}: {what} (examples: {EXAMPLES})",
                    pos + 1
                ))
            })?;
        Ok(Condition {
            text: text.trim().to_string(),
            test,
        })
    }

    /// Whether it judges the status (then the default `expect_status`
    /// of 200 is not applied on top).
    pub fn is_status(&self) -> bool {
        matches!(self.test, Test::Status(..) | Test::StatusIn(..))
    }

    /// Whether it needs the server's certificate.
    pub fn needs_cert(&self) -> bool {
        matches!(self.test, Test::CertExpiry(..))
    }

    /// The condition as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `Ok` when the response meets the condition, else the evidence:
    /// `json $.status was "degraded"`.
    pub fn eval(&self, seen: &Observed<'_>) -> std::result::Result<(), String> {
        let ok = match &self.test {
            Test::Status(op, code) => op.holds(seen.status.cmp(code)),
            Test::StatusIn(lo, hi) => (*lo..=*hi).contains(&seen.status),
            Test::ResponseTime(op, d) => op.holds(seen.elapsed.cmp(d)),
            Test::BodyContains(s) => contains(seen.body, s.as_bytes()),
            Test::BodyMatches(re) => re.is_match(&String::from_utf8_lossy(seen.body)),
            Test::CertExpiry(op, d) => match seen.cert_left {
                Some(left) => op.holds(left.cmp(d)),
                None => return Err(format!("{}: no certificate (not https)", self.text)),
            },
            Test::Json(path, op, want) => {
                let Ok(doc) = serde_json::from_slice::<Value>(seen.body) else {
                    return Err(format!("{}: body is not JSON", self.text));
                };
                match walk(&doc, path) {
                    Some(got) if compare(got, *op, want) => true,
                    Some(got) => {
                        return Err(format!("json {} was {}", path_text(path), short(got)));
                    }
                    None => return Err(format!("json {} missing", path_text(path))),
                }
            }
            Test::Header(name, op, want) => {
                let got = seen
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str());
                let ok = match (op, got) {
                    (HeaderOp::Eq, Some(v)) => v == want,
                    (HeaderOp::Ne, v) => v != Some(want.as_str()),
                    (HeaderOp::Contains, Some(v)) => v.contains(want.as_str()),
                    (_, None) => false,
                };
                if !ok {
                    return Err(match got {
                        Some(v) => format!("header {name} was {v:?}"),
                        None => format!("header {name} missing"),
                    });
                }
                true
            }
        };
        if ok {
            return Ok(());
        }
        Err(match &self.test {
            Test::Status(..) | Test::StatusIn(..) => format!("status was {}", seen.status),
            Test::ResponseTime(..) => format!(
                "response_time was {}",
                crate::state::duration::format(round_ms(seen.elapsed))
            ),
            Test::BodyContains(s) => format!("body does not contain {s:?}"),
            Test::BodyMatches(re) => format!("body does not match {:?}", re.as_str()),
            Test::CertExpiry(..) => format!(
                "cert_expiry was {}d",
                seen.cert_left.unwrap_or_default().as_secs() / 86_400
            ),
            Test::Json(..) | Test::Header(..) => format!("{} failed", self.text),
        })
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().min(u64::MAX as u128) as u64)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn walk<'v>(doc: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(doc, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

fn path_text(path: &[Step]) -> String {
    let mut s = String::from("$");
    for step in path {
        match step {
            Step::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// A JSON value as evidence, cut to 64 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 64 {
        format!("{}…", s.chars().take(64).collect::<String>())
    } else {
        s
    }
}

/// Numbers compare as numbers, strings as strings; `==`/`!=` work on any
/// value; an ordering between other kinds is false.
fn compare(got: &Value, op: Op, want: &Value) -> bool {
    let ord = match (got, want) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ if matches!(op, Op::Eq) => return got == want,
        _ if matches!(op, Op::Ne) => return got != want,
        _ => None,
    };
    ord.is_some_and(|o| op.holds(o))
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Condition, D::Error> {
        let s = String::deserialize(d)?;
        Condition::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[path = "probe_condition_parse.rs"]
mod parse;
use parse::Parser;
pub(crate) use parse::is_token;

#[cfg(test)]
#[path = "probe_condition_tests.rs"]
mod tests;
