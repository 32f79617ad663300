//! Reading a certificate's `notAfter`, the one field of a certificate the
//! tls prober needs that rustls does not expose.
//!
//! A small DER walk down the fixed start of RFC 5280's structure
//! (`Certificate → tbsCertificate → [version] serial signature issuer
//! validity`) instead of a full X.509 parser: it adds no dependency, and the
//! certificate has already been verified by webpki when we read it.

/// A DER element: its tag, its contents, and what follows it.
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    rest: &'a [u8],
}

fn tlv(input: &[u8]) -> Result<Tlv<'_>, String> {
    let short = || "truncated certificate".to_string();
    let (&tag, after) = input.split_first().ok_or_else(short)?;
    if tag & 0x1f == 0x1f {
        return Err("unsupported DER tag".into());
    }
    let (&first, mut after) = after.split_first().ok_or_else(short)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || after.len() < n {
            return Err("bad DER length".into());
        }
        let len = after[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        after = &after[n..];
        len
    };
    if after.len() < len {
        return Err(short());
    }
    Ok(Tlv {
        tag,
        value: &after[..len],
        rest: &after[len..],
    })
}

fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<Tlv<'a>, String> {
    let t = tlv(input)?;
    if t.tag != tag {
        return Err(format!("{what}: unexpected DER tag {:#04x}", t.tag));
    }
    Ok(t)
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;

/// The certificate's `notAfter`, in seconds since the Unix epoch.
pub(crate) fn not_after(der: &[u8]) -> Result<i64, String> {
    let cert = expect(der, SEQUENCE, "certificate")?;
    let tbs = expect(cert.value, SEQUENCE, "tbsCertificate")?;
    let mut fields = tbs.value;
    if tlv(fields)?.tag == VERSION {
        fields = tlv(fields)?.rest;
    }
    let serial = tlv(fields)?;
    let signature = expect(serial.rest, SEQUENCE, "signature algorithm")?;
    let issuer = expect(signature.rest, SEQUENCE, "issuer")?;
    let validity = expect(issuer.rest, SEQUENCE, "validity")?;
    let not_before = tlv(validity.value)?;
    let not_after = tlv(not_before.rest)?;
    parse_time(not_after.tag, not_after.value)
}

/// `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ` (GeneralizedTime), as DER
/// requires them.
fn parse_time(tag: u8, value: &[u8]) -> Result<i64, String> {
    let text = std::str::from_utf8(value).map_err(|_| "bad certificate time".to_string())?;
    let bad = || format!("bad certificate time {text:?}");
    let digits = text.strip_suffix('Z').ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = num(&digits[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (num(&digits[..4])?, &digits[4..]),
        _ => return Err(bad()),
    };
    let (month, day) = (num(&rest[0..2])?, num(&rest[2..4])?);
    let (h, m, s) = (num(&rest[4..6])?, num(&rest[6..8])?, num(&rest[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A certificate that expires at `y-m-d` plus `extra`.
    fn cert_until(y: i32, m: u8, d: u8, extra: Duration) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["x.test".to_string()]).expect("params");
        params.not_before = rcgen::date_time_ymd(1990, 1, 1);
        params.not_after = rcgen::date_time_ymd(y, m, d) + extra;
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn not_after_is_read_from_real_certificates() {
        let extra = Duration::from_secs(3 * 3600 + 4 * 60 + 5);
        // 2031 is written as UTCTime, 2051 as GeneralizedTime.
        for (y, m, d) in [(2031, 7, 15), (2051, 12, 31), (2049, 2, 28)] {
            let want = days_from_civil(y.into(), m.into(), d.into()) * 86_400 + 11_045;
            assert_eq!(
                not_after(&cert_until(y, m, d, extra)),
                Ok(want),
                "{y}-{m}-{d}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = cert_until(2031, 7, 15, Duration::ZERO);
        for cut in [0, 1, 2, 10, 40, good.len() / 2] {
            assert!(not_after(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse_time(UTC_TIME, b"3107151203Z").is_err());
        assert!(parse_time(UTC_TIME, b"311315120304Z").is_err());
        assert_eq!(parse_time(UTC_TIME, b"700101000000Z"), Ok(0));
    }
}
