//! QR code values: a random 128-bit id and a 128-bit HMAC-SHA256 tag over it, in base32.
//!
//! `value = base32(id ‖ tag)` without padding (52 characters of `A-Z2-7`), shown and put in
//! the QR grouped by four with dashes (`ABCD-EFGH-...`, QR alphanumeric mode). A forged or
//! mistyped code fails [`QrSecret::verify`] (constant-time tag comparison) before any
//! database lookup. The database stores the canonical form (no dashes, upper case).

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the random id.
pub const ID_BYTES: usize = 16;
/// Bytes of the tag kept (HMAC-SHA256 truncated to 128 bits).
pub const TAG_BYTES: usize = 16;
/// Characters of the canonical value.
pub const CODE_CHARS: usize = 52;
/// The smallest secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;
/// The development secret (refused in production).
pub const DEV_SECRET: &str = "wolo-dev-qr-secret-not-for-production-0123456789";

/// Why a code was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not 52 base32 characters once dashes and spaces are removed.
    BadFormat,
    /// The tag does not match the id: forged or mistyped.
    BadTag,
}

impl Rejected {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::BadFormat => "bad_format",
            Rejected::BadTag => "bad_tag",
        }
    }
}

/// The key that signs codes (`WOLO_QR_SECRET`).
#[derive(Clone)]
pub struct QrSecret(Vec<u8>);

impl std::fmt::Debug for QrSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QrSecret([redacted])")
    }
}

impl QrSecret {
    /// A secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(secret: &[u8]) -> anyhow::Result<QrSecret> {
        if secret.len() < MIN_SECRET_BYTES {
            anyhow::bail!(
                "WOLO_QR_SECRET must be at least {MIN_SECRET_BYTES} bytes (got {})",
                secret.len()
            );
        }
        Ok(QrSecret(secret.to_vec()))
    }

    fn tag(&self, id: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"wolo-qr-v1:");
        mac.update(id);
        mac
    }

    /// A new canonical code value.
    pub fn generate(&self) -> String {
        let mut id = [0u8; ID_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let tag = self.tag(&id).finalize().into_bytes();
        let mut raw = id.to_vec();
        raw.extend_from_slice(&tag[..TAG_BYTES]);
        BASE32_NOPAD.encode(&raw)
    }

    /// The canonical value of `input` (dashes, spaces removed, upper case) when its tag is
    /// right; no database involved.
    pub fn verify(&self, input: &str) -> Result<String, Rejected> {
        let canonical = canonical(input);
        if canonical.len() != CODE_CHARS {
            return Err(Rejected::BadFormat);
        }
        let raw = BASE32_NOPAD
            .decode(canonical.as_bytes())
            .map_err(|_| Rejected::BadFormat)?;
        if raw.len() != ID_BYTES + TAG_BYTES {
            return Err(Rejected::BadFormat);
        }
        let (id, tag) = raw.split_at(ID_BYTES);
        self.tag(id)
            .verify_truncated_left(tag)
            .map_err(|_| Rejected::BadTag)?;
        Ok(canonical)
    }
}

/// Upper case, without dashes, spaces or a `WOLO:` prefix.
pub fn canonical(input: &str) -> String {
    let s = input.trim();
    let s = s
        .strip_prefix("WOLO:")
        .or_else(|| s.strip_prefix("wolo:"))
        .unwrap_or(s);
    s.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{a0}'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// `ABCD-EFGH-...`: the form printed under the QR and typed at the counter.
pub fn grouped(canonical: &str) -> String {
    canonical
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// Characters of a counter code (`qr.qr_codes.short_code`, V117): what staff type when a
/// scanner cannot read the screen, instead of the 52 characters of the code.
pub const SHORT_CHARS: usize = 10;

/// Crockford's base32: no I, L, O or U to misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The counter code `input` spells, when it has the shape of one: [`SHORT_CHARS`] symbols of
/// Crockford's base32 once dashes and spaces are gone, in any case, O read as 0 and I or L
/// as 1.
pub fn short(input: &str) -> Option<String> {
    let s: String = canonical(input)
        .chars()
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (s.len() == SHORT_CHARS && s.bytes().all(|b| CROCKFORD.contains(&b))).then_some(s)
}

/// `ABCDE-FGHJK`: a counter code as shown on the gift page.
pub fn short_grouped(short: &str) -> String {
    short
        .as_bytes()
        .chunks(SHORT_CHARS / 2)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// The first characters of an input, for logs of refused codes.
pub fn prefix(input: &str) -> String {
    canonical(input).chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_codes_read_as_people_type_them() {
        assert_eq!(short("k7q4m-9mzdx").as_deref(), Some("K7Q4M9MZDX"));
        // O for 0, I and L for 1.
        assert_eq!(short("ABCDE FGHOI").as_deref(), Some("ABCDEFGH01"));
        assert_eq!(short("ABCDEFGHJL").as_deref(), Some("ABCDEFGHJ1"));
        // U is not a symbol; nine or eleven characters are not a counter code.
        assert_eq!(short("ABCDEFGHJU"), None);
        assert_eq!(short("ABCDEFGHJ"), None);
        assert_eq!(short("ABCDEFGHJKM"), None);
        assert_eq!(short_grouped("K7Q4M9MZDX"), "K7Q4M-9MZDX");
    }

    #[test]
    fn round_trip_and_tamper() {
        let s = QrSecret::new(DEV_SECRET.as_bytes()).unwrap();
        let c = s.generate();
        assert_eq!(c.len(), CODE_CHARS);
        assert_eq!(s.verify(&grouped(&c).to_lowercase()).unwrap(), c);
        // One character changed: refused.
        let mut bad: Vec<char> = c.chars().collect();
        bad[3] = if bad[3] == 'A' { 'B' } else { 'A' };
        let bad: String = bad.into_iter().collect();
        assert_eq!(s.verify(&bad), Err(Rejected::BadTag));
        assert_eq!(s.verify("HELLO"), Err(Rejected::BadFormat));
        // Another secret: refused.
        let other = QrSecret::new(&[7u8; 32]).unwrap();
        assert_eq!(other.verify(&c), Err(Rejected::BadTag));
        assert!(QrSecret::new(b"short").is_err());
    }
}
