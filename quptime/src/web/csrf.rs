//! Cross-site request forgery protection for the dashboard's forms, pure:
//! every POST must carry the session's CSRF token in a hidden field
//! (compared in constant time), and when the browser says where the
//! request comes from (`Origin`, else `Referer`) that must be this very
//! host. The session cookie is also `SameSite=Strict`; the three together
//! mean a page on another site can neither read nor forge a write.
//!
//! The login form has no session yet: it carries a one-off token that is
//! also set as a short-lived cookie (double submit), so another site
//! cannot log a browser in under its own token.

use axum::http::{HeaderMap, header};

/// The hidden form field with the CSRF token.
pub(crate) const FIELD: &str = "csrf";
/// The cookie of the login form's one-off token.
pub(crate) const LOGIN_COOKIE: &str = "qu_login";

/// Whether `presented` is `expected`, compared in constant time (for
/// equal lengths; a length difference is no secret).
pub(crate) fn matches(expected: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the request's origin is refused, if it is: an `Origin` (or, when
/// there is none, a `Referer`) naming another host than `Host`.
pub(crate) fn foreign_origin(headers: &HeaderMap) -> Option<&'static str> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(host) = text(header::HOST) else {
        return Some("the request has no Host header");
    };
    let claimed = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) => origin,
        (None, Some(referer)) => referer,
        (None, None) => return None,
    };
    let authority = claimed
        .strip_prefix("http://")
        .or_else(|| claimed.strip_prefix("https://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    match authority {
        Some(a) if a.eq_ignore_ascii_case(host) => None,
        _ => Some("the form was sent from another site"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(n.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(matches("abc123", Some("abc123")));
        assert!(!matches("abc123", Some("abc124")));
        assert!(!matches("abc123", Some("abc12")));
        assert!(!matches("abc123", Some("")));
        assert!(!matches("abc123", None));
        assert!(
            !matches("", Some("")),
            "an empty expected token never matches"
        );
    }

    #[test]
    fn the_origin_must_be_this_host_when_given() {
        let host = (header::HOST, "127.0.0.1:8080");
        assert_eq!(foreign_origin(&headers(std::slice::from_ref(&host))), None);
        let same = headers(&[host.clone(), (header::ORIGIN, "http://127.0.0.1:8080")]);
        assert_eq!(foreign_origin(&same), None);
        let tls = headers(&[host.clone(), (header::ORIGIN, "https://127.0.0.1:8080")]);
        assert_eq!(foreign_origin(&tls), None);
        for bad in [
            "http://evil.example",
            "http://127.0.0.1:8081",
            "null",
            "127.0.0.1:8080",
        ] {
            let mut h = headers(std::slice::from_ref(&host));
            h.insert(header::ORIGIN, HeaderValue::from_static(bad));
            assert!(foreign_origin(&h).is_some(), "{bad}");
        }
        assert!(foreign_origin(&HeaderMap::new()).is_some(), "no Host");
    }

    #[test]
    fn the_referer_counts_when_there_is_no_origin() {
        let host = (header::HOST, "127.0.0.1:8080");
        let ok = headers(&[
            host.clone(),
            (header::REFERER, "http://127.0.0.1:8080/dashboard?x=1"),
        ]);
        assert_eq!(foreign_origin(&ok), None);
        let bad = headers(&[
            host.clone(),
            (header::REFERER, "http://127.0.0.1:8080.evil/"),
        ]);
        assert!(foreign_origin(&bad).is_some());
        let both = headers(&[
            host,
            (header::ORIGIN, "http://evil.example"),
            (header::REFERER, "http://127.0.0.1:8080/"),
        ]);
        assert!(foreign_origin(&both).is_some(), "the Origin decides");
    }
}
