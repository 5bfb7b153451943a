//! The settings of qr, notifications, analytics and profiles are read once at start-up
//! (issue #15, item 3): a malformed one stops `wolo serve` (all ten, or the service alone)
//! with exit status 2 and one stderr line naming the setting, never a panic or a backtrace,
//! before anything listens or reaches the database. The built binary runs as a subprocess.

use std::{
    collections::BTreeMap,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const WOLO: &str = env!("CARGO_BIN_EXE_wolo");

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// `wolo serve [service]` outside production with `setting=value`, run to its end.
fn serve_with(service: Option<&str>, setting: &str, value: &str) -> (Option<i32>, String) {
    let env: BTreeMap<&str, String> = [
        // Nothing listens on port 1: a refusal must come before any connection.
        (
            "DATABASE_URL",
            "postgres://wolo@127.0.0.1:1/wolo".to_string(),
        ),
        (
            "WOLO_JWT_SECRET",
            "Zq3v9xL2pR7mW4tY8kB1nC6hJ0sD5fG2aE9uQ".to_string(),
        ),
        ("WOLO_HTTP_ADDR", free_addr()),
        ("WOLO_FAKE_WAVE_ADDR", free_addr()),
        ("RUST_BACKTRACE", "1".to_string()),
        ("RUST_LOG", "warn".to_string()),
        (setting, value.to_string()),
    ]
    .into_iter()
    .collect();
    let mut args = vec!["serve"];
    args.extend(service);
    let mut child = Command::new(WOLO)
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "wolo serve did not stop on a bad {setting}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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
        for service in [None, Some(owner)] {
            let (code, stderr) = serve_with(service, setting, value);
            assert_eq!(code, Some(2), "{setting} {service:?}: {stderr}");
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
