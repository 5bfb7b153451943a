//! The service's own binary (`wolo-qr`, `platform::run`) runs the production checks
//! too: the development QR secret is refused with one line naming it and exit status 2,
//! before it listens. (`wolo serve` is tested in suite/tests/foundation/production.rs.)

use std::process::{Command, Stdio};

#[test]
fn wolo_qr_refuses_the_development_secret_in_production() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_wolo-qr"))
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("WOLO_ENV", "production")
        .env("DATABASE_URL", "postgres://wolo@127.0.0.1:1/wolo")
        .env("WOLO_HTTP_ADDR", &addr)
        .env("WOLO_JWT_SECRET", "Zq3v9xL2pR7mW4tY8kB1nC6hJ0sD5fG2aE9uQ")
        .env("WOLO_CORS_ORIGINS", "https://app.wolo.sn")
        .env("WOLO_PUBLIC_URL", "https://wolo.sn")
        .env("WOLO_QR_SECRET", qr::code::DEV_SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("qr: WOLO_QR_SECRET refused in production"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains(qr::code::DEV_SECRET));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
