//! The parser of http check conditions: a cursor over the text that
//! answers a [`Test`] or the byte offset and what was expected there, so
//! the error can name the column (see the parent module for the grammar).

use std::time::Duration;

use serde_json::Value;

use super::{HeaderOp, MAX_PATH, Op, REGEX_SIZE, Step, Test};

type PResult<T> = std::result::Result<T, (usize, String)>;

/// A cursor over the condition text.
pub(super) struct Parser<'a> {
    pub(super) s: &'a str,
    pub(super) pos: usize,
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

    pub(super) fn condition(&mut self) -> PResult<Test> {
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
