//! `POST /receipts/{provider}`: signed delivery receipts from the providers (or their
//! relay): the signature over the raw bytes first, then the receipts, in one transaction.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use rest::{extract, ApiError};
use serde_json::{json, Value};

use crate::AppState;

/// Header carrying `t=<unix seconds>,v1=<hex>`: hex = HMAC-SHA256 keyed with
/// `WOLO_NOTIFY_RECEIPT_SECRET` over [`signed_payload`] (the timestamp, the provider path
/// `/receipts/{provider}` and the raw body). Several `v1` may be given (secret rotation at
/// the relay); any one matching is enough.
pub const SIGNATURE_HEADER: &str = "x-wolo-signature";
/// How far (either way) the signed timestamp may be from now, seconds.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
/// Most receipts in one request.
pub const MAX_RECEIPTS: usize = 1000;
/// A receipt's `timestamp` may be this far past the message's `sent_at` backwards, or past
/// now forwards (the provider's clock against ours), seconds; further is refused (400).
pub const RECEIPT_CLOCK_SKEW_SECS: i64 = 300;
/// Longest provider message id (the column is `varchar(255)`), characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 255;
/// Longest error text kept from a receipt, characters.
pub const MAX_ERROR_CHARS: usize = 500;
/// Values of `notifications.provider` that receipts may name.
pub const RECEIPT_PROVIDERS: [&str; 4] = ["sms", "whatsapp", "smtp", "dev"];

/// One receipt: what happened to the message the provider knows as `message_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub message_id: String,
    /// delivered | bounced | opened | clicked
    pub event: String,
    pub error: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

fn parse_receipts(v: &Value, now: DateTime<Utc>) -> Result<Vec<Receipt>, ApiError> {
    let bad = |m: String| ApiError::bad_request("22023", m);
    let one = |r: &Value| -> Result<Receipt, ApiError> {
        let id = r
            .get("message_id")
            .or_else(|| r.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a receipt needs a message_id".into()))?;
        if id.is_empty()
            || id.chars().count() > MAX_MESSAGE_ID_CHARS
            || id.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "message_id must be 1 to {MAX_MESSAGE_ID_CHARS} characters without control characters"
            )));
        }
        let status = r
            .get("status")
            .or_else(|| r.get("event"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a receipt needs a status".into()))?;
        let event = match status {
            "delivered" => "delivered",
            "bounced" | "failed" | "undelivered" | "rejected" => "bounced",
            "opened" | "read" => "opened",
            "clicked" => "clicked",
            // Intermediate states providers report: nothing to record.
            "sent" | "queued" | "accepted" => "ignored",
            other => {
                return Err(bad(format!(
                    "unknown receipt status {other:?}: expected delivered, bounced, failed, opened, read or clicked"
                )))
            }
        };
        let error = r
            .get("error")
            .and_then(|e| {
                e.as_str()
                    .map(str::to_string)
                    .or_else(|| Some(e.to_string()))
            })
            .or_else(|| {
                r.pointer("/errors/0/title")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .filter(|e| e != "null")
            .map(|e| {
                e.chars()
                    .filter(|c| *c != '\0')
                    .take(MAX_ERROR_CHARS)
                    .collect::<String>()
            });
        let at = match r.get("timestamp") {
            Some(Value::String(s)) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| bad("timestamp must be RFC 3339 or Unix seconds".into()))?
                    .with_timezone(&Utc),
            ),
            // WhatsApp sends Unix seconds as a string or number.
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .and_then(|s| DateTime::from_timestamp(s, 0))
                    .ok_or_else(|| bad("timestamp must be RFC 3339 or Unix seconds".into()))?,
            ),
            None | Some(Value::Null) => None,
            Some(_) => return Err(bad("timestamp must be RFC 3339 or Unix seconds".into())),
        };
        if at.is_some_and(|t| t > now + chrono::Duration::seconds(RECEIPT_CLOCK_SKEW_SECS)) {
            return Err(bad(format!(
                "receipt timestamp in the future (more than {RECEIPT_CLOCK_SKEW_SECS} s ahead)"
            )));
        }
        Ok(Receipt {
            message_id: id.to_string(),
            event: event.to_string(),
            error,
            at,
        })
    };
    // WhatsApp Cloud API webhook: entry[].changes[].value.statuses[].
    if let Some(entries) = v.get("entry").and_then(Value::as_array) {
        let mut out = vec![];
        for e in entries {
            for c in e
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for s in c
                    .pointer("/value/statuses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let mut s = s.clone();
                    if let Some(Value::String(ts)) = s.get("timestamp").cloned() {
                        if let Ok(n) = ts.parse::<i64>() {
                            s["timestamp"] = json!(n);
                        }
                    }
                    out.push(one(&s)?);
                }
            }
        }
        return Ok(out);
    }
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        Value::Object(o) if o.contains_key("receipts") => o["receipts"]
            .as_array()
            .ok_or_else(|| bad("receipts must be an array".into()))?
            .iter()
            .map(one)
            .collect(),
        Value::Object(_) => Ok(vec![one(v)?]),
        _ => Err(bad(
            "expected a receipt object or an array of receipts".into()
        )),
    }
}

