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

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use platform::{
    events::{self, DonationSucceeded, NotificationRequested},
    names::first_name,
};
use rest::ApiError;

use crate::{signature, AppState, NAME};

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

/// Stores and applies one verified event in one transaction; returns what happened
/// (`duplicate`, `applied`, `ignored`, `error`).
pub async fn process(pool: &sqlx::PgPool, event: &Value) -> Result<&'static str, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = event["id"].as_str().unwrap_or_default();
    let kind = event["type"].as_str().unwrap_or_default();
    let stored: Option<Uuid> = sqlx::query_scalar(
        "insert into donations.wave_webhook_events (wave_event_id, event_type, raw_payload)
         values ($1, left($2, 50), $3)
         on conflict (wave_event_id) do nothing
         returning id",
    )
    .bind(id)
    .bind(kind)
    .bind(event)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row_id) = stored else {
        sqlx::query("update donations.wave_webhook_events set retry_count = coalesce(retry_count, 0) + 1 where wave_event_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok("duplicate");
    };
    let data = &event["data"];
    let (donation, result) = match kind {
        "checkout.session.completed" => completed(&mut tx, data).await?,
        "checkout.session.payment_failed" => payment_failed(&mut tx, data).await?,
        "test.test_event" => (None, Outcome::Ignored("test event".into())),
        other => (
            None,
            Outcome::Error(format!("unsupported event type {other}")),
        ),
    };
    let error = match &result {
        Outcome::Applied => None,
        Outcome::Ignored(m) => Some(format!("ignored: {m}")),
        Outcome::Error(m) => Some(m.clone()),
    };
    sqlx::query(
        "update donations.wave_webhook_events
         set processed_at = now(), processing_error = $2, donation_id = $3
         where id = $1",
    )
    .bind(row_id)
    .bind(&error)
    .bind(donation)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match result {
        Outcome::Applied => "applied",
        Outcome::Ignored(_) => "ignored",
        Outcome::Error(_) => "error",
    })
}

enum Outcome {
    Applied,
    Ignored(String),
    Error(String),
}

