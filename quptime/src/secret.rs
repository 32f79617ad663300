//! The cluster join secret: how strong a given one must be, and how a new
//! one is made.
//!
//! The secret is what lets a host into the cluster (`qu node add` proves it
//! with an HMAC both ways), so a guessable one is a way in. A secret an
//! operator types (`qu init --secret`, `QUPTIME_CLUSTER_SECRET`) must carry
//! at least [`MIN_BITS`] (128) bits by a conservative estimate: its length
//! times the bits per character of the smallest alphabet that holds all of
//! it (digits 3.3, hex 4, base64 6, printable ASCII 6.5). So at least 32 hex
//! digits, 22 base64 characters or 20 characters of mixed printable text;
//! values that are plainly not random (few distinct characters, a short
//! pattern repeated) are refused whatever their length. A new secret is
//! 256 bits from the operating system's generator, as 64 hex digits.
//!
//! The rule is pure (tested without I/O); a secret already in `node.yaml`
//! (an original `qu`'s data dir) is not re-checked, so migration keeps
//! working; the rule applies where a new one is set.

use crate::error::{Error, Result};

/// Bits of entropy a given secret must carry at least.
pub const MIN_BITS: u32 = 128;
/// Longest secret accepted (it is stored in `node.yaml` and hashed often).
pub const MAX_LEN: usize = 1024;
/// Bytes of a generated secret (256 bits).
const GENERATED_BYTES: usize = 32;

/// How to make a good one, for every refusal.
const HOW: &str = "leave --secret out and `qu init` generates a 256-bit one, or make one with \
                   `openssl rand -hex 32`";

/// A fresh secret: 256 bits from the OS generator as 64 hex digits.
pub fn generate() -> Result<String> {
    let mut bytes = [0u8; GENERATED_BYTES];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| Error::internal("the operating system's random generator failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Refuse a secret weaker than [`MIN_BITS`], saying the rule and how to
/// generate one. `what` names where it came from (`--secret`,
/// `QUPTIME_CLUSTER_SECRET`).
pub fn check(what: &str, secret: &str) -> Result<()> {
    let refuse = |why: String| {
        Error::invalid(format!(
            "{what}: {why}; a cluster secret needs at least {MIN_BITS} bits of entropy \
             (at least 32 hex digits, 22 base64 characters or 20 characters of mixed \
             printable text, not a pattern): {HOW}"
        ))
    };
    if secret.len() > MAX_LEN {
        return Err(Error::invalid(format!(
            "{what}: {} bytes is longer than the {MAX_LEN}-byte limit; {HOW}",
            secret.len()
        )));
    }
    if secret.is_empty() {
        return Err(refuse("it is empty".into()));
    }
    if let Some(c) = secret.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(refuse(format!(
            "it holds {c:?}, which is not printable ASCII (spaces and control characters are \
             easily lost)"
        )));
    }
    let bits = estimated_bits(secret);
    if bits < f64::from(MIN_BITS) {
        return Err(refuse(format!(
            "{} characters of {} carry about {} bits",
            secret.len(),
            alphabet(secret).name,
            bits.floor()
        )));
    }
    let distinct = distinct_chars(secret);
    if distinct < 8 {
        return Err(refuse(format!(
            "it uses only {distinct} distinct characters"
        )));
    }
    if let Some(period) = repeat_period(secret) {
        return Err(refuse(format!("it repeats a {period}-character pattern")));
    }
    Ok(())
}

/// The smallest alphabet holding a whole secret.
struct Alphabet {
    name: &'static str,
    bits_per_char: f64,
}

fn alphabet(s: &str) -> Alphabet {
    let all = |f: fn(char) -> bool| s.chars().all(f);
    if all(|c| c.is_ascii_digit()) {
        Alphabet {
            name: "digits",
            bits_per_char: 10f64.log2(),
        }
    } else if all(|c| c.is_ascii_hexdigit()) {
        Alphabet {
            name: "hex",
            bits_per_char: 4.0,
        }
    } else if all(|c| c.is_ascii_alphanumeric() || "+/=-_".contains(c)) {
        Alphabet {
            name: "base64",
            bits_per_char: 6.0,
        }
    } else {
        Alphabet {
            name: "printable ASCII",
            bits_per_char: 95f64.log2(),
        }
    }
}

/// Length times bits per character of its alphabet (`=` padding counts
/// for nothing).
fn estimated_bits(s: &str) -> f64 {
    let counted = s.trim_end_matches('=').len();
    counted as f64 * alphabet(s).bits_per_char
}

fn distinct_chars(s: &str) -> usize {
    let mut seen = [false; 128];
    for b in s.bytes() {
        seen[usize::from(b & 0x7f)] = true;
    }
    seen.iter().filter(|x| **x).count()
}

/// The length of a pattern that `s` is made of (repeated, the last copy
/// possibly cut short), if one at most half as long as `s` exists.
fn repeat_period(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (1..=b.len() / 2).find(|&p| (p..b.len()).all(|i| b[i] == b[i - p]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_256_bits_and_pass() {
        let a = generate().expect("random");
        let b = generate().expect("random");
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(check("--secret", &a).is_ok());
        assert_eq!(estimated_bits(&a), 256.0);
        // Every bit position varies across secrets (uuid-based ones fix 12).
        let mut ones = [0u32; 256];
        for _ in 0..200 {
            let s = generate().expect("random");
            for (i, c) in s.chars().enumerate() {
                let v = c.to_digit(16).expect("hex");
                for bit in 0..4 {
                    ones[i * 4 + bit] += (v >> bit) & 1;
                }
            }
        }
        assert!(ones.iter().all(|&n| n > 0 && n < 200), "{ones:?}");
    }

    #[test]
    fn enough_characters_of_each_alphabet_pass() {
        for ok in [
            "9dbef9d4c1a07e55b3f2d8c6a4e10b7f".to_string(),
            "Zm9vYmFyYmF6cXV4cXV1eA".to_string(),
            "kX3#pq9!Lm2@zR7$wT5^".to_string(),
            "31415926535897932384626433832795028841971".to_string(),
        ] {
            assert!(
                check("--secret", &ok).is_ok(),
                "{ok}: {:?}",
                check("s", &ok)
            );
        }
    }

    #[test]
    fn short_or_patterned_secrets_are_refused_with_the_rule() {
        for (bad, why) in [
            ("", "empty"),
            ("a", "bits"),
            ("s3cret", "bits"),
            ("0123456789abcdef0123456789abcde", "31 characters of hex"),
            ("Zm9vYmFyYmF6cXV4cXV1e", "21 characters of base64"),
            ("kX3#pq9!Lm2@zR7$wT5", "19 characters of printable"),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1 distinct"),
            ("abcdefghabcdefghabcdefghabcdefgh", "8-character pattern"),
            ("correct horse battery staple!!", "not printable"),
        ] {
            let err = check("--secret", bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(err.starts_with("--secret: "), "{err}");
            assert!(
                err.contains("128 bits") && err.contains("openssl rand -hex 32"),
                "{err}"
            );
        }
        let long = "x".repeat(MAX_LEN + 1);
        assert!(
            check("s", &long)
                .expect_err("long")
                .to_string()
                .contains("limit")
        );
    }

    #[test]
    fn padding_counts_for_nothing() {
        assert!(check("s", "Zm9vYmFyYmF6cXV4cXV1e=").is_err());
        assert!(check("s", "Zm9vYmFyYmF6cXV4cXV1eA==").is_ok());
    }
}
