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
//! `donations.apply_wave_event` (migration V114), one round trip (issue #16). Deliveries that
//! arrive together share a transaction ([`Batcher`]: group commit), each answered once the
//! transaction holding it has committed.

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
    let outcome = match state.webhooks.apply(&state.db, event).await {
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

/// Most deliveries applied in one transaction.
pub const MAX_BATCH: usize = 64;
/// Most batches in flight at once (each holds one pooled connection).
pub const MAX_BATCHES_IN_FLIGHT: usize = 3;

/// A verified delivery waiting for its batch, and where its outcome goes.
type Pending = (
    Value,
    tokio::sync::oneshot::Sender<Result<&'static str, sqlx::Error>>,
);

/// Group commit of Wave deliveries. A burst of webhooks each paying its own transaction,
/// commit and round trip spends most of the database's time on that overhead; here the
/// deliveries waiting when a batch starts are applied together by one call of
/// `donations.apply_wave_events` (V114): one statement, one transaction, one commit. Nothing
/// waits for company: a batch starts as soon as one of [`MAX_BATCHES_IN_FLIGHT`] slots is
/// free, with whatever is queued (up to [`MAX_BATCH`]), so a lone delivery goes alone.
///
/// Each delivery is answered after the commit of the transaction that applied it, with its
/// own outcome: a 2xx still means "committed". A batch is sorted by Wave's event id, so
/// concurrent batches take their locks in one order; if the batch fails anyway (a value
/// PostgreSQL refuses in one event, a deadlock, a lost connection), nothing of it was
/// committed and each of its deliveries is applied alone, with its own error as before.
#[derive(Clone, Default)]
pub struct Batcher(std::sync::Arc<std::sync::OnceLock<tokio::sync::mpsc::Sender<Pending>>>);

impl Batcher {
    /// Applies `event` (verified) in the next batch; its outcome as [`process`]'s.
    pub async fn apply(
        &self,
        pool: &sqlx::PgPool,
        event: Value,
    ) -> Result<&'static str, sqlx::Error> {
        let queue = self.0.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
            tokio::spawn(run_batches(pool.clone(), rx));
            tx
        });
        let (answer, outcome) = tokio::sync::oneshot::channel();
        if let Err(e) = queue.send((event, answer)).await {
            // The batching task is gone (it never stops while the service runs): alone.
            let (event, _) = e.0;
            return process(pool, &event).await;
        }
        match outcome.await {
            Ok(r) => r,
            // The batch's task ended without answering (it panicked): nothing is known to be
            // committed, so the delivery is answered 503 and Wave sends it again.
            Err(_) => Err(sqlx::Error::PoolClosed),
        }
    }
}

async fn run_batches(pool: sqlx::PgPool, mut rx: tokio::sync::mpsc::Receiver<Pending>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_BATCHES_IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            apply_batch(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn apply_batch(pool: &sqlx::PgPool, batch: Vec<Pending>) {
    let (events, answers): (Vec<Value>, Vec<_>) = batch.into_iter().unzip();
    let outcomes = apply_together(pool, &events).await;
    for (answer, outcome) in answers.into_iter().zip(outcomes) {
        let _ = answer.send(outcome);
    }
}

/// Applies verified `events` together: several in one call of `donations.apply_wave_events`
/// (sorted by Wave's event id, so concurrent batches lock in one order), one transaction and
/// one commit; if that call fails, nothing of it was committed and each event is applied alone
/// ([`process`]). Outcomes in the order given.
pub async fn apply_together(
    pool: &sqlx::PgPool,
    events: &[Value],
) -> Vec<Result<&'static str, sqlx::Error>> {
    if events.len() > 1 {
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| events[a]["id"].as_str().cmp(&events[b]["id"].as_str()));
        let sorted = Value::Array(order.iter().map(|&i| events[i].clone()).collect());
        let applied: Result<Vec<String>, sqlx::Error> =
            sqlx::query_scalar("select donations.apply_wave_events($1)")
                .bind(&sorted)
                .fetch_one(pool)
                .await;
        match applied {
            Ok(outcomes) if outcomes.len() == events.len() => {
                let mut out: Vec<Result<&'static str, sqlx::Error>> =
                    events.iter().map(|_| Ok("error")).collect();
                for (i, outcome) in order.into_iter().zip(outcomes) {
                    out[i] = Ok(outcome_name(&outcome));
                }
                return out;
            }
            Ok(outcomes) => tracing::error!(
                sent = events.len(),
                got = outcomes.len(),
                "Wave webhooks: a batch answered the wrong number of outcomes; applying each alone"
            ),
            Err(e) => tracing::info!(
                error = %e,
                deliveries = events.len(),
                "Wave webhooks: a batch failed (nothing committed); applying each alone"
            ),
        }
    }
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        out.push(process(pool, event).await);
    }
    out
}

fn outcome_name(outcome: &str) -> &'static str {
    match outcome {
        "duplicate" => "duplicate",
        "applied" => "applied",
        "ignored" => "ignored",
        _ => "error",
    }
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
    Ok(outcome_name(&outcome))
}
