//! Identity document numbers: HMAC-SHA256 fingerprint (`id_hash`) and AES-256-GCM
//! encryption with rotating keys (`id_number_encrypted` = `<key id>:<base64(nonce||ct)>`).
//!
//! Settings:
//! - `WOLO_ID_HASH_KEY`: the HMAC key (any string, 32+ bytes advised).
//! - `WOLO_ID_ENCRYPTION_KEYS`: `kid1:base64key,kid2:base64key` (32-byte keys); the first is
//!   the current key (new ciphertexts), the others still decrypt until
//!   [`reencrypt_documents_once`] moved every row to the current key.
//!
//! Both are required in production; development and tests use fixed, public defaults.

use aes_gcm::{
    aead::{Aead, KeyInit},
    Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use platform::config::ConfigError;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

/// The keys for identity documents.
#[derive(Clone)]
pub struct IdKeys {
    hash_key: Vec<u8>,
    /// (key id, key); the first is current.
    enc: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for IdKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdKeys")
            .field(
                "key_ids",
                &self.enc.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Development default for `WOLO_ID_HASH_KEY` (public: never use in production).
pub const DEV_HASH_KEY: &str = "wolo-development-id-hash-key-not-secret";

fn dev_enc_key() -> [u8; 32] {
    Sha256::digest(b"wolo-development-id-encryption-key-not-secret").into()
}

impl IdKeys {
    /// Parses the two settings (`None` = unset: development defaults, refused in production);
    /// an error names the setting (and never shows a key).
    pub fn from_values(
        hash_key: Option<&str>,
        enc_keys: Option<&str>,
        production: bool,
    ) -> Result<IdKeys, ConfigError> {
        const ENC: &str = "WOLO_ID_ENCRYPTION_KEYS";
        let bad = |why: String| ConfigError::invalid(ENC, why);
        let hash_key = match hash_key.map(str::trim).filter(|s| !s.is_empty()) {
            Some(k) => k.as_bytes().to_vec(),
            None if production => return Err(ConfigError::Missing("WOLO_ID_HASH_KEY")),
            None => DEV_HASH_KEY.as_bytes().to_vec(),
        };
        let enc = match enc_keys.map(str::trim).filter(|s| !s.is_empty()) {
            Some(list) => {
                let mut out = Vec::new();
                for item in list.split(',') {
                    let (kid, b64) = item.trim().split_once(':').ok_or_else(|| {
                        bad("expected kid:base64key[,kid:base64key...]".to_string())
                    })?;
                    let kid = kid.trim();
                    if kid.is_empty()
                        || kid.len() > 16
                        || !kid
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        return Err(bad(format!("bad key id {kid:?}")));
                    }
                    let bytes = B64
                        .decode(b64.trim())
                        .map_err(|e| bad(format!("key {kid} is not base64: {e}")))?;
                    let key: [u8; 32] = bytes
                        .try_into()
                        .map_err(|_| bad(format!("key {kid} must be 32 bytes")))?;
                    if out.iter().any(|(k, _)| k == kid) {
                        return Err(bad(format!("duplicate key id {kid}")));
                    }
                    out.push((kid.to_string(), key));
                }
                out
            }
            None if production => return Err(ConfigError::Missing(ENC)),
            None => vec![("dev1".to_string(), dev_enc_key())],
        };
        Ok(IdKeys { hash_key, enc })
    }

    pub fn current_key_id(&self) -> &str {
        &self.enc[0].0
    }

    /// Hex HMAC-SHA256 of the normalised number.
    pub fn id_hash(&self, normalised: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key).expect("HMAC takes any key");
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `<current key id>:<base64(nonce || ciphertext)>` with a fresh random 96-bit nonce.
    pub fn encrypt(&self, plain: &str) -> String {
        let (kid, key) = &self.enc[0];
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption of a short text");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("{kid}:{}", B64.encode(blob))
    }

    /// Decrypts a value written by [`IdKeys::encrypt`] under any configured key.
    pub fn decrypt(&self, stored: &str) -> Result<String, String> {
        let (kid, b64) = stored
            .split_once(':')
            .ok_or_else(|| "not a <key id>:<ciphertext> value".to_string())?;
        let key = self
            .enc
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, k)| k)
            .ok_or_else(|| format!("unknown key id {kid}"))?;
        let blob = B64.decode(b64).map_err(|e| e.to_string())?;
        if blob.len() < 12 + 16 {
            return Err("ciphertext too short".into());
        }
        let (nonce, ct) = blob.split_at(12);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| "decryption failed (wrong key or tampered)".to_string())?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    }
}

/// A document number as compared: upper case, letters and digits only.
pub fn normalise_number(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// `******4567`: the last 4 characters (the last 2 when shorter than 8).
pub fn mask(number: &str) -> String {
    let n = number.chars().count();
    let keep = if n >= 8 { 4 } else { 2.min(n) };
    let tail: String = number.chars().skip(n - keep).collect();
    format!("{}{}", "*".repeat(n - keep), tail)
}

/// Re-encrypts up to `batch` documents not under the current key; returns how many.
/// Rows are locked with `skip locked`, so replicas share the work.
pub async fn reencrypt_documents_once(
    pool: &PgPool,
    keys: &IdKeys,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "select user_id, id_number_encrypted from profiles.profiles
         where id_number_encrypted is not null and split_part(id_number_encrypted, ':', 1) <> $1
         order by user_id limit $2 for update skip locked",
    )
    .bind(keys.current_key_id())
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let mut n = 0;
    for r in rows {
        let user: uuid::Uuid = r.get("user_id");
        let stored: String = r.get("id_number_encrypted");
        match keys.decrypt(&stored) {
            Ok(plain) => {
                sqlx::query(
                    "update profiles.profiles set id_number_encrypted = $2 where user_id = $1",
                )
                .bind(user)
                .bind(keys.encrypt(&plain))
                .execute(&mut *tx)
                .await?;
                n += 1;
            }
            Err(e) => tracing::warn!(%user, error = %e, "identity document cannot be re-encrypted"),
        }
    }
    tx.commit().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_rotation_and_hash() {
        let k1 = B64.encode([1u8; 32]);
        let k2 = B64.encode([2u8; 32]);
        let old = IdKeys::from_values(Some("h"), Some(&format!("a:{k1}")), true).unwrap();
        let ct = old.encrypt("1234567890123");
        assert!(ct.starts_with("a:"));
        assert_ne!(old.encrypt("1234567890123"), ct, "random nonce");
        assert_eq!(old.decrypt(&ct).unwrap(), "1234567890123");
        let new = IdKeys::from_values(Some("h"), Some(&format!("b:{k2},a:{k1}")), true).unwrap();
        assert_eq!(new.decrypt(&ct).unwrap(), "1234567890123");
        assert!(new.encrypt("x").starts_with("b:"));
        // Tampering is detected.
        let mut bad = ct.clone();
        bad.pop();
        bad.push(if ct.ends_with('A') { 'B' } else { 'A' });
        assert!(old.decrypt(&bad).is_err());
        assert_eq!(old.id_hash("AB12"), new.id_hash("AB12"));
        assert_ne!(
            old.id_hash("AB12"),
            IdKeys::from_values(Some("other"), None, false)
                .unwrap()
                .id_hash("AB12")
        );
        assert!(IdKeys::from_values(None, None, true).is_err());
        assert!(IdKeys::from_values(Some("h"), Some("a:short"), false).is_err());
        assert_eq!(normalise_number(" 1 234-567.89 ab "), "123456789AB");
        assert_eq!(mask("1234567890"), "******7890");
    }
}
