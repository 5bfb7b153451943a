//! The README's end-to-end walk, run as written: the block between `<!-- walk -->` and
//! `<!-- /walk -->` of README.md, pasted into bash against `wolo seed` and `wolo serve` (the
//! binaries `make run` runs) over a fresh database. It fails when any step of the walk does,
//! so the README cannot drift from what the suite does.

mod runner;

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const JWT_SECRET: &str = "dev-only-jwt-secret-change-me-0123456789";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_readme_walk_runs_as_written() {
    let db = testkit::TestDb::new().await;
    let wolo = env!("CARGO_BIN_EXE_wolo");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("DATABASE_URL", db.url.clone()),
        ("WOLO_JWT_SECRET", JWT_SECRET.to_string()),
        ("WOLO_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ("WOLO_FAKE_WAVE_ADDR", format!("127.0.0.1:{}", free_port())),
        ("RUST_LOG", "warn".to_string()),
    ];
    let seeded = Command::new(wolo)
        .arg("seed")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(String::from_utf8_lossy(&seeded.stdout).contains("demo password"));

    let _server = Server(
        Command::new(wolo)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client.get(format!("{base}/pots/ready")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "wolo serve never got ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    runner::run(&base, &db.url).await;
}
