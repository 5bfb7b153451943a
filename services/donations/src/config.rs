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

/// The fake Wave's dev key and secret (kept in sync with `fakewave::DEV_*`).
pub const DEV_API_KEY: &str = "wave_sn_dev_fake_key";
pub const DEV_WEBHOOK_SECRET: &str = "wave_sn_WHS_dev_fake_secret";
pub const DEV_API_URL: &str = "http://127.0.0.1:8099";

#[derive(Debug, Clone)]
pub struct DonationsConfig {
    pub wave_api_url: String,
    pub wave_api_key: String,
    /// Every accepted webhook secret (rotation: old and new).
    pub webhook_secrets: Vec<String>,
    pub public_web_url: String,
    pub wave_timeout: Duration,
    pub signature_tolerance: Duration,
}

impl platform::Settings for DonationsConfig {
    /// Read once at start-up; `wolo serve` points `WOLO_WAVE_API_URL` at the fake Wave it
    /// started (outside production).
    fn read(
        env: &platform::config::Env,
        config: &platform::Config,
    ) -> Result<Self, platform::config::ConfigError> {
        let mut cfg = DonationsConfig::from_lookup(env.lookup())
            .map_err(|e| platform::config::ConfigError::Line(e.to_string()))?;
        cfg.public_web_url = config.public_web_url.clone();
        Ok(cfg)
    }
}

impl DonationsConfig {
    /// A configuration for a Wave (or fake) at `url` with the given key and secrets.
    pub fn new(url: &str, key: &str, secrets: &[&str]) -> DonationsConfig {
        DonationsConfig {
            wave_api_url: url.trim_end_matches('/').to_string(),
            wave_api_key: key.to_string(),
            webhook_secrets: secrets.iter().map(|s| s.to_string()).collect(),
            public_web_url: platform::config::DEFAULT_PUBLIC_WEB_URL.to_string(),
            wave_timeout: Duration::from_secs(10),
            signature_tolerance: Duration::from_secs(300),
        }
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<DonationsConfig> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut cfg = match get("WOLO_WAVE_API_URL") {
            Some(url) => {
                let key = get("WOLO_WAVE_API_KEY").ok_or_else(|| {
                    anyhow::anyhow!("WOLO_WAVE_API_KEY is required with WOLO_WAVE_API_URL")
                })?;
                let secrets = get("WOLO_WAVE_WEBHOOK_SECRET").ok_or_else(|| {
                    anyhow::anyhow!("WOLO_WAVE_WEBHOOK_SECRET is required with WOLO_WAVE_API_URL")
                })?;
                let secrets = split_secrets(&secrets);
                let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
                DonationsConfig::new(&url, &key, &secrets)
            }
            None if get("WOLO_ENV").as_deref() == Some("production") => {
                anyhow::bail!(
                    "WOLO_WAVE_API_URL is required in production (Wave's API, https://api.wave.com)"
                )
            }
            None => {
                let mut cfg = DonationsConfig::new(DEV_API_URL, DEV_API_KEY, &[DEV_WEBHOOK_SECRET]);
                // The configured key and secrets are the ones honoured, fake Wave or not: the
                // dev values only stand in when none is configured.
                if let Some(k) = get("WOLO_WAVE_API_KEY") {
                    cfg.wave_api_key = k;
                }
                if let Some(s) = get("WOLO_WAVE_WEBHOOK_SECRET") {
                    cfg.webhook_secrets = split_secrets(&s);
                }
                cfg
            }
        };
        if let Some(s) = get("WOLO_WAVE_TIMEOUT_SECS") {
            let n: u64 = s.parse().map_err(|_| {
                anyhow::anyhow!("WOLO_WAVE_TIMEOUT_SECS must be a whole number of seconds")
            })?;
            cfg.wave_timeout = Duration::from_secs(n.max(1));
        }
        if let Some(s) = get("WOLO_WAVE_SIGNATURE_TOLERANCE_SECS") {
            let n: u64 = s.parse().map_err(|_| {
                anyhow::anyhow!(
                    "WOLO_WAVE_SIGNATURE_TOLERANCE_SECS must be a whole number of seconds"
                )
            })?;
            cfg.signature_tolerance = Duration::from_secs(n);
        }
        if cfg.webhook_secrets.is_empty() {
            anyhow::bail!("WOLO_WAVE_WEBHOOK_SECRET holds no secret");
        }
        Ok(cfg)
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

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_wave_settings_and_rotation_secrets() {
        let c = DonationsConfig::from_lookup(lookup(&[
            ("WOLO_WAVE_API_URL", "https://api.wave.com/"),
            ("WOLO_WAVE_API_KEY", "wave_sn_prod_x"),
            (
                "WOLO_WAVE_WEBHOOK_SECRET",
                "wave_sn_WHS_new, wave_sn_WHS_old",
            ),
        ]))
        .unwrap();
        assert_eq!(c.wave_api_url, "https://api.wave.com");
        assert_eq!(
            c.webhook_secrets,
            vec!["wave_sn_WHS_new", "wave_sn_WHS_old"]
        );
        let e =
            DonationsConfig::from_lookup(lookup(&[("WOLO_WAVE_API_URL", "https://api.wave.com")]))
                .unwrap_err();
        assert!(e.to_string().contains("WOLO_WAVE_API_KEY"));
        let e = DonationsConfig::from_lookup(lookup(&[("WOLO_ENV", "production")])).unwrap_err();
        assert!(e.to_string().contains("WOLO_WAVE_API_URL"));
        let dev = DonationsConfig::from_lookup(lookup(&[])).unwrap();
        assert_eq!(dev.wave_api_url, DEV_API_URL);
    }
}
