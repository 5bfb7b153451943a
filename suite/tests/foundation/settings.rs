//! Every service's own settings are read once at start-up (issue #15, item 3): a malformed
//! one stops `wolo serve` (all ten services, and the service that reads it alone) with exit
//! status 2 and one stderr line naming it, never a panic or a backtrace, before anything
//! connects or listens, and a secret's value is never printed. The built binary runs as a
//! subprocess (`production::refused_run`).

use crate::production::{refused_run, valid};

/// `(setting, malformed value, the service that reads it, whether the value is secret)`.
const CASES: &[(&str, &str, &str, bool)] = &[
    (
        "WOLO_GOOGLE_JWKS_URL",
        "www.googleapis.com/certs",
        "identity",
        false,
    ),
    ("WOLO_RATE_LIMIT_OTP_PHONE", "5/2d", "identity", false),
    (
        "WOLO_PASSWORD_REJECT_COMMON",
        "peut-être",
        "identity",
        false,
    ),
    (
        "WOLO_REFRESH_TOKEN_REUSE_INTERVAL",
        "3601",
        "identity",
        false,
    ),
    ("WOLO_ADMIN_SESSION_HOURS", "huit", "identity", false),
    ("WOLO_ADMIN_SESSION_HOURS", "0", "admin", false),
    ("WOLO_HEALTH_BASE_URL", "wolo:8080", "admin", false),
    ("WOLO_WAVE_TIMEOUT_SECS", "dix", "donations", false),
    (
        "WOLO_WAVE_SIGNATURE_TOLERANCE_SECS",
        "-5",
        "donations",
        false,
    ),
    ("WOLO_WAVE_API_URL", "api.wave.com", "donations", false),
    (
        "WOLO_INVITE_URL_BASE",
        "wolo.sn/invitation/",
        "referral",
        false,
    ),
    // 31 bytes: one short of the minimum.
    (
        "WOLO_QR_SECRET",
        "0123456789abcdef0123456789abcde",
        "qr",
        true,
    ),
    (
        "WOLO_NOTIFY_RETRY_BASE_SECONDS",
        "thirty",
        "notifications",
        false,
    ),
    // A key of 5 bytes, not 32.
    ("WOLO_ID_ENCRYPTION_KEYS", "k1:c2hvcnQ=", "profiles", true),
];

#[test]
fn a_malformed_service_setting_is_one_line_and_status_2() {
    for &(setting, value, owner, secret) in CASES {
        // Outside production: only the malformed setting is wrong.
        let mut env = valid();
        env.remove("WOLO_ENV");
        env.insert(setting, value.to_string());
        env.insert("RUST_BACKTRACE", "1".into());
        for service in [None, Some(owner)] {
            let out = refused_run(service, &env);
            let case = format!("{setting}={value:?} under wolo serve {service:?}");
            let stderr = &out.stderr;
            assert_eq!(
                out.code,
                Some(2),
                "{case}\nstdout: {}\nstderr: {stderr}",
                out.stdout
            );
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{case}: {lines:?}");
            assert!(
                lines[0].starts_with("wolo: ") && lines[0].contains(setting),
                "{case}: {}",
                lines[0]
            );
            assert!(
                !stderr.contains("panicked") && !stderr.contains("backtrace"),
                "{case}: {stderr}"
            );
            if secret {
                assert!(!stderr.contains(value), "{case}: {stderr}");
            }
        }
    }
}
