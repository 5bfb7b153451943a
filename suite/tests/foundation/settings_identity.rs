//! Identity's and admin's settings are read once at start-up (`identity::Settings`,
//! `admin::AdminSettings`): a malformed one stops `wolo serve` (all ten services, or that
//! service alone) with exit status 2 and one line on stderr naming the setting, never a
//! panic or a backtrace, before anything connects or listens. The built binary runs as a
//! subprocess.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use crate::production::{free_addr, valid, wolo};

/// `wolo serve [service]` outside production with `setting=value`: (exit code, stderr).
fn serve_with(service: Option<&str>, setting: &'static str, value: &str) -> (Option<i32>, String) {
    let mut env = valid();
    env.remove("WOLO_ENV");
    env.insert(setting, value.to_string());
    env.insert("RUST_BACKTRACE", "1".into());
    // Nothing may reach a database or a port: the refusal comes first.
    env.insert("DATABASE_URL", "postgres://wolo@127.0.0.1:1/wolo".into());
    env.insert("WOLO_HTTP_ADDR", free_addr());
    env.insert("WOLO_FAKE_WAVE_ADDR", free_addr());
    let mut args = vec!["serve"];
    args.extend(service);
    let mut child = wolo(&args, &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wolo serve with {setting}={value:?} did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_malformed_identity_or_admin_setting_is_one_line_and_status_2() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "WOLO_GOOGLE_JWKS_URL",
            "www.googleapis.com/certs",
            "identity",
        ),
        ("WOLO_RATE_LIMIT_OTP_PHONE", "5/2d", "identity"),
        ("WOLO_PASSWORD_REJECT_COMMON", "peut-être", "identity"),
        ("WOLO_REFRESH_TOKEN_REUSE_INTERVAL", "3601", "identity"),
        ("WOLO_ADMIN_SESSION_HOURS", "huit", "identity"),
        ("WOLO_HEALTH_BASE_URL", "wolo:8080", "admin"),
    ];
    for (setting, value, owner) in cases {
        for service in [None, Some(owner)] {
            let (code, stderr) = serve_with(service, setting, value);
            let case = format!("{setting}={value:?} under wolo serve {service:?}");
            assert_eq!(code, Some(2), "{case}: {stderr}");
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
        }
    }
}
