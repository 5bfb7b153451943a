//! The HTTP side: `GET /` (OpenAPI) and `/<table>` for GET, HEAD, POST, PATCH, DELETE,
//! each request one transaction under the caller's role.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde_json::Value as Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};

use auth::{Caller, Jwt};

use crate::{
    cache::{quote_ident, SchemaCache, SharedCache, Table},
    error::{ApiError, ApiResult},
    openapi, paging,
    prefer::{Count, Preferences, Resolution, Return},
    query::{normalise, parse_query, Modifiers, QueryParams},
    rows,
    sql::{column_missing, push_limit_offset, Planner},
};

/// A custom endpoint listed in the OpenAPI document beside the tables.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
}

/// One service's REST surface over its schema.
pub struct Api {
    pub schema: String,
    pub pool: PgPool,
    pub cache: SharedCache,
    pub jwt: Jwt,
    pub endpoints: Vec<Endpoint>,
}

impl Api {
    /// Builds the API over the database at `url` (through `pool`); the schema cache is the
    /// process's shared one for that database.
    pub fn new(
        schema: &str,
        url: &str,
        pool: PgPool,
        jwt: Jwt,
        endpoints: Vec<Endpoint>,
    ) -> Arc<Api> {
        let cache = SharedCache::for_database(url, pool.clone());
        Arc::new(Api {
            schema: schema.to_string(),
            pool,
            cache,
            jwt,
            endpoints,
        })
    }

    fn schema_cache(&self) -> ApiResult<Arc<SchemaCache>> {
        self.cache.get().ok_or_else(|| {
            ApiError::unavailable("Could not query the database for the schema cache. Retrying.")
        })
    }
}

/// `/` and `/{table}` over `api`.
pub fn router<S: Clone + Send + Sync + 'static>(api: Arc<Api>) -> Router<S> {
    Router::new()
        .route("/", get(root))
        .route("/{table}", axum::routing::any(table_handler))
        .with_state(api)
}

/// The caller of a request: anonymous without `Authorization`, else a verified token.
pub fn authenticate(jwt: &Jwt, headers: &HeaderMap) -> ApiResult<Caller> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::anonymous());
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("PGRST301", "Invalid Authorization header"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized("PGRST301", "Expected a Bearer token"))?
        .trim();
    jwt.verify(token).map_err(|e| match e {
        auth::AuthError::Expired => ApiError::unauthorized("PGRST303", "JWT expired"),
        auth::AuthError::NotYetValid => ApiError::unauthorized("PGRST303", "JWT not yet valid"),
        auth::AuthError::BadSubject => {
            ApiError::unauthorized("PGRST303", "JWT sub claim must be a UUID")
        }
        auth::AuthError::RoleNotAllowed(r) => {
            ApiError::unauthorized("PGRST303", format!("JWT role \"{r}\" is not allowed"))
        }
        auth::AuthError::Invalid(m) => ApiError::unauthorized("PGRST301", m),
    })
}

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
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| ApiError::from_sqlx(e, anon))?;
    if read_only {
        sqlx::query("set transaction read only")
            .execute(&mut *tx)
            .await
            .map_err(|e| ApiError::from_sqlx(e, anon))?;
    }
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

async fn root(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let result = (|| -> ApiResult<Response> {
        check_profile(&api, &headers, false)?;
        let cache = api.schema_cache()?;
        let caller = authenticate(&api.jwt, &headers)?;
        let doc = openapi::document(&api, &cache, caller.role.as_str());
        let mut res = (StatusCode::OK, doc.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openapi+json; charset=utf-8"),
        );
        Ok(res)
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `Accept-Profile`/`Content-Profile` may name the service's schema (or `public`, which
/// clients send by default); any other schema is refused.
fn check_profile(api: &Api, headers: &HeaderMap, write: bool) -> ApiResult<()> {
    let name = if write {
        "content-profile"
    } else {
        "accept-profile"
    };
    if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
        if v != api.schema && v != "public" {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "PGRST106",
                format!("Invalid schema: {v}"),
            )
            .hint(format!(
                "Only the following schemas are exposed: {}",
                api.schema
            )));
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    Object,
    Csv,
}

fn negotiate(headers: &HeaderMap) -> ApiResult<(Media, bool)> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok((Media::Json, false));
    };
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let mt = parts.next().unwrap_or("").to_ascii_lowercase();
        let strip = parts.any(|p| p.replace(' ', "") == "nulls=stripped");
        let media = match mt.as_str() {
            ""
            | "*/*"
            | "application/*"
            | "application/json"
            | "application/vnd.pgrst.array+json"
            | "application/vnd.pgrst.array" => Media::Json,
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => Media::Object,
            "text/csv" | "text/*" => Media::Csv,
            _ => continue,
        };
        return Ok((media, strip));
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "PGRST107",
        format!("None of these media types are available: {accept}"),
    ))
}

