//! What the listener refuses before routing, decided from the request line
//! and headers alone (pure, unit-tested): every route of a node is
//! read-only, so only GET and HEAD are taken, and a declared body beyond
//! [`MAX_BODY`] is refused before a byte of it is read. Heads over
//! [`super::listener::MAX_HEAD`] never get here: hyper answers them with 431.

use axum::http::{HeaderMap, Method, StatusCode, header};

/// Largest request body accepted (no route reads one yet; the bound is
/// here for the write routes of later slices).
pub(crate) const MAX_BODY: u64 = 16 * 1024;

/// [`refuse`], except that the token-guarded JSON API under
/// [`super::api::PREFIX`] also takes POST, PATCH and DELETE, and the
/// dashboard's forms under [`super::dashboard::PREFIX`] POST.
pub(crate) fn refuse_at(
    path: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Option<(StatusCode, &'static str)> {
    let write = [Method::POST, Method::PATCH, Method::DELETE].contains(method);
    let form = method == Method::POST && path.starts_with(super::dashboard::PREFIX);
    let beat = method == Method::POST && path.starts_with(crate::state::probe_push::PUSH_PATH);
    if (write && path.starts_with(super::api::PREFIX)) || form || beat {
        return refuse(&Method::GET, headers);
    }
    refuse(method, headers)
}

/// The status and plain-text body to refuse the request with, if any.
pub(crate) fn refuse(method: &Method, headers: &HeaderMap) -> Option<(StatusCode, &'static str)> {
    if method != Method::GET && method != Method::HEAD {
        return Some((StatusCode::METHOD_NOT_ALLOWED, "use GET\n"));
    }
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Some((
            StatusCode::LENGTH_REQUIRED,
            "send a content-length, not a chunked body\n",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()));
    match declared {
        Some(Some(n)) if n <= MAX_BODY => None,
        Some(_) => Some((StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n")),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("value"));
        h
    }

    #[test]
    fn only_get_and_head_pass() {
        let none = HeaderMap::new();
        assert_eq!(refuse(&Method::GET, &none), None);
        assert_eq!(refuse(&Method::HEAD, &none), None);
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert_eq!(
                refuse(&m, &none),
                Some((StatusCode::METHOD_NOT_ALLOWED, "use GET\n")),
                "{m}"
            );
        }
    }

    #[test]
    fn writes_pass_under_the_api_prefix_only_within_the_bound() {
        let none = HeaderMap::new();
        for m in [Method::POST, Method::PATCH, Method::DELETE] {
            assert_eq!(refuse_at("/api/v1/checks", &m, &none), None, "{m}");
            assert_eq!(
                refuse_at("/", &m, &none).map(|r| r.0),
                Some(StatusCode::METHOD_NOT_ALLOWED)
            );
        }
        assert!(refuse_at("/api/v1/x", &Method::PUT, &none).is_some());
        assert_eq!(refuse_at("/dashboard/checks", &Method::POST, &none), None);
        assert!(refuse_at("/dashboard/checks", &Method::DELETE, &none).is_some());
        assert!(refuse_at("/dashboard", &Method::POST, &none).is_some());
        let big = with(header::CONTENT_LENGTH, &(MAX_BODY + 1).to_string());
        assert_eq!(
            refuse_at("/api/v1/checks", &Method::POST, &big).map(|r| r.0),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
    }

    #[test]
    fn a_declared_body_over_the_bound_is_refused() {
        let ok = with(header::CONTENT_LENGTH, &MAX_BODY.to_string());
        assert_eq!(refuse(&Method::GET, &ok), None);
        let big = with(header::CONTENT_LENGTH, &(MAX_BODY + 1).to_string());
        assert_eq!(
            refuse(&Method::GET, &big).map(|r| r.0),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        let junk = with(header::CONTENT_LENGTH, "lots");
        assert_eq!(
            refuse(&Method::GET, &junk).map(|r| r.0),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        let chunked = with(header::TRANSFER_ENCODING, "chunked");
        assert_eq!(
            refuse(&Method::GET, &chunked).map(|r| r.0),
            Some(StatusCode::LENGTH_REQUIRED)
        );
    }
}
