//! `POST /qr/redeem` {code, venue_id, device}: a partner's staff redeems a code at a venue.
//!
//! 1. The code's tag is checked first: a forged or mistyped code is refused (400 `invalid`)
//!    without touching `qr.qr_codes`. A counter code (ten characters, `code::short`, shown on
//!    the gift page for when a scanner cannot read the screen) is looked up by its unique
//!    `short_code` instead; one that matches nothing is a 404 `unknown_code`, logged.
//! 2. One transaction: the code, its pack and partner, the caller's membership are read; the
//!    caller must be staff of the pack's partner (403 `wrong_partner`) and the venue one of
//!    the partner's active venues, allowed by the pack and by the member's venues (403
//!    `venue_not_allowed`); then ONE conditional update redeems it (`status = 'issued'` and
//!    now within the window). Two counters scanning at the same instant: the row lock makes
//!    the second update see `redeemed` and match nothing — exactly one success.
//! 3. A miss is classified from the row: 409 `already_used` (when and where), 410 `expired`,
//!    410 `cancelled` (pot refunded), 425 `not_yet_valid`.
//!
//! Every attempt is logged: in `qr_redemption_logs` when the code exists (the success in the
//! redeeming transaction, a failure in its own statement after the rollback), else in
//! `qr.unmatched_scan_logs` — whatever bytes it carries: a body that is not JSON (or not
//! UTF-8) is logged as `bad_request`, a missing code or venue as `missing_code_or_venue`, a
//! code longer than [`MAX_CODE_CHARS`] as `bad_format`; what is kept of the input (the code's
//! first 8 characters, the venue id, the device) is [`sanitize`]d (no control characters, no
//! U+0000) and cut, and the answer is a 4xx.

use axum::{
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use chrono_tz::Africa::Dakar;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use platform::events::{self, NotificationRequested, QrRedeemed};
use platform::Client;
use rest::{extract::Partner, ApiError};

use crate::{code, db, AppState};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RedeemRequest {
    code: Option<String>,
    venue_id: Option<Value>,
    #[serde(default)]
    device: Option<Value>,
    #[serde(default)]
    notes: Option<String>,
}

/// A venue object of `packs.partners.venues` by id.
pub fn find_venue<'a>(venues: &'a Value, id: &str) -> Option<&'a Value> {
    venues
        .as_array()?
        .iter()
        .find(|v| v.get("id").and_then(id_str).as_deref() == Some(id))
}

fn id_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("id").and_then(id_str),
        _ => None,
    }
}

/// Whether a list (`venue_restrictions`, `venue_ids`) allows `id`: NULL or empty = all.
pub fn list_allows(list: Option<&Value>, id: &str) -> bool {
    match list.and_then(Value::as_array) {
        None => true,
        Some(a) if a.is_empty() => true,
        Some(a) => a.iter().any(|v| id_str(v).as_deref() == Some(id)),
    }
}

/// Venues a member may redeem at: the partner's active venues, filtered by the member's list.
pub fn member_venues(venues: &Value, member_venue_ids: Option<&Value>) -> Vec<Value> {
    venues
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v.get("is_active") != Some(&Value::Bool(false)))
                .filter(|v| {
                    v.get("id")
                        .and_then(id_str)
                        .is_some_and(|id| list_allows(member_venue_ids, &id))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

struct Attempt<'a> {
    user: Uuid,
    client: &'a Client,
    venue_context: Value,
}

impl Attempt<'_> {
    async fn log(
        &self,
        conn: &mut sqlx::PgConnection,
        qr_code_id: Uuid,
        result: &str,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "insert into qr.qr_redemption_logs
                (qr_code_id, partner_user_id, validation_result, error_message, ip_address,
                 user_agent, venue_context)
             values ($1, $2, $3, $4, $5::inet, $6, $7)",
        )
        .bind(qr_code_id)
        .bind(self.user)
        .bind(result)
        .bind(error)
        .bind(self.client.ip.as_deref())
        .bind(self.client.user_agent.as_deref())
        .bind(&self.venue_context)
        .execute(conn)
        .await
        .map(|_| ())
    }

    async fn log_unmatched(&self, pool: &PgPool, input: &str, reason: &str) {
        let res = sqlx::query(
            "insert into qr.unmatched_scan_logs
                (code_prefix, reason, partner_user_id, ip_address, user_agent, venue_context)
             values ($1, $2, $3, $4::inet, $5, $6)",
        )
        .bind(Some(sanitize(&code::prefix(input), 8)).filter(|p| !p.is_empty()))
        .bind(reason)
        .bind(self.user)
        .bind(self.client.ip.as_deref())
        .bind(self.client.user_agent.as_deref())
        .bind(&self.venue_context)
        .execute(pool)
        .await;
        if let Err(e) = res {
            tracing::error!(error = %e, "could not log a refused scan");
        }
    }

    async fn log_failure(&self, pool: &PgPool, qr_code_id: Uuid, result: &str, error: &str) {
        let res = match pool.acquire().await {
            Ok(mut c) => self.log(&mut c, qr_code_id, result, Some(error)).await,
            Err(e) => Err(e),
        };
        if let Err(e) = res {
            tracing::error!(error = %e, "could not log a scan");
        }
    }
}