struct Outcome {
    status: StatusCode,
    body: Option<String>,
    content_range: Option<String>,
    location: Option<String>,
    media: Media,
}

async fn table_handler(
    State(api): State<Arc<Api>>,
    Path(table): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let write = !matches!(method, Method::GET | Method::HEAD);
    let prefs = Preferences::parse(
        headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let result = handle(&api, &table, &method, &uri, &headers, body).await;
    match result {
        Ok(out) => {
            let has_body = out.body.is_some();
            let mut res = if method == Method::HEAD {
                Response::new(Body::empty())
            } else {
                match out.body {
                    Some(b) => Response::new(Body::from(b)),
                    None => Response::new(Body::empty()),
                }
            };
            *res.status_mut() = out.status;
            let h = res.headers_mut();
            if out.status != StatusCode::NO_CONTENT && has_body {
                let ct = match out.media {
                    Media::Csv => "text/csv; charset=utf-8",
                    Media::Object => "application/vnd.pgrst.object+json; charset=utf-8",
                    Media::Json => "application/json; charset=utf-8",
                };
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            if let Some(cr) = out
                .content_range
                .and_then(|v| HeaderValue::from_str(&v).ok())
            {
                h.insert(header::CONTENT_RANGE, cr);
            }
            if let Some(l) = out.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
                h.insert(header::LOCATION, l);
            }
            if let Ok(p) = &prefs {
                if let Some(applied) = p
                    .applied(write, false)
                    .and_then(|v| HeaderValue::from_str(&v).ok())
                {
                    h.insert("preference-applied", applied);
                }
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn handle(
    api: &Api,
    table_name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Outcome> {
    let write = !matches!(*method, Method::GET | Method::HEAD);
    check_profile(api, headers, write)?;
    let cache = api.schema_cache()?;
    let table = cache.table(&api.schema, table_name).ok_or_else(|| {
        ApiError::not_found(
            "PGRST205",
            format!(
                "Could not find the table '{}.{}' in the schema cache",
                api.schema, table_name
            ),
        )
    })?;
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
    let mut tx = begin(
        &api.pool,
        &caller,
        method.as_str(),
        uri.path(),
        headers,
        !write,
    )
    .await?;
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
    if prefs.rollback == Some(true) {
        tx.rollback()
            .await
            .map_err(|e| ApiError::from_sqlx(e, anon))?;
    } else {
        tx.commit()
            .await
            .map_err(|e| ApiError::from_sqlx(e, anon))?;
    }
    if strip_nulls {
        out.body = out.body.map(|b: String| strip_null_keys(&b));
    }
    Ok(out)
}

/// What every table operation works from.
#[derive(Clone, Copy)]
struct Call<'a> {
    cache: &'a SchemaCache,
    table: &'a Table,
    role: &'a str,
    params: &'a QueryParams,
    prefs: &'a Preferences,
    media: Media,
}

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
    let Call {
        cache,
        table,
        role,
        params,
        prefs,
        media,
    } = *call;
    let top = params.at(&[]);
    // The query's limit/offset and the Range header intersect, without overflow.
    let range = paging::parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()))?;
    let (offset, limit) = paging::window(top.limit, top.offset, range)?;

    let mut planner = Planner::new(cache, role, params);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "select coalesce(json_agg(\"pgrst_t\"), '[]'::json)::text, count(*) from (select ",
    );
    planner.push_select_list(&mut qb, table, "t0", &params.select, &[])?;
    qb.push(format!(" from {} as \"t0\"", table.qualified()));
    planner.push_where(&mut qb, table, "t0", &top)?;
    planner.push_order(&mut qb, table, "t0", &top.order)?;
    push_limit_offset(&mut qb, limit, Some(offset));
    qb.push(") as \"pgrst_t\"");
    let row = qb.build().fetch_one(&mut **tx).await?;
    let body: String = row.get(0);
    let rows: i64 = row.get(1);

    let total = match prefs.count {
        None => None,
        Some(kind) => Some(count_rows(tx, cache, table, role, params, kind).await?),
    };
    if let Some(t) = total {
        if offset > 0 && offset >= t && rows == 0 {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "PGRST103",
                "Requested range not satisfiable",
            )
            .details(format!(
                "An offset of {offset} was requested, but there are only {t} rows."
            ))
            .into());
        }
    }
    let total_text = total.map_or("*".to_string(), |t| t.to_string());
    let content_range = if rows == 0 {
        format!("*/{total_text}")
    } else {
        format!(
            "{}-{}/{}",
            offset,
            offset.saturating_add(rows - 1),
            total_text
        )
    };
    let status = match total {
        Some(t) if rows < t && (offset > 0 || offset.saturating_add(rows) < t) => {
            StatusCode::PARTIAL_CONTENT
        }
        _ => StatusCode::OK,
    };
    let body = shape_body(body, rows, media, table, role)?;
    Ok(Outcome {
        status,
        body: Some(body),
        content_range: Some(content_range),
        location: None,
        media,
    })
}

