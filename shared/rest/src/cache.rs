//! The schema cache: tables, columns (with types, defaults, comments and which API roles
//! may read them), keys and foreign keys of every user schema. Identifiers in SQL come only
//! from here. Loaded at start-up and reloaded on `NOTIFY pgrst, 'reload schema'`.
//!
//! The cache is an explicit value, not a process registry: [`crate::Api::new`] creates one
//! ([`SharedCache::watching`]) and everything serving that API shares it by cloning the
//! `Arc<Api>` (its REST routes, `GET /`, the session layer).

use std::{collections::HashMap, sync::Arc, time::Duration};

use sqlx::{postgres::PgListener, PgPool, Row};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// Type without modifiers (`character varying`), used for casts of bound values.
    pub data_type: String,
    /// Type as declared (`character varying(20)`), for documentation.
    pub declared_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub description: Option<String>,
    /// API roles holding SELECT on this column.
    pub readable_by: Vec<String>,
    /// API roles holding INSERT or UPDATE on this column (the OpenAPI body shows it).
    pub writable_by: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub is_view: bool,
    pub description: Option<String>,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub unique_keys: Vec<Vec<String>>,
    /// What each API role may do with the table (any column counts), by role name.
    pub privileges: HashMap<String, Privileges>,
}

/// A role's privileges on a table: SELECT, INSERT and UPDATE on at least one column (or the
/// table), DELETE, and SELECT granted on the whole table (which system columns such as
/// `xmax` need).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privileges {
    pub select: bool,
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    pub select_table: bool,
}

