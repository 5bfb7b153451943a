//! The PostgREST error envelope `{code, message, details, hint}` and its status table.
//!
//! | code | status | when |
//! |---|---|---|
//! | PGRST100 | 400 | the query string does not parse (filter, select, order, logic tree), or is beyond `query::limits` |
//! | PGRST108 | 400 | a modifier (`x.order`, `x.limit`, `x.col=`) for `x` that `select` does not embed |
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
//!
//! **5xx answers say nothing internal.** Whatever built the error (a database error mapped by
//! [`ApiError::from_sqlx`], a handler's own [`ApiError::internal`] or 500), the answer keeps
//! its code, drops its details and hint, and carries `details` = `request id <id>` (the
//! `x-request-id` the edge assigned, [`platform::request`]). Under a SQLSTATE code (`XX000`,
//! `57014`...) the message becomes `internal error` (`service unavailable` for 503, `timed
//! out` for 504); under a named code (`PGRST002`, `payments_suspended`) the message, written
//! for the caller, stays. Never SQL, driver text, file paths or an internal hint. The cause (message, details and hint as they were)
//! is logged once, at error level, with that request id. 4xx answers are PostgREST's, with
//! the database's message and details (a 23505's key, for instance).

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
    /// Fields beside the envelope's four, for clients that read them (GoTrue's
    /// `weak_password: {reasons}`, which auth-js turns into `AuthWeakPasswordError.reasons`).
    /// Never on a 5xx.
    #[serde(flatten)]
    pub extra: Option<serde_json::Map<String, Value>>,
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
            extra: None,
        }
    }

    /// Adds the top-level field `key` to the body, beside `code`, `message`, `details` and
    /// `hint` (which it cannot replace).
    pub fn field(mut self, key: &str, value: Value) -> Self {
        if !matches!(key, "code" | "message" | "details" | "hint") {
            self.extra
                .get_or_insert_with(serde_json::Map::new)
                .insert(key.to_string(), value);
        }
        self
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

    /// A 500 whose `cause` is logged with the request id, never answered.
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
            // Logged (with the request id) and concealed when answered.
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "XX000",
                other.to_string(),
            ),
        }
    }
}

