//! What `WOLO_ENV=production` refuses at start-up.
//!
//! [`check`] runs once every setting is visible and before any job or listener starts
//! (`wolo serve`, `wolo serve <S>`, the per-service binaries). Outside production it checks
//! nothing: the development defaults below are what `make run` and the tests use. In
//! production it refuses, naming the setting (never its value):
//!
//! - any service: `WOLO_JWT_SECRET` known from development or shorter than 32 bytes;
//!   `WOLO_CORS_ORIGINS` unset or `*` (open to every origin); `WOLO_METRICS_TOKEN` known or
//!   shorter than 32 bytes when set (unset, and `WOLO_METRICS_ALLOW` unset too, `/metrics`
//!   answers 404 in production: [`crate::metrics`]); `WOLO_PUBLIC_WEB_URL` and
//!   `WOLO_PUBLIC_URL` both unset (links would point at `http://localhost`), or the one in
//!   use not https ([`crate::links`]);
//! - donations: `WOLO_WAVE_API_URL` unset (which starts the fake Wave), not https, or
//!   pointing at the fake (its default address or `WOLO_FAKE_WAVE_ADDR`);
//!   `WOLO_WAVE_API_KEY` and every `WOLO_WAVE_WEBHOOK_SECRET` unset, known or short;
//! - profiles: `WOLO_ID_HASH_KEY` unset, known or short; `WOLO_ID_ENCRYPTION_KEYS` unset,
//!   or any key known or not 32 bytes of base64;
//! - qr: `WOLO_QR_SECRET` unset, known or short;
//! - notifications: `WOLO_SMTP_URL`, `WOLO_SMS_API_URL` or `WOLO_WHATSAPP_API_URL` unset
//!   (that channel would go to the development provider, which writes every message, OTP
//!   codes included, to the log); `WOLO_NOTIFY_RECEIPT_SECRET` known or short when set
//!   (unset, receipts are refused with 503).
//!
//! A value is *known* when it is in [`DEVELOPMENT_VALUES`] (every default shipped in
//! `.env.example`, the Makefile, compose.yaml, the bench script, the code and its tests) or
//! contains one of [`DEVELOPMENT_MARKERS`] ("change-me", ...).

use crate::config::{Environment, MIN_JWT_SECRET_BYTES};

/// Secrets shorter than this are refused in production.
pub const MIN_SECRET_BYTES: usize = MIN_JWT_SECRET_BYTES;

/// Every secret value shipped as a development or test default, in one place.
/// `suite/tests/foundation/production.rs` checks that the files and constants that
/// ship them are all listed here.
pub const DEVELOPMENT_VALUES: &[&str] = &[
    // .env.example
    "change-me-change-me-change-me-change-me",
    // Makefile, compose.yaml
    "dev-only-jwt-secret-change-me-0123456789",
    // bench/run.sh
    "bench-only-jwt-secret-0123456789abcdef",
    "wave_sn_WHS_bench_only_secret",
    "bench-unused",
    // shared/testkit (TEST_JWT_SECRET), shared/platform's tests
    "test-secret-test-secret-test-secret-0123",
    "0123456789abcdef0123456789abcdef",
    // shared/fakewave and services/donations (DEV_API_KEY, DEV_WEBHOOK_SECRET), its tests
    "wave_sn_dev_fake_key",
    "wave_sn_WHS_dev_fake_secret",
    "wave_sn_test_key",
    "wave_sn_WHS_test_current",
    "wave_sn_WHS_test_old",
    // services/profiles (DEV_HASH_KEY, the development encryption key in base64), its tests
    "wolo-development-id-hash-key-not-secret",
    "jSeqd4IP7flLiDVnioTSne05kFFlX6EA5xpgDemrVbg=",
    "test-hash-key",
    // services/qr (DEV_SECRET)
    "wolo-dev-qr-secret-not-for-production-0123456789",
    // services/notifications' tests
    "receipt-secret-for-tests",
];

/// Pieces of text that only placeholder secrets contain (compared ignoring case).
pub const DEVELOPMENT_MARKERS: &[&str] = &[
    "change-me",
    "changeme",
    "not-secret",
    "not-for-production",
    "dev-only",
    "test-only",
    "bench-only",
];

/// The fake Wave's default address (`fakewave::DEFAULT_ADDR`).
pub const FAKE_WAVE_ADDR: &str = "127.0.0.1:8099";

