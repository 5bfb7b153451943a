//! Executing: one table request as one transaction under the caller's role, through the
//! stages in order: parse ([`crate::query`], [`crate::prefer`], [`crate::respond::negotiate`]),
//! plan ([`crate::plan`]), SQL ([`crate::sql`]), run here, respond ([`crate::respond`]).
//! [`begin`] and [`begin_as_service`] open the transaction custom endpoints run in too.

use axum::{
    body::Bytes,
    http::{header, HeaderMap, Method, StatusCode, Uri},
};
use serde_json::Value as Json;
use sqlx::{PgPool, Postgres, Row, Transaction};

use auth::Caller;

use crate::{
    api::{authenticate, Api},
    error::{ApiError, ApiResult},
    plan::{self, Call},
    prefer::{Count, Preferences, Resolution},
    query::{normalise, parse_query},
    respond::{self, negotiate, strip_null_keys, Outcome},
    sql::{self, Qb},
};

/// Opens the request transaction: read-only when asked, role switched, claims and request
/// details set for row-level security, the role's statement timeout applied.
pub async fn begin(
    pool: &PgPool,
    caller: &Caller,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    read_only: bool,
) -> ApiResult<Transaction<'static, Postgres>> {
    let anon = caller.role == auth::Role::Anon;
    // A read-only transaction is opened read-only (one statement, not BEGIN then SET).
    // Behind a transaction-mode pooler the pool hands out a connection already inside a
    // transaction (platform::db): it is made read-only where it stands.
    let mut tx = match (read_only, platform::db::pooled()) {
        (true, false) => pool.begin_with("BEGIN READ ONLY").await,
        (true, true) => pool.begin_with("SET TRANSACTION READ ONLY").await,
        (false, _) => pool.begin().await,
    }
    .map_err(|e| ApiError::from_sqlx(e, anon))?;
    let header_json: serde_json::Map<String, Json> = headers
        .iter()
        .filter(|(k, _)| *k != header::AUTHORIZATION && *k != header::COOKIE)
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), Json::String(v.to_string())))
        })
        .collect();
    sqlx::query(
        "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                set_config('request.method', $3, true), set_config('request.path', $4, true),
                set_config('request.headers', $5, true), set_config('statement_timeout', $6, true)",
    )
    .bind(caller.role.as_str())
    .bind(caller.claims.to_string())
    .bind(method)
    .bind(path)
    .bind(Json::Object(header_json).to_string())
    .bind(caller.role.statement_timeout_ms().to_string())
    .execute(&mut *tx)
    .await
    .map_err(|e| ApiError::from_sqlx(e, anon))?;
    Ok(tx)
}

/// [`begin`], then back to the service's own login (`set local role none`): the caller's
/// claims and request details stay set, so audit rows name the caller, but the statements
/// run with the service's grants, not the API role's. For an endpoint that is the only door
/// to a write its caller's role may not make through REST (the refund endpoint: admins
/// read donations and refunds, the donations service writes them; V108).
pub async fn begin_as_service(
    pool: &PgPool,
    caller: &Caller,
    method: &str,
    path: &str,
    headers: &HeaderMap,
) -> ApiResult<Transaction<'static, Postgres>> {
    let mut tx = begin(pool, caller, method, path, headers, false).await?;
    sqlx::query("set local role none")
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::from_sqlx(e, false))?;
    Ok(tx)
}

/// `/<table>` for any method: the whole pipeline, one transaction.
pub(crate) async fn table_request(
    api: &Api,
    table_name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Outcome> {
    let write = !matches!(*method, Method::GET | Method::HEAD);
    plan::check_profile(api, headers, write)?;
    let cache = api.schema_cache().await?;
    let table = plan::table(&cache, &api.schema, table_name)?;
    let caller = authenticate(&api.jwt, headers)?;
    let prefs = Preferences::parse(
        headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )?;
    let params = normalise(parse_query(uri.query().unwrap_or(""))?);
    let (media, strip_nulls) = negotiate(headers)?;
    let anon = caller.role == auth::Role::Anon;
    // A read may go to the standby (platform::reads); a GET asking for a transaction end
    // of its own (`Prefer: tx=`, as parsed above) stays on the primary.
    let pool = if write || prefs.rollback.is_some() {
        &api.pool
    } else {
        platform::reads::pool(&api.pool, api.read_pool.as_ref(), headers)
    };
    let mut tx = begin(pool, &caller, method.as_str(), uri.path(), headers, !write).await?;
    let role = caller.role.as_str();
    let call = Call {
        cache: &cache,
        table,
        role,
        params: &params,
        prefs: &prefs,
        media,
    };
    let mut out = match *method {
        Method::GET | Method::HEAD => read(&mut tx, &call, headers).await,
        Method::POST => insert(&mut tx, &call, &body).await,
        Method::PATCH => update(&mut tx, &call, &body).await,
        Method::DELETE => delete(&mut tx, &call).await,
        _ => Err(Failure::Api(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        ))),
    }
    .map_err(|e| match e {
        Failure::Api(e) => e,
        Failure::Db(e) => ApiError::from_sqlx(e, anon),
    })?;
    match prefs.rollback {
        Some(true) => tx
            .rollback()
            .await
            .map_err(|e| ApiError::from_sqlx(e, anon))?,
        // A read's transaction is read-only: ending it by COMMIT or by ROLLBACK is the same,
        // and dropping it queues the ROLLBACK, which sqlx sends with the ping it gives every
        // connection coming back to the pool (`sqlx::pool::PoolConnection`'s return). One
        // round trip fewer than a COMMIT, and the answer leaves without waiting for it.
        None if !write => drop(tx),
        _ => tx
            .commit()
            .await
            .map_err(|e| ApiError::from_sqlx(e, anon))?,
    }
    if strip_nulls {
        out.body = out.body.map(|b: String| strip_null_keys(&b));
    }
    Ok(out)
}