/// The donation a session belongs to, locked: by client_reference (the donation id), else by
/// the stored session id.
async fn find_donation(
    conn: &mut PgConnection,
    data: &Value,
) -> Result<Option<sqlx::postgres::PgRow>, sqlx::Error> {
    let cols =
        "id, pot_id, status, amount_cfa, wave_session_id, donor_user_id, donor_phone, donor_name,
                coalesce(is_anonymous, true) as is_anonymous";
    if let Some(id) = data["client_reference"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
    {
        let row = sqlx::query(&format!(
            "select {cols} from donations.donations where id = $1 for update"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        if row.is_some() {
            return Ok(row);
        }
    }
    match data["id"].as_str() {
        Some(sid) => {
            sqlx::query(&format!(
                "select {cols} from donations.donations where wave_session_id = $1 for update"
            ))
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await
        }
        None => Ok(None),
    }
}

/// At most 100 characters of a value, for a recorded reason.
fn preview(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Why the event's session is not the donation's own (`None` when it is): an event is applied
/// only to the donation whose stored `wave_session_id` it names.
fn session_mismatch(d: &sqlx::postgres::PgRow, data: &Value) -> Option<String> {
    let ours: Option<String> = d.get("wave_session_id");
    match (ours.as_deref(), data["id"].as_str()) {
        (Some(o), Some(t)) if o == t => None,
        (None, _) => Some("session mismatch: the donation has no Wave session".into()),
        (Some(o), _) => Some(format!(
            "session mismatch: Wave session {}, donation's session {o}",
            preview(&data["id"])
        )),
    }
}

/// The outcome recorded for an event that names no known donation.
fn unknown_donation() -> (Option<Uuid>, Outcome) {
    (
        None,
        Outcome::Error("unknown donation (client_reference and session id match none)".into()),
    )
}

async fn completed(
    conn: &mut PgConnection,
    data: &Value,
) -> Result<(Option<Uuid>, Outcome), sqlx::Error> {
    let Some(d) = find_donation(conn, data).await? else {
        return Ok(unknown_donation());
    };
    let id: Uuid = d.get("id");
    let status: Option<String> = d.get("status");
    let amount: i32 = d.get("amount_cfa");
    if data["payment_status"] != "succeeded" {
        return Ok((
            Some(id),
            Outcome::Error(format!(
                "completed event with payment_status {}",
                preview(&data["payment_status"])
            )),
        ));
    }
    if data["currency"] != "XOF" || data["amount"].as_str() != Some(amount.to_string().as_str()) {
        return Ok((
            Some(id),
            Outcome::Error(format!(
                "amount mismatch: Wave {} {}, donation {amount} XOF",
                preview(&data["amount"]),
                preview(&data["currency"])
            )),
        ));
    }
    if let Some(e) = session_mismatch(&d, data) {
        let e = if status.as_deref() == Some("succeeded") {
            format!("{e}; second paid session for a succeeded donation: refund it")
        } else {
            e
        };
        return Ok((Some(id), Outcome::Error(e)));
    }
    let tx_id = match &data["transaction_id"] {
        Value::Null => None,
        Value::String(t) if !t.is_empty() && t.chars().count() <= 100 => Some(t.clone()),
        other => {
            return Ok((
                Some(id),
                Outcome::Error(format!(
                    "transaction_id must be a string of 1 to 100 characters (got {})",
                    preview(other)
                )),
            ))
        }
    };
    if let Some(t) = &tx_id {
        let other: Option<Uuid> = sqlx::query_scalar(
            "select id from donations.donations where wave_transaction_id = $1 and id <> $2",
        )
        .bind(t)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(other) = other {
            return Ok((
                Some(id),
                Outcome::Error(format!(
                    "transaction {t} already confirmed donation {other}"
                )),
            ));
        }
    }
    let updated = sqlx::query(
        "update donations.donations
         set status = 'succeeded', wave_transaction_id = $2, confirmed_at = now(),
             wave_notified_at = now(), wave_webhook_data = $3, failure_reason = null, failed_at = null
         where id = $1 and status in ('pending', 'processing', 'failed')
         returning confirmed_at",
    )
    .bind(id)
    .bind(&tx_id)
    .bind(data)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = updated else {
        return Ok((
            Some(id),
            Outcome::Ignored(format!("donation already {}", status.unwrap_or_default())),
        ));
    };
    let confirmed_at: chrono::DateTime<Utc> = row.get(0);
    let pot_id: Uuid = d.get("pot_id");
    let donor_user_id: Option<Uuid> = d.get("donor_user_id");
    let donor_name: Option<String> = d.get("donor_name");
    let is_anonymous: bool = d.get("is_anonymous");
    let succeeded = DonationSucceeded {
        donation_id: id,
        pot_id,
        amount_cfa: i64::from(amount),
        donor_user_id,
        donor_phone: d.get::<Option<String>, _>("donor_phone"),
        donor_name: donor_name.clone(),
        is_anonymous,
        confirmed_at,
    };
    events::publish(conn, &succeeded, NAME).await?;
    notify_owner(
        conn,
        pot_id,
        amount,
        if is_anonymous { None } else { donor_name },
    )
    .await?;
    Ok((Some(id), Outcome::Applied))
}

/// `notification.requested` (template `donation_received`) to the pot's owner.
async fn notify_owner(
    conn: &mut PgConnection,
    pot_id: Uuid,
    amount: i32,
    donor_name: Option<String>,
) -> Result<(), sqlx::Error> {
    let row = sqlx::query(
        "select p.owner_user_id, p.title, p.target_amount_cfa,
                (select coalesce(sum(amount_cfa), 0)::bigint from donations.donations
                  where pot_id = p.id and status = 'succeeded') as raised
         from pots.pots p
         where p.id = $1",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let owner: Uuid = row.get("owner_user_id");
    let name = first_name(conn, owner).await?;
    let request = NotificationRequested::to_user(owner, "donation_received")
        .var(
            "first_name",
            if name.is_empty() {
                "Bonjour".to_string()
            } else {
                name
            },
        )
        .var(
            "donor_name",
            donor_name.unwrap_or_else(|| "Un proche".to_string()),
        )
        .var("amount_cfa", amount)
        .var("pot_title", row.get::<String, _>("title"))
        .var("raised_cfa", row.get::<i64, _>("raised"))
        .var("target_amount_cfa", row.get::<i32, _>("target_amount_cfa"));
    events::publish(conn, &request, NAME).await?;
    Ok(())
}

async fn payment_failed(
    conn: &mut PgConnection,
    data: &Value,
) -> Result<(Option<Uuid>, Outcome), sqlx::Error> {
    let Some(d) = find_donation(conn, data).await? else {
        return Ok(unknown_donation());
    };
    let id: Uuid = d.get("id");
    let status: Option<String> = d.get("status");
    if let Some(e) = session_mismatch(&d, data) {
        return Ok((Some(id), Outcome::Error(e)));
    }
    let updated = sqlx::query(
        "update donations.donations
         set payment_attempts_failed = payment_attempts_failed + 1,
             last_payment_error = $2, wave_notified_at = now()
         where id = $1 and status in ('pending', 'processing', 'failed')",
    )
    .bind(id)
    .bind(&data["last_payment_error"])
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok((
            Some(id),
            Outcome::Ignored(format!(
                "late payment failure: donation already {}",
                status.unwrap_or_default()
            )),
        ));
    }
    Ok((Some(id), Outcome::Applied))
}
