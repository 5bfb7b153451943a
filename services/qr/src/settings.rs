//! The qr service's settings, read once at start-up ([`platform::Settings`]).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WOLO_QR_SECRET` | a development value (refused in production) | HMAC-SHA256 key of the codes, at least 32 bytes |
//! | `WOLO_QR_IDENTITY_URL` | `../identity` | where the scanning page signs in, relative to `/qr/scan` |
//! | `WOLO_PUBLIC_WEB_URL` | unset: the suite's own gift page | where the `qr_ready` message links ([`platform::links`]) |
//!
//! A secret shorter than 32 bytes, or none in production, is a [`ConfigError`] naming
//! `WOLO_QR_SECRET`: one line, exit status 2.

use platform::config::{ConfigError, Env, Environment};

use crate::code::{QrSecret, DEV_SECRET, MIN_SECRET_BYTES};

/// The service's settings.
#[derive(Clone, Debug)]
pub struct QrSettings {
    /// `WOLO_QR_SECRET`: signs the codes (≥ 32 bytes; development default outside production).
    pub secret: QrSecret,
    /// Where the `qr_ready` message's link points ([`platform::links`]).
    pub links: platform::links::Links,
    /// `WOLO_QR_IDENTITY_URL`: where the scanning page signs in, relative to `/qr/scan`
    /// (default `../identity`).
    pub identity_url: String,
}

/// `WOLO_QR_SECRET` of `env`: at least [`MIN_SECRET_BYTES`], the development secret when unset
/// outside production, never that one in production. The service's settings and `wolo seed`
/// (which signs the seeded codes) read it here.
pub fn qr_secret(env: &Env, environment: Environment) -> Result<QrSecret, ConfigError> {
    let production = environment == Environment::Production;
    match env.secret("WOLO_QR_SECRET") {
        Some(s) => {
            if production && s.expose() == DEV_SECRET {
                return Err(ConfigError::invalid(
                    "WOLO_QR_SECRET",
                    "is the development default in production",
                ));
            }
            QrSecret::new(s.expose().as_bytes()).map_err(|_| {
                ConfigError::invalid(
                    "WOLO_QR_SECRET",
                    format!(
                        "must be at least {MIN_SECRET_BYTES} bytes (got {})",
                        s.expose().len()
                    ),
                )
            })
        }
        None if production => Err(ConfigError::Missing("WOLO_QR_SECRET")),
        None => Ok(
            QrSecret::new(DEV_SECRET.as_bytes()).expect("the development secret is long enough")
        ),
    }
}

impl platform::Settings for QrSettings {
    fn read(env: &Env, config: &platform::Config) -> Result<Self, ConfigError> {
        let secret = qr_secret(env, config.environment)?;
        Ok(QrSettings {
            secret,
            links: platform::links::Links::from_config(config),
            identity_url: env
                .get("WOLO_QR_IDENTITY_URL")
                .unwrap_or_else(|| "../identity".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::Settings;

    fn config(production: bool) -> platform::Config {
        testkit::config_with(&[("WOLO_ENV", if production { "production" } else { "test" })])
    }

    #[test]
    fn defaults_outside_production() {
        let s = QrSettings::read(&Env::from_pairs::<&str, &str>(&[]), &config(false)).unwrap();
        assert_eq!(s.identity_url, "../identity");
        let s = QrSettings::read(
            &Env::from_pairs(&[("WOLO_QR_IDENTITY_URL", " https://id.wolo.sn ")]),
            &config(false),
        )
        .unwrap();
        assert_eq!(s.identity_url, "https://id.wolo.sn");
        assert!(!format!("{s:?}").contains(DEV_SECRET));
    }

    #[test]
    fn a_short_secret_is_named() {
        let short = "x".repeat(31);
        let e = QrSettings::read(
            &Env::from_pairs(&[("WOLO_QR_SECRET", short.as_str())]),
            &config(false),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    name: "WOLO_QR_SECRET",
                    ..
                }
            ),
            "{e}"
        );
        assert!(!e.to_string().contains(&short), "{e}");
    }

    #[test]
    fn production_requires_a_real_secret() {
        let e = QrSettings::read(&Env::from_pairs::<&str, &str>(&[]), &config(true)).unwrap_err();
        assert_eq!(e, ConfigError::Missing("WOLO_QR_SECRET"));
        let e = QrSettings::read(
            &Env::from_pairs(&[("WOLO_QR_SECRET", DEV_SECRET)]),
            &config(true),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    name: "WOLO_QR_SECRET",
                    ..
                }
            ),
            "{e}"
        );
    }
}
