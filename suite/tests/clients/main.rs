//! The real PostgREST clients, unchanged, against the suite over a seeded database:
//! `@supabase/postgrest-js` (node), `postgrest` (postgrest-py, Python), and headless
//! Chromium calling the API from another origin (CORS). The scripts live in `clients/`;
//! each test serves the suite, mints tokens and runs one of them as a child process.
//!
//! Their dependencies (`clients/node_modules`, the `postgrest` Python package, Chromium)
//! are installed by `make test`; a test whose dependency is missing fails and says so.

use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::Duration,
};

use auth::Role;
use testkit::{TestApp, TestDb};
use tokio::process::Command;
use uuid::Uuid;

const ADMIN: &str = "00000000-0000-4000-a000-010100000011";
const MOUSSA: &str = "00000000-0000-4000-a000-010100000002";
const MOUSSA_POT: &str = "00000000-0000-4000-a000-040100000002";
const FATOU_POT: &str = "00000000-0000-4000-a000-040100000003";

/// How long one client script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

const INSTALL_HINT: &str = "run `make test` (it installs the clients' dependencies: \
    `npm ci --prefix clients`, `pip install -r clients/requirements.txt`, and chromium with apt-get)";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients")
}

/// A seeded database and the whole suite served over it.
struct Stack {
    _db: TestDb,
    app: TestApp,
}

async fn stack() -> Stack {
    let db = TestDb::new().await;
    suite::seed(&db.url).await.expect("seeding the demo data");
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    // The schema cache loads in the background at start-up.
    let mut status = 503;
    for _ in 0..200 {
        status = app.get("/pots/pots?limit=0").await.status().as_u16();
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "the schema cache never loaded");
    Stack { _db: db, app }
}

impl Stack {
    /// The environment every script reads (see `clients/lib/env.mjs`).
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("WOLO_BASE", self.app.base_url.clone()),
            (
                "WOLO_ADMIN_TOKEN",
                testkit::token(Role::Admin, ADMIN.parse::<Uuid>().unwrap()),
            ),
            (
                "WOLO_USER_TOKEN",
                testkit::token(Role::User, MOUSSA.parse::<Uuid>().unwrap()),
            ),
            ("WOLO_USER_ID", MOUSSA.to_string()),
            ("WOLO_USER_POT", MOUSSA_POT.to_string()),
            ("WOLO_OTHER_POT", FATOU_POT.to_string()),
            // auth-js.test.mjs reads the SMS code from the outbox with psql.
            ("WOLO_DATABASE_URL", self._db.url.clone()),
        ]
    }
}

/// Runs `program args` in `clients/` with the stack's environment; fails the test, with the
/// script's output, unless it exits 0.
async fn run_script(stack: &Stack, program: &str, args: &[&str]) {
    let what = format!("{program} {}", args.join(" "));
    let child = Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .envs(stack.env())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}; {INSTALL_HINT}"));
    let output: Output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{what}` did not finish in {SCRIPT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("`{what}` failed to run: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`{what}` (in clients/) failed with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
    // Shown with `cargo test -- --nocapture`.
    println!("--- {what}: stdout ---\n{stdout}\n--- {what}: stderr ---\n{stderr}");
}

/// Node and the npm packages of `clients/package-lock.json`.
async fn require_node_modules(packages: &[&str]) {
    let node = Command::new("node").arg("--version").output().await;
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is not installed or does not run ({node:?}); the client tests need Node 20+"
    );
    for p in packages {
        let manifest = clients_dir()
            .join("node_modules")
            .join(p)
            .join("package.json");
        assert!(
            manifest.exists(),
            "clients/node_modules/{p} is missing: {INSTALL_HINT}"
        );
    }
}

#[tokio::test]
async fn postgrest_js_works_unchanged() {
    require_node_modules(&["@supabase/postgrest-js"]).await;
    let s = stack().await;
    run_script(
        &s,
        "node",
        &["--test", "--test-reporter=spec", "postgrest-js.test.mjs"],
    )
    .await;
}

#[tokio::test]
async fn postgrest_py_works_unchanged() {
    let import = Command::new("python3")
        .args(["-c", "import postgrest"])
        .output()
        .await;
    assert!(
        import.as_ref().is_ok_and(|o| o.status.success()),
        "python3 cannot import the postgrest package ({}): {INSTALL_HINT}",
        match &import {
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        }
    );
    let s = stack().await;
    run_script(&s, "python3", &["postgrest_py_test.py"]).await;
}

#[tokio::test]
async fn a_browser_on_another_origin_uses_the_api() {
    require_node_modules(&["@supabase/postgrest-js", "playwright-core"]).await;
    let chromium = std::env::var("WOLO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: {INSTALL_HINT}"
    );
    let s = stack().await;
    run_script(
        &s,
        "node",
        &["--test", "--test-reporter=spec", "cors.test.mjs"],
    )
    .await;
}

#[tokio::test]
async fn auth_js_works_unchanged() {
    require_node_modules(&["@supabase/auth-js"]).await;
    let psql = Command::new("psql").arg("--version").output().await;
    assert!(
        psql.as_ref().is_ok_and(|o| o.status.success()),
        "psql is not installed or does not run ({psql:?}); auth-js.test.mjs reads the SMS code with it"
    );
    let s = stack().await;
    run_script(
        &s,
        "node",
        &["--test", "--test-reporter=spec", "auth-js.test.mjs"],
    )
    .await;
}
