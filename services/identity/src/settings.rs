//! The identity service's own settings, read once at start-up ([`platform::Settings`]); a
//! malformed one stops start-up with one line naming it (exit status 2).
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `WOLO_GOOGLE_CLIENT_ID` | (none: Google sign-in refused) | the OAuth client id Google ID tokens must be issued for |
//! | `WOLO_GOOGLE_JWKS_URL` | Google's | where Google's signing keys are fetched (`http://` or `https://`) |
//! | `WOLO_RATE_LIMIT_*` | see `crate::throttle` | the limits of sign-in, `/verify`, `/recover` and `/otp` |
//! | `WOLO_PASSWORD_*` | see `crate::password_policy` | what a new password must satisfy |
//! | `WOLO_REFRESH_TOKEN_REUSE_INTERVAL` | `10` | seconds a rotated refresh token is still accepted, 0–3600 |
//! | `WOLO_ADMIN_SESSION_HOURS` | `8` | how long an admin's sign-in keeps its admin session, 1–720 hours |

use platform::config::{ConfigError, Env};

use crate::{google::GoogleConfig, password_policy::PasswordPolicy, throttle::Limits};

/// GoTrue's default refresh token reuse interval, seconds.
pub const REFRESH_REUSE_SECONDS: i64 = 10;

/// Every setting of the identity service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub google: GoogleConfig,
    pub limits: Limits,
    pub passwords: PasswordPolicy,
    /// `WOLO_REFRESH_TOKEN_REUSE_INTERVAL`, seconds.
    pub refresh_reuse_seconds: i64,
    /// `WOLO_ADMIN_SESSION_HOURS`.
    pub admin_session_hours: i32,
}

impl Default for Settings {
    /// The documented defaults.
    fn default() -> Self {
        Settings {
            google: GoogleConfig::default(),
            limits: Limits::default(),
            passwords: PasswordPolicy::default(),
            refresh_reuse_seconds: REFRESH_REUSE_SECONDS,
            admin_session_hours: rest::sessions::ADMIN_SESSION_HOURS,
        }
    }
}

impl platform::Settings for Settings {
    fn read(env: &Env, _: &platform::Config) -> Result<Self, ConfigError> {
        Settings::from_env(env)
    }
}

impl Settings {
    /// Every setting from `env`; an error names the one that is malformed.
    pub fn from_env(env: &Env) -> Result<Settings, ConfigError> {
        Ok(Settings {
            google: GoogleConfig::from_env(env)?,
            limits: Limits::from_env(env)?,
            passwords: PasswordPolicy::from_env(env)?,
            refresh_reuse_seconds: refresh_reuse_seconds(env)?,
            admin_session_hours: rest::sessions::admin_session_hours(env)?,
        })
    }
}

/// `WOLO_REFRESH_TOKEN_REUSE_INTERVAL`: 0..=3600 seconds, default [`REFRESH_REUSE_SECONDS`].
pub fn refresh_reuse_seconds(env: &Env) -> Result<i64, ConfigError> {
    const NAME: &str = "WOLO_REFRESH_TOKEN_REUSE_INTERVAL";
    match env.get(NAME) {
        None => Ok(REFRESH_REUSE_SECONDS),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|s| (0..=3600).contains(s))
            .ok_or_else(|| ConfigError::invalid(NAME, format!("{v:?} is not 0 to 3600 seconds"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_env(&Env::from_pairs(pairs)).map_err(|e| e.to_string())
    }

    #[test]
    fn nothing_is_required_and_the_defaults_are_documented() {
        let s = read(&[]).unwrap();
        assert_eq!(s.refresh_reuse_seconds, 10);
        assert_eq!(s.admin_session_hours, 8);
        assert_eq!(s.limits, Limits::default());
        assert_eq!(s.passwords, PasswordPolicy::default());
        assert_eq!(s.google.client_id, None);
        let s = read(&[
            ("WOLO_REFRESH_TOKEN_REUSE_INTERVAL", " 0 "),
            ("WOLO_ADMIN_SESSION_HOURS", "12"),
        ])
        .unwrap();
        assert_eq!((s.refresh_reuse_seconds, s.admin_session_hours), (0, 12));
    }

    #[test]
    fn a_malformed_reuse_interval_is_named() {
        for v in ["ten", "-1", "3601", "10s"] {
            let e = read(&[("WOLO_REFRESH_TOKEN_REUSE_INTERVAL", v)]).unwrap_err();
            assert!(e.contains("WOLO_REFRESH_TOKEN_REUSE_INTERVAL"), "{e}");
        }
    }

    #[test]
    fn a_malformed_admin_session_length_is_named() {
        for v in ["0", "721", "huit"] {
            let e = read(&[("WOLO_ADMIN_SESSION_HOURS", v)]).unwrap_err();
            assert!(e.contains("WOLO_ADMIN_SESSION_HOURS"), "{e}");
        }
    }

    #[test]
    fn every_group_of_settings_is_read_through_the_same_env() {
        for (name, v) in [
            ("WOLO_GOOGLE_JWKS_URL", "certs.json"),
            ("WOLO_RATE_LIMIT_OTP_IP", "beaucoup"),
            ("WOLO_PASSWORD_MIN_LENGTH", "3"),
            ("WOLO_PASSWORD_REJECT_COMMON", "peut-être"),
        ] {
            let e = read(&[(name, v)]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
    }
}
