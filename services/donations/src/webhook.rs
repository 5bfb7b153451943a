//! `POST /webhooks/wave`: signature first, then one transaction that stores the event once
//! (unique Wave event id) and applies it. Answers: 401 bad signature (nothing written), 400
//! unreadable JSON or a body Postgres cannot store (U+0000, a value it refuses): stored once
//! under a digest of the body with the reason, never applied; 200 otherwise (also for
//! duplicates and for events recorded with a `processing_error`), 503 when the database fails
//! (Wave retries; nothing was committed).
//!
//! A `checkout.session.completed` event is applied only when its session id is the donation's
//! stored `wave_session_id` and its amount and currency are the donation's (`"<amount_cfa>"`,
//! `XOF`); otherwise it is recorded with the reason in `processing_error` and not applied.
//! Applied, the donation becomes `succeeded` and `donation.succeeded` and the owner's
//! `notification.requested` (`donation_received`) join the outbox in the same transaction.
//! The server checks the signature and the JSON; storing and applying is one call of
//! `donations.apply_wave_event` (migration V114), one round trip (issue #16).

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use rest::ApiError;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{signature, AppState};

fn unavailable(e: sqlx::Error) -> ApiError {
    tracing::error!(error = %e, "Wave webhook: database error");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "Base de données indisponible, réessayez (database unavailable; retry)",
    )
}

/// `POST /webhooks/wave`: the raw body is read for its signature, then parsed
/// (`rest::extract::parse`).
#[tracing::instrument(skip_all)]
pub async fn post_wave_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let header = headers.get("wave-signature").and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(
        &state.config.webhook_secrets,
        header,
        &bytes,
        Utc::now().timestamp(),
        state.config.signature_tolerance.as_secs() as i64,
    ) {
        return Err(ApiError::unauthorized(
            "invalid_signature",
            signature::message(e),
        ));
    }
    // Wave's events are stored as sent (`raw_payload`): read as a JSON value, then checked.
    let parsed: Option<Value> = rest::extract::parse::<Value>(&bytes).ok().filter(|v| {
        v["id"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s.len() <= 100)
            && v["type"].is_string()
    });
    let Some(event) = parsed else {
        return record_unstorable(
            &state.db,
            &bytes,
            "malformed event: not a JSON object with id and type",
        )
        .await;
    };
    // Postgres text and jsonb cannot hold U+0000: such an event can never be stored as sent.
    if has_nul(&event) {
        return record_unstorable(&state.db, &bytes, "unstorable event: contains U+0000").await;
    }
    let outcome = match process(&state.db, &event).await {
        Ok(o) => o,
        // A value Postgres refuses (data exception, class 22): retrying cannot help.
        Err(sqlx::Error::Database(e)) if e.code().is_some_and(|c| c.starts_with("22")) => {
            let why = format!("unstorable event: {}", e.code().unwrap_or_default());
            return record_unstorable(&state.db, &bytes, &why).await;
        }
        Err(e) => return Err(unavailable(e)),
    };
    Ok((
        StatusCode::OK,
        Json(json!({"received": true, "outcome": outcome})),
    )
        .into_response())
}

/// The most of an unstorable body kept for an operator, bytes.
pub const MAX_RECORDED_RAW_BYTES: usize = 64 * 1024;

/// Whether any string or key of `v` holds U+0000.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// A signed body that cannot be stored or applied as sent: kept once (under a digest of the
/// body; NULs replaced, cut at [`MAX_RECORDED_RAW_BYTES`]) with `reason`, answered 400 so
/// Wave does not retry it forever; nothing is applied.
async fn record_unstorable(
    pool: &sqlx::PgPool,
    bytes: &[u8],
    reason: &str,
) -> Result<Response, ApiError> {
    let digest = hex::encode(Sha256::digest(bytes));
    let cut = &bytes[..bytes.len().min(MAX_RECORDED_RAW_BYTES)];
    let raw = String::from_utf8_lossy(cut).replace('\0', "\u{fffd}");
    sqlx::query(
        "insert into donations.wave_webhook_events
             (wave_event_id, event_type, raw_payload, processed_at, processing_error)
         values ($1, 'malformed', $2, now(), $3)
         on conflict (wave_event_id) do nothing",
    )
    .bind(format!("malformed:{}", &digest[..64]))
    .bind(json!({"raw": raw, "bytes": bytes.len(), "truncated": cut.len() < bytes.len()}))
    .bind(reason)
    .execute(pool)
    .await
    .map_err(unavailable)?;
    tracing::warn!(digest = %digest, reason, "Wave webhook recorded, not applied");
    Err(ApiError::bad_request(
        "malformed_event",
        "Événement Wave illisible ou impossible à enregistrer (event must be a JSON object with id and type, without U+0000)",
    )
    .details(reason.to_string()))
}

/// Stores and applies one verified event: one call of `donations.apply_wave_event` (V114),
/// one statement and its own transaction, so a delivery holds its row locks and its pooled
/// connection for one round trip. Returns what happened (`duplicate`, `applied`, `ignored`,
/// `error`); the function applies the rules of this module's documentation.
pub async fn process(pool: &sqlx::PgPool, event: &Value) -> Result<&'static str, sqlx::Error> {
    let outcome: String = sqlx::query_scalar("select donations.apply_wave_event($1)")
        .bind(event)
        .fetch_one(pool)
        .await?;
    Ok(match outcome.as_str() {
        "duplicate" => "duplicate",
        "applied" => "applied",
        "ignored" => "ignored",
        _ => "error",
    })
}