/// Why an operation failed: an answer already decided, or the database's error (turned into
/// one knowing whether the caller is anonymous).
enum Failure {
    Api(ApiError),
    Db(sqlx::Error),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Db(e)
    }
}

type Tx = Transaction<'static, Postgres>;

async fn read(tx: &mut Tx, call: &Call<'_>, headers: &HeaderMap) -> Result<Outcome, Failure> {
    let (offset, limit) = plan::read_window(call.params, headers)?;
    let row = sql::select(call, offset, limit)?
        .build()
        .fetch_one(&mut **tx)
        .await?;
    let body: String = row.get(0);
    let rows: i64 = row.get(1);
    let total = match call.prefs.count {
        None => None,
        Some(kind) => Some(count_rows(tx, call, kind).await?),
    };
    Ok(respond::read(call, body, rows, offset, total)?)
}

async fn count_rows(tx: &mut Tx, call: &Call<'_>, kind: Count) -> Result<i64, Failure> {
    let planned = |plan: Json| plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64;
    let explain = "explain (format json) select 1";
    match kind {
        Count::Exact => Ok(sql::count(call, "select count(*)")?
            .build_query_scalar()
            .fetch_one(&mut **tx)
            .await?),
        Count::Planned => Ok(planned(
            sql::count(call, explain)?
                .build_query_scalar()
                .fetch_one(&mut **tx)
                .await?,
        )),
        Count::Estimated => {
            let p = planned(
                sql::count(call, explain)?
                    .build_query_scalar()
                    .fetch_one(&mut **tx)
                    .await?,
            );
            if p > 10_000 {
                Ok(p)
            } else {
                Ok(sql::count(call, "select count(*)")?
                    .build_query_scalar()
                    .fetch_one(&mut **tx)
                    .await?)
            }
        }
    }
}

/// Runs a write built by [`sql`]: its rows (as JSON text), how many it changed and how many
/// it inserted; more than `Prefer: max-affected` under `handling=strict` is 400 `PGRST124`
/// (and the transaction is rolled back).
async fn run_mutation(
    tx: &mut Tx,
    mut qb: Qb<'static>,
    prefs: &Preferences,
) -> Result<(String, i64, i64), Failure> {
    let row = qb.build().fetch_one(&mut **tx).await?;
    let body: String = row.get(0);
    let n: i64 = row.get(1);
    let inserted: i64 = row.get(2);
    if prefs.strict == Some(true) {
        if let Some(max) = prefs.max_affected {
            if n > max {
                return Err(ApiError::bad_request(
                    "PGRST124",
                    "Query result exceeds max-affected preference constraint",
                )
                .details(format!("The query affects {n} rows"))
                .into());
            }
        }
    }
    Ok((body, n, inserted))
}

async fn insert(tx: &mut Tx, call: &Call<'_>, body: &Bytes) -> Result<Outcome, Failure> {
    let plan = plan::insert(call, body)?;
    let qb = sql::insert(call, &plan)?;
    let (body, n, inserted) = run_mutation(tx, qb, call.prefs).await?;
    // As PostgREST: a merge-duplicates upsert that inserted no row answers 200, not 201.
    let status =
        if call.prefs.resolution == Some(Resolution::MergeDuplicates) && n > 0 && inserted == 0 {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
    Ok(respond::mutation(call, Some(status), body, n, false)?)
}

async fn update(tx: &mut Tx, call: &Call<'_>, body: &Bytes) -> Result<Outcome, Failure> {
    let plan = plan::update(call, body)?;
    let qb = sql::update(call, &plan)?;
    let (body, n, _) = run_mutation(tx, qb, call.prefs).await?;
    Ok(respond::mutation(call, None, body, n, true)?)
}

async fn delete(tx: &mut Tx, call: &Call<'_>) -> Result<Outcome, Failure> {
    let plan = plan::delete(call)?;
    let qb = sql::delete(call, &plan)?;
    let (body, n, _) = run_mutation(tx, qb, call.prefs).await?;
    Ok(respond::mutation(call, None, body, n, false)?)
}
