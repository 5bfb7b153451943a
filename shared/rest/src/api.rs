//! The HTTP side, kept thin: [`Api`] (one service's REST surface and its schema cache),
//! [`router`] with its two handlers — `GET /` (OpenAPI) and `/<table>` for GET, HEAD, POST,
//! PATCH, DELETE, which hands the request to the pipeline ([`crate::execute`]) and its
//! outcome to [`crate::respond`] — and the caller checks custom endpoints use
//! ([`authenticate`], [`require_user`], [`require_partner`], [`require_admin`]).

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sqlx::PgPool;

use auth::{Caller, Jwt};

use crate::{
    cache::{SchemaCache, SharedCache, FIRST_LOAD_WAIT},
    error::{ApiError, ApiResult},
    execute, openapi, plan, respond,
};

pub use crate::execute::{begin, begin_as_service};

/// A custom endpoint listed in the OpenAPI document beside the tables.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
}

/// One service's REST surface over its schema. The value owns the service's schema cache
/// ([`SharedCache`]): whatever serves the API shares it by cloning the `Arc<Api>`.
pub struct Api {
    pub schema: String,
    pub pool: PgPool,
    /// The pool on the standby for reads that may go there (`platform::reads`).
    pub read_pool: Option<PgPool>,
    pub cache: SharedCache,
    pub jwt: Jwt,
    pub endpoints: Vec<Endpoint>,
}

impl Api {
    /// Builds the API over the database at `url` (through `pool`), with a schema cache of its
    /// own: loaded in the background now (a request that comes first waits for it, at most
    /// [`FIRST_LOAD_WAIT`]), then reloaded on `NOTIFY pgrst` and SIGHUP (`rest::cache`).
    pub fn new(
        schema: &str,
        url: &str,
        pool: PgPool,
        jwt: Jwt,
        endpoints: Vec<Endpoint>,
    ) -> Arc<Api> {
        let cache = SharedCache::watching(url, pool.clone());
        Arc::new(Api {
            schema: schema.to_string(),
            pool,
            read_pool: None,
            cache,
            jwt,
            endpoints,
        })
    }

    /// The API of service `schema` over the context's database, with the schema cache the
    /// services of the context share ([`platform::Shared`]: `wolo serve`'s ten services load
    /// the catalog once and hold one `LISTEN`; what the cache holds does not depend on the
    /// role each service logs in as).
    pub fn of(ctx: &platform::Context, schema: &str, endpoints: Vec<Endpoint>) -> Arc<Api> {
        let url = ctx.config.database_url.expose();
        let cache = ctx
            .shared
            .get_or_init(|| SharedCache::watching(url, ctx.db.clone()));
        Arc::new(Api {
            schema: schema.to_string(),
            pool: ctx.db.clone(),
            read_pool: ctx.read_db.clone(),
            cache: (*cache).clone(),
            jwt: ctx.jwt(),
            endpoints,
        })
    }

    /// The schema cache; before its first load (the service is starting), waits for it up to
    /// [`FIRST_LOAD_WAIT`], then answers 503 `PGRST002`.
    pub(crate) async fn schema_cache(&self) -> ApiResult<Arc<SchemaCache>> {
        self.cache.loaded(FIRST_LOAD_WAIT).await.ok_or_else(|| {
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
        auth::AuthError::Invalid(why) => ApiError::unauthorized("PGRST301", "Invalid token")
            .details(format!("The bearer token was refused: {why}."))
            .hint("Sign in again for a new token (reconnectez-vous)."),
    })
}

async fn root(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    let result = async {
        plan::check_profile(&api, &headers, false)?;
        let cache = api.schema_cache().await?;
        let caller = authenticate(&api.jwt, &headers)?;
        let doc = openapi::document(&api, &cache, caller.role.as_str());
        let mut res = (StatusCode::OK, doc.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openapi+json; charset=utf-8"),
        );
        Ok::<Response, ApiError>(res)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `/<table>`: the pipeline ([`execute::table_request`]), then the response.
async fn table_handler(
    State(api): State<Arc<Api>>,
    Path(table): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = execute::table_request(&api, &table, &method, &uri, &headers, body).await;
    respond::response(&method, &headers, result)
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