impl Privileges {
    pub fn any(&self) -> bool {
        self.select || self.insert || self.update || self.delete
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns `*` stands for when `role` reads: the ones it may read (all of them when it
    /// may read none, so that PostgreSQL itself answers "permission denied").
    pub fn star_columns(&self, role: &str) -> Vec<&Column> {
        let readable: Vec<&Column> = self
            .columns
            .iter()
            .filter(|c| c.readable_by.iter().any(|r| r == role))
            .collect();
        if readable.is_empty() {
            self.columns.iter().collect()
        } else {
            readable
        }
    }

    /// Whether `cols` is the primary key or a unique key (a one-to-one link target).
    pub fn is_unique(&self, cols: &[String]) -> bool {
        let same = |k: &Vec<String>| k.len() == cols.len() && k.iter().all(|c| cols.contains(c));
        same(&self.primary_key) || self.unique_keys.iter().any(same)
    }

    /// What `role` may do with this table (nothing for a role the cache does not know).
    pub fn privileges_of(&self, role: &str) -> Privileges {
        self.privileges.get(role).copied().unwrap_or_default()
    }

    /// Whether `role` may read column `name`.
    pub fn readable(&self, name: &str, role: &str) -> bool {
        self.column(name)
            .is_some_and(|c| c.readable_by.iter().any(|r| r == role))
    }

    /// `"schema"."table"` ([`crate::ident::qualified`]).
    pub fn qualified(&self) -> String {
        crate::ident::qualified(&self.schema, &self.name)
    }
}

#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub name: String,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub ref_schema: String,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Default)]
pub struct SchemaCache {
    tables: HashMap<(String, String), Table>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Types (`pg_type`) and text search configurations (`pg_ts_config`) clients may name.
    pub names: crate::catalog::Names,
}

impl SchemaCache {
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables.get(&(schema.to_string(), name.to_string()))
    }

    /// Tables of `schema`, by name.
    pub fn tables_of(&self, schema: &str) -> Vec<&Table> {
        let mut v: Vec<&Table> = self
            .tables
            .values()
            .filter(|t| t.schema == schema)
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every table called `name`, its own schema's first.
    pub fn tables_named(&self, name: &str, prefer_schema: &str) -> Vec<&Table> {
        let mut v: Vec<&Table> = self.tables.values().filter(|t| t.name == name).collect();
        v.sort_by_key(|t| (t.schema != prefer_schema, t.schema.clone()));
        v
    }

    pub async fn load(pool: &PgPool) -> Result<SchemaCache, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let roles: Vec<String> = sqlx::query_scalar(
            "select rolname::text from pg_roles where rolname in ('wolo_anon','wolo_user','wolo_partner','wolo_admin')",
        )
        .fetch_all(&mut *tx)
        .await?;
        let tables = sqlx::query(
            "select n.nspname, c.relname, c.relkind in ('v','m') as is_view, obj_description(c.oid, 'pg_class') as descr,
                    array(select r || ':' || has_any_column_privilege(r, c.oid, 'SELECT')::text
                                   || ':' || has_any_column_privilege(r, c.oid, 'INSERT')::text
                                   || ':' || has_any_column_privilege(r, c.oid, 'UPDATE')::text
                                   || ':' || has_table_privilege(r, c.oid, 'DELETE')::text
                                   || ':' || has_table_privilege(r, c.oid, 'SELECT')::text
                          from unnest($1::text[]) r) as privileges
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r','p','v','m','f')
                and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg\\_%'
                and not c.relispartition",
        )
        .bind(&roles)
        .fetch_all(&mut *tx)
        .await?;
        let columns = sqlx::query(
            "select n.nspname, c.relname, a.attname, format_type(a.atttypid, null) as data_type,
                    format_type(a.atttypid, a.atttypmod) as declared_type, not a.attnotnull as nullable,
                    pg_get_expr(d.adbin, d.adrelid) as dflt, col_description(c.oid, a.attnum) as descr,
                    array(select r from unnest($1::text[]) r where has_column_privilege(r, c.oid, a.attnum, 'SELECT')) as readable_by,
                    array(select r from unnest($1::text[]) r
                           where has_column_privilege(r, c.oid, a.attnum, 'INSERT')
                              or has_column_privilege(r, c.oid, a.attnum, 'UPDATE')) as writable_by
               from pg_attribute a
               join pg_class c on c.oid = a.attrelid
               join pg_namespace n on n.oid = c.relnamespace
               left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
              where a.attnum > 0 and not a.attisdropped and c.relkind in ('r','p','v','m','f')
                and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg\\_%'
                and not c.relispartition
              order by n.nspname, c.relname, a.attnum",
        )
        .bind(&roles)
        .fetch_all(&mut *tx)
        .await?;
        let keys = sqlx::query(
            "select n.nspname, c.relname, k.conname, k.contype::text,
                    array(select a.attname::text from unnest(k.conkey) with ordinality u(n, o)
                          join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n order by u.o) as cols,
                    fn.nspname as ref_schema, fc.relname as ref_table,
                    array(select a.attname::text from unnest(k.confkey) with ordinality u(n, o)
                          join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.n order by u.o) as ref_cols
               from pg_constraint k
               join pg_class c on c.oid = k.conrelid
               join pg_namespace n on n.oid = c.relnamespace
               left join pg_class fc on fc.oid = k.confrelid
               left join pg_namespace fn on fn.oid = fc.relnamespace
              where k.contype in ('p','u','f')
                and n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg\\_%'",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;

        let mut cache = SchemaCache::default();
        for r in tables {
            let schema: String = r.get(0);
            let name: String = r.get(1);
            let privileges: Vec<String> = r.get(4);
            let privileges = privileges
                .iter()
                .filter_map(|p| {
                    let mut f = p.split(':');
                    let role = f.next()?.to_string();
                    let mut flag = || f.next() == Some("true");
                    Some((
                        role,
                        Privileges {
                            select: flag(),
                            insert: flag(),
                            update: flag(),
                            delete: flag(),
                            select_table: flag(),
                        },
                    ))
                })
                .collect();
            cache.tables.insert(
                (schema.clone(), name.clone()),
                Table {
                    schema,
                    name,
                    is_view: r.get(2),
                    description: r.get(3),
                    columns: vec![],
                    primary_key: vec![],
                    unique_keys: vec![],
                    privileges,
                },
            );
        }
        for r in columns {
            let key: (String, String) = (r.get(0), r.get(1));
            if let Some(t) = cache.tables.get_mut(&key) {
                t.columns.push(Column {
                    name: r.get(2),
                    data_type: r.get(3),
                    declared_type: r.get(4),
                    nullable: r.get(5),
                    default: r.get(6),
                    description: r.get(7),
                    readable_by: r.get(8),
                    writable_by: r.get(9),
                });
            }
        }
        for r in keys {
            let key: (String, String) = (r.get(0), r.get(1));
            let kind: String = r.get(3);
            let cols: Vec<String> = r.get(4);
            match kind.as_str() {
                "p" => {
                    if let Some(t) = cache.tables.get_mut(&key) {
                        t.primary_key = cols;
                    }
                }
                "u" => {
                    if let Some(t) = cache.tables.get_mut(&key) {
                        t.unique_keys.push(cols);
                    }
                }
                _ => cache.foreign_keys.push(ForeignKey {
                    name: r.get(2),
                    schema: key.0,
                    table: key.1,
                    columns: cols,
                    ref_schema: r.get(5),
                    ref_table: r.get(6),
                    ref_columns: r.get(7),
                }),
            }
        }
        // Unique indexes (not constraints) count as unique keys too.
        cache.names = crate::catalog::Names::load(pool).await?;
        Ok(cache)
    }
}

/// The cache as the handlers share it: `None` until the first successful load. A request
/// that comes before it waits for it ([`SharedCache::loaded`], at most [`FIRST_LOAD_WAIT`]).
/// How long a request that comes before the first load waits for it (then 503 `PGRST002`).
pub const FIRST_LOAD_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SharedCache(Arc<watch::Sender<Option<Arc<SchemaCache>>>>);

impl Default for SharedCache {
    fn default() -> SharedCache {
        SharedCache(Arc::new(watch::channel(None).0))
    }
}

impl SharedCache {
    /// A cache of the database at `url` (read through `pool`), loaded now in the background
    /// and kept current ([`SharedCache::watch`]). Clone the value to share it.
    pub fn watching(url: &str, pool: PgPool) -> SharedCache {
        let cache = SharedCache::default();
        cache.watch(url.to_string(), pool);
        cache
    }

    /// The cache as last loaded, `None` before the first load.
    pub fn get(&self) -> Option<Arc<SchemaCache>> {
        self.0.borrow().clone()
    }

    /// The cache, waiting up to `wait` for the first load when it has not happened yet
    /// (a request that comes while the service starts); `None` if it is still not loaded.
    pub async fn loaded(&self, wait: Duration) -> Option<Arc<SchemaCache>> {
        if let Some(cache) = self.get() {
            return Some(cache);
        }
        let mut rx = self.0.subscribe();
        let first = tokio::time::timeout(wait, async {
            rx.wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|c| c.clone())
        });
        first.await.ok().flatten()
    }

    pub fn set(&self, cache: SchemaCache) {
        self.0.send_replace(Some(Arc::new(cache)));
    }

    /// Loads now; on failure keeps the previous cache and says so.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let cache = SchemaCache::load(pool).await?;
        let n = cache.tables.len();
        self.set(cache);
        tracing::info!(tables = n, "schema cache loaded");
        Ok(())
    }

