//! The service's own settings ([`NotifyConfig`]), read once at start-up
//! ([`platform::Settings`]); a malformed one stops start-up with one line naming it (exit 2).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WOLO_SMTP_URL` | unset: e-mail goes to the dev provider | `smtp://host:port` (plain), `smtp://host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465` (TLS) |
//! | `WOLO_SMTP_FROM` | `WOLO <no-reply@wolo.sn>` | sender mailbox |
//! | `WOLO_SMS_API_URL`, `WOLO_SMS_API_KEY` | unset: dev provider | JSON `{to, from, text}` POSTed with `Authorization: Bearer <key>` |
//! | `WOLO_SMS_FROM` | `WOLO` | sender id of SMS |
//! | `WOLO_WHATSAPP_API_URL`, `WOLO_WHATSAPP_API_KEY` | unset: dev provider | WhatsApp Business Cloud API messages endpoint and token |
//! | `WOLO_NOTIFY_RECEIPT_SECRET` | unset: receipts refused (503) | HMAC-SHA256 key of `POST /receipts/{provider}` |
//! | `WOLO_SMS_GATEWAY_KEY` | unset: no gateway reports | secret path segment of `POST /receipts/gateway/<key>` (the USSD/SMS gateway's delivery reports) |
//! | `WOLO_NOTIFY_RETRY_BASE_SECONDS` | `30` | first retry delay; doubles per attempt, with jitter |

use std::time::Duration;

use platform::config::{ConfigError, Env, Secret};

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub url: Secret,
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct HttpProviderConfig {
    pub url: String,
    pub key: Secret,
    pub from: String,
}

#[derive(Clone, Debug, Default)]
pub struct NotifyConfig {
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<HttpProviderConfig>,
    pub whatsapp: Option<HttpProviderConfig>,
    pub receipt_secret: Option<Secret>,
    pub retry_base: Option<Duration>,
    /// The USSD/SMS gateway's secret path segment (`WOLO_SMS_GATEWAY_KEY`, shared with the
    /// donations service): its delivery reports come to `/receipts/gateway/<key>`.
    pub gateway_key: Option<Secret>,
}

pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(30);

impl platform::Settings for NotifyConfig {
    fn read(env: &Env, _: &platform::Config) -> Result<Self, ConfigError> {
        NotifyConfig::from_lookup(env.lookup())
    }
}

impl NotifyConfig {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<NotifyConfig, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let smtp = match get("WOLO_SMTP_URL") {
            None => None,
            Some(url) => {
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    return Err(ConfigError::Invalid {
                        name: "WOLO_SMTP_URL",
                        why: "must be a smtp:// or smtps:// URL".into(),
                    });
                }
                Some(SmtpConfig {
                    url: Secret::new(url),
                    from: get("WOLO_SMTP_FROM").unwrap_or_else(|| "WOLO <no-reply@wolo.sn>".into()),
                })
            }
        };
        let http = |url_var: &'static str,
                    key_var: &'static str,
                    from: String|
         -> Result<Option<HttpProviderConfig>, ConfigError> {
            let Some(url) = get(url_var) else {
                return Ok(None);
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    name: url_var,
                    why: "must be an http:// or https:// URL".into(),
                });
            }
            let key = get(key_var).ok_or(ConfigError::Missing(key_var))?;
            Ok(Some(HttpProviderConfig {
                url,
                key: Secret::new(key),
                from,
            }))
        };
        let sms_from = get("WOLO_SMS_FROM").unwrap_or_else(|| "WOLO".into());
        let retry_base = match get("WOLO_NOTIFY_RETRY_BASE_SECONDS") {
            None => None,
            Some(v) => Some(Duration::from_secs(v.trim().parse().map_err(|e| {
                ConfigError::Invalid {
                    name: "WOLO_NOTIFY_RETRY_BASE_SECONDS",
                    why: format!("{v:?}: {e}"),
                }
            })?)),
        };
        Ok(NotifyConfig {
            smtp,
            sms: http("WOLO_SMS_API_URL", "WOLO_SMS_API_KEY", sms_from.clone())?,
            whatsapp: http("WOLO_WHATSAPP_API_URL", "WOLO_WHATSAPP_API_KEY", sms_from)?,
            receipt_secret: get("WOLO_NOTIFY_RECEIPT_SECRET").map(Secret::new),
            gateway_key: get("WOLO_SMS_GATEWAY_KEY").map(Secret::new),
            retry_base,
        })
    }

    pub fn retry_base(&self) -> Duration {
        self.retry_base.unwrap_or(DEFAULT_RETRY_BASE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<NotifyConfig, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        NotifyConfig::from_lookup(move |k| m.get(k).cloned())
    }

    #[test]
    fn nothing_configured_means_dev_providers() {
        let c = cfg(&[]).unwrap();
        assert!(c.smtp.is_none() && c.sms.is_none() && c.whatsapp.is_none());
        assert_eq!(c.retry_base(), DEFAULT_RETRY_BASE);
    }

    #[test]
    fn a_malformed_retry_base_and_a_whatsapp_url_without_key_are_named() {
        use platform::Settings;
        let config = testkit::config_with(&[]);
        let read = |pairs: &[(&str, &str)]| NotifyConfig::read(&Env::from_pairs(pairs), &config);
        let e = read(&[("WOLO_NOTIFY_RETRY_BASE_SECONDS", "thirty")]).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    name: "WOLO_NOTIFY_RETRY_BASE_SECONDS",
                    ..
                }
            ),
            "{e}"
        );
        assert!(matches!(
            read(&[("WOLO_WHATSAPP_API_URL", "https://graph.example/messages")]),
            Err(ConfigError::Missing("WOLO_WHATSAPP_API_KEY"))
        ));
        assert!(matches!(
            read(&[
                ("WOLO_SMS_API_URL", "sms.example/send"),
                ("WOLO_SMS_API_KEY", "k")
            ]),
            Err(ConfigError::Invalid {
                name: "WOLO_SMS_API_URL",
                ..
            })
        ));
        let c = read(&[
            ("WOLO_NOTIFY_RECEIPT_SECRET", "receipt-secret"),
            ("WOLO_SMTP_URL", "smtps://u:pw@smtp.example.sn:465"),
            ("WOLO_NOTIFY_RETRY_BASE_SECONDS", " 5 "),
        ])
        .unwrap();
        assert_eq!(c.retry_base(), Duration::from_secs(5));
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("receipt-secret") && !dbg.contains("pw@"),
            "{dbg}"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(matches!(
            cfg(&[("WOLO_SMS_API_URL", "https://sms.example/send")]),
            Err(ConfigError::Missing("WOLO_SMS_API_KEY"))
        ));
        assert!(matches!(
            cfg(&[("WOLO_SMTP_URL", "mail.example:25")]),
            Err(ConfigError::Invalid {
                name: "WOLO_SMTP_URL",
                ..
            })
        ));
    }

    /// The pooled transport lives on the Tokio runtime.
    #[tokio::test]
    async fn smtp_tls_urls_build_a_transport() {
        for url in [
            "smtps://user:pass@smtp.example.sn:465",
            "smtp://smtp.example.sn:587?tls=required",
            "smtp://127.0.0.1:2525",
        ] {
            let c = cfg(&[("WOLO_SMTP_URL", url)]).unwrap();
            crate::providers::SmtpProvider::new(c.smtp.as_ref().unwrap()).unwrap();
        }
    }
}
