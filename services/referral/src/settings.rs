//! The referral service's own settings, read once at start-up ([`platform::Settings`]).
//!
//! | Variable | Default | |
//! |---|---|---|
//! | `WOLO_INVITE_URL_BASE` | `<WOLO_PUBLIC_WEB_URL>/invitation/` | sign-up link in invitations (the code is appended); an `http(s)://` URL |

use platform::config::{ConfigError, Env};

/// What the referral service reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralSettings {
    /// Base of the sign-up link sent in invitations (`<base><code>`).
    pub invite_url_base: String,
}

impl platform::Settings for ReferralSettings {
    fn read(env: &Env, config: &platform::Config) -> Result<Self, ConfigError> {
        let invite_url_base = match env.get("WOLO_INVITE_URL_BASE") {
            None => format!("{}/invitation/", config.public_web_url),
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => url,
            Some(url) => {
                return Err(ConfigError::invalid(
                    "WOLO_INVITE_URL_BASE",
                    format!("must be an http(s):// URL (got {url:?})"),
                ))
            }
        };
        Ok(ReferralSettings { invite_url_base })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::Settings;

    fn config() -> platform::Config {
        testkit::config_with(&[("WOLO_PUBLIC_WEB_URL", "https://wolo.sn")])
    }

    #[test]
    fn the_invite_url_defaults_to_the_web_app() {
        let s = ReferralSettings::read(&Env::from_pairs::<&str, &str>(&[]), &config()).unwrap();
        assert_eq!(s.invite_url_base, "https://wolo.sn/invitation/");
        let blank = Env::from_pairs(&[("WOLO_INVITE_URL_BASE", "  ")]);
        assert_eq!(
            ReferralSettings::read(&blank, &config()).unwrap(),
            s,
            "blank is unset"
        );
    }

    #[test]
    fn a_configured_invite_url_is_taken_as_set() {
        let env = Env::from_pairs(&[("WOLO_INVITE_URL_BASE", " https://wolo.sn/i/ ")]);
        let s = ReferralSettings::read(&env, &config()).unwrap();
        assert_eq!(s.invite_url_base, "https://wolo.sn/i/");
    }

    #[test]
    fn a_malformed_invite_url_is_an_error_naming_it() {
        let env = Env::from_pairs(&[("WOLO_INVITE_URL_BASE", "wolo.sn/invitation/")]);
        let e = ReferralSettings::read(&env, &config()).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    name: "WOLO_INVITE_URL_BASE",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("WOLO_INVITE_URL_BASE"), "{e}");
    }
}
