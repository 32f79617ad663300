//! The session store's rules with time as an argument: idle and absolute
//! expiry, the bound and its eviction order, logout and revocation, and
//! the cookie's attributes and parsing.

use super::*;
use axum::http::HeaderValue;

fn open(s: &mut Sessions, id: &str, token: &str, now: u64) {
    s.open(
        id.into(),
        format!("csrf-{id}"),
        token,
        "ops",
        TokenRole::Write,
        now,
    );
}

#[test]
fn a_session_lives_while_used_and_ends_when_idle() {
    let mut s = Sessions::default();
    open(&mut s, "a", "t1", 0);
    let got = s.touch("a", IDLE_MS - 1).expect("still live");
    assert_eq!(got.token_id, "t1");
    assert_eq!(got.csrf, "csrf-a");
    // Used just now, so the idle clock restarted.
    assert!(s.touch("a", 2 * IDLE_MS - 2).is_ok());
    assert_eq!(s.touch("a", 3 * IDLE_MS), Err(Gone::Expired));
    assert_eq!(s.touch("a", 3 * IDLE_MS), Err(Gone::Unknown), "removed");
    assert_eq!(s.touch("nope", 0), Err(Gone::Unknown));
}

#[test]
fn a_session_ends_at_its_absolute_age_however_busy() {
    let mut s = Sessions::default();
    open(&mut s, "a", "t1", 1_000);
    let mut now = 1_000;
    while now + IDLE_MS / 2 < 1_000 + ABSOLUTE_MS {
        now += IDLE_MS / 2;
        assert!(s.touch("a", now).is_ok(), "at {now}");
    }
    assert_eq!(s.touch("a", 1_000 + ABSOLUTE_MS), Err(Gone::Expired));
}

#[test]
fn the_count_is_bounded_and_the_least_recently_used_goes() {
    let mut s = Sessions::default();
    for i in 0..MAX_SESSIONS {
        open(&mut s, &format!("s{i}"), "t", i as u64);
    }
    assert!(s.touch("s0", 10_000).is_ok(), "s0 is now the most recent");
    open(&mut s, "new", "t", 10_001);
    assert_eq!(s.len(), MAX_SESSIONS);
    assert!(s.touch("s0", 10_002).is_ok());
    assert_eq!(s.touch("s1", 10_002), Err(Gone::Unknown), "s1 was evicted");
    assert!(s.touch("new", 10_002).is_ok());
}

#[test]
fn logout_and_revocation_end_sessions() {
    let mut s = Sessions::default();
    open(&mut s, "a", "t1", 0);
    open(&mut s, "b", "t1", 0);
    open(&mut s, "c", "t2", 0);
    s.close("a");
    assert_eq!(s.touch("a", 1), Err(Gone::Unknown));
    s.end_token("t1");
    assert_eq!(s.touch("b", 1), Err(Gone::Unknown));
    assert!(s.touch("c", 1).is_ok());
}

#[test]
fn the_cookie_is_http_only_strict_and_scoped() {
    let c = set_cookie("abc", false);
    assert_eq!(
        c,
        "qu_session=abc; HttpOnly; SameSite=Strict; Path=/dashboard"
    );
    assert!(set_cookie("abc", true).ends_with("; Secure"));
    assert!(clear_cookie(false).contains("Max-Age=0"));
}

#[test]
fn the_cookie_is_read_from_any_cookie_header_and_bounded() {
    let mut h = HeaderMap::new();
    h.append(
        header::COOKIE,
        HeaderValue::from_static("a=1; qu_session=xyz"),
    );
    assert_eq!(cookie(&h, COOKIE), Some("xyz"));
    assert_eq!(cookie(&h, "a"), Some("1"));
    assert_eq!(cookie(&h, "b"), None);
    let mut h = HeaderMap::new();
    h.append(header::COOKIE, HeaderValue::from_static("x=1"));
    h.append(
        header::COOKIE,
        HeaderValue::from_static("qu_session=second"),
    );
    assert_eq!(cookie(&h, COOKIE), Some("second"));
    let long = format!("qu_session={}", "a".repeat(MAX_ID + 1));
    let mut h = HeaderMap::new();
    h.append(header::COOKIE, HeaderValue::from_str(&long).expect("value"));
    assert_eq!(cookie(&h, COOKIE), None);
    let mut h = HeaderMap::new();
    h.append(header::COOKIE, HeaderValue::from_static("qu_session="));
    assert_eq!(cookie(&h, COOKIE), None);
}