/// Whether `code` is shaped like a SQLSTATE (five digits or capitals), as the codes of
/// database errors and of [`ApiError::internal`] are.
fn is_sqlstate(code: &str) -> bool {
    code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
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
        // System errors (disk, I/O), configuration file, foreign data, internal errors:
        // the server's, never the caller's (and so never answered with their text).
        c if c.starts_with("58")
            || c.starts_with("F0")
            || c.starts_with("HV")
            || c.starts_with("XX") =>
        {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

impl ApiError {
    /// The answer to give for a 5xx: its code, a bland message, the request id; the cause is
    /// logged here, once, with that id.
    fn concealed(self) -> ApiError {
        let request_id = platform::request::id().unwrap_or_else(|| "-".into());
        tracing::error!(
            request_id = %request_id,
            status = self.status.as_u16(),
            code = %self.code,
            cause = %self.message,
            details = self.details.as_deref().unwrap_or(""),
            hint = self.hint.as_deref().unwrap_or(""),
            "request failed; answered without the cause"
        );
        let message = if !is_sqlstate(&self.code) {
            // A named code (`PGRST002`, `payments_suspended`, `wave_timeout`): its message
            // was written for the caller (the REST layer's constant texts, a service's French
            // sentence). A SQLSTATE (`XX000`, `57014`, `53300`...) carries the database's or
            // the program's own text: never shown.
            self.message
        } else {
            match self.status {
                StatusCode::SERVICE_UNAVAILABLE => "service unavailable".to_string(),
                StatusCode::GATEWAY_TIMEOUT => "timed out".to_string(),
                _ => "internal error".to_string(),
            }
        };
        ApiError {
            status: self.status,
            code: self.code,
            message,
            details: Some(format!("request id {request_id}")),
            hint: None,
            www_authenticate: None,
            extra: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = if self.status.is_server_error() {
            self.concealed()
        } else {
            self
        };
        let body: Value = serde_json::to_value(&e).unwrap_or(Value::Null);
        let mut res = (e.status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("PostgREST; error={}", e.code)) {
            res.headers_mut().insert("proxy-status", v);
        }
        if let Some(w) = e
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, w);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::{
        field::{Field, Visit},
        span, Event, Metadata, Subscriber,
    };

    use super::*;

    /// Every event's level and fields as one `LEVEL: name=value ...` line.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={:?}", field.name(), value));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push_str(&format!(" {}={}", field.name(), value));
        }
    }

    impl Subscriber for Captured {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut f = Fields(format!("{}:", event.metadata().level()));
            event.record(&mut f);
            self.0.lock().unwrap().push(f.0);
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    fn answer(e: ApiError, request_id: &str) -> (StatusCode, Value, Vec<String>) {
        let captured = Captured::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (status, body) = tracing::subscriber::with_default(captured.clone(), || {
            rt.block_on(platform::request::within(request_id.into(), async {
                let res = e.into_response();
                let status = res.status();
                let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
                    .await
                    .unwrap();
                (status, serde_json::from_slice::<Value>(&bytes).unwrap())
            }))
        });
        let lines = captured.0.lock().unwrap().clone();
        (status, body, lines)
    }

    #[test]
    fn a_5xx_answer_is_bland_and_its_cause_logged_once_with_the_request_id() {
        let cause = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "XX000",
            "select token_hash from identity.user_sessions: /var/lib/postgresql/data",
        )
        .details("driver detail")
        .hint("internal hint");
        let (status, body, lines) = answer(cause, "req-42");
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            serde_json::json!({"code": "XX000", "message": "internal error",
                               "details": "request id req-42", "hint": null})
        );
        let logged: Vec<&String> = lines.iter().filter(|l| l.contains("token_hash")).collect();
        assert_eq!(logged.len(), 1, "{lines:#?}");
        for part in [
            "ERROR:",
            "request_id=req-42",
            "driver detail",
            "internal hint",
            "/var/lib",
        ] {
            assert!(logged[0].contains(part), "{part} not in {}", logged[0]);
        }
    }

    #[test]
    fn other_5xx_keep_their_code_and_the_rest_layers_own_messages() {
        let (status, body, _) = answer(
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "57014",
                "canceling statement due to statement timeout",
            ),
            "r1",
        );
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(body["code"], "57014");
        assert_eq!(body["message"], "timed out");
        let (_, body, _) = answer(
            ApiError::unavailable("Could not query the database for the schema cache. Retrying."),
            "r2",
        );
        assert_eq!(body["code"], "PGRST002");
        assert_eq!(
            body["message"],
            "Could not query the database for the schema cache. Retrying."
        );
        assert_eq!(body["details"], "request id r2");
        // A service's own 5xx keeps the sentence written for the caller, never its hint.
        let (status, body, lines) = answer(
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "wave_unavailable",
                "Le paiement Wave est momentanément indisponible",
            )
            .hint("error sending request for url (https://api.wave.com/v1/checkout/sessions)"),
            "r4",
        );
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(
            body,
            serde_json::json!({"code": "wave_unavailable",
                               "message": "Le paiement Wave est momentanément indisponible",
                               "details": "request id r4", "hint": null})
        );
        assert!(
            lines.iter().any(|l| l.contains("api.wave.com")),
            "{lines:?}"
        );
        // A 4xx is answered as built, and not logged as a failure.
        let (status, body, lines) = answer(ApiError::conflict("duplicate key value"), "r3");
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["message"], "duplicate key value");
        assert!(lines.iter().all(|l| !l.starts_with("ERROR")), "{lines:?}");
    }

    #[test]
    fn extra_fields_sit_beside_the_envelope_and_never_on_a_5xx() {
        let weak = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", "faible")
            .field("weak_password", serde_json::json!({"reasons": ["length"]}))
            .field("code", serde_json::json!("not replaced"));
        let (status, body, _) = answer(weak, "r5");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            serde_json::json!({"code": "weak_password", "message": "faible", "details": null,
                               "hint": null, "weak_password": {"reasons": ["length"]}})
        );
        let (_, body, _) = answer(
            ApiError::new(StatusCode::BAD_GATEWAY, "x_failed", "échec")
                .field("secret", serde_json::json!("internal")),
            "r6",
        );
        assert!(body.get("secret").is_none(), "{body}");
    }

    #[test]
    fn internal_and_system_sqlstates_are_server_errors() {
        for code in ["XX000", "XX001", "58030", "F0000", "HV000", "P0002"] {
            assert_eq!(
                status_for_sqlstate(code),
                StatusCode::INTERNAL_SERVER_ERROR,
                "{code}"
            );
        }
        assert_eq!(status_for_sqlstate("P0001"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for_sqlstate("23505"), StatusCode::CONFLICT);
    }
}
