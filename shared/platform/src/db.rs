//! The one pool builder: bounded size, acquire timeout, server-side statement timeout.
//!
//! Each service has two pools, both logged in as its own role ([`service_context`]): the
//! request pool ([`connect`], `WOLO_DB_MAX_CONNECTIONS`), which only its HTTP handlers use,
//! and the background pool ([`connect_background`], `WOLO_DB_BACKGROUND_CONNECTIONS`), which
//! its outbox consumers and periodic jobs use ([`crate::Context::background`]): a burst of
//! events or a slow job never takes the connections requests need, and requests never starve
//! the consumers.
//!
//! Connections, worst case: `wolo serve` runs all ten services in one process, so it may open
//! 10 × (request + background) = 10 × (5 + 2) = 70 with the defaults (its request pools
//! default to 5 each, [`crate::config`]), under PostgreSQL's default `max_connections` of 100
//! (97 for non-superusers), leaving room for `wolo migrate`, `psql` and monitoring. One
//! service alone (`wolo serve S`, `wolo-S`) opens at most 10 + 2. Replicas multiply these.
//! Pools are lazy and close idle connections after 10 minutes, so an idle process holds few.

use std::{
    str::FromStr,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

use crate::{config::Pooler, Config};

/// The servers' pool: lazy, so a service starts (and answers `/ready` with 503)
/// while the database is still down, and recovers without a restart. In production every
/// new connection is checked: a superuser or table-owner login is refused
/// ([`privileged_login`]), so no statement ever runs with more than the service's rights.
pub fn connect(config: &Config) -> anyhow::Result<PgPool> {
    pool_of(config, config.db_max_connections)
}

/// The background pool of consumers and jobs: as [`connect`], of
/// `WOLO_DB_BACKGROUND_CONNECTIONS` connections.
pub fn connect_background(config: &Config) -> anyhow::Result<PgPool> {
    pool_of(config, config.db_background_connections)
}

/// A pooled connection idle at least this long is pinged before it is handed out.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

fn pool_of(config: &Config, max_connections: u32) -> anyhow::Result<PgPool> {
    pool_at(config, config.database_url.expose(), max_connections)
}

/// A pool of `max_connections` at `url`, with `config`'s timeouts, pooler mode and
/// production checks.
fn pool_at(config: &Config, url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let pooled = config.db_pooler == Pooler::Transaction;
    let timeout_ms = config.db_statement_timeout.as_millis();
    let mut options = connect_options(url, config.db_statement_timeout)?;
    if pooled {
        POOLED.store(true, Ordering::Relaxed);
        // PgBouncer refuses (or, told to ignore it, drops) the `options` start-up parameter:
        // the statement timeout is set in each transaction instead (`OPEN_TRANSACTION`).
        // No statement is cached: each is prepared afresh in the transaction that runs it,
        // and PgBouncer's reset (`DEALLOCATE ALL`) drops it when the transaction ends.
        options = PgConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("bad setting DATABASE_URL: {e}"))?
            .application_name("wolo")
            .statement_cache_capacity(0);
    }
    let mut pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(config.db_acquire_timeout)
        // sqlx pings every connection it hands out by default: one more round trip per
        // request (a pot read is otherwise four, a webhook one). A connection in steady use
        // is known alive, so only one idle for a while is checked (the database may have
        // restarted meanwhile); a connection that died since fails its first statement and
        // is dropped by sqlx. (sqlx also checks, always, every connection it takes back: a
        // REST read's ROLLBACK goes out with that check, rest::execute.)
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if pooled {
                    // The transaction is the ping.
                    open_transaction(conn, timeout_ms).await?;
                } else if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        });
    if pooled {
        pool = pool.after_release(|conn, _meta| {
            Box::pin(async move {
                // Ends what `open_transaction` began (a no-op when the caller committed or
                // rolled back itself); a connection that cannot is closed.
                sqlx::Executor::execute(&mut *conn, "COMMIT").await?;
                Ok(true)
            })
        });
    }
    let production = config.environment == crate::config::Environment::Production;
    if production || pooled {
        pool = pool.after_connect(move |conn, _meta| {
            Box::pin(async move {
                // First, so that the check below runs inside it too.
                if pooled {
                    open_transaction(conn, timeout_ms).await?;
                }
                if production {
                    if let Some(why) = privileged_login(&mut *conn).await? {
                        tracing::error!("refusing a database connection: {why}");
                        return Err(sqlx::Error::Configuration(
                            format!("refusing a database connection in production: {why}").into(),
                        ));
                    }
                }
                Ok(())
            })
        });
    }
    Ok(pool.connect_lazy_with(options))
}

