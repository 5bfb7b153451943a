//! The donations service's settings: Wave's API, the webhook secrets, the web app's URL.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WOLO_WAVE_API_URL` | (none: `wolo serve` starts the fake Wave outside production) | Wave's base URL, e.g. `https://api.wave.com` |
//! | `WOLO_WAVE_API_KEY` | dev key of the fake | Bearer key for Wave (`wave_sn_prod_...`) |
//! | `WOLO_WAVE_WEBHOOK_SECRET` | dev secret of the fake | webhook signing secret(s), comma-separated during a rotation; when set it is always the one honoured (the fake Wave of `wolo serve` then signs with it too) |
//! | `WOLO_WAVE_TIMEOUT_SECS` | `10` | timeout of one call to Wave |
//! | `WOLO_WAVE_SIGNATURE_TOLERANCE_SECS` | `300` | accepted age (either way) of a webhook's `t` |

use std::time::Duration;

use platform::config::{ConfigError, Env, Environment, Secret};

/// The fake Wave's dev key and secret (kept in sync with `fakewave::DEV_*`).
pub const DEV_API_KEY: &str = "wave_sn_dev_fake_key";
pub const DEV_WEBHOOK_SECRET: &str = "wave_sn_WHS_dev_fake_secret";
pub const DEV_API_URL: &str = "http://127.0.0.1:8099";

/// The donations service's settings. The key and the webhook secrets are [`Secret`]s: `Debug`
/// prints `***` for them.
#[derive(Debug, Clone)]
pub struct DonationsConfig {
    pub wave_api_url: String,
    pub wave_api_key: Secret,
    /// Every accepted webhook secret (rotation: old and new).
    pub webhook_secrets: Vec<Secret>,
    /// Where Wave sends the donor back (`platform::links`).
    pub links: platform::links::Links,
    pub wave_timeout: Duration,
    pub signature_tolerance: Duration,
}

impl platform::Settings for DonationsConfig {
    /// Read once at start-up; `wolo serve` points `WOLO_WAVE_API_URL` at the fake Wave it
    /// started (outside production). The environment (production or not) is the platform
    /// configuration's (`WOLO_ENV`, read once by [`platform::Config`]).
    fn read(env: &Env, config: &platform::Config) -> Result<Self, ConfigError> {
        let mut cfg = DonationsConfig::from_env(env, config.environment)?;
        cfg.links = platform::links::Links::from_config(config);
        Ok(cfg)
    }
}

impl DonationsConfig {
    /// A configuration for a Wave (or fake) at `url` with the given key and secrets.
    pub fn new(url: &str, key: &str, secrets: &[&str]) -> DonationsConfig {
        DonationsConfig {
            wave_api_url: url.trim_end_matches('/').to_string(),
            wave_api_key: Secret::new(key),
            webhook_secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
            links: platform::links::Links::local(),
            wave_timeout: Duration::from_secs(10),
            signature_tolerance: Duration::from_secs(300),
        }
    }

    /// The Wave settings of `env` in `environment`: without `WOLO_WAVE_API_URL`, production
    /// refuses to start and development gets the fake Wave's URL (and its dev key and secret
    /// where none is configured). A missing or malformed setting is an error naming it.
    pub fn from_env(env: &Env, environment: Environment) -> Result<DonationsConfig, ConfigError> {
        let mut cfg = match env.get("WOLO_WAVE_API_URL") {
            Some(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(ConfigError::invalid(
                        "WOLO_WAVE_API_URL",
                        format!("must be an http(s):// URL (got {url:?})"),
                    ));
                }
                let key = env.get("WOLO_WAVE_API_KEY").ok_or_else(|| {
                    ConfigError::Line(
                        "WOLO_WAVE_API_KEY is required with WOLO_WAVE_API_URL".to_string(),
                    )
                })?;
                let secrets = env.get("WOLO_WAVE_WEBHOOK_SECRET").ok_or_else(|| {
                    ConfigError::Line(
                        "WOLO_WAVE_WEBHOOK_SECRET is required with WOLO_WAVE_API_URL".to_string(),
                    )
                })?;
                let secrets = split_secrets(&secrets);
                let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
                DonationsConfig::new(&url, &key, &secrets)
            }
            None if environment == Environment::Production => return Err(ConfigError::Line(
                "WOLO_WAVE_API_URL is required in production (Wave's API, https://api.wave.com)"
                    .to_string(),
            )),
            None => {
                let mut cfg = DonationsConfig::new(DEV_API_URL, DEV_API_KEY, &[DEV_WEBHOOK_SECRET]);
                // The configured key and secrets are the ones honoured, fake Wave or not: the
                // dev values only stand in when none is configured.
                if let Some(k) = env.secret("WOLO_WAVE_API_KEY") {
                    cfg.wave_api_key = k;
                }
                if let Some(s) = env.get("WOLO_WAVE_WEBHOOK_SECRET") {
                    cfg.webhook_secrets = split_secrets(&s).into_iter().map(Secret::new).collect();
                }
                cfg
            }
        };
        if let Some(n) = seconds(env, "WOLO_WAVE_TIMEOUT_SECS")? {
            cfg.wave_timeout = Duration::from_secs(n.max(1));
        }
        if let Some(n) = seconds(env, "WOLO_WAVE_SIGNATURE_TOLERANCE_SECS")? {
            cfg.signature_tolerance = Duration::from_secs(n);
        }
        if cfg.webhook_secrets.is_empty() {
            return Err(ConfigError::invalid(
                "WOLO_WAVE_WEBHOOK_SECRET",
                "holds no secret",
            ));
        }
        Ok(cfg)
    }
}