/// Whether `value` is a development default (see the module docs).
pub fn is_development_value(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    DEVELOPMENT_VALUES.contains(&v) || DEVELOPMENT_MARKERS.iter().any(|m| lower.contains(m))
}

/// Why production refuses to start: the setting, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} refused in production: {why}")]
pub struct Refused {
    pub setting: &'static str,
    pub why: String,
}

fn refuse(setting: &'static str, why: impl Into<String>) -> Result<(), Refused> {
    Err(Refused {
        setting,
        why: why.into(),
    })
}

/// Checks the settings of `services` (the names of the services this process runs) when the
/// environment is production; `get` reads a setting (the process environment in the
/// binaries, a map in tests).
pub fn check(
    environment: Environment,
    services: &[&str],
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), Refused> {
    if environment != Environment::Production {
        return Ok(());
    }
    let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    secret("WOLO_JWT_SECRET", get("WOLO_JWT_SECRET"))?;
    match get("WOLO_CORS_ORIGINS") {
        None => refuse(
            "WOLO_CORS_ORIGINS",
            "unset, which allows every origin; list the web app's origins, e.g. https://app.wolo.sn",
        )?,
        Some(v) if v.split(',').any(|o| o.trim() == "*") => refuse(
            "WOLO_CORS_ORIGINS",
            "`*` allows every origin; list the web app's origins, e.g. https://app.wolo.sn",
        )?,
        Some(_) => {}
    }
    // /metrics: the token, when set, is a secret like the others (without it, and without
    // WOLO_METRICS_ALLOW, /metrics is off in production: platform::metrics).
    if let Some(v) = get("WOLO_METRICS_TOKEN") {
        secret("WOLO_METRICS_TOKEN", Some(v))?;
    }
    // Links people open (platform::links): an https address they can reach, never the
    // development default of http://localhost:<port>.
    match (get("WOLO_PUBLIC_WEB_URL"), get("WOLO_PUBLIC_URL")) {
        (None, None) => refuse(
            "WOLO_PUBLIC_URL",
            "unset (and WOLO_PUBLIC_WEB_URL too), so every link in messages and Wave's return \
             pages would point at http://localhost; set the suite's public https address",
        )?,
        (Some(v), _) if !v.trim().starts_with("https://") => refuse(
            "WOLO_PUBLIC_WEB_URL",
            "not https; links must be https in production",
        )?,
        (None, Some(v)) if !v.trim().starts_with("https://") => refuse(
            "WOLO_PUBLIC_URL",
            "not https; links must be https in production",
        )?,
        _ => {}
    }
    database_passwords(services, &get)?;
    let runs = |name: &str| services.contains(&name);
    if runs("donations") {
        wave(&get)?;
    }
    if runs("profiles") {
        secret("WOLO_ID_HASH_KEY", get("WOLO_ID_HASH_KEY"))?;
        encryption_keys(get("WOLO_ID_ENCRYPTION_KEYS"))?;
    }
    if runs("qr") {
        secret("WOLO_QR_SECRET", get("WOLO_QR_SECRET"))?;
    }
    if runs("notifications") {
        for (setting, channel) in [
            ("WOLO_SMTP_URL", "e-mail"),
            ("WOLO_SMS_API_URL", "SMS"),
            ("WOLO_WHATSAPP_API_URL", "WhatsApp"),
        ] {
            if get(setting).is_none() {
                refuse(
                    setting,
                    format!(
                        "unset, so {channel} messages (OTP codes included) would go to the \
                         development provider, which writes them to the log"
                    ),
                )?;
            }
        }
        if let Some(v) = get("WOLO_NOTIFY_RECEIPT_SECRET") {
            secret("WOLO_NOTIFY_RECEIPT_SECRET", Some(v))?;
        }
    }
    Ok(())
}

/// A secret must be set, unknown, and at least [`MIN_SECRET_BYTES`] long.
fn secret(setting: &'static str, value: Option<String>) -> Result<(), Refused> {
    let Some(v) = value else {
        return refuse(setting, "unset; production needs its own secret");
    };
    if is_development_value(&v) {
        return refuse(setting, "a development default; generate a new secret");
    }
    if v.trim().len() < MIN_SECRET_BYTES {
        return refuse(
            setting,
            format!("shorter than {MIN_SECRET_BYTES} bytes; generate a longer secret"),
        );
    }
    Ok(())
}

