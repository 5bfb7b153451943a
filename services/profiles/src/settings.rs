//! The profiles service's settings, read once at start-up ([`platform::Settings`]).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WOLO_ID_HASH_KEY` | a development key (required in production) | HMAC-SHA256 key of identity document fingerprints |
//! | `WOLO_ID_ENCRYPTION_KEYS` | a development key `dev1` (required in production) | `kid:base64(32 bytes)[,kid:base64...]`: AES-256-GCM keys of document numbers, the first is current (rotation) |
//!
//! Both are read as [`platform::config::Secret`]s and kept only inside [`IdKeys`], whose
//! `Debug` shows key ids, never keys. A missing (production) or malformed one is a
//! [`ConfigError`] naming it: one line, exit status 2.

use platform::config::{ConfigError, Env, Environment};

use crate::crypto::IdKeys;

/// The service's settings.
#[derive(Clone, Debug)]
pub struct ProfilesSettings {
    /// The identity document keys.
    pub keys: IdKeys,
}

impl platform::Settings for ProfilesSettings {
    fn read(env: &Env, config: &platform::Config) -> Result<Self, ConfigError> {
        let production = config.environment == Environment::Production;
        let hash = env.secret("WOLO_ID_HASH_KEY");
        let enc = env.secret("WOLO_ID_ENCRYPTION_KEYS");
        let keys = IdKeys::from_values(
            hash.as_ref().map(|s| s.expose()),
            enc.as_ref().map(|s| s.expose()),
            production,
        )?;
        Ok(ProfilesSettings { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::Settings;

    fn config(production: bool) -> platform::Config {
        testkit::config_with(&[("WOLO_ENV", if production { "production" } else { "test" })])
    }

    fn read(pairs: &[(&str, &str)], production: bool) -> Result<ProfilesSettings, ConfigError> {
        ProfilesSettings::read(&Env::from_pairs(pairs), &config(production))
    }

    const KEY: &str = "k1:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

    #[test]
    fn development_defaults_and_configured_keys() {
        assert_eq!(read(&[], false).unwrap().keys.current_key_id(), "dev1");
        let s = read(
            &[
                ("WOLO_ID_HASH_KEY", "hash-key-secret"),
                ("WOLO_ID_ENCRYPTION_KEYS", KEY),
            ],
            true,
        )
        .unwrap();
        assert_eq!(s.keys.current_key_id(), "k1");
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("hash-key-secret") && !dbg.contains("ZGVm"),
            "{dbg}"
        );
    }

    #[test]
    fn each_key_is_required_in_production() {
        assert_eq!(
            read(&[("WOLO_ID_ENCRYPTION_KEYS", KEY)], true).unwrap_err(),
            ConfigError::Missing("WOLO_ID_HASH_KEY")
        );
        assert_eq!(
            read(&[("WOLO_ID_HASH_KEY", "h")], true).unwrap_err(),
            ConfigError::Missing("WOLO_ID_ENCRYPTION_KEYS")
        );
    }

    #[test]
    fn malformed_encryption_keys_are_named() {
        for bad in [
            "nokid",
            "k1:not base64!",
            "k1:c2hvcnQ=",
            "bad kid:c2hvcnQ=",
            &format!("{KEY},{KEY}"),
        ] {
            let e = read(&[("WOLO_ID_ENCRYPTION_KEYS", bad)], false).unwrap_err();
            assert!(
                matches!(
                    e,
                    ConfigError::Invalid {
                        name: "WOLO_ID_ENCRYPTION_KEYS",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
            assert!(!e.to_string().contains("ZGVm"), "{e}");
        }
    }
}