fn invalid(status: StatusCode, details: &str) -> ApiError {
    ApiError::new(
        status,
        "invalid",
        "Code invalide : ce QR code n'est pas un code WOLO valable. Vérifiez la saisie.",
    )
    .details(details.to_string())
}

fn dakar(t: DateTime<Utc>) -> String {
    t.with_timezone(&Dakar)
        .format("%d/%m/%Y à %Hh%M")
        .to_string()
}

/// Longest code read, characters (a code is 26; grouped or prefixed a few more): longer input
/// is cut before any work and refused as `bad_format`.
pub const MAX_CODE_CHARS: usize = 64;
/// Longest venue id kept, characters.
pub const MAX_VENUE_ID_CHARS: usize = 100;
/// Largest `device` object kept in a log, bytes of JSON (larger: replaced by a marker).
pub const MAX_DEVICE_JSON_BYTES: usize = 2048;
/// Longest partner note, characters.
pub const MAX_NOTES_CHARS: usize = 500;

/// `s` without control characters (U+0000 included: Postgres text refuses it), cut at `max`
/// characters: what a log may keep of user input.
pub fn sanitize(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .take(max)
        .collect()
}

/// A JSON value with every string and key sanitized (no control characters), for a log.
fn sanitize_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(sanitize(s, MAX_DEVICE_JSON_BYTES)),
        Value::Array(a) => Value::Array(a.iter().map(sanitize_value).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (sanitize(k, 100), sanitize_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The scanning device's description as logged: sanitized, or a marker when too large.
fn device_context(device: Option<&Value>) -> Value {
    match device {
        None => Value::Null,
        Some(d) => {
            let d = sanitize_value(d);
            if d.to_string().len() > MAX_DEVICE_JSON_BYTES {
                json!({"truncated": true})
            } else {
                d
            }
        }
    }
}

#[tracing::instrument(skip_all, fields(user_id = %partner.id))]
pub async fn post_redeem(
    State(state): State<AppState>,
    partner: Partner,
    client: Client,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let user = partner.id;
    // Every attempt is logged, whatever bytes it carries: the body is read raw and leniently
    // (bytes that are not UTF-8 become U+FFFD), then parsed as the JSON extractor would
    // ([`rest::extract::parse`]: the error names the field); anything unreadable, an unknown
    // field or a wrong type is logged as `bad_request`.
    let text = String::from_utf8_lossy(&bytes);
    let (req, malformed) = match rest::extract::parse::<RedeemRequest>(text.as_bytes()) {
        Ok(r) => (r, None),
        Err(e) => (RedeemRequest::default(), Some(e)),
    };
    let raw_code = req.code.unwrap_or_default();
    let input: String = raw_code.chars().take(MAX_CODE_CHARS + 1).collect();
    let venue_id = req.venue_id.as_ref().and_then(id_str).unwrap_or_default();
    let attempt = Attempt {
        user,
        client: &client,
        venue_context: json!({
            "venue_id": sanitize(&venue_id, MAX_VENUE_ID_CHARS),
            "device": device_context(req.device.as_ref()),
        }),
    };
    let pool = &state.db;
    if let Some(e) = malformed {
        attempt.log_unmatched(pool, "", "bad_request").await;
        let details = e.details.as_deref().map(|d| sanitize(d, 200));
        return Err(ApiError { details, ..e });
    }
    if input.trim().is_empty() || venue_id.is_empty() {
        attempt
            .log_unmatched(pool, &input, "missing_code_or_venue")
            .await;
        return Err(ApiError::bad_request(
            "validation_failed",
            "Indiquez le code et le lieu (code and venue_id are required)",
        ));
    }
    let venue_ok =
        venue_id.chars().count() <= MAX_VENUE_ID_CHARS && !venue_id.chars().any(char::is_control);
    let notes_ok = req
        .notes
        .as_deref()
        .is_none_or(|n| n.chars().count() <= MAX_NOTES_CHARS && !n.contains('\0'));
    if !venue_ok || !notes_ok {
        attempt.log_unmatched(pool, &input, "bad_request").await;
        return Err(ApiError::bad_request(
            "validation_failed",
            format!(
                "Lieu ou note invalide (venue_id: at most {MAX_VENUE_ID_CHARS} characters; notes: at most {MAX_NOTES_CHARS}; no control characters)"
            ),
        ));
    }
    if input.chars().count() > MAX_CODE_CHARS {
        attempt.log_unmatched(pool, &input, "bad_format").await;
        return Err(invalid(StatusCode::BAD_REQUEST, "bad_format"));
    }
    let pool = &state.db;

    // 1. The tag, before any lookup; or a counter code (ten characters typed by hand), which
    //    names a code by its unique short_code.
    let canonical = match (state.secret.verify(&input), code::short(&input)) {
        (Ok(c), _) => c,
        (Err(_), Some(short)) => {
            let found: Option<String> =
                sqlx::query_scalar("select code from qr.qr_codes where short_code = $1")
                    .bind(&short)
                    .fetch_optional(pool)
                    .await
                    .map_err(db)?;
            match found {
                Some(c) => c,
                None => {
                    attempt.log_unmatched(pool, &input, "unknown_code").await;
                    return Err(invalid(StatusCode::NOT_FOUND, "unknown_code"));
                }
            }
        }
        (Err(r), None) => {
            attempt.log_unmatched(pool, &input, r.as_str()).await;
            return Err(invalid(StatusCode::BAD_REQUEST, r.as_str()));
        }
    };

    // 2. One transaction: checks and the conditional update.
    let mut tx = pool.begin().await.map_err(db)?;
    let row = sqlx::query(
        "select c.id, c.pot_id, c.pack_id, p.name as pack_name, p.description,
                p.redemption_instructions, p.partner_id, p.venue_restrictions,
                pa.venues, pa.status as partner_status, m.user_id is not null as is_member,
                m.venue_ids, pot.owner_user_id
         from qr.qr_codes c
         join packs.packs p on p.id = c.pack_id
         join pots.pots pot on pot.id = c.pot_id
         left join packs.partners pa on pa.id = p.partner_id
         left join packs.partner_members m on m.partner_id = p.partner_id and m.user_id = $2
         where c.code = $1",
    )
    .bind(&canonical)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        drop(tx);
        attempt.log_unmatched(pool, &input, "unknown_code").await;
        return Err(invalid(StatusCode::NOT_FOUND, "unknown_code"));
    };
    let qr_id: Uuid = row.get("id");
    let is_member: bool = row.get("is_member");
    let partner_active =
        row.get::<Option<String>, _>("partner_status").as_deref() == Some("active");
    if !is_member || !partner_active {
        drop(tx);
        let why = if is_member {
            "partner_not_active"
        } else {
            "not_staff_of_pack_partner"
        };
        attempt.log_failure(pool, qr_id, "wrong_partner", why).await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_partner",
            "Mauvais partenaire : ce cadeau n'est pas valable chez vous.",
        )
        .details(why));
    }
    let venues: Value = row.get::<Option<Value>, _>("venues").unwrap_or(Value::Null);
    let restrictions: Option<Value> = row.get("venue_restrictions");
    let member_ids: Option<Value> = row.get("venue_ids");
    let venue = find_venue(&venues, &venue_id)
        .filter(|v| v.get("is_active") != Some(&Value::Bool(false)))
        .filter(|_| list_allows(restrictions.as_ref(), &venue_id))
        .filter(|_| list_allows(member_ids.as_ref(), &venue_id))
        .cloned();
    let Some(venue) = venue else {
        drop(tx);
        attempt
            .log_failure(pool, qr_id, "wrong_partner", "venue_not_allowed")
            .await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "venue_not_allowed",
            "Lieu non autorisé : ce cadeau ne peut pas être remis dans ce lieu.",
        )
        .details(format!("venue_id {venue_id}")));
    };
    let partner_id: Uuid = row.get("partner_id");
    let at_venue = json!({"venue": venue, "device": attempt.venue_context["device"],
                          "partner_user_id": user});
    let redeemed: Option<DateTime<Utc>> = sqlx::query_scalar(
        "update qr.qr_codes
         set status = 'redeemed', redeemed_at = now(), redeemed_by_partner_id = $2,
             redeemed_at_venue = $3, partner_notes = $4
         where id = $1 and status = 'issued' and now() >= redeemable_from and now() < expires_at
         returning redeemed_at",
    )
    .bind(qr_id)
    .bind(partner_id)
    .bind(&at_venue)
    .bind(req.notes.as_deref())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;

    if let Some(redeemed_at) = redeemed {
        attempt
            .log(&mut tx, qr_id, "success", None)
            .await
            .map_err(db)?;
        let pot_id: Uuid = row.get("pot_id");
        let pack_id: Uuid = row.get("pack_id");
        let owner: Uuid = row.get("owner_user_id");
        events::publish(
            &mut tx,
            &QrRedeemed {
                qr_code_id: qr_id,
                pot_id,
                pack_id,
                partner_id,
                venue_id: Some(venue_id.clone()),
            },
            crate::NAME,
        )
        .await
        .map_err(db)?;
        let first_name = platform::names::first_name(&mut tx, owner)
            .await
            .map_err(db)?;
        let pack_name: String = row.get("pack_name");
        let venue_name = venue
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("notre partenaire")
            .to_string();
        let message = NotificationRequested::to_user(owner, "redemption_done")
            .var("first_name", &first_name)
            .var("pack_name", &pack_name)
            .var("venue_name", venue_name)
            .var("redeemed_at", redeemed_at.to_rfc3339());
        events::publish(&mut tx, &message, crate::NAME)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let items: Option<String> = row.get("redemption_instructions");
        let description: String = row.get("description");
        return Ok((
            StatusCode::OK,
            Json(json!({
                "result": "redeemed",
                "message": format!("Valide — remettre : {pack_name}"),
                "qr_code_id": qr_id,
                "pack": {"id": pack_id, "name": pack_name, "description": description,
                         "items": items},
                "owner_first_name": first_name,
                "venue": venue,
                "redeemed_at": redeemed_at,
            })),
        )
            .into_response());
    }
    drop(tx);

    // 3. Why not: read the row as it is now.
    let now_row = sqlx::query(
        "select status, redeemable_from, expires_at, redeemed_at, redeemed_at_venue, now() as now
         from qr.qr_codes where id = $1",
    )
    .bind(qr_id)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    let status: Option<String> = now_row.get("status");
    let now: DateTime<Utc> = now_row.get("now");
    let from: DateTime<Utc> = now_row.get("redeemable_from");
    let until: DateTime<Utc> = now_row.get("expires_at");
    let (result, err) = match status.as_deref() {
        Some("redeemed") => {
            let at: Option<DateTime<Utc>> = now_row.get("redeemed_at");
            let where_: Option<Value> = now_row.get("redeemed_at_venue");
            let venue_name = where_
                .as_ref()
                .and_then(|w| w["venue"]["name"].as_str())
                .unwrap_or("un lieu partenaire")
                .to_string();
            let when = at.map(dakar).unwrap_or_default();
            (
                "already_used",
                ApiError::new(
                    StatusCode::CONFLICT,
                    "already_used",
                    format!("Déjà utilisé : ce cadeau a été remis le {when} ({venue_name})."),
                )
                .details(
                    json!({"redeemed_at": at, "venue": where_.map(|w| w["venue"].clone())})
                        .to_string(),
                ),
            )
        }
        Some("cancelled") => (
            "invalid",
            ApiError::new(
                StatusCode::GONE,
                "cancelled",
                "Code annulé : la cagnotte a été remboursée, ce cadeau n'est plus valable.",
            ),
        ),
        Some("expired") => ("expired", expired(until)),
        _ if now >= until => ("expired", expired(until)),
        _ if now < from => (
            "not_yet_valid",
            ApiError::new(
                StatusCode::from_u16(425).expect("425 is a status"),
                "not_yet_valid",
                format!(
                    "Pas encore valable : ce cadeau est utilisable à partir du {}.",
                    dakar(from)
                ),
            )
            .details(json!({"redeemable_from": from}).to_string()),
        ),
        _ => ("invalid", invalid(StatusCode::CONFLICT, "state_changed")),
    };
    let why = err.code.clone();
    attempt.log_failure(pool, qr_id, result, &why).await;
    Err(err)
}

fn expired(until: DateTime<Utc>) -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "expired",
        format!(
            "Expiré : ce cadeau n'est plus valable depuis le {}.",
            dakar(until)
        ),
    )
    .details(json!({"expires_at": until}).to_string())
}
