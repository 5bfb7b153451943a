//! The money services' own settings (donations, referral; pots and packs have none) are read
//! once at start-up: a malformed one stops `wolo serve` (all ten, or the service alone) with
//! status 2 and one stderr line naming it, never a panic or a backtrace.

use crate::production::{refused_run, valid};

#[test]
fn a_malformed_money_setting_is_one_line_and_status_2() {
    let cases = [
        ("WOLO_WAVE_TIMEOUT_SECS", "dix", "donations"),
        ("WOLO_WAVE_SIGNATURE_TOLERANCE_SECS", "-5", "donations"),
        ("WOLO_WAVE_API_URL", "api.wave.com", "donations"),
        ("WOLO_INVITE_URL_BASE", "wolo.sn/invitation/", "referral"),
    ];
    for (setting, value, owner) in cases {
        // Outside production: the settings themselves are refused, not a development value.
        let mut env = valid();
        env.remove("WOLO_ENV");
        env.insert(setting, value.to_string());
        env.insert("RUST_BACKTRACE", "1".into());
        for service in [None, Some(owner)] {
            let out = refused_run(service, &env);
            assert_eq!(
                out.code,
                Some(2),
                "{setting} {service:?}\nstdout: {}\nstderr: {}",
                out.stdout,
                out.stderr
            );
            let lines: Vec<&str> = out
                .stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect();
            assert_eq!(lines.len(), 1, "{setting} {service:?}: {lines:?}");
            assert!(
                lines[0].starts_with("wolo: ") && lines[0].contains(setting),
                "{setting} {service:?}: {}",
                lines[0]
            );
            assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
            assert!(!out.stderr.contains("stack backtrace"), "{}", out.stderr);
        }
    }
}
