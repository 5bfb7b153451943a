//! `POST /webhooks/paydunya`: PayDunya's notification (IPN), and the confirmation that makes a
//! PayDunya payment count.
//!
//! A notification is a trigger, never a proof: its only signature is `data[hash]`, the SHA-512
//! of the master key, the same on every notification (no body integrity, no freshness: a
//! captured one replays forever). So:
//!
//! 1. the hash is checked (constant time; a wrong or missing one is a 401 and nothing is
//!    stored), then the notification is recorded (`donations.paydunya_notifications`, without
//!    the hash) with the donation whose stored invoice token it names;
//! 2. with no transaction open, WOLO asks PayDunya itself: `GET /checkout-invoice/confirm/{token}`;
//! 3. one statement, `donations.apply_paydunya_confirmation`, applies that answer under the
//!    donation's row lock: succeeded once when PayDunya says `completed` for the donation's own
//!    token, amount and id; failed when cancelled, failed or expired; nothing else otherwise.
//!
//! Whatever arrives twice, late or out of order ends the same: the confirm call is the truth,
//! and a donation succeeds once. When PayDunya cannot be reached at step 2 the notification is
//! still answered 200 (recorded `deferred`): [`reconcile_once`], run every 30 s (each donation
//! asked at most once a minute), confirms
//! every pending PayDunya donation anyway, so a lost notification loses nothing either.

use axum::{
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};
use sqlx::PgPool;
use uuid::Uuid;

use rest::{input::db, ApiError};

use crate::{paydunya::PayDunya, AppState};

/// Largest notification body read, bytes.
pub const MAX_IPN_BYTES: usize = 32 * 1024;
/// Most form fields read from one notification.
pub const MAX_IPN_FIELDS: usize = 200;

/// Whether `given` is PayDunya's hash of `master_key` (lowercase hex SHA-512), compared in
/// constant time ([`platform::signature::same_secret`]).
pub fn hash_matches(master_key: &str, given: &str) -> bool {
    let expected = hex::encode(Sha512::digest(master_key.as_bytes()));
    platform::signature::same_secret(
        expected.as_bytes(),
        given.trim().to_ascii_lowercase().as_bytes(),
    )
}

/// PHP-style form keys (`data[invoice][token]`) as nested JSON, at most three levels under
/// `data`; other keys are dropped. A JSON `data` field (some integrations) is read as is.
pub fn form_to_json(body: &[u8]) -> Result<Value, &'static str> {
    let mut root = Map::new();
    for (i, (k, v)) in form_urlencoded::parse(body).enumerate() {
        if i >= MAX_IPN_FIELDS {
            return Err("too many fields");
        }
        if k == "data" {
            let parsed: Value = serde_json::from_str(&v).map_err(|_| "data is not JSON")?;
            if parsed.is_object() {
                root = parsed.as_object().cloned().unwrap_or_default();
            }
            continue;
        }
        let Some(rest) = k.strip_prefix("data[") else {
            continue;
        };
        let path: Vec<&str> = rest
            .trim_end_matches(']')
            .split("][")
            .filter(|p| !p.is_empty())
            .collect();
        if path.is_empty() || path.len() > 3 {
            continue;
        }
        let mut node = &mut root;
        for p in &path[..path.len() - 1] {
            let entry = node
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("an object");
        }
        node.insert(
            path[path.len() - 1].to_string(),
            Value::String(v.into_owned()),
        );
    }
    Ok(Value::Object(root))
}

/// `POST /webhooks/paydunya`: see the module docs. 404 when PayDunya is not configured;
/// 200 for an empty probe; 401 for a wrong hash; 400 for an unreadable body; else 200.
#[tracing::instrument(skip_all)]
pub async fn post_paydunya_ipn(State(state): State<AppState>, body: Bytes) -> Response {
    match handle(&state, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, body: &[u8]) -> Result<Response, ApiError> {
    let Some(paydunya) = state.paydunya.as_ref() else {
        return Err(ApiError::not_found(
            "provider_unavailable",
            "PayDunya n'est pas configuré (PayDunya is not configured)",
        ));
    };
    if body.len() > MAX_IPN_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Notification trop volumineuse (notification too large)",
        ));
    }
    // PayDunya reportedly probes the URL with an empty POST: answered, nothing recorded.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((StatusCode::OK, axum::Json(json!({"ok": true}))).into_response());
    }
    let mut data = form_to_json(body).map_err(|why| {
        ApiError::bad_request(
            "PGRST102",
            format!("Notification illisible ({why}) (unreadable notification)"),
        )
    })?;
    let hash = data
        .as_object_mut()
        .and_then(|o| o.remove("hash"))
        .and_then(|h| h.as_str().map(str::to_string))
        .unwrap_or_default();
    if !hash_matches(paydunya.config().master_key.expose(), &hash) {
        tracing::warn!("PayDunya notification with a wrong hash refused");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "Notification PayDunya non authentifiée (invalid PayDunya hash)",
        ));
    }
    let token = data["invoice"]["token"]
        .as_str()
        .map(|t| t.chars().take(100).collect::<String>());
    let status = data["status"]
        .as_str()
        .map(|s| s.chars().take(20).collect::<String>());
    let (row, donation): (Uuid, Option<Uuid>) = sqlx::query_as(
        "insert into donations.paydunya_notifications
             (invoice_token, status, donation_id, payload, hash_valid)
         values ($1, $2, (select id from donations.donations where provider_token = $1), $3, true)
         returning id, donation_id",
    )
    .bind(&token)
    .bind(&status)
    .bind(&data)
    .fetch_one(&state.db)
    .await
    .map_err(db)?;
    let outcome = match (donation, token.as_deref()) {
        (Some(d), Some(t)) => confirm_and_apply(&state.db, paydunya, d, t).await,
        _ => Outcome::error("unknown invoice token"),
    };
    sqlx::query(
        "update donations.paydunya_notifications set outcome = $2, processing_error = $3 where id = $1",
    )
    .bind(row)
    .bind(&outcome.outcome)
    .bind(&outcome.error)
    .execute(&state.db)
    .await
    .map_err(db)?;
    Ok((
        StatusCode::OK,
        axum::Json(json!({"ok": true, "outcome": outcome.outcome})),
    )
        .into_response())
}

