//! The admin service's own settings, read once at start-up ([`platform::Settings`]).
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `WOLO_HEALTH_BASE_URL` | `http://<WOLO_HTTP_ADDR>` | where the health probes find the services (`crate::health`); `http://` or `https://`, `{service}` allowed |
//! | `WOLO_ADMIN_SESSION_HOURS` | `8` | admin session length, 1–720 hours (`POST /sessions`) |
//!
//! A malformed value stops start-up with one line naming the setting (exit status 2).

use platform::config::{ConfigError, Env};

/// The admin session length when `WOLO_ADMIN_SESSION_HOURS` is unset.
pub const ADMIN_SESSION_HOURS: i32 = rest::sessions::ADMIN_SESSION_HOURS;

/// Every setting of the admin service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminSettings {
    /// The base of the health probes' URLs (`WOLO_HEALTH_BASE_URL`).
    pub health_base_url: String,
    /// Admin session length, hours (`WOLO_ADMIN_SESSION_HOURS`).
    pub session_hours: i32,
}

impl platform::Settings for AdminSettings {
    fn read(env: &Env, config: &platform::Config) -> Result<Self, ConfigError> {
        AdminSettings::from_env(env, config.http_addr)
    }
}

impl AdminSettings {
    /// The settings from `env`; `http_addr` gives the default probe base.
    pub fn from_env(env: &Env, http_addr: std::net::SocketAddr) -> Result<Self, ConfigError> {
        let health_base_url = match env.get("WOLO_HEALTH_BASE_URL") {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => url,
            Some(url) => {
                return Err(ConfigError::invalid(
                    "WOLO_HEALTH_BASE_URL",
                    format!("{url:?} is not an http:// or https:// URL"),
                ))
            }
            None => crate::health::default_base(http_addr),
        };
        Ok(AdminSettings {
            health_base_url,
            session_hours: rest::sessions::admin_session_hours(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<AdminSettings, ConfigError> {
        AdminSettings::from_env(&Env::from_pairs(pairs), "0.0.0.0:8090".parse().unwrap())
    }

    #[test]
    fn the_defaults_probe_the_local_address_for_eight_hours() {
        let s = read(&[]).unwrap();
        assert_eq!(s.health_base_url, "http://127.0.0.1:8090");
        assert_eq!(s.session_hours, 8);
        let s = read(&[
            ("WOLO_HEALTH_BASE_URL", " http://{service}:8080 "),
            ("WOLO_ADMIN_SESSION_HOURS", "12"),
        ])
        .unwrap();
        assert_eq!(s.health_base_url, "http://{service}:8080");
        assert_eq!(s.session_hours, 12);
    }

    #[test]
    fn a_malformed_health_base_url_is_named() {
        for v in ["wolo:8080", "ftp://wolo"] {
            let e = read(&[("WOLO_HEALTH_BASE_URL", v)]).unwrap_err();
            assert!(e.to_string().contains("WOLO_HEALTH_BASE_URL"), "{e}");
        }
    }

    #[test]
    fn a_malformed_session_length_is_named() {
        for v in ["0", "721", "huit", "8h"] {
            let e = read(&[("WOLO_ADMIN_SESSION_HOURS", v)]).unwrap_err();
            assert!(e.to_string().contains("WOLO_ADMIN_SESSION_HOURS"), "{e}");
        }
    }
}