/// `(service, WOLO_DB_PASSWORD_<S>, WOLO_<S>_DATABASE_URL)`: the settings that carry a
/// service's database password (`platform::db::service_database_url`).
const DATABASE_LOGINS: [(&str, &str, &str); 10] = [
    (
        "identity",
        "WOLO_DB_PASSWORD_IDENTITY",
        "WOLO_IDENTITY_DATABASE_URL",
    ),
    (
        "profiles",
        "WOLO_DB_PASSWORD_PROFILES",
        "WOLO_PROFILES_DATABASE_URL",
    ),
    (
        "referral",
        "WOLO_DB_PASSWORD_REFERRAL",
        "WOLO_REFERRAL_DATABASE_URL",
    ),
    ("pots", "WOLO_DB_PASSWORD_POTS", "WOLO_POTS_DATABASE_URL"),
    (
        "donations",
        "WOLO_DB_PASSWORD_DONATIONS",
        "WOLO_DONATIONS_DATABASE_URL",
    ),
    ("packs", "WOLO_DB_PASSWORD_PACKS", "WOLO_PACKS_DATABASE_URL"),
    ("qr", "WOLO_DB_PASSWORD_QR", "WOLO_QR_DATABASE_URL"),
    (
        "notifications",
        "WOLO_DB_PASSWORD_NOTIFICATIONS",
        "WOLO_NOTIFICATIONS_DATABASE_URL",
    ),
    (
        "analytics",
        "WOLO_DB_PASSWORD_ANALYTICS",
        "WOLO_ANALYTICS_DATABASE_URL",
    ),
    ("admin", "WOLO_DB_PASSWORD_ADMIN", "WOLO_ADMIN_DATABASE_URL"),
];

/// The password inside a `postgres://user:password@host/db` URL, if any.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// Database passwords are the service roles' keys: a development default (compose.yaml's
/// `dev-only-<service>`, any value with a development marker) is refused, whether given as
/// `WOLO_DB_PASSWORD_<S>` or inside `WOLO_<S>_DATABASE_URL` or `DATABASE_URL`. Their length
/// is the database's business (they are not signing keys).
fn database_passwords(
    services: &[&str],
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Refused> {
    const WHY: &str = "a development default database password; set the role's own password";
    if get("DATABASE_URL").is_some_and(|u| url_password(&u).is_some_and(is_development_value)) {
        return refuse("DATABASE_URL", WHY);
    }
    for (service, password, url) in DATABASE_LOGINS {
        if !services.contains(&service) {
            continue;
        }
        if get(password).is_some_and(|p| is_development_value(&p)) {
            return refuse(password, WHY);
        }
        if get(url).is_some_and(|u| url_password(&u).is_some_and(is_development_value)) {
            return refuse(url, WHY);
        }
    }
    Ok(())
}

fn wave(get: &dyn Fn(&str) -> Option<String>) -> Result<(), Refused> {
    const URL: &str = "WOLO_WAVE_API_URL";
    let Some(url) = get(URL) else {
        return refuse(
            URL,
            "unset, which starts the fake Wave; set Wave's API, https://api.wave.com",
        );
    };
    let url = url.trim().trim_end_matches('/');
    let Some(rest) = url.strip_prefix("https://") else {
        return refuse(
            URL,
            "not an https:// URL; Wave's API is https://api.wave.com",
        );
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let fake = get("WOLO_FAKE_WAVE_ADDR").unwrap_or_else(|| FAKE_WAVE_ADDR.to_string());
    if authority.is_empty() || authority == fake.trim() || authority == FAKE_WAVE_ADDR {
        return refuse(
            URL,
            "points at the fake Wave; set Wave's API, https://api.wave.com",
        );
    }
    secret("WOLO_WAVE_API_KEY", get("WOLO_WAVE_API_KEY"))?;
    const HOOK: &str = "WOLO_WAVE_WEBHOOK_SECRET";
    let Some(list) = get(HOOK) else {
        return refuse(
            HOOK,
            "unset; set the secret Wave shows when the webhook is created",
        );
    };
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        secret(HOOK, Some(s.to_string()))?;
    }
    Ok(())
}

fn encryption_keys(value: Option<String>) -> Result<(), Refused> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    const KEYS: &str = "WOLO_ID_ENCRYPTION_KEYS";
    let Some(list) = value else {
        return refuse(
            KEYS,
            "unset; production needs its own keys (kid:base64 of 32 bytes)",
        );
    };
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((kid, b64)) = item.split_once(':') else {
            return refuse(KEYS, "expected kid:base64key[,kid:base64key...]");
        };
        let kid = kid.trim();
        if is_development_value(b64) || is_development_value(item) {
            return refuse(
                KEYS,
                format!("key {kid} is a development default; generate a new key"),
            );
        }
        match STANDARD.decode(b64.trim()) {
            Ok(bytes) if bytes.len() == 32 => {}
            _ => return refuse(KEYS, format!("key {kid} is not base64 of 32 bytes")),
        }
    }
    Ok(())
}