async fn count_rows(
    tx: &mut Tx,
    cache: &SchemaCache,
    table: &Table,
    role: &str,
    params: &QueryParams,
    kind: Count,
) -> Result<i64, Failure> {
    let top = params.at(&[]);
    let build = |prefix: &str| -> ApiResult<QueryBuilder<'static, Postgres>> {
        let mut planner = Planner::new(cache, role, params);
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(prefix.to_string());
        qb.push(format!(" from {} as \"t0\"", table.qualified()));
        planner.push_where(&mut qb, table, "t0", &top)?;
        Ok(qb)
    };
    let planned = |plan: Json| plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0) as i64;
    let explain = "explain (format json) select 1";
    match kind {
        Count::Exact => Ok(build("select count(*)")?
            .build_query_scalar()
            .fetch_one(&mut **tx)
            .await?),
        Count::Planned => Ok(planned(
            build(explain)?
                .build_query_scalar()
                .fetch_one(&mut **tx)
                .await?,
        )),
        Count::Estimated => {
            let p = planned(
                build(explain)?
                    .build_query_scalar()
                    .fetch_one(&mut **tx)
                    .await?,
            );
            if p > 10_000 {
                Ok(p)
            } else {
                Ok(build("select count(*)")?
                    .build_query_scalar()
                    .fetch_one(&mut **tx)
                    .await?)
            }
        }
    }
}

/// The JSON array from PostgreSQL, as the client asked for it.
fn shape_body(
    body: String,
    rows: i64,
    media: Media,
    table: &Table,
    role: &str,
) -> ApiResult<String> {
    match media {
        Media::Json => Ok(body),
        Media::Object => {
            if rows != 1 {
                return Err(ApiError::single_object(rows as usize));
            }
            rows::single(&body)
        }
        Media::Csv => {
            let keys = table
                .star_columns(role)
                .iter()
                .map(|c| c.name.clone())
                .collect();
            rows::csv(&body, keys)
        }
    }
}

fn strip_null_keys(body: &str) -> String {
    fn strip(v: Json) -> Json {
        match v {
            Json::Array(a) => Json::Array(a.into_iter().map(strip).collect()),
            Json::Object(o) => Json::Object(
                o.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    serde_json::from_str::<Json>(body)
        .map(|v| strip(v).to_string())
        .unwrap_or_else(|_| body.to_string())
}

fn parse_body(body: &Bytes) -> ApiResult<Json> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("PGRST102", "Empty or invalid json"));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("PGRST102", "Empty or invalid json").details(e.to_string())
    })
}

fn unknown_column(table: &Table, col: &str) -> ApiError {
    ApiError::bad_request(
        "PGRST204",
        format!(
            "Could not find the '{col}' column of '{}' in the schema cache",
            table.name
        ),
    )
}