/// A whole number of seconds, when set.
fn seconds(env: &Env, name: &'static str) -> Result<Option<u64>, ConfigError> {
    match env.get(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ConfigError::invalid(
                name,
                format!("must be a whole number of seconds (got {v:?})"),
            )
        }),
    }
}

/// `a, b` → `["a", "b"]` (a rotation lists the new secret and the old one).
fn split_secrets(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The API key and webhook secrets a fake Wave started for development must use, so that the
/// service and the fake agree: `WOLO_WAVE_API_KEY` and `WOLO_WAVE_WEBHOOK_SECRET` when set,
/// else the fake's dev values. (`wolo serve` starts the fake with them and points the
/// service's settings at it.)
pub fn fake_wave_credentials(get: impl Fn(&str) -> Option<String>) -> (String, Vec<String>) {
    let get = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let key = get("WOLO_WAVE_API_KEY").unwrap_or_else(|| DEV_API_KEY.to_string());
    let secrets = get("WOLO_WAVE_WEBHOOK_SECRET")
        .map(|s| split_secrets(&s))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| vec![DEV_WEBHOOK_SECRET.to_string()]);
    (key, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<DonationsConfig, ConfigError> {
        DonationsConfig::from_env(&Env::from_pairs(pairs), Environment::Development)
    }

    fn exposed(secrets: &[Secret]) -> Vec<&str> {
        secrets.iter().map(Secret::expose).collect()
    }

    #[test]
    fn reads_wave_settings_and_rotation_secrets() {
        let c = read(&[
            ("WOLO_WAVE_API_URL", "https://api.wave.com/"),
            ("WOLO_WAVE_API_KEY", "wave_sn_prod_x"),
            (
                "WOLO_WAVE_WEBHOOK_SECRET",
                "wave_sn_WHS_new, wave_sn_WHS_old",
            ),
        ])
        .unwrap();
        assert_eq!(c.wave_api_url, "https://api.wave.com");
        assert_eq!(
            exposed(&c.webhook_secrets),
            vec!["wave_sn_WHS_new", "wave_sn_WHS_old"]
        );
        let dev = read(&[]).unwrap();
        assert_eq!(dev.wave_api_url, DEV_API_URL);
        assert_eq!(dev.wave_api_key.expose(), DEV_API_KEY);
    }

    #[test]
    fn the_key_and_the_secret_are_required_with_a_wave_url() {
        let e = read(&[("WOLO_WAVE_API_URL", "https://api.wave.com")]).unwrap_err();
        assert!(e.to_string().contains("WOLO_WAVE_API_KEY"), "{e}");
        let e = read(&[
            ("WOLO_WAVE_API_URL", "https://api.wave.com"),
            ("WOLO_WAVE_API_KEY", "wave_sn_prod_x"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("WOLO_WAVE_WEBHOOK_SECRET"), "{e}");
        let e = read(&[
            ("WOLO_WAVE_API_URL", "https://api.wave.com"),
            ("WOLO_WAVE_API_KEY", "wave_sn_prod_x"),
            ("WOLO_WAVE_WEBHOOK_SECRET", " , "),
        ])
        .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    name: "WOLO_WAVE_WEBHOOK_SECRET",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn production_is_the_platform_environment_not_the_lookup() {
        // WOLO_ENV in the lookup is not what decides: the platform configuration's environment is.
        let env = Env::from_pairs(&[("WOLO_ENV", "production")]);
        assert!(DonationsConfig::from_env(&env, Environment::Development).is_ok());
        let e =
            DonationsConfig::from_env(&Env::from_pairs::<&str, &str>(&[]), Environment::Production)
                .unwrap_err();
        assert!(e.to_string().contains("WOLO_WAVE_API_URL"), "{e}");
    }

    #[test]
    fn malformed_values_are_errors_naming_the_setting() {
        for (name, value) in [
            ("WOLO_WAVE_TIMEOUT_SECS", "dix"),
            ("WOLO_WAVE_SIGNATURE_TOLERANCE_SECS", "-5"),
            ("WOLO_WAVE_API_URL", "api.wave.com"),
        ] {
            let e = read(&[
                (name, value),
                ("WOLO_WAVE_API_KEY", "k"),
                ("WOLO_WAVE_WEBHOOK_SECRET", "s"),
            ])
            .unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { name: n, .. } if *n == name),
                "{name}: {e}"
            );
        }
        let c = read(&[("WOLO_WAVE_TIMEOUT_SECS", "0")]).unwrap();
        assert_eq!(c.wave_timeout, Duration::from_secs(1));
    }

    #[test]
    fn debug_never_prints_the_key_or_the_secrets() {
        let c = read(&[
            ("WOLO_WAVE_API_URL", "https://api.wave.com"),
            ("WOLO_WAVE_API_KEY", "wave_sn_prod_topsecret"),
            ("WOLO_WAVE_WEBHOOK_SECRET", "wave_sn_WHS_hush"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("topsecret"), "{printed}");
        assert!(!printed.contains("hush"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }
}
