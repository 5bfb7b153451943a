//! The `wolo` binary: settings errors name the variable, and `wolo serve` serves all ten
//! services and stops cleanly on SIGTERM.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use testkit::TestDb;

const WOLO: &str = env!("CARGO_BIN_EXE_wolo");

fn wolo(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(WOLO);
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("WOLO_JWT_SECRET")
        .env_remove("WOLO_HTTP_ADDR")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn stderr_of(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_without_a_jwt_secret_stops_and_names_it() {
    let (ok, err) = stderr_of(&mut wolo(
        &["serve"],
        &[("DATABASE_URL", "postgres://x@127.0.0.1/y")],
    ));
    assert!(!ok);
    assert!(err.contains("WOLO_JWT_SECRET"), "{err}");
}

#[test]
fn a_bad_listen_address_is_named() {
    let (ok, err) = stderr_of(&mut wolo(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://x@127.0.0.1/y"),
            ("WOLO_JWT_SECRET", testkit::TEST_JWT_SECRET),
            ("WOLO_HTTP_ADDR", "not-an-address"),
        ],
    ));
    assert!(!ok);
    assert!(err.contains("WOLO_HTTP_ADDR"), "{err}");
}

#[test]
fn migrate_without_a_database_url_names_it() {
    let (ok, err) = stderr_of(&mut wolo(&["migrate"], &[]));
    assert!(!ok);
    assert!(err.contains("DATABASE_URL"), "{err}");
}

#[test]
fn an_unknown_service_is_refused_with_the_list() {
    let (ok, err) = stderr_of(&mut wolo(
        &["serve", "payments"],
        &[
            ("DATABASE_URL", "postgres://x@127.0.0.1/y"),
            ("WOLO_JWT_SECRET", testkit::TEST_JWT_SECRET),
        ],
    ));
    assert!(!ok);
    assert!(
        err.contains("payments") && err.contains("donations"),
        "{err}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(url: &str) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(res) = reqwest::get(url).await {
            return res;
        }
        assert!(Instant::now() < deadline, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_mounts_every_service_and_stops_on_sigterm() {
    let db = TestDb::new().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = wolo(
        &["serve"],
        &[
            ("DATABASE_URL", &db.url),
            ("WOLO_JWT_SECRET", testkit::TEST_JWT_SECRET),
            ("WOLO_HTTP_ADDR", &addr),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_for(&format!("http://{addr}/")).await;
    for s in &suite::SERVICES {
        let res = reqwest::get(format!("http://{addr}/{}/ready", s.name))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", s.name);
    }
    terminate(&child);
    assert!(wait_exit(&mut child).success());
}

#[tokio::test]
async fn serve_one_service_alone_at_the_root() {
    let db = TestDb::new().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = wolo(
        &["serve", "identity"],
        &[
            ("DATABASE_URL", &db.url),
            ("WOLO_JWT_SECRET", testkit::TEST_JWT_SECRET),
            ("WOLO_HTTP_ADDR", &addr),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let res = wait_for(&format!("http://{addr}/health")).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["service"], "identity");
    terminate(&child);
    assert!(wait_exit(&mut child).success());
}
