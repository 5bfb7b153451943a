//! Custom endpoints: `POST /messages` (admins) and `POST /receipts/{provider}` (signed).

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rest::ApiError;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{request::request_message_at, AppState, MessageRequest};

/// Header carrying `sha256=<hex of HMAC-SHA256(raw body, WOLO_NOTIFY_RECEIPT_SECRET)>`.
pub const SIGNATURE_HEADER: &str = "x-wolo-signature";
/// Values of `notifications.provider` that receipts may name.
pub const RECEIPT_PROVIDERS: [&str; 4] = ["sms", "whatsapp", "smtp", "dev"];

/// POST /messages — body: a [`MessageRequest`]; 201 `{"ids": [...]}`.
pub async fn post_message(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&st.jwt, &headers)?;
    match caller.role {
        auth::Role::Admin => {}
        auth::Role::Anon => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "42501",
                "permission denied: requesting a message needs an admin token",
            ))
        }
        _ => {
            return Err(ApiError::forbidden(
                "permission denied: requesting a message needs an admin token",
            ))
        }
    }
    let req: MessageRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("PGRST102", "Invalid body for a message request")
            .details(e.to_string())
    })?;
    let mut conn = st
        .db
        .acquire()
        .await
        .map_err(|e| ApiError::from_sqlx(e, false))?;
    let ids = request_message_at(&mut conn, req, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "ids": ids }))).into_response())
}

/// One receipt: what happened to the message the provider knows as `message_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub message_id: String,
    /// delivered | bounced | opened | clicked
    pub event: String,
    pub error: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

fn parse_receipts(v: &Value) -> Result<Vec<Receipt>, ApiError> {
    let bad = |m: String| ApiError::bad_request("22023", m);
    let one = |r: &Value| -> Result<Receipt, ApiError> {
        let id = r
            .get("message_id")
            .or_else(|| r.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a receipt needs a message_id".into()))?;
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
            .filter(|e| e != "null");
        let at = match r.get("timestamp") {
            Some(Value::String(s)) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| bad(format!("timestamp {s:?}: {e}")))?
                    .with_timezone(&Utc),
            ),
            // WhatsApp sends Unix seconds as a string or number.
            Some(Value::Number(n)) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
            _ => None,
        };
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

/// Verifies `sha256=<hex>` against HMAC-SHA256(body) in constant time (hmac's verify_slice).
pub fn signature_ok(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// `sha256=<hex>` for `body` (for providers' relays and tests).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POST /receipts/{provider} — signed delivery receipts; 200 `{"updated": n, "unknown": [...]}`.
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
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if !signature_ok(secret.expose().as_bytes(), &body, sig) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "PT401",
            "invalid or missing receipt signature",
        )
        .hint("X-Wolo-Signature: sha256=<hex HMAC-SHA256 of the raw body>"));
    }
    if !RECEIPT_PROVIDERS.contains(&provider.as_str()) {
        return Err(
            ApiError::not_found("PT404", format!("unknown provider {provider:?}"))
                .hint("one of sms, whatsapp, smtp, dev"),
        );
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("PGRST102", "Empty or invalid json").details(e.to_string())
    })?;
    let receipts = parse_receipts(&v)?;
    let mut updated = 0u64;
    let mut unknown = vec![];
    let now = Utc::now();
    for r in receipts {
        if r.event == "ignored" {
            continue;
        }
        let at = r.at.unwrap_or(now);
        let sql = match r.event.as_str() {
            "delivered" => {
                "update notifications.notifications
                    set status = case when status = 'sent' then 'delivered' else status end,
                        delivered_at = coalesce(delivered_at, $3)
                  where provider = $1 and provider_message_id = $2
                    and status in ('sent', 'delivered')"
            }
            "bounced" => {
                "update notifications.notifications
                    set status = 'bounced', error_message = coalesce($4, error_message, 'bounced'),
                        error_code = 'bounced', failed_at = coalesce(failed_at, $3)
                  where provider = $1 and provider_message_id = $2
                    and status in ('sent', 'delivered', 'bounced')"
            }
            "opened" => {
                "update notifications.notifications
                    set opened_at = coalesce(opened_at, $3),
                        delivered_at = coalesce(delivered_at, $3),
                        status = case when status = 'sent' then 'delivered' else status end
                  where provider = $1 and provider_message_id = $2
                    and status in ('sent', 'delivered')"
            }
            _ => {
                "update notifications.notifications
                    set clicked_at = coalesce(clicked_at, $3),
                        opened_at = coalesce(opened_at, $3),
                        delivered_at = coalesce(delivered_at, $3),
                        status = case when status = 'sent' then 'delivered' else status end
                  where provider = $1 and provider_message_id = $2
                    and status in ('sent', 'delivered')"
            }
        };
        let n = sqlx::query(sql)
            .bind(&provider)
            .bind(&r.message_id)
            .bind(at)
            .bind(&r.error)
            .execute(&st.db)
            .await
            .map_err(|e| ApiError::from_sqlx(e, false))?
            .rows_affected();
        if n == 0 {
            unknown.push(r.message_id.clone());
        }
        updated += n;
    }
    Ok(Json(json!({ "updated": updated, "unknown": unknown })).into_response())
}
