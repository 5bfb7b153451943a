//! Signed webhooks: a header `t=<unix seconds>,v1=<hex>[,v1=<hex>...]` whose `v1` is
//! HMAC-SHA256 over a payload built from `t` and the raw body. Wave signs `t` followed by the
//! body (donations); WOLO's receipt relays sign `t.path.body` (notifications). One parser,
//! one tolerance rule, one constant-time comparison (`hmac`'s `verify_slice`) for both.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No header.
    Missing,
    /// Not `t=<digits>,v1=<hex>`.
    Malformed,
    /// `t` too far from now, either way.
    Stale,
    /// No `v1` matches any secret.
    Mismatch,
}

/// Whether `given` equals `expected`, in time that does not depend on where they differ
/// (both go through one HMAC and `verify_slice`): for secrets compared as they are (a
/// gateway's path key, PayDunya's notification hash).
pub fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    let tag = |v: &[u8]| {
        let mut m =
            Hmac::<Sha256>::new_from_slice(b"wolo constant-time comparison").expect("any key");
        m.update(v);
        m
    };
    let reference = tag(expected).finalize().into_bytes();
    tag(given).verify_slice(&reference).is_ok()
}

/// `t` of the header: at most 12 digits (a unix time in seconds).
const MAX_T_DIGITS: usize = 12;

/// Checks `header` at unix time `now`: `t` within `tolerance_secs`, and some `v1` equal to
/// HMAC-SHA256(secret, `payload(t)`) for some secret. `payload` gets `t` as written in the
/// header. Returns the matching MAC (a request's identity, for replay detection).
pub fn verify<'a>(
    secrets: impl IntoIterator<Item = &'a [u8]>,
    header: Option<&str>,
    now: i64,
    tolerance_secs: i64,
    payload: impl Fn(&str) -> Vec<u8>,
) -> Result<Vec<u8>, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t: Option<&str> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => {
                if let Ok(b) = hex::decode(v) {
                    sigs.push(b)
                }
            }
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if t.is_empty()
        || t.len() > MAX_T_DIGITS
        || !t.bytes().all(|b| b.is_ascii_digit())
        || sigs.is_empty()
    {
        return Err(SignatureError::Malformed);
    }
    let ts: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if (now - ts).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let signed = payload(t);
    for secret in secrets {
        let mac = || {
            let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
            m.update(&signed);
            m
        };
        if sigs.iter().any(|s| mac().verify_slice(s).is_ok()) {
            return Ok(mac().finalize().into_bytes().to_vec());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The header value signing `payload(t)` with `secret` at unix time `t` (fakes, relays, tests).
pub fn sign(secret: &[u8], t: i64, payload: impl Fn(&str) -> Vec<u8>) -> String {
    let t = t.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(&payload(&t));
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(t: &str) -> Vec<u8> {
        [t.as_bytes(), b"{}"].concat()
    }

    #[test]
    fn a_signature_holds_for_its_secret_within_the_tolerance_only() {
        let header = sign(b"new", 1000, body);
        let secrets: [&[u8]; 2] = [b"old", b"new"];
        assert!(verify(secrets, Some(&header), 1100, 300, body).is_ok());
        assert_eq!(
            verify([b"old".as_slice()], Some(&header), 1100, 300, body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(secrets, Some(&header), 2000, 300, body),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(secrets, None, 1000, 300, body),
            Err(SignatureError::Missing)
        );
        for bad in ["v1=00", "t=12a,v1=00", "t=1000", "t=1234567890123,v1=00"] {
            assert_eq!(
                verify(secrets, Some(bad), 1000, 300, body),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
