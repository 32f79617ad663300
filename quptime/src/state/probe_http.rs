//! The request settings of http checks (method, headers, body, auth, IP
//! version, CA, conditions): their types, bounds, masking and state level.
//!
//! They live beside [`HttpProbe`]'s older fields, flat in the check, each
//! left out when unset, so a check that uses none of them reads as before
//! on every release. A check that uses one needs state level 4: an older
//! node would drop the unknown key and probe something else than asked
//! (a GET without its token), so [`HttpProbe::level`] lets the proposer
//! refuse it until every member is upgraded. Auth secrets and secret-looking
//! headers are shown only through [`HttpProbe::masked`].

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

use super::probe::HttpProbe;
use super::probe_condition::{MAX_CONDITIONS, is_token};
use crate::error::{Error, Result};
use crate::state::fields::{self as limits, excerpt};

/// Most request headers.
pub const MAX_HEADERS: usize = 32;
/// Longest `Name: value` header line.
pub const MAX_HEADER: usize = 4096;
/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest basic-auth pair or bearer token.
pub const MAX_SECRET: usize = 4096;
/// Largest PEM CA bundle.
pub const MAX_CA: usize = 64 * 1024;

/// What a secret is shown as.
pub const MASK: &str = "****";

/// HTTP request methods a check may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum HttpMethod {
    /// GET (the default).
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// HEAD.
    Head,
    /// OPTIONS.
    Options,
}

impl HttpMethod {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
        }
    }
}

impl TryFrom<String> for HttpMethod {
    type Error = Error;
    fn try_from(s: String) -> Result<HttpMethod> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            "HEAD" => HttpMethod::Head,
            "OPTIONS" => HttpMethod::Options,
            _ => {
                return Err(Error::invalid(format!(
                    "method {}: use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
                    excerpt(&s)
                )));
            }
        })
    }
}

impl From<HttpMethod> for String {
    fn from(m: HttpMethod) -> String {
        m.as_str().to_string()
    }
}

/// The IP version a check connects over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum IpVersion {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

impl TryFrom<u8> for IpVersion {
    type Error = Error;
    fn try_from(v: u8) -> Result<IpVersion> {
        match v {
            4 => Ok(IpVersion::V4),
            6 => Ok(IpVersion::V6),
            _ => Err(Error::invalid(format!("ip_version {v}: use 4 or 6"))),
        }
    }
}

impl From<IpVersion> for u8 {
    fn from(v: IpVersion) -> u8 {
        match v {
            IpVersion::V4 => 4,
            IpVersion::V6 => 6,
        }
    }
}

/// Split `Name: value`; the error says what is wrong.
pub fn split_header(line: &str) -> Result<(&str, &str)> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "header {}: {why} (use 'Name: value', like 'X-Probe: yes')",
            excerpt(line)
        ))
    };
    let (name, value) = line.split_once(':').ok_or_else(|| bad("no ':'"))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_token) {
        return Err(bad("not a header name"));
    }
    let value = value.trim();
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(bad("control characters in the value"));
    }
    Ok((name, value))
}

