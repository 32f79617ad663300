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

type PResult<T> = std::result::Result<T, (usize, String)>;

/// A cursor over the condition text.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn fail<T>(&self, what: impl Into<String>) -> PResult<T> {
        Err((self.pos, what.into()))
    }

    /// A run of non-space characters.
    fn word(&mut self) -> &str {
        self.skip_ws();
        let start = self.pos;
        let len = self
            .rest()
            .find(char::is_whitespace)
            .unwrap_or(self.rest().len());
        self.pos += len;
        &self.s[start..self.pos]
    }

    fn end(&mut self) -> PResult<()> {
        self.skip_ws();
        if self.rest().is_empty() {
            Ok(())
        } else {
            self.fail(format!("unexpected {:?} after the condition", self.rest()))
        }
    }

    fn op(&mut self) -> PResult<Op> {
        self.skip_ws();
        let at = self.pos;
        let op = match self.word() {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            w => {
                return Err((
                    at,
                    format!("expected an operator (==, !=, <, <=, >, >=), found {w:?}"),
                ));
            }
        };
        Ok(op)
    }

    /// A double-quoted string with `\"` and `\\` escapes.
    fn quoted(&mut self) -> PResult<String> {
        self.skip_ws();
        let Some(body) = self.rest().strip_prefix('"') else {
            return self.fail("expected a double-quoted text (\"ok\")");
        };
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += 1 + i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        self.fail("unclosed quote")
    }

    fn condition(&mut self) -> PResult<Test> {
        self.skip_ws();
        let at = self.pos;
        let test = match self.word() {
            "status" => self.status()?,
            "response_time" => {
                let op = self.op()?;
                Test::ResponseTime(op, self.duration()?)
            }
            "cert_expiry" => {
                let op = self.op()?;
                Test::CertExpiry(op, self.duration()?)
            }
            "body" => self.body()?,
            "json" => self.json()?,
            "header" => self.header()?,
            "" => return self.fail("empty condition"),
            w => {
                return Err((
                    at,
                    format!(
                        "unknown subject {w:?}: use status, response_time, body, json, header or cert_expiry"
                    ),
                ));
            }
        };
        self.end()?;
        Ok(test)
    }

    fn code(&mut self) -> PResult<u16> {
        self.skip_ws();
        let at = self.pos;
        let digits: String = self
            .rest()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        self.pos += digits.len();
        match digits.parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) => Ok(c),
            _ => Err((at, "expected a status code from 100 to 599".to_string())),
        }
    }

    fn status(&mut self) -> PResult<Test> {
        self.skip_ws();
        if let Some(after) = self.rest().strip_prefix("in")
            && after.starts_with(char::is_whitespace)
        {
            self.pos += 2;
            let lo = self.code()?;
            if !self.rest().starts_with("..") {
                return self.fail("expected `..` in a range (200..299)");
            }
            self.pos += 2;
            let hi = self.code()?;
            if hi < lo {
                return self.fail(format!("empty range {lo}..{hi}"));
            }
            return Ok(Test::StatusIn(lo, hi));
        }
        let op = self.op()?;
        Ok(Test::Status(op, self.code()?))
    }

    /// `300ms`, `2s`, `5m`, `36h`, `7d`.
    fn duration(&mut self) -> PResult<Duration> {
        self.skip_ws();
        let at = self.pos;
        let w = self.word();
        let split = w.find(|c: char| !c.is_ascii_digit()).unwrap_or(w.len());
        let (n, unit) = w.split_at(split);
        let bad = || {
            (
                at,
                format!("expected a duration like 300ms, 2s, 5m, 36h or 7d, found {w:?}"),
            )
        };
        let n: u64 = n.parse().map_err(|_| bad())?;
        let ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        n.checked_mul(ms)
            .filter(|&v| v <= 3650 * 86_400_000)
            .map(Duration::from_millis)
            .ok_or_else(|| {
                (
                    at,
                    format!("duration {w:?} is too long (ten years at most)"),
                )
            })
    }

    fn body(&mut self) -> PResult<Test> {
        self.skip_ws();
        let at = self.pos;
        match self.word() {
            "contains" => Ok(Test::BodyContains(self.quoted()?)),
            "matches" => {
                let at = self.pos;
                let pattern = self.quoted()?;
                let re = regex::RegexBuilder::new(&pattern)
                    .size_limit(REGEX_SIZE)
                    .build()
                    .map_err(|e| (at, format!("bad regex: {}", first_line(&e.to_string()))))?;
                Ok(Test::BodyMatches(re))
            }
            w => Err((
                at,
                format!("expected contains or matches after body, found {w:?}"),
            )),
        }
    }

    fn json(&mut self) -> PResult<Test> {
        self.skip_ws();
        let at = self.pos;
        let path_text = self.word().to_string();
        let path = parse_path(&path_text).map_err(|(i, e)| (at + i, e))?;
        let op = self.op()?;
        self.skip_ws();
        let at = self.pos;
        let value_text = self.rest().trim_end().to_string();
        let value: Value = serde_json::from_str(&value_text).map_err(|_| {
            (
                at,
                format!("expected a JSON value (\"ok\", 100, true, null), found {value_text:?}"),
            )
        })?;
        if matches!(value, Value::Array(_) | Value::Object(_)) {
            return Err((at, "compare with a string, number, boolean or null".into()));
        }
        self.pos = self.s.len();
        Ok(Test::Json(path, op, value))
    }

    fn header(&mut self) -> PResult<Test> {
        self.skip_ws();
        let at = self.pos;
        let name = self.word().to_string();
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err((
                at,
                format!("expected a header name (Content-Type), found {name:?}"),
            ));
        }
        self.skip_ws();
        let at = self.pos;
        let op = match self.word() {
            "==" => HeaderOp::Eq,
            "!=" => HeaderOp::Ne,
            "contains" => HeaderOp::Contains,
            w => return Err((at, format!("expected ==, != or contains, found {w:?}"))),
        };
        Ok(Test::Header(name, op, self.quoted()?))
    }
}

/// A header-name byte (RFC 9110 token).
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

/// `$.a.b[0]` into steps; the error's offset is within `text`.
fn parse_path(text: &str) -> PResult<Vec<Step>> {
    let Some(mut rest) = text.strip_prefix('$') else {
        return Err((
            0,
            format!("expected a JSON path starting with $ ($.status), found {text:?}"),
        ));
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        let at = text.len() - rest.len();
        if steps.len() == MAX_PATH {
            return Err((at, format!("path deeper than {MAX_PATH} steps")));
        }
        if let Some(r) = rest.strip_prefix('.') {
            let len = r.find(['.', '[']).unwrap_or(r.len());
            if len == 0 {
                return Err((at + 1, "expected a key after `.`".into()));
            }
            steps.push(Step::Key(r[..len].to_string()));
            rest = &r[len..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.find(']') else {
                return Err((at, "unclosed `[`".into()));
            };
            let i = r[..close]
                .parse::<usize>()
                .map_err(|_| (at + 1, "expected an index ([0])".to_string()))?;
            steps.push(Step::Index(i));
            rest = &r[close + 1..];
        } else {
            return Err((at, format!("expected `.key` or `[index]`, found {rest:?}")));
        }
    }
    Ok(steps)
}

#[cfg(test)]
#[path = "probe_condition_tests.rs"]
mod tests;