impl Refused {
    /// The one line the binaries print before exiting with status 2.
    pub fn line(&self, program: &str) -> String {
        format!("{program}: {self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A production configuration that passes every check.
    fn valid() -> HashMap<&'static str, String> {
        [
            ("WOLO_JWT_SECRET", "Zq3v9xL2pR7mW4tY8kB1nC6hJ0sD5fG2aE9uQ"),
            ("WOLO_CORS_ORIGINS", "https://app.wolo.sn"),
            ("WOLO_PUBLIC_URL", "https://wolo.sn"),
            ("WOLO_WAVE_API_URL", "https://api.wave.com"),
            (
                "WOLO_WAVE_API_KEY",
                "wave_sn_prod_Hq8Lr2Vx7Kp4Nm9Tb3Wc6Yz1Fd5Gs0J",
            ),
            (
                "WOLO_WAVE_WEBHOOK_SECRET",
                "wave_sn_WHS_p7Rk2Lm9Qx4Vt8Nb3Hc6Jz1Wd5Fs0G",
            ),
            ("WOLO_ID_HASH_KEY", "Xk4Tn8Qm2Rv6Lp0Wz3Hb7Jc1Fd5Gs9Ya"),
            (
                "WOLO_ID_ENCRYPTION_KEYS",
                "k1:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=",
            ),
            ("WOLO_QR_SECRET", "Pm5Wq9Lx3Rt7Vn1Kb4Hz8Jc2Fd6Gs0Ya"),
            ("WOLO_SMTP_URL", "smtps://wolo:pw@smtp.example.sn:465"),
            ("WOLO_SMS_API_URL", "https://sms.example.sn/send"),
            (
                "WOLO_WHATSAPP_API_URL",
                "https://graph.facebook.com/v19.0/1/messages",
            ),
            (
                "WOLO_NOTIFY_RECEIPT_SECRET",
                "Rc7Tn3Qm9Lv5Wp1Kz8Hb2Jd6Fs0Gx4Ya",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    const ALL: &[&str] = &["identity", "profiles", "donations", "qr", "notifications"];

    fn run(env: &HashMap<&'static str, String>) -> Result<(), Refused> {
        check(Environment::Production, ALL, |k| env.get(k).cloned())
    }

    fn refused(change: &[(&'static str, Option<&str>)]) -> &'static str {
        let mut env = valid();
        for (k, v) in change {
            match v {
                Some(v) => env.insert(k, v.to_string()),
                None => env.remove(k),
            };
        }
        run(&env).expect_err("refused").setting
    }

    #[test]
    fn a_valid_production_configuration_passes() {
        run(&valid()).unwrap();
    }

    #[test]
    fn a_metrics_token_must_be_a_real_secret_when_set() {
        assert_eq!(
            refused(&[(
                "WOLO_METRICS_TOKEN",
                Some("metrics-change-me-0123456789abcdef")
            )]),
            "WOLO_METRICS_TOKEN"
        );
        assert_eq!(
            refused(&[("WOLO_METRICS_TOKEN", Some("Mt7Kq2Lm9Rx4"))]),
            "WOLO_METRICS_TOKEN"
        );
        // Unset (metrics off unless WOLO_METRICS_ALLOW says who) or a real one: accepted.
        let mut env = valid();
        env.insert(
            "WOLO_METRICS_TOKEN",
            "Mt7Kq2Lm9Rx4Vn8Wb3Hc6Jz1Fd5Gs0Ya".into(),
        );
        run(&env).unwrap();
    }

    #[test]
    fn development_database_passwords_are_refused() {
        // compose.yaml's defaults, in each of the three places a password can be given.
        assert_eq!(
            refused(&[("WOLO_DB_PASSWORD_QR", Some("dev-only-qr"))]),
            "WOLO_DB_PASSWORD_QR"
        );
        assert_eq!(
            refused(&[(
                "WOLO_IDENTITY_DATABASE_URL",
                Some("postgres://wolo_svc_identity:dev-only-identity@db:5432/wolo")
            )]),
            "WOLO_IDENTITY_DATABASE_URL"
        );
        assert_eq!(
            refused(&[("DATABASE_URL", Some("postgres://wolo:change-me@db/wolo"))]),
            "DATABASE_URL"
        );
        // Real passwords, URLs without one, and services this process does not run pass.
        let mut env = valid();
        env.insert("WOLO_DB_PASSWORD_QR", "Vb8Kq2Lm7Rx4Tn9".into());
        env.insert("DATABASE_URL", "postgres://wolo@db/wolo".into());
        env.insert("WOLO_DB_PASSWORD_PACKS", "dev-only-packs".into());
        run(&env).unwrap();
        assert_eq!(
            url_password("postgres://u:p%40ss@h:5432/d?x=y"),
            Some("p%40ss")
        );
        assert_eq!(url_password("postgres://u@h/d"), None);
        assert_eq!(url_password("postgres://h/d"), None);
    }

    #[test]
    fn development_values_short_secrets_fakes_and_open_cors_are_refused() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "WOLO_JWT_SECRET",
                Some("dev-only-jwt-secret-change-me-0123456789"),
            ),
            (
                "WOLO_JWT_SECRET",
                Some("test-secret-test-secret-test-secret-0123"),
            ),
            ("WOLO_CORS_ORIGINS", Some("*")),
            ("WOLO_CORS_ORIGINS", None),
            ("WOLO_WAVE_API_URL", None),
            ("WOLO_WAVE_API_URL", Some("http://127.0.0.1:8099")),
            ("WOLO_WAVE_API_URL", Some("https://127.0.0.1:8099")),
            ("WOLO_WAVE_API_KEY", Some("wave_sn_dev_fake_key")),
            ("WOLO_WAVE_API_KEY", Some("wave_sn_prod_short")),
            (
                "WOLO_WAVE_WEBHOOK_SECRET",
                Some("wave_sn_WHS_dev_fake_secret"),
            ),
            (
                "WOLO_ID_HASH_KEY",
                Some("wolo-development-id-hash-key-not-secret"),
            ),
            ("WOLO_ID_HASH_KEY", None),
            (
                "WOLO_ID_ENCRYPTION_KEYS",
                Some("dev1:jSeqd4IP7flLiDVnioTSne05kFFlX6EA5xpgDemrVbg="),
            ),
            ("WOLO_ID_ENCRYPTION_KEYS", Some("k1:c2hvcnQ=")),
            (
                "WOLO_QR_SECRET",
                Some("wolo-dev-qr-secret-not-for-production-0123456789"),
            ),
            ("WOLO_QR_SECRET", None),
            ("WOLO_SMS_API_URL", None),
            ("WOLO_SMTP_URL", None),
            ("WOLO_WHATSAPP_API_URL", None),
            (
                "WOLO_NOTIFY_RECEIPT_SECRET",
                Some("receipt-secret-for-tests"),
            ),
        ];
        for (setting, value) in cases {
            assert_eq!(
                refused(&[(setting, *value)]),
                *setting,
                "{setting}={value:?}"
            );
        }
        // A rotation list is refused when any of its secrets is known.
        assert_eq!(
            refused(&[(
                "WOLO_WAVE_WEBHOOK_SECRET",
                Some("wave_sn_WHS_p7Rk2Lm9Qx4Vt8Nb3Hc6Jz1Wd5Fs0G,wave_sn_WHS_test_old")
            )]),
            "WOLO_WAVE_WEBHOOK_SECRET"
        );
    }

    #[test]
    fn the_message_never_shows_the_value() {
        let mut env = valid();
        env.insert("WOLO_QR_SECRET", "short-but-secret".into());
        let line = run(&env).unwrap_err().line("wolo");
        assert!(
            line.starts_with("wolo: WOLO_QR_SECRET refused in production"),
            "{line}"
        );
        assert!(!line.contains("short-but-secret"), "{line}");
    }

    #[test]
    fn outside_production_nothing_is_refused() {
        for env in [Environment::Development, Environment::Test] {
            check(env, ALL, |_| None).unwrap();
        }
    }

    #[test]
    fn only_the_settings_of_the_services_run_are_checked() {
        let mut env = valid();
        env.remove("WOLO_QR_SECRET");
        check(Environment::Production, &["pots"], |k| env.get(k).cloned()).unwrap();
        assert!(check(Environment::Production, &["qr"], |k| env.get(k).cloned()).is_err());
    }
}
