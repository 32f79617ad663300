//! Masking passwords written into URLs (`https://user:pass@host/…`).
//!
//! A check's target may carry credentials for the probe
//! (`https://monitor:s3cret@api.example.com/health`). The probe needs them
//! as written, but nothing that shows or sends a target should: `qu
//! status`, `qu check list`, alert messages (SMTP, Discord, webhook) and
//! logs show `https://monitor:***@api.example.com/health` instead. This
//! is the one function that does it, pure, over any text (a target, or a
//! probe's detail that quotes a URL), so every place masks the same way.

use std::borrow::Cow;

/// What a masked password looks like.
pub const MASKED_PASSWORD: &str = "***";

/// `text` with the password of every `scheme://user:password@host` in it
/// replaced by [`MASKED_PASSWORD`]; the user name, the host and everything
/// else are kept. Text without such a URL is returned as it is (borrowed).
///
/// The authority of a URL runs from `://` to the first `/`, `?`, `#`,
/// whitespace, quote or end of text; its user info is what comes before
/// its last `@`, and the password is what follows the first `:` in it.
pub fn mask_credentials(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(at) = text[from..].find("://") {
        let start = from + at + 3;
        let end = text[start..]
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .map_or(text.len(), |i| start + i);
        let authority = &text[start..end];
        if let Some(userinfo_len) = authority.rfind('@')
            && let Some(colon) = authority[..userinfo_len].find(':')
        {
            let password_start = start + colon + 1;
            let password_end = start + userinfo_len;
            out.push_str(&text[copied..password_start]);
            out.push_str(MASKED_PASSWORD);
            copied = password_end;
        }
        from = end.max(start);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_and_the_rest_kept() {
        let cases = [
            (
                "https://user:pass@host/path?q=1",
                "https://user:***@host/path?q=1",
            ),
            (
                "http://monitor:s3cr:et@127.0.0.1:8080/health",
                "http://monitor:***@127.0.0.1:8080/health",
            ),
            // A password holding an `@` (invalid, but typed): the last one ends it.
            ("https://u:p@ss@h.test", "https://u:***@h.test"),
            ("https://:only-pass@h.test/", "https://:***@h.test/"),
            (
                "error for url (https://a:b@x.test/p): timeout, then https://c:d@y.test",
                "error for url (https://a:***@x.test/p): timeout, then https://c:***@y.test",
            ),
            ("\"https://a:b@x.test\"", "\"https://a:***@x.test\""),
        ];
        for (text, want) in cases {
            assert_eq!(mask_credentials(text), want, "{text}");
        }
    }

    #[test]
    fn text_without_a_password_is_borrowed_unchanged() {
        for text in [
            "",
            "https://api.example.com/health",
            "https://token@h.test/x",
            "http://127.0.0.1:8080/a@b:c",
            "example.com:443",
            "mailto:user:x@h",
            "://",
            "a://",
            "https://h.test/?next=https://x.test/@y:z",
            "ünïcödé://ü:ß@ħ/",
        ] {
            let masked = mask_credentials(text);
            if text.starts_with("ünï") {
                assert_eq!(masked, "ünïcödé://ü:***@ħ/");
                continue;
            }
            assert!(matches!(masked, Cow::Borrowed(_)), "{text} → {masked}");
            assert_eq!(masked, text);
        }
    }

    #[test]
    fn masking_twice_changes_nothing_more() {
        let once = mask_credentials("https://u:p@h/ and ftp://x:y@z");
        assert_eq!(mask_credentials(&once), once);
    }
}
