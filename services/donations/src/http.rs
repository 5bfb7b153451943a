//! Small request helpers shared by the endpoints.

use axum::{body::Bytes, http::StatusCode};
use serde::de::DeserializeOwned;

use rest::{ApiError, ApiResult};

pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("PGRST102", "Corps JSON invalide (invalid JSON body)")
            .details(e.to_string())
    })
}

pub(crate) fn db(e: sqlx::Error) -> ApiError {
    ApiError::from_sqlx(e, false)
}

pub(crate) fn validation(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", message)
}
