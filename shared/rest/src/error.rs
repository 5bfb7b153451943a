//! The PostgREST error envelope `{code, message, details, hint}` and its status table.
//!
//! | code | status | when |
//! |---|---|---|
//! | PGRST100 | 400 | the query string does not parse (filter, select, order, logic tree) |
//! | PGRST102 | 400 | the body is not valid JSON, or keys of a bulk insert differ |
//! | PGRST103 | 416 | range not satisfiable (negative limit, offset past the end) |
//! | PGRST106 | 406 | a schema other than the service's own was asked for |
//! | PGRST107 | 406 | no acceptable media type |
//! | PGRST116 | 406 | a single object was asked for and the result has another number of rows |
//! | PGRST122 | 400 | unknown preferences with `handling=strict` |
//! | PGRST124 | 400 | more rows affected than `max-affected` allows |
//! | PGRST125 | 404 | unknown path |
//! | PGRST200 | 400 | no relationship for an embedding |
//! | PGRST201 | 300 | more than one relationship for an embedding |
//! | PGRST204 | 400 | unknown column in the body or `columns=` |
//! | PGRST205 | 404 | unknown table |
//! | PGRST301 | 401 | JWT invalid |
//! | PGRST303 | 401 | JWT expired or its claims refused |
//! | PGRST002 | 503 | the schema cache is not loaded (database unreachable) |
//! | SQLSTATE | per [`status_for_sqlstate`] | errors raised by PostgreSQL, passed through |

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
    /// `WWW-Authenticate` value for 401s.
    #[serde(skip)]
    pub www_authenticate: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: None,
            hint: None,
            www_authenticate: None,
        }
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn parse(what: &str, input: &str, details: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "PGRST100",
            format!("\"failed to parse {what} ({input})\""),
        )
        .details(details)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "23505", message)
    }

    pub fn unauthorized(code: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, code, message.clone());
        e.www_authenticate = Some(format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            message.replace('"', "'")
        ));
        e
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "42501", message)
    }

    pub fn internal(request_hint: &str) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "XX000", "internal error")
            .hint(request_hint.to_string())
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "PGRST002", message)
    }

    pub fn single_object(rows: usize) -> ApiError {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST116",
            "JSON object requested, multiple (or no) rows returned",
        )
        .details(format!("The result contains {rows} rows"))
    }

    /// Maps a database error as PostgREST does. `anonymous` decides 401 against 403 for 42501.
    pub fn from_sqlx(err: sqlx::Error, anonymous: bool) -> ApiError {
        match err {
            sqlx::Error::Database(db) => {
                let code = db
                    .code()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "XX000".into());
                let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
                let mut status = status_for_sqlstate(&code);
                if code == "42501" && anonymous {
                    status = StatusCode::UNAUTHORIZED;
                }
                let mut e = ApiError::new(status, &code, db.message().to_string());
                if let Some(pg) = pg {
                    e.details = pg.detail().map(str::to_string);
                    e.hint = pg.hint().map(str::to_string);
                }
                if status == StatusCode::UNAUTHORIZED {
                    e.www_authenticate = Some("Bearer".into());
                }
                e
            }
            sqlx::Error::PoolTimedOut => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST003",
                "Timed out acquiring connection from connection pool.",
            ),
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST001",
                "Database client error. Retrying the connection.",
            ),
            other => {
                tracing::error!(error = %other, "database error");
                ApiError::internal("see the server log")
            }
        }
    }
}

/// PostgREST's table from SQLSTATE to HTTP status.
pub fn status_for_sqlstate(code: &str) -> StatusCode {
    match code {
        "23503" | "23505" => StatusCode::CONFLICT,
        "25006" => StatusCode::METHOD_NOT_ALLOWED,
        "42883" | "42P01" => StatusCode::NOT_FOUND,
        "42501" => StatusCode::FORBIDDEN,
        "P0001" => StatusCode::BAD_REQUEST,
        "40001" => StatusCode::CONFLICT,
        "57014" => StatusCode::GATEWAY_TIMEOUT,
        "53400" => StatusCode::INTERNAL_SERVER_ERROR,
        c if c.starts_with("08") => StatusCode::SERVICE_UNAVAILABLE,
        c if c.starts_with("09") || c.starts_with("0L") || c.starts_with("0P") => {
            StatusCode::FORBIDDEN
        }
        c if c.starts_with("22") || c.starts_with("23") => StatusCode::BAD_REQUEST,
        c if c.starts_with("25") => StatusCode::INTERNAL_SERVER_ERROR,
        c if c.starts_with("28") => StatusCode::FORBIDDEN,
        c if c.starts_with("2D")
            || c.starts_with("38")
            || c.starts_with("39")
            || c.starts_with("3B") =>
        {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        c if c.starts_with("40") => StatusCode::INTERNAL_SERVER_ERROR,
        c if c.starts_with("42") => StatusCode::BAD_REQUEST,
        c if c.starts_with("53")
            || c.starts_with("54")
            || c.starts_with("55")
            || c.starts_with("57") =>
        {
            StatusCode::SERVICE_UNAVAILABLE
        }
        c if c.starts_with("P0") => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.code == "XX000" {
            tracing::error!(code = %self.code, message = %self.message, "request failed");
        }
        let body: Value = serde_json::to_value(&self).unwrap_or(Value::Null);
        let mut res = (self.status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("PostgREST; error={}", self.code)) {
            res.headers_mut().insert("proxy-status", v);
        }
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, w);
        }
        res
    }
}