/// Behind PgBouncer in transaction mode, a connection is handed out inside a transaction
/// (committed when it comes back): sqlx prepares a statement in one exchange with the server
/// and runs it in another, and between two transactions PgBouncer may give the next
/// exchange another server, where the statement does not exist. Inside a transaction both
/// go to the same server. A caller's own `BEGIN` then only draws a warning, which the
/// session's `client_min_messages` keeps off the logs (every server connection of the pool
/// gets the same setting), and its `COMMIT` or `ROLLBACK` ends the transaction.
async fn open_transaction(conn: &mut sqlx::PgConnection, timeout_ms: u128) -> sqlx::Result<()> {
    let sql = format!(
        "BEGIN; SET client_min_messages = error; SET LOCAL statement_timeout = {timeout_ms}"
    );
    sqlx::Executor::execute(&mut *conn, sql.as_str()).await?;
    Ok(())
}

static POOLED: AtomicBool = AtomicBool::new(false);

/// True once this process has built a pool behind a transaction-mode pooler
/// (`WOLO_DB_POOLER=transaction`): a read-only transaction is then made read-only by
/// `SET TRANSACTION READ ONLY` inside the transaction the pool opened, not by `BEGIN READ
/// ONLY` (see `rest::begin`).
pub fn pooled() -> bool {
    POOLED.load(Ordering::Relaxed)
}

pub fn connect_options(url: &str, statement_timeout: Duration) -> anyhow::Result<PgConnectOptions> {
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

// ------------------------------------------------------------------ service logins
//
// Each service connects as its own login role, `wolo_svc_<service>` (migration V102): its own
// schema, the cross-schema reads and the few documented cross-schema writes it needs, the
// outbox, and membership (NOINHERIT) in the four API roles for the REST layer's SET ROLE.

/// The login role of `service` (`wolo_svc_pots` for `pots`).
pub fn service_role(service: &str) -> String {
    format!("wolo_svc_{service}")
}

/// `pots` → `POTS`, for the names of the per-service settings.
fn env_name(service: &str) -> String {
    service.to_ascii_uppercase().replace('-', "_")
}

/// The setting holding `service`'s own database URL: `WOLO_POTS_DATABASE_URL`.
pub fn service_url_setting(service: &str) -> String {
    format!("WOLO_{}_DATABASE_URL", env_name(service))
}

/// The setting holding `service`'s password: `WOLO_DB_PASSWORD_POTS`.
pub fn service_password_setting(service: &str) -> String {
    format!("WOLO_DB_PASSWORD_{}", env_name(service))
}

/// Where `service` connects, given the server-wide `database_url` (`DATABASE_URL`) and a
/// lookup of the environment:
///
/// 1. `WOLO_<SERVICE>_DATABASE_URL` when set;
/// 2. `database_url` itself when `WOLO_DB_SERVICE_ROLES=off` (development only: `wolo serve`
///    refuses a superuser or owner login in production);
/// 3. otherwise `database_url` with the user replaced by `wolo_svc_<service>` and the password
///    by `WOLO_DB_PASSWORD_<SERVICE>` (none when unset: trust, peer or certificate
///    authentication, as on the local development server and in tests).
pub fn service_database_url(
    database_url: &str,
    service: &str,
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let own = service_url_setting(service);
    if let Some(url) = set(&own) {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            anyhow::bail!("bad setting {own}: must be a postgres:// or postgresql:// URL");
        }
        return Ok(url);
    }
    if set("WOLO_DB_SERVICE_ROLES").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "false" | "0" | "no"
        )
    }) {
        return Ok(database_url.to_string());
    }
    let role = service_role(service);
    let password = set(&service_password_setting(service));
    let same_user = url::Url::parse(database_url).is_ok_and(|u| u.username() == role);
    if same_user && password.is_none() {
        // A URL already naming the service's role keeps its password.
        return Ok(database_url.to_string());
    }
    with_user(database_url, &role, password.as_deref())
}