/// What a write hands back, and so what its `RETURNING` names. PostgreSQL checks SELECT on
/// every column `RETURNING` names (and applies the table's SELECT policies when it names
/// any), so a write names only what the answer needs: nothing for `return=minimal` (the
/// default), the primary key for `return=headers-only` (the `Location`), the columns
/// `select=` reads for `return=representation` (`*` standing for the columns the role may
/// read). A role may therefore write a table whose other columns it may not read, and
/// insert rows it may not read back at all with `return=minimal`.
enum Returned {
    Nothing,
    Key(Vec<String>),
    Select(Vec<String>),
}

impl Returned {
    fn of(call: &Call<'_>) -> Returned {
        match call.prefs.ret {
            Some(Return::Representation) => Returned::Select(selected_columns(
                call.cache,
                call.table,
                call.role,
                &call.params.select,
            )),
            Some(Return::HeadersOnly) if !call.table.primary_key.is_empty() => {
                Returned::Key(call.table.primary_key.clone())
            }
            _ => Returned::Nothing,
        }
    }

    fn columns(&self) -> &[String] {
        match self {
            Returned::Nothing => &[],
            Returned::Key(c) | Returned::Select(c) => c,
        }
    }

    /// `"t0"."a", "t0"."b"` (or a constant when no column is needed), for `RETURNING` and
    /// for the empty results of the right shape.
    fn list(&self) -> String {
        let cols = self.columns();
        if cols.is_empty() {
            return "1 as \"pgrst_one\"".into();
        }
        cols.iter()
            .map(|c| format!("\"t0\".{}", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The columns of `table` that `select` reads at its top level: the ones `*` stands for
/// (those `role` may read), the ones it names, and those an embed joins on. Only names the
/// cache knows are kept (an unknown one fails later, when the select list is built); a
/// named column the role may not read stays, so PostgreSQL refuses it (42501).
fn selected_columns(
    cache: &SchemaCache,
    table: &Table,
    role: &str,
    select: &[crate::query::SelectItem],
) -> Vec<String> {
    use crate::query::SelectItem;
    let mut out: Vec<String> = vec![];
    let mut add = |c: &str| {
        if table.column(c).is_some() && !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    };
    for item in select {
        match item {
            SelectItem::Star => {
                for c in table.star_columns(role) {
                    add(&c.name);
                }
            }
            SelectItem::Field { field, .. } => add(&field.column),
            SelectItem::Embed(embed) => {
                for fk in &cache.foreign_keys {
                    // many-to-one: this table holds the key.
                    if fk.schema == table.schema
                        && fk.table == table.name
                        && (fk.ref_table == embed.relation
                            || fk.name == embed.relation
                            || (fk.columns.len() == 1 && fk.columns[0] == embed.relation))
                    {
                        fk.columns.iter().for_each(|c| add(c));
                    }
                    // one-to-many: the embedded table holds the key.
                    if fk.ref_schema == table.schema
                        && fk.ref_table == table.name
                        && fk.table == embed.relation
                    {
                        fk.ref_columns.iter().for_each(|c| add(c));
                    }
                }
            }
        }
    }
    out
}

/// Wraps a mutation (`... returning <what the answer needs>`) so its rows come back shaped
/// by `select=` (or as their key, or not at all), with their count and, for inserts that
/// return `pgrst_inserted`, how many rows were new.
fn finish_mutation(
    mut qb: QueryBuilder<'static, Postgres>,
    planner: &mut Planner<'_>,
    table: &Table,
    params: &QueryParams,
    returned: &Returned,
    tracks_inserts: bool,
) -> ApiResult<QueryBuilder<'static, Postgres>> {
    qb.push(") select ");
    match returned {
        Returned::Nothing => qb.push("'[]'::text"),
        _ => qb.push("coalesce((select json_agg(\"pgrst_t\") from (select "),
    };
    match returned {
        Returned::Nothing => {}
        Returned::Key(cols) => {
            let list: Vec<String> = cols
                .iter()
                .map(|c| format!("\"t0\".{}", quote_ident(c)))
                .collect();
            qb.push(list.join(", "));
        }
        Returned::Select(_) => {
            planner.push_select_list(&mut qb, table, "t0", &params.select, &[])?
        }
    }
    if !matches!(returned, Returned::Nothing) {
        qb.push(" from \"pgrst_mut\" as \"t0\") as \"pgrst_t\"), '[]'::json)::text");
    }
    qb.push(", (select count(*) from \"pgrst_mut\"), ");
    if tracks_inserts {
        qb.push("(select count(*) from \"pgrst_mut\" where \"pgrst_inserted\")");
    } else {
        qb.push("(select count(*) from \"pgrst_mut\")");
    }
    Ok(qb)
}

async fn run_mutation(
    tx: &mut Tx,
    mut qb: QueryBuilder<'static, Postgres>,
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

/// `post_status` is POST's status (201, or 200 for an upsert that only updated); PATCH and
/// DELETE pass `None` and answer 200 with a body, 204 without.
fn mutation_outcome(
    call: &Call<'_>,
    post_status: Option<StatusCode>,
    body: String,
    n: i64,
    patch: bool,
) -> Result<Outcome, Failure> {
    let Call {
        table,
        role,
        prefs,
        media,
        ..
    } = *call;
    if media == Media::Object && n != 1 {
        return Err(ApiError::single_object(n as usize).into());
    }
    let total = if matches!(prefs.count, Some(Count::Exact) | Some(Count::Estimated)) {
        n.to_string()
    } else {
        "*".into()
    };
    let content_range = if patch && n > 0 {
        format!("0-{}/{}", n - 1, total)
    } else {
        format!("*/{total}")
    };
    let location = if prefs.ret == Some(Return::HeadersOnly) && !table.primary_key.is_empty() {
        let v: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
        v.get(0).map(|row| {
            let q: Vec<String> = table
                .primary_key
                .iter()
                .map(|k| {
                    let val = match row.get(k) {
                        Some(Json::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    format!(
                        "{k}=eq.{}",
                        form_urlencoded::byte_serialize(val.as_bytes()).collect::<String>()
                    )
                })
                .collect();
            format!("/{}?{}", table.name, q.join("&"))
        })
    } else {
        None
    };
    if prefs.ret == Some(Return::Representation) {
        let body = shape_body(body, n, media, table, role)?;
        return Ok(Outcome {
            status: post_status.unwrap_or(StatusCode::OK),
            body: Some(body),
            content_range: Some(content_range),
            location,
            media,
        });
    }
    Ok(Outcome {
        status: post_status.unwrap_or(StatusCode::NO_CONTENT),
        body: None,
        content_range: Some(content_range),
        location,
        media,
    })
}

async fn insert(tx: &mut Tx, call: &Call<'_>, body: &Bytes) -> Result<Outcome, Failure> {
    let Call {
        cache,
        table,
        role,
        params,
        prefs,
        ..
    } = *call;
    let payload = parse_body(body)?;
    let objects: Vec<Json> = match payload {
        Json::Array(a) => a,
        o @ Json::Object(_) => vec![o],
        _ => {
            return Err(ApiError::bad_request("PGRST102", "Empty or invalid json")
                .details("expected an object or an array of objects")
                .into())
        }
    };
    if objects.iter().any(|o| !o.is_object()) {
        return Err(ApiError::bad_request("PGRST102", "Empty or invalid json")
            .details("every element must be an object")
            .into());
    }
    let columns: Vec<String> = match &params.columns {
        Some(c) => c.clone(),
        None => {
            let first: Vec<String> = objects
                .first()
                .and_then(Json::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for o in &objects {
                let keys = o.as_object().unwrap();
                if keys.len() != first.len() || !first.iter().all(|k| keys.contains_key(k)) {
                    return Err(
                        ApiError::bad_request("PGRST102", "All object keys must match").into(),
                    );
                }
            }
            first
        }
    };
    for c in &columns {
        if table.column(c).is_none() {
            return Err(unknown_column(table, c).into());
        }
    }
    let mut planner = Planner::new(cache, role, params);
    let returned = Returned::of(call);
    // Whether a merge-duplicates upsert inserted or only updated is told by `xmax`, a
    // system column only a SELECT on the whole table lets the role read.
    let tracks = prefs.resolution == Some(Resolution::MergeDuplicates)
        && table.privileges_of(role).select_table;
    let inserted_expr = if tracks { "(\"t0\".xmax = 0)" } else { "true" };
    let mut qb: QueryBuilder<'static, Postgres> = QueryBuilder::new("with \"pgrst_mut\" as (");
    if objects.is_empty() {
        // Nothing to insert: an empty result of the right shape.
        qb.push(format!(
            "select {}, true as \"pgrst_inserted\" from {} as \"t0\" where false",
            returned.list(),
            table.qualified()
        ));
    } else if columns.is_empty() {
        qb.push(format!(
            "insert into {} as \"t0\" default values",
            table.qualified()
        ));
        if objects.len() > 1 {
            return Err(
                ApiError::bad_request("PGRST102", "All object keys must match")
                    .details("empty objects in a bulk insert")
                    .into(),
            );
        }
    } else {
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        qb.push(format!(
            "insert into {} as \"t0\" ({}) select ",
            table.qualified(),
            cols.join(", ")
        ));
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            let col = table.column(c).unwrap();
            if prefs.missing_default || params.columns.is_some() {
                qb.push("case when (\"pgrst_b\".\"obj\"::jsonb) ? ");
                qb.push_bind(c.clone());
                qb.push(format!(" then \"pgrst_r\".{} else ", quote_ident(c)));
                match (&col.default, prefs.missing_default) {
                    (Some(d), true) => qb.push(format!("({d})")),
                    _ => qb.push("null"),
                };
                qb.push(" end");
            } else {
                qb.push(format!("\"pgrst_r\".{}", quote_ident(c)));
            }
        }
        qb.push(" from json_array_elements(");
        qb.push_bind(Json::Array(objects.clone()).to_string());
        qb.push(format!(
            "::json) with ordinality as \"pgrst_b\"(\"obj\", \"n\") cross join lateral json_populate_record(null::{}, \"pgrst_b\".\"obj\") as \"pgrst_r\" order by \"pgrst_b\".\"n\"",
            table.qualified()
        ));
        if let Some(res) = prefs.resolution {
            let target = params
                .on_conflict
                .clone()
                .unwrap_or_else(|| table.primary_key.clone());
            if target.is_empty() {
                return Err(ApiError::bad_request(
                    "PGRST100",
                    "upsert needs a primary key or on_conflict",
                )
                .into());
            }
            for t in &target {
                if table.column(t).is_none() {
                    return Err(column_missing(table, t).into());
                }
            }
            let tq: Vec<String> = target.iter().map(|c| quote_ident(c)).collect();
            qb.push(format!(" on conflict ({}) ", tq.join(", ")));
            let updates: Vec<String> = columns
                .iter()
                .map(|c| format!("{0} = excluded.{0}", quote_ident(c)))
                .collect();
            if res == Resolution::IgnoreDuplicates || updates.is_empty() {
                qb.push("do nothing");
            } else {
                qb.push(format!("do update set {}", updates.join(", ")));
            }
        }
    }
    if !objects.is_empty() {
        // xmax = 0 on a row this statement inserted; an upsert's updated rows have it set.
        qb.push(format!(
            " returning {}, {inserted_expr} as \"pgrst_inserted\"",
            returned.list()
        ));
    }
    let qb = finish_mutation(qb, &mut planner, table, params, &returned, true)?;
    let (body, n, inserted) = run_mutation(tx, qb, prefs).await?;
    // As PostgREST: a merge-duplicates upsert that inserted no row answers 200, not 201.
    let status = if prefs.resolution == Some(Resolution::MergeDuplicates) && n > 0 && inserted == 0
    {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    mutation_outcome(call, Some(status), body, n, false)
}

async fn update(tx: &mut Tx, call: &Call<'_>, body: &Bytes) -> Result<Outcome, Failure> {
    let Call {
        cache,
        table,
        role,
        params,
        prefs,
        ..
    } = *call;
    let payload = parse_body(body)?;
    let Some(obj) = payload.as_object() else {
        return Err(ApiError::bad_request("PGRST102", "Empty or invalid json")
            .details("PATCH expects a JSON object")
            .into());
    };
    let columns: Vec<String> = match &params.columns {
        Some(c) => c.clone(),
        None => obj.keys().cloned().collect(),
    };
    for c in &columns {
        if table.column(c).is_none() {
            return Err(unknown_column(table, c).into());
        }
    }
    let top = params.at(&[]);
    refuse_limited_write(&top, "PATCH")?;
    let mut planner = Planner::new(cache, role, params);
    let returned = Returned::of(call);
    let mut qb: QueryBuilder<'static, Postgres> = QueryBuilder::new("with \"pgrst_mut\" as (");
    if columns.is_empty() {
        qb.push(format!(
            "select {} from {} as \"t0\" where false",
            returned.list(),
            table.qualified()
        ));
    } else {
        let sets: Vec<String> = columns
            .iter()
            .map(|c| format!("{0} = \"pgrst_r\".{0}", quote_ident(c)))
            .collect();
        qb.push(format!(
            "update {} as \"t0\" set {} from json_populate_record(null::{}, ",
            table.qualified(),
            sets.join(", "),
            table.qualified()
        ));
        qb.push_bind(payload.to_string());
        qb.push("::json) as \"pgrst_r\"");
        planner.push_where(&mut qb, table, "t0", &top)?;
        qb.push(format!(" returning {}", returned.list()));
    }
    let qb = finish_mutation(qb, &mut planner, table, params, &returned, false)?;
    let (body, n, _) = run_mutation(tx, qb, prefs).await?;
    mutation_outcome(call, None, body, n, true)
}

async fn delete(tx: &mut Tx, call: &Call<'_>) -> Result<Outcome, Failure> {
    let Call {
        cache,
        table,
        role,
        params,
        prefs,
        ..
    } = *call;
    let top = params.at(&[]);
    refuse_limited_write(&top, "DELETE")?;
    let mut planner = Planner::new(cache, role, params);
    let returned = Returned::of(call);
    let mut qb: QueryBuilder<'static, Postgres> = QueryBuilder::new("with \"pgrst_mut\" as (");
    qb.push(format!("delete from {} as \"t0\"", table.qualified()));
    planner.push_where(&mut qb, table, "t0", &top)?;
    qb.push(format!(" returning {}", returned.list()));
    let qb = finish_mutation(qb, &mut planner, table, params, &returned, false)?;
    let (body, n, _) = run_mutation(tx, qb, prefs).await?;
    mutation_outcome(call, None, body, n, false)
}

/// `PATCH`/`DELETE` with `limit` or `offset` would otherwise change every matching row: they
/// are refused (400) before anything is written, as `docs/rest.md` says.
fn refuse_limited_write(top: &Modifiers, verb: &str) -> Result<(), ApiError> {
    if top.limit.is_some() || top.offset.is_some() {
        return Err(ApiError::bad_request(
            "PGRST100",
            format!("limit and offset are not supported on {verb}"),
        )
        .details("narrow the rows with filters instead, e.g. id=eq.<id>")
        .hint("remove limit and offset from the query string"));
    }
    Ok(())
}

/// The signed-in user behind `caller`, or 401 (PostgREST's answer to an anonymous write).
pub fn require_user(caller: &Caller) -> ApiResult<uuid::Uuid> {
    match (caller.role, caller.user_id) {
        (auth::Role::Anon, _) | (_, None) => Err(ApiError::unauthorized(
            "PGRST301",
            "Sign in first: this endpoint needs a user token",
        )),
        (_, Some(id)) => Ok(id),
    }
}

/// `caller` must hold the admin role: 401 when anonymous, 403 (42501) otherwise.
pub fn require_admin(caller: &Caller) -> ApiResult<uuid::Uuid> {
    let id = require_user(caller)?;
    if caller.role != auth::Role::Admin {
        return Err(ApiError::forbidden(
            "permission denied: admin role required",
        ));
    }
    Ok(id)
}

/// `caller` must hold the partner role (or admin): 401 when anonymous, 403 otherwise.
pub fn require_partner(caller: &Caller) -> ApiResult<uuid::Uuid> {
    let id = require_user(caller)?;
    if !matches!(caller.role, auth::Role::Partner | auth::Role::Admin) {
        return Err(ApiError::forbidden(
            "permission denied: partner role required",
        ));
    }
    Ok(id)
}
