//! The one pool builder: bounded size, acquire timeout, server-side statement timeout.

use std::{str::FromStr, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

use crate::Config;

/// The servers' pool: lazy, so a service starts (and answers `/ready` with 503)
/// while the database is still down, and recovers without a restart.
pub fn connect(config: &Config) -> anyhow::Result<PgPool> {
    let options = connect_options(config.database_url.expose(), config.db_statement_timeout)?;
    Ok(PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(config.db_acquire_timeout)
        .connect_lazy_with(options))
}

fn connect_options(url: &str, statement_timeout: Duration) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("bad setting DATABASE_URL: {e}"))?
        .application_name("wolo")
        .options([(
            "statement_timeout",
            statement_timeout.as_millis().to_string(),
        )]))
}

/// Connects to `url` now (for commands); the statement timeout is set per connection, so a runaway
/// query is cancelled by the server rather than holding a connection forever.
pub async fn connect_url(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    statement_timeout: Duration,
) -> anyhow::Result<PgPool> {
    let options = connect_options(url, statement_timeout)?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database (DATABASE_URL): {e}"))?;
    Ok(pool)
}