/// `url` logging in as `user` with `password` (none: no password).
pub fn with_user(url: &str, user: &str, password: Option<&str>) -> anyhow::Result<String> {
    let mut url =
        url::Url::parse(url).map_err(|e| anyhow::anyhow!("bad setting DATABASE_URL: {e}"))?;
    url.set_username(user)
        .map_err(|()| anyhow::anyhow!("bad setting DATABASE_URL: it cannot carry a user name"))?;
    url.set_password(password)
        .map_err(|()| anyhow::anyhow!("bad setting DATABASE_URL: it cannot carry a password"))?;
    Ok(url.to_string())
}

/// The context of `service`: `ctx` with its own pools (request and background, lazy, as
/// [`connect`] and [`connect_background`]) logged in as the service's role (see [`service_database_url`]; settings from the process environment) and
/// its `database_url` set to that URL (listeners log in the same way).
pub fn service_context(ctx: &crate::Context, service: &str) -> anyhow::Result<crate::Context> {
    service_context_with(ctx, service, |k| std::env::var(k).ok())
}

/// [`service_context`] over any lookup.
pub fn service_context_with(
    ctx: &crate::Context,
    service: &str,
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::Context> {
    let url = service_database_url(ctx.config.database_url.expose(), service, &get)?;
    let mut config = (*ctx.config).clone();
    config.database_url = crate::config::Secret::new(url);
    let mut out = ctx.clone();
    out.db = connect(&config)?;
    out.background_db = connect_background(&config)?;
    out.read_db = match &config.database_read_url {
        Some(read_url) if crate::reads::STANDBY_SERVICES.contains(&service) => {
            let url = service_read_url(read_url.expose(), service, &get)?;
            let pool = connect_read(&config, &url)?;
            crate::reads::watch(
                connect_options(config.database_url.expose(), config.db_statement_timeout)?,
                connect_options(&url, config.db_statement_timeout)?,
                config.read_your_writes,
            );
            Some(pool)
        }
        _ => None,
    };
    out.config = std::sync::Arc::new(config);
    Ok(out)
}

/// Where `service` reads on the standby at `read_url` (`WOLO_DATABASE_READ_URL`): logged in
/// as on the primary ([`service_database_url`]: the service's role and password, or the URL
/// as it is when `WOLO_DB_SERVICE_ROLES=off`); `WOLO_<SERVICE>_DATABASE_URL` does not apply.
pub fn service_read_url(
    read_url: &str,
    service: &str,
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let own = service_url_setting(service);
    service_database_url(read_url, service, |k| if k == own { None } else { get(k) })
}

/// The pool of reads on the standby: as the request pool (same size, timeouts and, in
/// production, the same refusal of a privileged login), but never in pooler mode: a standby
/// is reached directly.
fn connect_read(config: &Config, url: &str) -> anyhow::Result<PgPool> {
    let mut direct = config.clone();
    direct.db_pooler = Pooler::None;
    pool_at(&direct, url, config.db_max_connections)
}

/// Serialises the transactions that take the lock `key` until the holder's transaction ends
/// (`pg_advisory_xact_lock` on the key's 64-bit hash): one sponsor's batches, one account's
/// sign-ins, one maintenance run across replicas. Keys are namespaced by their caller
/// (`"referral.points:<sponsor>"`).
pub async fn xact_lock(conn: &mut sqlx::PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Why a login must not serve in production: a superuser (or a member of one), or a role
/// that owns (or may become the owner of) a table of the service schemas. `None` when the
/// login is fit.
pub async fn privileged_login(
    conn: impl sqlx::PgExecutor<'_>,
) -> Result<Option<String>, sqlx::Error> {
    let row: (String, bool, Option<String>) = sqlx::query_as(
        "select current_user::text,
                exists (select from pg_catalog.pg_roles s
                        where s.rolsuper and pg_catalog.pg_has_role(current_user, s.oid, 'MEMBER')),
                (select n.nspname || '.' || c.relname
                   from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                  where n.nspname = any ($1) and c.relkind in ('r', 'p', 'v', 'm', 'f')
                    and pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER')
                  order by 1 limit 1)",
    )
    .bind(&SCHEMAS[..])
    .fetch_one(conn)
    .await?;
    let (user, superuser, owned) = row;
    Ok(if superuser {
        Some(format!("{user:?} is a superuser"))
    } else {
        owned.map(|t| format!("{user:?} owns {t}"))
    })
}

/// The schemas of the services (and the shared `wolo` schema).
pub const SCHEMAS: [&str; 11] = [
    "wolo",
    "identity",
    "profiles",
    "referral",
    "pots",
    "donations",
    "packs",
    "qr",
    "notifications",
    "analytics",
    "admin",
];

/// The production check of `service`'s login (`config.database_url`, as made by
/// [`service_context`]): `Err(one line naming it)` when it is a superuser or owns the
/// tables; `Ok(())` when it is fit, or when the database cannot be reached now (the pool is
/// lazy, and [`connect`] checks every connection it opens in production).
pub async fn refuse_privileged_login(config: &Config, service: &str) -> Result<(), String> {
    use sqlx::Connection;
    let checked = async {
        let options = connect_options(config.database_url.expose(), config.db_statement_timeout)
            .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        // In a transaction: through a transaction-mode pooler a prepared statement must not
        // straddle two (docs/architecture.md, "Behind PgBouncer").
        let why = match conn.begin().await {
            Ok(mut tx) => privileged_login(&mut *tx).await,
            Err(e) => Err(e),
        };
        let _ = conn.close().await;
        why
    };
    match tokio::time::timeout(config.db_acquire_timeout, checked).await {
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(why))) => Err(format!(
            "the {service} service's database login {why}: in production each service connects as its own role {} (set {} or {})",
            service_role(service),
            service_password_setting(service),
            service_url_setting(service),
        )),
        Ok(Err(e)) => {
            tracing::warn!(service, error = %e, "cannot check the database login now");
            Ok(())
        }
        Err(_) => {
            tracing::warn!(service, "cannot check the database login now: timed out");
            Ok(())
        }
    }
}