/// The certificates of a PEM bundle; at least one.
pub fn parse_ca(pem: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: std::result::Result<Vec<_>, _> =
        CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    let certs = certs.map_err(|e| Error::invalid(format!("ca: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(
            "ca: no certificate in it (use a PEM file with -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// A header whose value is a secret: shown masked.
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["auth", "token", "key", "secret", "cookie", "password"]
        .iter()
        .any(|w| n.contains(w))
}

/// The bounds of the request settings.
pub(super) fn validate_request(p: &HttpProbe) -> Result<()> {
    if p.headers.len() > MAX_HEADERS {
        return Err(Error::invalid(format!(
            "headers: {} given, at most {MAX_HEADERS}",
            p.headers.len()
        )));
    }
    for h in &p.headers {
        limits::text("header", h, MAX_HEADER)?;
        split_header(h)?;
    }
    if let Some(b) = &p.body {
        limits::text("body", b, MAX_BODY)?;
    }
    if let Some(a) = &p.basic_auth {
        limits::text("basic_auth", a, MAX_SECRET)?;
        if !a.contains(':') || a.chars().any(char::is_control) {
            return Err(Error::invalid(
                "basic_auth: use user:password (like monitor:s3cret)",
            ));
        }
    }
    if let Some(t) = &p.bearer {
        limits::text("bearer", t, MAX_SECRET)?;
        if t.is_empty() || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid("bearer: a token without spaces"));
        }
    }
    if p.basic_auth.is_some() && p.bearer.is_some() {
        return Err(Error::invalid("basic_auth and bearer: use one of them"));
    }
    if let Some(ca) = &p.ca {
        limits::text("ca", ca, MAX_CA)?;
        parse_ca(ca)?;
    }
    if p.conditions.len() > MAX_CONDITIONS {
        return Err(Error::invalid(format!(
            "conditions: {} given, at most {MAX_CONDITIONS}",
            p.conditions.len()
        )));
    }
    Ok(())
}

impl HttpProbe {
    /// The state level a node needs to probe this check as asked: 4 when
    /// a request setting of this release is used, else 1.
    pub fn level(&self) -> u32 {
        let new = self.method.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
            || self.basic_auth.is_some()
            || self.bearer.is_some()
            || self.ip_version.is_some()
            || self.ca.is_some()
            || !self.conditions.is_empty();
        if new { 4 } else { 1 }
    }

    /// A copy to show: the basic-auth password, the bearer token and the
    /// values of secret-looking headers (`Authorization`, `X-Api-Key`)
    /// replaced by [`MASK`].
    pub fn masked(&self) -> HttpProbe {
        let mut p = self.clone();
        if let Some(a) = &mut p.basic_auth {
            let user = a.split_once(':').map_or("", |(u, _)| u);
            *a = format!("{user}:{MASK}");
        }
        if let Some(t) = &mut p.bearer {
            *t = MASK.to_string();
        }
        for h in &mut p.headers {
            if let Ok((name, _)) = split_header(h)
                && is_secret_header(name)
            {
                *h = format!("{name}: {MASK}");
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_the_rest_kept() {
        let p = HttpProbe {
            basic_auth: Some("monitor:s3cret".into()),
            headers: vec!["Authorization: Bearer abc".into(), "X-Probe: yes".into()],
            ..HttpProbe::default()
        };
        let m = p.masked();
        assert_eq!(m.basic_auth.as_deref(), Some("monitor:****"));
        assert_eq!(m.headers, ["Authorization: ****", "X-Probe: yes"]);
        let text = serde_json::to_string(&m).expect("json");
        assert!(!text.contains("s3cret") && !text.contains("abc"), "{text}");
        let b = HttpProbe {
            bearer: Some("tok-123".into()),
            ..HttpProbe::default()
        };
        assert_eq!(b.masked().bearer.as_deref(), Some(MASK));
    }

    #[test]
    fn new_settings_need_level_4() {
        assert_eq!(HttpProbe::default().level(), 1);
        let p = HttpProbe {
            method: Some(HttpMethod::Post),
            ..HttpProbe::default()
        };
        assert_eq!(p.level(), 4);
    }

    #[test]
    fn bounds_are_enforced_with_the_field_named() {
        let url = "https://h.test/";
        let mut p = HttpProbe {
            headers: vec!["no colon".into()],
            ..HttpProbe::default()
        };
        assert!(
            p.validate(url)
                .unwrap_err()
                .to_string()
                .contains("header \"no colon\": no ':'")
        );
        p.headers = vec!["X: y".into(); MAX_HEADERS + 1];
        assert!(
            p.validate(url)
                .unwrap_err()
                .to_string()
                .contains("at most 32")
        );
        p.headers.clear();
        p.body = Some("x".repeat(MAX_BODY + 1));
        assert!(p.validate(url).unwrap_err().to_string().contains("body is"));
        p.body = None;
        p.basic_auth = Some("nopass".into());
        assert!(
            p.validate(url)
                .unwrap_err()
                .to_string()
                .contains("user:password")
        );
        p.basic_auth = None;
        p.bearer = Some("a b".into());
        assert!(p.validate(url).unwrap_err().to_string().contains("bearer"));
        p.bearer = None;
        p.ca = Some("not pem".into());
        assert!(
            p.validate(url)
                .unwrap_err()
                .to_string()
                .contains("ca: no certificate")
        );
        p.ca = None;
        p.validate(url).expect("valid");
        let m: std::result::Result<HttpMethod, _> = serde_json::from_str("\"FETCH\"");
        assert!(m.unwrap_err().to_string().contains("use one of GET"));
        let v: std::result::Result<IpVersion, _> = serde_json::from_str("5");
        assert!(v.is_err());
    }
}