/// What a confirmation did: `applied`, `ignored`, `pending`, `error` or `deferred` (PayDunya
/// could not be asked), with the reason of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub outcome: String,
    pub error: Option<String>,
}

impl Outcome {
    fn error(why: &str) -> Outcome {
        Outcome {
            outcome: "error".into(),
            error: Some(why.to_string()),
        }
    }
}

/// Asks PayDunya about invoice `token` (no transaction open meanwhile) and applies the answer
/// to donation `donation` in one statement.
pub async fn confirm_and_apply(
    pool: &PgPool,
    paydunya: &PayDunya,
    donation: Uuid,
    token: &str,
) -> Outcome {
    let answer = match paydunya.confirm(token).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(%donation, error = %e, "PayDunya confirm failed; the reconciliation job will ask again");
            return Outcome {
                outcome: "deferred".into(),
                error: Some(e.to_string()),
            };
        }
    };
    let applied: Result<String, sqlx::Error> =
        sqlx::query_scalar("select donations.apply_paydunya_confirmation($1, $2)")
            .bind(donation)
            .bind(&answer)
            .fetch_one(pool)
            .await;
    match applied {
        Ok(o) => match o.strip_prefix("error: ") {
            Some(why) => {
                tracing::warn!(%donation, why, "PayDunya confirmation refused");
                Outcome::error(why)
            }
            None => Outcome {
                outcome: o,
                error: None,
            },
        },
        Err(e) => Outcome {
            outcome: "deferred".into(),
            error: Some(e.to_string()),
        },
    }
}

/// A PayDunya donation still pending this long after it started is failed when PayDunya
/// still says `pending` (the donor never paid).
pub const ABANDONED_AFTER_HOURS: i32 = 2;
/// Most donations confirmed by one pass.
pub const RECONCILE_BATCH: i64 = 100;

/// Confirms every pending PayDunya donation with an invoice not asked about in the last
/// minute (a lost notification, a payment approved on a handset), applying each answer; one
/// still pending [`ABANDONED_AFTER_HOURS`] after it started is failed. Several replicas may
/// run it: each confirmation is applied under the donation's lock, and applying twice is
/// harmless. Returns how many donations changed.
pub async fn reconcile_once(
    pool: &PgPool,
    paydunya: &PayDunya,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let due: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "update donations.donations d set provider_checked_at = $1
         from (select id from donations.donations
               where status = 'pending' and payment_provider = 'paydunya'
                 and provider_token is not null
                 and (provider_checked_at is null or provider_checked_at < $1 - interval '1 minute')
               order by initiated_at
               limit $2
               for update skip locked) due
         where d.id = due.id
         returning d.id, d.provider_token, d.initiated_at",
    )
    .bind(now)
    .bind(RECONCILE_BATCH)
    .fetch_all(pool)
    .await?;
    let mut changed = 0;
    for (id, token, started) in due {
        let o = confirm_and_apply(pool, paydunya, id, &token).await;
        if o.outcome == "applied" {
            changed += 1;
        } else if o.outcome == "pending"
            && started < now - chrono::Duration::hours(ABANDONED_AFTER_HOURS.into())
        {
            let mut tx = pool.begin().await?;
            let failed = sqlx::query(
                "update donations.donations
                    set status = 'failed', failed_at = $2, failure_reason = 'paydunya_abandoned'
                  where id = $1 and status = 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if failed == 1 {
                sqlx::query("select donations.publish_failed($1)")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            if failed == 1 {
                changed += 1;
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha512_of_the_master_key() {
        // The reference's vector (hashlib and openssl agree).
        let key = "wQzk9ZwR-Qq9m-0hD0-zpud-je5coGC3FHKW";
        let h = "e3662754c63cb8f248468591fab6b52e0553f7b1c07358e8b584cdd537bbd8d78f2bf368892297fb818153adb3384e0a01d22e5c4b83a35a44aba9872461a700";
        assert!(hash_matches(key, h));
        assert!(hash_matches(key, &h.to_uppercase()));
        assert!(!hash_matches(key, &h[..127]));
        assert!(!hash_matches(key, ""));
        assert!(!hash_matches("another key", h));
    }

    #[test]
    fn php_style_keys_become_nested_json() {
        let v = form_to_json(
            b"data%5Bhash%5D=abc&data%5Binvoice%5D%5Btoken%5D=test_1&data%5Bcustom_data%5D%5Bdonation_id%5D=x&data%5Bstatus%5D=completed&other=1",
        )
        .unwrap();
        assert_eq!(v["invoice"]["token"], "test_1");
        assert_eq!(v["custom_data"]["donation_id"], "x");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["hash"], "abc");
        assert!(v.get("other").is_none());
        let many = (0..=MAX_IPN_FIELDS)
            .map(|i| format!("data%5Bk{i}%5D=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(form_to_json(many.as_bytes()).is_err());
    }
}
