use std::{path::Path, time::Duration};

use axum::Router;
use reqwest::Method;
use serde_json::json;

use crate::{expect, wait_for_cache};

/// The admin console in headless Chromium, against identity and admin served on one
/// origin as `wolo serve` does (`/identity`, `/admin`).
#[tokio::test]
async fn the_console_signs_in_toggles_flags_edits_config_and_searches_the_audit_log() {
    let chromium = std::env::var("WOLO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let playwright = here.join("../../clients/node_modules/playwright-core");
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: apt-get install -y chromium"
    );
    assert!(
        playwright.exists(),
        "{} is missing: npm ci --prefix clients",
        playwright.display()
    );

    let db = testkit::TestDb::new().await;
    let router = Router::new()
        .nest(
            "/identity",
            identity::router(db.context_of(&identity::SERVICE)),
        )
        .nest("/admin", admin::router(db.context_of(&admin::SERVICE)));
    let app = testkit::spawn(router).await;
    let email = "console@wolo.sn";
    let password = "mot-de-passe-solide";
    expect(
        app.request(Method::POST, "/identity/signup")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let admin_id: uuid::Uuid = sqlx::query_scalar(
        "update identity.users set roles = array['user', 'admin'], email_confirmed_at = now() where email = $1 returning id",
    )
    .bind(email)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    wait_for_cache(
        &testkit::TestApp {
            addr: app.addr,
            base_url: app.url("/admin"),
            client: app.client.clone(),
        },
        &testkit::token(auth::Role::Admin, admin_id),
    )
    .await;

    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new("node")
            .args(["--test", "--test-reporter=spec", "console.test.mjs"])
            .current_dir(here.join("tests"))
            .env("WOLO_BASE", &app.base_url)
            .env("WOLO_CHROMIUM", &chromium)
            .env("ADMIN_EMAIL", email)
            .env("ADMIN_PASSWORD", password)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser script timed out")
    .expect("node could not start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "console.test.mjs failed\n{stdout}\n{stderr}"
    );

    // What the browser did is in the database.
    let (enabled, pct): (Option<bool>, Option<i32>) = sqlx::query_as(
        "select is_enabled, rollout_percentage from admin.feature_flags where flag_key = 'whatsapp_notifications'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((enabled, pct), (Some(true), Some(40)));
    let v: serde_json::Value = sqlx::query_scalar(
        "select config_value from admin.system_config where config_key = 'referral.daily_invitation_limit'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(v, json!(30));
    let (actions, sessions): (i64, i64) = sqlx::query_as(
        "select (select count(*) from admin.audit_logs where actor_user_id = $1 and action in
                    ('feature_flags_update', 'system_config_update')),
                (select count(*) from admin.admin_sessions where user_id = $1 and termination_reason = 'logout')",
    )
    .bind(admin_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((actions, sessions), (3, 1));
}
