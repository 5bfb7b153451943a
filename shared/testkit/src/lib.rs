//! The test harness.
//!
//! - [`TestDb::new`] gives a test its own database, a copy of a template database that was
//!   migrated once per migration set (`wolo_tpl_<fingerprint>`), dropped when the value drops;
//! - [`spawn`] serves a router on a random loopback port and returns a [`TestApp`] with a
//!   client.
//!
//! The server comes from `DATABASE_URL` (any database on it; the harness needs `CREATEDB`),
//! or `postgres://postgres@127.0.0.1:5432/postgres` when unset.
//!
//! ```no_run
//! # async fn t() {
//! let db = testkit::TestDb::new().await;
//! // In a service's tests: `testkit::spawn(pots::router(db.context()))`.
//! let router = platform::health::router("demo").with_state(db.pool.clone());
//! let app = testkit::spawn(router).await;
//! let res = app.get("/health").await;
//! assert_eq!(res.status(), 200);
//! # }
//! ```

use std::{net::SocketAddr, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, PgConnection, PgPool,
};

/// Server used when `DATABASE_URL` is unset.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// JWT secret of the test configuration.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// Serialises template creation across test processes.
const TEMPLATE_LOCK: i64 = 0x574F_4C54;

fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER_URL.to_string())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    format!("{}/{}{}", &base[..host_end], db, query)
}

async fn admin_connection() -> PgConnection {
    let url = with_database(&server_url(), "postgres");
    PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("testkit: cannot reach PostgreSQL at {url}: {e}"))
}

/// Name of the template for the migrations compiled into this build; created on first use.
async fn template() -> String {
    let name = format!("wolo_tpl_{}", platform::migrate::fingerprint());
    let mut admin = admin_connection().await;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    if !exists {
        // Build under a temporary name and rename, so a half-migrated template never exists.
        let building = format!("{name}_building");
        sqlx::raw_sql(&format!("drop database if exists {building} with (force)"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::raw_sql(&format!("create database {building}"))
            .execute(&mut admin)
            .await
            .unwrap();
        platform::migrate::run(&with_database(&server_url(), &building))
            .await
            .unwrap_or_else(|e| panic!("testkit: migrating the template failed: {e:#}"));
        sqlx::raw_sql(&format!("alter database {building} rename to {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        // Templates of older migration sets are of no further use.
        let old: Vec<String> = sqlx::query_scalar(
            "select datname from pg_database where datname like 'wolo\\_tpl\\_%' and datname <> $1",
        )
        .bind(&name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        for db in old {
            let _ = sqlx::raw_sql(&format!("drop database if exists {db} with (force)"))
                .execute(&mut admin)
                .await;
        }
    }
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    name
}

/// A migrated database of the test's own, dropped (connections and all) when dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let template = template().await;
        let name = format!("wolo_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection().await;
        let mut tries = 0;
        loop {
            match sqlx::raw_sql(&format!("create database {name} template {template}"))
                .execute(&mut admin)
                .await
            {
                Ok(_) => break,
                // Another test may be copying the template at this very moment.
                Err(e) if tries < 50 && e.to_string().contains("being accessed by other users") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("testkit: cannot create {name}: {e}"),
            }
        }
        let _ = admin.close().await;
        let url = with_database(&server_url(), &name);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(PgConnectOptions::from_str(&url).unwrap())
            .await
            .unwrap();
        TestDb { name, url, pool }
    }

    /// A configuration for services under test, pointing at this database.
    pub fn config(&self) -> platform::Config {
        config_with(&[
            ("DATABASE_URL", &self.url),
            ("WOLO_ENV", "test"),
            ("WOLO_HTTP_ADDR", "127.0.0.1:0"),
        ])
    }

    /// The context service `name` runs on: [`TestDb::context`] logged in as the service's own
    /// role `wolo_svc_<name>` (V102), as `wolo serve` does, so a missing grant fails the
    /// test. The test server must let the role in without a password (trust, as the local
    /// one); `WOLO_DB_SERVICE_ROLES=off` keeps the superuser login for every service.
    pub fn service_context(&self, name: &str) -> platform::Context {
        platform::db::service_context_with(&self.context(), name, |k| {
            (k == "WOLO_DB_SERVICE_ROLES")
                .then(|| std::env::var(k).ok())
                .flatten()
        })
        .expect("a service context")
    }

    /// The context `service` runs on ([`TestDb::service_context`]) with its own settings read
    /// as at start-up, from the test process's environment (development defaults where unset).
    pub fn context_of(&self, service: &platform::Service) -> platform::Context {
        self.service_context(service.name)
            .with_settings(service, &platform::config::Env::process())
            .unwrap_or_else(|e| panic!("{} settings: {e}", service.name))
    }

    /// A pool logged in as service `name`'s role, for driving its jobs and consumers by hand.
    pub fn service_pool(&self, name: &str) -> PgPool {
        self.service_context(name).db
    }

    /// The context a service's `router` takes, over this database, logged in as the
    /// harness's superuser (prefer [`TestDb::service_context`]).
    pub fn context(&self) -> platform::Context {
        platform::Context {
            db: self.pool.clone(),
            background_db: self.pool.clone(),
            read_db: None,
            config: Arc::new(self.config()),
            clock: platform::Clock::system(),
            section: platform::Section::default(),
            shared: platform::Shared::default(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside the test's runtime, which is blocked while we wait here, so the
        // pool (whose connections live on that runtime) is not awaited: `with (force)` ends
        // its connections server-side. The clean-up runs on a thread and runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut admin = admin_connection().await;
                let _ = sqlx::raw_sql(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut admin)
                    .await;
            });
        })
        .join();
    }
}

/// A configuration with the required settings (a database URL that is never dialled, the
/// test JWT secret) and `settings` on top: for tests of a service's own settings, which read
/// the platform configuration beside their variables.
pub fn config_with(settings: &[(&str, &str)]) -> platform::Config {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", "postgres://localhost/wolo"),
        ("WOLO_JWT_SECRET", TEST_JWT_SECRET),
    ];
    pairs.extend_from_slice(settings);
    platform::Config::from_settings(0, &platform::config::Env::from_pairs(&pairs))
        .expect("test configuration")
}

/// A pool on the same database as `pool`, logged in as service `name`'s role
/// (`wolo_svc_<name>`): for helpers that drive a service's jobs or consumers on a pool they
/// are given. `WOLO_DB_SERVICE_ROLES=off` returns `pool` itself.
pub fn service_pool_of(pool: &PgPool, name: &str) -> PgPool {
    if std::env::var("WOLO_DB_SERVICE_ROLES").is_ok_and(|v| v.trim().eq_ignore_ascii_case("off")) {
        return pool.clone();
    }
    let options = (*pool.connect_options())
        .clone()
        .username(&platform::db::service_role(name));
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options)
}