/// What is signed: `<t>.<path>.<body>`, path = `/receipts/{provider}` (as the service sees it,
/// whatever prefix a proxy or `wolo serve` mounts it under). A receipt signed for one
/// provider's path is refused on another's.
pub fn signed_payload(t: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut p = format!("{t}.{path}.").into_bytes();
    p.extend_from_slice(body);
    p
}

pub use platform::signature::SignatureError;

/// The answer's message for each refusal.
pub fn message(e: SignatureError) -> &'static str {
    match e {
        SignatureError::Missing => "missing receipt signature (X-Wolo-Signature)",
        SignatureError::Malformed => {
            "malformed receipt signature: expected t=<unix seconds>,v1=<hex>"
        }
        SignatureError::Stale => "receipt signature timestamp outside the accepted window",
        SignatureError::Mismatch => "invalid receipt signature",
    }
}

/// Verifies `t=<unix>,v1=<hex>[,v1=...]` for `path` and `body` at unix time `now`
/// ([`platform::signature`]): the timestamp within [`SIGNATURE_TOLERANCE_SECS`], any `v1`
/// equal to HMAC-SHA256(secret, [`signed_payload`]). Returns the expected MAC's hex (the
/// request's identity for replay detection).
pub fn verify_signature(
    secret: &[u8],
    header: Option<&str>,
    path: &str,
    body: &[u8],
    now: i64,
) -> Result<String, SignatureError> {
    platform::signature::verify([secret], header, now, SIGNATURE_TOLERANCE_SECS, |t| {
        signed_payload(t, path, body)
    })
    .map(hex::encode)
}

/// The `X-Wolo-Signature` value for `body` posted to `path` at unix time `t` (for providers'
/// relays and tests).
pub fn sign(secret: &[u8], t: i64, path: &str, body: &[u8]) -> String {
    platform::signature::sign(secret, t, |t| signed_payload(t, path, body))
}