/// Sets the password of every service role whose `WOLO_DB_PASSWORD_<SERVICE>` is set
/// (`wolo migrate`, after the migrations). The statement carries a SCRAM-SHA-256 verifier
/// computed here, never the password itself. Returns the roles changed.
pub async fn apply_service_passwords(
    pool: &PgPool,
    services: &[&str],
    get: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<String>> {
    let mut changed = vec![];
    for service in services {
        let Some(password) = get(&service_password_setting(service)).filter(|v| !v.is_empty())
        else {
            continue;
        };
        let role = service_role(service);
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        sqlx::raw_sql(&format!(
            "alter role \"{}\" password '{}'",
            role.replace('"', "\"\""),
            verifier.replace('\'', "''")
        ))
        .execute(pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot set the password of {role}: {e}"))?;
        changed.push(role);
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(base: &str, service: &str, env: &[(&str, &str)]) -> String {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        service_database_url(base, service, |k| env.get(k).cloned()).unwrap()
    }

    #[test]
    fn a_service_logs_in_as_its_own_role() {
        let base = "postgres://postgres:owner-secret@db:5432/wolo?sslmode=require";
        assert_eq!(
            url(base, "pots", &[]),
            "postgres://wolo_svc_pots@db:5432/wolo?sslmode=require"
        );
        assert_eq!(
            url(base, "pots", &[("WOLO_DB_PASSWORD_POTS", "p@ss/w:rd")]),
            "postgres://wolo_svc_pots:p%40ss%2Fw%3Ard@db:5432/wolo?sslmode=require"
        );
        assert_eq!(
            url(
                base,
                "pots",
                &[("WOLO_POTS_DATABASE_URL", "postgres://x:y@h/d")]
            ),
            "postgres://x:y@h/d"
        );
        assert_eq!(url(base, "pots", &[("WOLO_DB_SERVICE_ROLES", "off")]), base);
        // Already the service's role: kept with its password.
        assert_eq!(
            url("postgres://wolo_svc_qr:pw@db/wolo", "qr", &[]),
            "postgres://wolo_svc_qr:pw@db/wolo"
        );
    }
}