/// A valid access token for `user` as `role`, signed with the test configuration's key.
pub fn token(role: auth::Role, user: uuid::Uuid) -> String {
    auth::Jwt::new(TEST_JWT_SECRET.as_bytes(), None).issue(user, role, 900, None)
}

/// A router served on a random loopback port for the length of a test.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// A request to `path` (relative to the served router).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    /// Waits (up to 5 s) until `path` stops answering 503, i.e. the schema cache is loaded.
    pub async fn wait_ready(&self, path: &str) {
        for _ in 0..100 {
            if self.get(path).await.status() != 503 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// Asserts the response's status (printing the body when it differs) and returns its JSON
/// body (`Null` when empty, a JSON string when it is not JSON).
pub async fn expect(res: reqwest::Response, status: u16) -> serde_json::Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status, body: {text}");
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    }
}

/// Serves `router` (behind the production edge middleware) on `127.0.0.1:0`.
pub async fn spawn(router: axum::Router) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_on(listener, router).await
}

/// Serves `router` on a listener the test bound first (to know its address beforehand: links
/// the suite writes point at it).
pub async fn spawn_on(listener: tokio::net::TcpListener, router: axum::Router) -> TestApp {
    let addr = listener.local_addr().unwrap();
    let app = platform::serve::app(router, None);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        client: reqwest::Client::new(),
    }
}

/// Turns the feature flag `key` (admin.feature_flags) on or off, as an admin would.
pub async fn set_flag(pool: &sqlx::PgPool, key: &str, on: bool) {
    let n = sqlx::query("update admin.feature_flags set is_enabled = $2 where flag_key = $1")
        .bind(key)
        .bind(on)
        .execute(pool)
        .await
        .expect("update admin.feature_flags")
        .rows_affected();
    assert_eq!(n, 1, "no feature flag {key}");
}
