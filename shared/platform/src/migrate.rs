//! The embedded refinery migrations (`migrations/` at the workspace root) and their runner.
//!
//! Migrations run only through `wolo migrate`, never at server start. The runner holds a
//! PostgreSQL advisory lock, so two `wolo migrate` started together apply each migration
//! once (refinery has no lock of its own). Servers compare the applied version with
//! [`latest_version`] in `/ready`.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// The advisory lock key held while migrating ("WOLO" in ASCII).
const MIGRATION_LOCK: i64 = 0x574F_4C4F;

/// refinery's bookkeeping table.
pub const HISTORY_TABLE: &str = "refinery_schema_history";

/// One applied migration, as reported by [`run`].
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i32,
    pub name: String,
}

/// Applies every pending migration to the database at `url`; returns what it applied
/// (empty when the database was current).
pub async fn run(url: &str) -> anyhow::Result<Vec<Applied>> {
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database (DATABASE_URL): {e}"))?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection closed");
        }
    });
    client
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let outcome = embedded::migrations::runner().run_async(&mut client).await;
    // Tell PostgREST-style schema caches that tables may have changed.
    let _ = client.batch_execute("notify pgrst, 'reload schema'").await;
    client
        .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    drop(client);
    let _ = driver.await;
    let report = outcome.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| Applied {
            version: m.version() as i32,
            name: m.name().to_string(),
        })
        .collect())
}

/// The highest migration version compiled into this binary.
pub fn latest_version() -> i32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.version() as i32)
        .max()
        .unwrap_or(0)
}

/// A short digest of every embedded migration (version, name, checksum): test harnesses
/// key their template databases on it, so a changed migration gets a fresh template.
pub fn fingerprint() -> String {
    let mut hasher = Sha256::new();
    for m in embedded::migrations::runner().get_migrations() {
        hasher.update(format!("{}:{}:{};", m.version(), m.name(), m.checksum()));
    }
    hex::encode(&hasher.finalize()[..6])
}

/// The applied version of the database behind `pool`: `Ok(None)` before the first migration.
pub async fn applied_version(pool: &PgPool) -> Result<Option<i32>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
        .bind(HISTORY_TABLE)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(None);
    }
    sqlx::query_scalar(&format!("select max(version) from {HISTORY_TABLE}"))
        .fetch_one(pool)
        .await
}