/// POST /receipts/{provider} — signed delivery receipts; 200 `{"updated": n, "unknown":
/// [...], "replayed": bool}`. One transaction: all receipts apply, or none. The signature is
/// checked over the raw bytes, which are then parsed ([`rest::extract::parse`]); providers'
/// own formats (WhatsApp's webhook, arrays, objects) are read field by field.
#[tracing::instrument(skip_all, fields(provider = %provider))]
pub async fn post_receipts(
    State(st): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = st.config.receipt_secret.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "PT503",
            "delivery receipts are not configured (WOLO_NOTIFY_RECEIPT_SECRET)",
        ));
    };
    let now = Utc::now();
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let path = format!("/receipts/{provider}");
    let request_mac = verify_signature(
        secret.expose().as_bytes(),
        sig,
        &path,
        &body,
        now.timestamp(),
    )
    .map_err(|e| {
        ApiError::new(StatusCode::UNAUTHORIZED, "PT401", message(e)).hint(
            "X-Wolo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<path>.<raw body>\">, path = /receipts/{provider}, t within 5 minutes",
        )
    })?;
    if !RECEIPT_PROVIDERS.contains(&provider.as_str()) {
        return Err(
            ApiError::not_found("PT404", format!("unknown provider {provider:?}"))
                .hint("one of sms, whatsapp, smtp, dev"),
        );
    }
    let v: Value = extract::parse(&body)?;
    let receipts = parse_receipts(&v, now)?;
    if receipts.len() > MAX_RECEIPTS {
        return Err(ApiError::bad_request(
            "22023",
            format!("at most {MAX_RECEIPTS} receipts per request"),
        ));
    }
    let dberr = |e| ApiError::from_sqlx(e, false);
    let mut tx = st.db.begin().await.map_err(dberr)?;
    // A replay of a request already accepted (same signature) applies nothing.
    let fresh = sqlx::query(
        "insert into notifications.receipt_replays (signature, provider) values ($1, $2)
         on conflict (signature) do nothing",
    )
    .bind(&request_mac)
    .bind(&provider)
    .execute(&mut *tx)
    .await
    .map_err(dberr)?
    .rows_affected()
        == 1;
    if !fresh {
        tx.commit().await.map_err(dberr)?;
        return Ok(Json(json!({ "updated": 0, "unknown": [], "replayed": true })).into_response());
    }
    sqlx::query(
        "delete from notifications.receipt_replays where received_at < now() - interval '1 day'",
    )
    .execute(&mut *tx)
    .await
    .map_err(dberr)?;
    let mut updated = 0u64;
    let mut unknown = vec![];
    for r in receipts {
        if r.event == "ignored" {
            continue;
        }
        // Not before the message was sent (give or take the clocks' skew).
        if let Some(at) = r.at {
            let sent: Option<DateTime<Utc>> = sqlx::query_scalar(
                "select min(sent_at) from notifications.notifications
                  where provider = $1 and provider_message_id = $2",
            )
            .bind(&provider)
            .bind(&r.message_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(dberr)?;
            if sent.is_some_and(|s| at < s - chrono::Duration::seconds(RECEIPT_CLOCK_SKEW_SECS)) {
                return Err(ApiError::bad_request(
                    "22023",
                    format!(
                        "receipt timestamp before the message was sent (message_id {:?})",
                        r.message_id
                    ),
                ));
            }
        }
        let at = r.at.unwrap_or(now);
        // $3 is kept within [sent_at, now]: the skew allowed above never stores a receipt
        // before its message or in the future.
        let n = apply_one(&mut tx, &provider, &r, at).await.map_err(dberr)?;
        if n == 0 {
            unknown.push(r.message_id.clone());
        }
        updated += n;
    }
    tx.commit().await.map_err(dberr)?;
    Ok(Json(json!({ "updated": updated, "unknown": unknown, "replayed": false })).into_response())
}

