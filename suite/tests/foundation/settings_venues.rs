//! The settings of qr, notifications, analytics and profiles are read once at start-up
//! (issue #15, item 3): a malformed one stops `wolo serve` (all ten, or the service alone)
//! with exit status 2 and one stderr line naming the setting, never a panic or a backtrace,
//! before anything listens or reaches the database. The built binary runs as a subprocess
//! (`production::refused_run`: nothing listens on its database's port).

use std::collections::BTreeMap;

use crate::production::refused_run;

/// `(setting, malformed value, the service that reads it)`.
const CASES: &[(&str, &str, &str)] = &[
    // 31 bytes: one short of the minimum.
    ("WOLO_QR_SECRET", "0123456789abcdef0123456789abcde", "qr"),
    ("WOLO_NOTIFY_RETRY_BASE_SECONDS", "thirty", "notifications"),
    // A key of 5 bytes, not 32.
    ("WOLO_ID_ENCRYPTION_KEYS", "k1:c2hvcnQ=", "profiles"),
];

#[test]
fn a_malformed_setting_of_qr_notifications_analytics_or_profiles_is_one_line_and_status_2() {
    for &(setting, value, owner) in CASES {
        // Outside production: only the malformed setting is wrong.
        let env: BTreeMap<&str, String> = [
            (
                "WOLO_JWT_SECRET",
                "Zq3v9xL2pR7mW4tY8kB1nC6hJ0sD5fG2aE9uQ".to_string(),
            ),
            ("RUST_BACKTRACE", "1".to_string()),
            (setting, value.to_string()),
        ]
        .into_iter()
        .collect();
        for service in [None, Some(owner)] {
            let out = refused_run(service, &env);
            let stderr = &out.stderr;
            assert_eq!(out.code, Some(2), "{setting} {service:?}: {stderr}");
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "{setting} {service:?}: {lines:?}");
            assert!(
                lines[0].starts_with("wolo: ") && lines[0].contains(setting),
                "{setting} {service:?}: {}",
                lines[0]
            );
            assert!(
                !stderr.contains("panicked") && !stderr.contains("backtrace"),
                "{stderr}"
            );
            // A secret's value is never printed.
            if setting != "WOLO_NOTIFY_RETRY_BASE_SECONDS" {
                assert!(!stderr.contains(value), "{stderr}");
            }
        }
    }
}