    /// Keeps the cache current for the life of the process: loads it (retrying while the
    /// database is down), then reloads on every `NOTIFY pgrst` (payload empty or
    /// `reload schema`), reloading once more after each reconnection of the listener.
    /// The listener has a connection of its own (not one of the pool's). SIGHUP reloads too.
    pub fn watch(&self, url: String, pool: PgPool) {
        #[cfg(unix)]
        {
            let cache = self.clone();
            let pool = pool.clone();
            tokio::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut hup) = signal(SignalKind::hangup()) else {
                    return;
                };
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading the schema cache");
                    if let Err(e) = cache.reload(&pool).await {
                        tracing::warn!(error = %e, "schema cache reload failed");
                    }
                }
            });
        }
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                if cache.reload(&pool).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            loop {
                let mut listener = match PgListener::connect(&url).await {
                    Ok(l) => l,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                };
                if listener.listen("pgrst").await.is_err() {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                // Something may have changed while we were not listening.
                let _ = cache.reload(&pool).await;
                while let Ok(n) = listener.recv().await {
                    let payload = n.payload().trim();
                    if payload.is_empty() || payload == "reload schema" {
                        if let Err(e) = cache.reload(&pool).await {
                            tracing::warn!(error = %e, "schema cache reload failed");
                        }
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_before_the_first_load_waits_for_it_or_gives_up() {
        let cache = SharedCache::default();
        assert!(cache.get().is_none());
        assert!(cache.loaded(Duration::from_millis(20)).await.is_none());

        let loader = cache.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            loader.set(SchemaCache::default());
        });
        assert!(cache.loaded(Duration::from_secs(5)).await.is_some());
        // Clones share the one value.
        assert!(cache.clone().get().is_some());
    }
}