/// Applies one receipt (not `ignored`) at time `at` to the messages `provider` knows as its
/// `message_id`; returns how many rows changed.
async fn apply_one(
    tx: &mut sqlx::PgConnection,
    provider: &str,
    r: &Receipt,
    at: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let sql = match r.event.as_str() {
        "delivered" => {
            "update notifications.notifications
                set status = case when status = 'sent' then 'delivered' else status end,
                    delivered_at = coalesce(delivered_at,
                                            greatest(least($3, now()), coalesce(sent_at, $3)))
              where provider = $1 and provider_message_id = $2
                and status in ('sent', 'delivered')"
        }
        "bounced" => {
            "update notifications.notifications
                set status = 'bounced', error_message = coalesce($4, error_message, 'bounced'),
                    error_code = 'bounced',
                    failed_at = coalesce(failed_at,
                                         greatest(least($3, now()), coalesce(sent_at, $3)))
              where provider = $1 and provider_message_id = $2
                and status in ('sent', 'delivered', 'bounced')"
        }
        "opened" => {
            "update notifications.notifications
                set opened_at = coalesce(opened_at,
                                         greatest(least($3, now()), coalesce(sent_at, $3))),
                    delivered_at = coalesce(delivered_at,
                                            greatest(least($3, now()), coalesce(sent_at, $3))),
                    status = case when status = 'sent' then 'delivered' else status end
              where provider = $1 and provider_message_id = $2
                and status in ('sent', 'delivered')"
        }
        _ => {
            "update notifications.notifications
                set clicked_at = coalesce(clicked_at,
                                          greatest(least($3, now()), coalesce(sent_at, $3))),
                    opened_at = coalesce(opened_at,
                                         greatest(least($3, now()), coalesce(sent_at, $3))),
                    delivered_at = coalesce(delivered_at,
                                            greatest(least($3, now()), coalesce(sent_at, $3))),
                    status = case when status = 'sent' then 'delivered' else status end
              where provider = $1 and provider_message_id = $2
                and status in ('sent', 'delivered')"
        }
    };
    sqlx::query(sql)
        .bind(provider)
        .bind(&r.message_id)
        .bind(at)
        .bind(&r.error)
        .execute(&mut *tx)
        .await
        .map(|d| d.rows_affected())
}

/// `POST /receipts/gateway/{key}`: delivery reports of the USSD/SMS gateway (Africa's
/// Talking's shape: a form `id`, `phoneNumber`, `status`, `failureReason`, `retryCount`),
/// authenticated by its secret path segment (`WOLO_SMS_GATEWAY_KEY`, as the gateway's other
/// callbacks; 404 without it). `Success` marks the SMS delivered, `Failed` or `Rejected`
/// bounced (with the reason); `Sent`, `Submitted`, `Buffered` change nothing. Applying a
/// report twice changes nothing more. 200 `{"updated": n}`.
#[tracing::instrument(skip_all)]
pub async fn post_gateway_report(
    State(st): State<AppState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let known =
        st.config.gateway_key.as_ref().is_some_and(|k| {
            platform::signature::same_secret(k.expose().as_bytes(), key.as_bytes())
        });
    if !known {
        return Err(ApiError::not_found("not_found", "Introuvable (not found)"));
    }
    let mut id = String::new();
    let mut status = String::new();
    let mut reason = None;
    for (k, v) in form_urlencoded::parse(&body).take(20) {
        match k.as_ref() {
            "id" => id = v.into_owned(),
            "status" => status = v.into_owned(),
            "failureReason" => reason = Some(v.chars().take(MAX_ERROR_CHARS).collect::<String>()),
            _ => {}
        }
    }
    if id.is_empty() || id.chars().count() > MAX_MESSAGE_ID_CHARS {
        return Err(ApiError::bad_request(
            "22023",
            "a delivery report needs an id (the message id the gateway gave)",
        ));
    }
    let event = match status.as_str() {
        "Success" => "delivered",
        "Failed" | "Rejected" => "bounced",
        "Sent" | "Submitted" | "Buffered" | "Queued" => {
            return Ok(Json(json!({"updated": 0})).into_response())
        }
        other => {
            return Err(ApiError::bad_request(
                "22023",
                format!(
                    "unknown status {:?}: Success, Failed, Rejected, Sent, Submitted or Buffered",
                    other.chars().take(40).collect::<String>()
                ),
            ))
        }
    };
    let r = Receipt {
        message_id: id,
        event: event.into(),
        error: reason.filter(|r| !r.is_empty()),
        at: None,
    };
    let dberr = |e| ApiError::from_sqlx(e, false);
    let mut conn = st.db.acquire().await.map_err(dberr)?;
    let n = apply_one(&mut conn, "sms", &r, Utc::now())
        .await
        .map_err(dberr)?;
    Ok(Json(json!({"updated": n})).into_response())
}
