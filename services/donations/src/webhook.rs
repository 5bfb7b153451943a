//! `POST /webhooks/wave`: signature first, then one transaction that stores the event once
//! (unique Wave event id) and applies it. Answers: 401 bad signature (nothing written), 400
//! unreadable JSON (stored once under a digest of the body), 200 otherwise (also for
//! duplicates and for events recorded with a `processing_error`), 503 when the database fails
//! (Wave retries; nothing was committed).

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
        return Err(ApiError::unauthorized("invalid_signature", e.message()));
    }
    let parsed: Option<Value> = serde_json::from_slice::<Value>(&bytes).ok().filter(|v| {
        v["id"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s.len() <= 100)
            && v["type"].is_string()
    });
    let Some(event) = parsed else {
        // Signed but unreadable: keep it once for an operator, and say so.
        let digest = hex::encode(Sha256::digest(&bytes));
        sqlx::query(
            "insert into donations.wave_webhook_events
                 (wave_event_id, event_type, raw_payload, processed_at, processing_error)
             values ($1, 'malformed', $2, now(), 'malformed event: not a JSON object with id and type')
             on conflict (wave_event_id) do nothing",
        )
        .bind(format!("malformed:{}", &digest[..64]))
        .bind(json!({"raw": String::from_utf8_lossy(&bytes)}))
        .execute(&state.db)
        .await
        .map_err(unavailable)?;
        return Err(ApiError::bad_request(
            "malformed_event",
            "Événement Wave illisible (event must be a JSON object with id and type)",
        ));
    };
    let outcome = process(&state.db, &event).await.map_err(unavailable)?;
    Ok((
        StatusCode::OK,
        Json(json!({"received": true, "outcome": outcome})),
    )
        .into_response())
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
                coalesce(is_anonymous, false) as is_anonymous";
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

async fn completed(
    conn: &mut PgConnection,
    data: &Value,
) -> Result<(Option<Uuid>, Outcome), sqlx::Error> {
    let Some(d) = find_donation(conn, data).await? else {
        return Ok((
            None,
            Outcome::Error("unknown donation (client_reference and session id match none)".into()),
        ));
    };
    let id: Uuid = d.get("id");
    let status: Option<String> = d.get("status");
    let amount: i32 = d.get("amount_cfa");
    if data["payment_status"] != "succeeded" {
        return Ok((
            Some(id),
            Outcome::Error(format!(
                "completed event with payment_status {}",
                data["payment_status"]
            )),
        ));
    }
    if data["currency"] != "XOF" || data["amount"].as_str() != Some(amount.to_string().as_str()) {
        return Ok((
            Some(id),
            Outcome::Error(format!(
                "amount mismatch: Wave {} {}, donation {amount} XOF",
                data["amount"], data["currency"]
            )),
        ));
    }
    let session: Option<String> = d.get("wave_session_id");
    if let (Some(ours), Some(theirs)) = (session.as_deref(), data["id"].as_str()) {
        if ours != theirs && status.as_deref() == Some("succeeded") {
            return Ok((
                Some(id),
                Outcome::Error(format!(
                    "second paid session {theirs} for a succeeded donation: refund it"
                )),
            ));
        }
    }
    let tx_id = data["transaction_id"]
        .as_str()
        .map(|s| s.chars().take(100).collect::<String>());
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
    platform::outbox::publish(
        conn,
        "donation.succeeded",
        &json!({
            "donation_id": id,
            "pot_id": pot_id,
            "amount_cfa": amount,
            "donor_user_id": donor_user_id,
            "donor_phone": d.get::<Option<String>, _>("donor_phone"),
            "donor_name": donor_name,
            "is_anonymous": is_anonymous,
            "confirmed_at": confirmed_at,
        }),
        NAME,
    )
    .await?;
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
                coalesce(nullif(split_part(pr.full_name, ' ', 1), ''), 'Bonjour') as first_name,
                (select coalesce(sum(amount_cfa), 0)::bigint from donations.donations
                  where pot_id = p.id and status = 'succeeded') as raised
         from pots.pots p left join profiles.profiles pr on pr.user_id = p.owner_user_id
         where p.id = $1",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let owner: Uuid = row.get("owner_user_id");
    platform::outbox::publish(
        conn,
        "notification.requested",
        &json!({
            "user_id": owner,
            "message": "donation_received",
            "data": {
                "first_name": row.get::<String, _>("first_name"),
                "donor_name": donor_name.unwrap_or_else(|| "Un proche".to_string()),
                "amount_cfa": amount,
                "pot_title": row.get::<String, _>("title"),
                "raised_cfa": row.get::<i64, _>("raised"),
                "target_amount_cfa": row.get::<i32, _>("target_amount_cfa"),
            },
        }),
        NAME,
    )
    .await?;
    Ok(())
}

async fn payment_failed(
    conn: &mut PgConnection,
    data: &Value,
) -> Result<(Option<Uuid>, Outcome), sqlx::Error> {
    let Some(d) = find_donation(conn, data).await? else {
        return Ok((
            None,
            Outcome::Error("unknown donation (client_reference and session id match none)".into()),
        ));
    };
    let id: Uuid = d.get("id");
    let status: Option<String> = d.get("status");
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
