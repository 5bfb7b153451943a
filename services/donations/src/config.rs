//! The donations service's settings: Wave's API, the webhook secrets, the web app's URL.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WOLO_WAVE_API_URL` | (none: `wolo serve` starts the fake Wave outside production) | Wave's base URL, e.g. `https://api.wave.com` |
//! | `WOLO_WAVE_API_KEY` | dev key of the fake | Bearer key for Wave (`wave_sn_prod_...`) |
//! | `WOLO_WAVE_WEBHOOK_SECRET` | dev secret of the fake | webhook signing secret(s), comma-separated during a rotation; when set it is always the one honoured (the fake Wave of `wolo serve` then signs with it too) |
//! | `WOLO_WAVE_TIMEOUT_SECS` | `10` | timeout of one call to Wave |
//! | `WOLO_WAVE_SIGNATURE_TOLERANCE_SECS` | `300` | accepted age (either way) of a webhook's `t` |
//! | `WOLO_PAYDUNYA_MASTER_KEY`, `WOLO_PAYDUNYA_PRIVATE_KEY`, `WOLO_PAYDUNYA_TOKEN` | unset: PayDunya not offered (`wolo serve` starts a fake outside production) | PayDunya's three API keys; all three or none |
//! | `WOLO_PAYDUNYA_API_URL` | `https://app.paydunya.com/api/v1` | PayDunya's v1 API (sandbox: `https://app.paydunya.com/sandbox-api/v1`) |
//! | `WOLO_PAYDUNYA_PAYOUT_URL` | `https://app.paydunya.com/api/v2` | PayDunya's payout (v2) API, for refunds |
//! | `WOLO_PAYDUNYA_CALLBACK_URL` | `WOLO_PUBLIC_URL` + `/donations/webhooks/paydunya` | where PayDunya posts its notifications (https in production) |
//! | `WOLO_PAYDUNYA_STORE_NAME` | `WOLO` | the store name on PayDunya's pages |
//! | `WOLO_PAYDUNYA_TIMEOUT_SECS` | `10` | timeout of one call to PayDunya |
//! | `WOLO_SMS_GATEWAY_KEY` | unset: the USSD menu and incoming SMS are not served | the secret path segment of the gateway's callbacks (`/donations/ussd/<key>`, `/donations/sms/<key>`); 24 characters at least in production |

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
    /// PayDunya, when configured (else it is not offered).
    pub paydunya: Option<PayDunyaConfig>,
    /// The USSD/SMS gateway's secret path segment, when the gateway is configured.
    pub gateway_key: Option<Secret>,
}

/// PayDunya's settings.
#[derive(Debug, Clone)]
pub struct PayDunyaConfig {
    /// The v1 API's base URL (live or sandbox), without a trailing slash.
    pub api_url: String,
    /// The payout (v2) API's base URL.
    pub payout_url: String,
    pub master_key: Secret,
    pub private_key: Secret,
    pub token: Secret,
    /// PayDunya's notifications go here.
    pub callback_url: String,
    pub store_name: String,
    pub timeout: Duration,
}

impl PayDunyaConfig {
    /// PayDunya (or a fake) at `api_url` (v1) and `payout_url` (v2) with these keys.
    pub fn new(
        api_url: &str,
        payout_url: &str,
        keys: [&str; 3],
        callback_url: &str,
    ) -> PayDunyaConfig {
        PayDunyaConfig {
            api_url: api_url.trim_end_matches('/').to_string(),
            payout_url: payout_url.trim_end_matches('/').to_string(),
            master_key: Secret::new(keys[0]),
            private_key: Secret::new(keys[1]),
            token: Secret::new(keys[2]),
            callback_url: callback_url.to_string(),
            store_name: "WOLO".to_string(),
            timeout: Duration::from_secs(10),
        }
    }
}

pub const PAYDUNYA_API_URL: &str = "https://app.paydunya.com/api/v1";
pub const PAYDUNYA_PAYOUT_URL: &str = "https://app.paydunya.com/api/v2";
/// Shortest gateway key accepted in production.
pub const MIN_GATEWAY_KEY_CHARS: usize = 24;

