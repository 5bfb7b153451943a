//! The scanning page `/qr/scan` in headless Chromium, signed in through the real identity
//! service mounted at `/identity` (as under `wolo serve`). Typing the code is tested; the
//! camera path (getUserMedia + jsQR) cannot run headless and is not.

use std::{path::Path, process::Stdio, time::Duration};

use axum::Router;
use tokio::process::Command;

use crate::*;

#[tokio::test]
async fn scanning_page_in_chromium() {
    let chromium = std::env::var("WOLO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: apt-get install -y chromium"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("../../clients/node_modules/playwright-core")
            .exists(),
        "playwright-core is missing: npm ci --prefix clients"
    );
    let db = TestDb::new().await;
    let pool = db.pool.clone();
    let app = testkit::spawn(
        Router::new()
            .nest(
                "/qr",
                qr::router(db.service_context("qr").with_section(config())),
            )
            .nest(
                "/identity",
                identity::router(db.context_of(&identity::SERVICE)),
            ),
    )
    .await;
    let w = world(&pool, today()).await;
    let password = "Teranga-2026!";
    let hash = identity::crypto::hash_password(password);
    sqlx::query(
        "update identity.users set email = 'caisse@cinedakar.sn', password_hash = $2 where id = $1",
    )
    .bind(w.staff)
    .bind(hash)
    .execute(&pool)
    .await
    .unwrap();

    let short: String = sqlx::query_scalar("select short_code from qr.qr_codes where id = $1")
        .bind(w.qr_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let child = Command::new("node")
        .arg(root.join("tests/browser/scan.mjs"))
        .env("WOLO_SCAN_URL", app.url("/qr/scan"))
        .env("WOLO_PARTNER_EMAIL", "caisse@cinedakar.sn")
        .env("WOLO_PARTNER_PASSWORD", password)
        .env("WOLO_CODE", qr::code::grouped(&w.code))
        .env("WOLO_SHORT", qr::code::short_grouped(&short))
        .env("WOLO_CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node is required");
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the browser script did not finish")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scan.mjs failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("scan page: ok"));

    // What the browser did is in the logs, with the browser's user agent.
    let l = logs(&pool, w.qr_id).await;
    let results: Vec<&str> = l.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(results, ["success", "already_used", "already_used"]);
    let ua: String = sqlx::query_scalar(
        "select user_agent from qr.qr_redemption_logs where qr_code_id = $1 and validation_result = 'success'",
    )
    .bind(w.qr_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(ua.contains("Chrome"), "{ua}");
}