impl platform::Settings for DonationsConfig {
    /// Read once at start-up; `wolo serve` points `WOLO_WAVE_API_URL` at the fake Wave it
    /// started (outside production). The environment (production or not) is the platform
    /// configuration's (`WOLO_ENV`, read once by [`platform::Config`]).
    fn read(env: &Env, config: &platform::Config) -> Result<Self, ConfigError> {
        let mut cfg = DonationsConfig::from_env(env, config.environment)?;
        cfg.links = platform::links::Links::from_config(config);
        let suite = env
            .get("WOLO_PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://localhost:{}", config.http_addr.port()));
        cfg.paydunya = paydunya_from_env(env, config.environment, &suite)?;
        cfg.gateway_key = gateway_key_from_env(env, config.environment)?;
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
            paydunya: None,
            gateway_key: None,
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

/// PayDunya's settings of `env`: none without keys; the three keys together; https URLs in
/// production.
pub fn paydunya_from_env(
    env: &Env,
    environment: Environment,
    suite_url: &str,
) -> Result<Option<PayDunyaConfig>, ConfigError> {
    let keys = [
        "WOLO_PAYDUNYA_MASTER_KEY",
        "WOLO_PAYDUNYA_PRIVATE_KEY",
        "WOLO_PAYDUNYA_TOKEN",
    ];
    let set: Vec<Option<String>> = keys.iter().map(|k| env.get(k)).collect();
    if set.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(i) = set.iter().position(Option::is_none) {
        return Err(ConfigError::Line(format!(
            "{} is required with the other PayDunya keys ({})",
            keys[i],
            keys.join(", ")
        )));
    }
    let url = |name: &'static str, default: String| -> Result<String, ConfigError> {
        let v = env.get(name).unwrap_or(default);
        let ok = if environment == Environment::Production {
            v.starts_with("https://")
        } else {
            v.starts_with("https://") || v.starts_with("http://")
        };
        if !ok {
            return Err(ConfigError::invalid(
                name,
                format!("must be an https:// URL (got {v:?})"),
            ));
        }
        Ok(v)
    };
    let api = url("WOLO_PAYDUNYA_API_URL", PAYDUNYA_API_URL.to_string())?;
    let payout = url("WOLO_PAYDUNYA_PAYOUT_URL", PAYDUNYA_PAYOUT_URL.to_string())?;
    let callback = url(
        "WOLO_PAYDUNYA_CALLBACK_URL",
        format!("{suite_url}/donations/webhooks/paydunya"),
    )?;
    let values: Vec<String> = set.into_iter().flatten().collect();
    let mut cfg = PayDunyaConfig::new(
        &api,
        &payout,
        [&values[0], &values[1], &values[2]],
        &callback,
    );
    if environment == Environment::Production && values[1].starts_with("test_") {
        return Err(ConfigError::invalid(
            "WOLO_PAYDUNYA_PRIVATE_KEY",
            "is a test key (test_...): production takes live keys",
        ));
    }
    if let Some(name) = env.get("WOLO_PAYDUNYA_STORE_NAME") {
        cfg.store_name = name;
    }
    if let Some(n) = seconds(env, "WOLO_PAYDUNYA_TIMEOUT_SECS")? {
        cfg.timeout = Duration::from_secs(n.max(1));
    }
    Ok(Some(cfg))
}

/// `WOLO_SMS_GATEWAY_KEY`: the secret path segment of the gateway's callbacks.
pub fn gateway_key_from_env(
    env: &Env,
    environment: Environment,
) -> Result<Option<Secret>, ConfigError> {
    let Some(key) = env.get("WOLO_SMS_GATEWAY_KEY") else {
        return Ok(None);
    };
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ConfigError::invalid(
            "WOLO_SMS_GATEWAY_KEY",
            "letters, digits, - and _ only (it is a URL path segment)",
        ));
    }
    if environment == Environment::Production && key.chars().count() < MIN_GATEWAY_KEY_CHARS {
        return Err(ConfigError::invalid(
            "WOLO_SMS_GATEWAY_KEY",
            format!("must be at least {MIN_GATEWAY_KEY_CHARS} characters in production"),
        ));
    }
    Ok(Some(Secret::new(&key)))
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
