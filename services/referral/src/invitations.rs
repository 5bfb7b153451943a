//! Sponsor codes, contact batches, invitations within the daily limit, and their expiry.

use std::collections::HashSet;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use platform::{
    events::{self, NotificationRequested, Recipient},
    names::first_name,
};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use rest::{
    extract::{Json, User},
    input::{db, validation},
    ApiError, ApiResult,
};

use crate::system_config::config_number;
use crate::AppState;

pub use rest::input::{normalise_email, normalise_phone};

/// Most contacts in one batch or one invitation request.
pub const MAX_BATCH: usize = 50;
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn random_chars(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Up to 4 ASCII letters of a name (accents dropped), upper case.
fn name_prefix(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'î' | 'ï' | 'Î' | 'Ï' => 'I',
            'ô' | 'ö' | 'Ô' | 'Ö' => 'O',
            'û' | 'ù' | 'ü' | 'Û' | 'Ù' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            c => c,
        };
        if c.is_ascii_alphabetic() {
            out.push(c.to_ascii_uppercase());
        }
        if out.len() == 4 {
            break;
        }
    }
    if out.is_empty() {
        "WOLO".to_string()
    } else {
        out
    }
}

/// The sponsor's personal code, created on first use and stable afterwards.
pub async fn sponsor_code(conn: &mut PgConnection, sponsor: Uuid) -> ApiResult<String> {
    for _ in 0..8 {
        let existing: Option<String> = sqlx::query_scalar(
            "select code from referral.sponsor_codes where sponsor_user_id = $1",
        )
        .bind(sponsor)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(code) = existing {
            return Ok(code);
        }
        let name = first_name(conn, sponsor).await.map_err(db)?;
        let code = format!("{}{}", name_prefix(&name), random_chars(4));
        // Conflicts on the sponsor (a concurrent first use) or on the code (taken): read again.
        sqlx::query(
            "insert into referral.sponsor_codes (sponsor_user_id, code) values ($1, $2)
             on conflict do nothing",
        )
        .bind(sponsor)
        .bind(&code)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Err(ApiError::internal("could not allocate a sponsor code"))
}

/// A contact as the app sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default)]
    pub contact_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// Checks and normalises contacts (1 to 50, each with a phone or an e-mail, no duplicates).
pub fn normalise_contacts(contacts: Vec<Contact>) -> ApiResult<Vec<Contact>> {
    if contacts.is_empty() {
        return Err(validation("Aucun contact (no contacts)"));
    }
    if contacts.len() > MAX_BATCH {
        return Err(validation(&format!(
            "Au plus {MAX_BATCH} contacts à la fois (at most {MAX_BATCH} contacts)"
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(contacts.len());
    for (i, c) in contacts.into_iter().enumerate() {
        let phone = match c.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(p) => Some(normalise_phone(p)?),
            None => None,
        };
        let email = match c.email.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(e) => Some(normalise_email(e)?),
            None => None,
        };
        if phone.is_none() && email.is_none() {
            return Err(validation(
                "Chaque contact a besoin d'un téléphone ou d'un e-mail (a contact needs a phone or an email)",
            ));
        }
        let key = phone.clone().or(email.clone()).unwrap_or_default();
        if !seen.insert(key.clone()) {
            return Err(validation(&format!(
                "Contact en double : {key} (duplicate contact)"
            )));
        }
        let name = c
            .name
            .map(|n| n.trim().chars().take(255).collect::<String>())
            .filter(|n| !n.is_empty());
        out.push(Contact {
            contact_id: Some(c.contact_id.unwrap_or_else(|| format!("c-{i:04}"))),
            name,
            phone,
            email,
        });
    }
    Ok(out)
}

use platform::calendar::dakar_day;

// ---------------------------------------------------------------- batches

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    contacts: Vec<Contact>,
}

/// `POST /contact-batches`: the next window of at most 50 contacts of the day.
#[tracing::instrument(skip_all, fields(sponsor_id = %sponsor))]
pub async fn post_batch(
    User { id: sponsor, .. }: User,
    State(state): State<AppState>,
    Json(req): Json<BatchRequest>,
) -> Result<Response, ApiError> {
    let batch = create_batch(&state.db, sponsor, req.contacts, Utc::now()).await?;
    Ok((StatusCode::CREATED, axum::Json(batch)).into_response())
}

/// Creates a contact batch for `sponsor` on the Africa/Dakar day of `now`.
pub async fn create_batch(
    pool: &PgPool,
    sponsor: Uuid,
    contacts: Vec<Contact>,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let contacts = normalise_contacts(contacts)?;
    let day = dakar_day(now);
    let snapshot: Vec<Value> = contacts
        .iter()
        .map(|c| json!({"contact_id": c.contact_id, "name": c.name, "phone": c.phone, "email": c.email}))
        .collect();
    let mut tx = pool.begin().await.map_err(db)?;
    // One sponsor's batches are numbered in order.
    platform::db::xact_lock(&mut tx, &format!("referral.batches:{sponsor}"))
        .await
        .map_err(db)?;
    let row = sqlx::query(
        "insert into referral.sponsor_contact_batches
             (sponsor_user_id, batch_date, batch_number, start_position, end_position, status,
              contact_snapshot, created_at, updated_at)
         select $1, $2, coalesce(max(batch_number), 0) + 1, coalesce(max(end_position), 0),
                coalesce(max(end_position), 0) + $3, 'pending', $4, $5, $5
         from referral.sponsor_contact_batches where sponsor_user_id = $1 and batch_date = $2
         returning id, batch_number, start_position, end_position, status",
    )
    .bind(sponsor)
    .bind(day)
    .bind(contacts.len() as i32)
    .bind(Value::Array(snapshot.clone()))
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(json!({
        "id": row.get::<Uuid, _>("id"),
        "batch_date": day,
        "batch_number": row.get::<i32, _>("batch_number"),
        "start_position": row.get::<i32, _>("start_position"),
        "end_position": row.get::<i32, _>("end_position"),
        "status": row.get::<Option<String>, _>("status"),
        "contacts": snapshot,
    }))
}

// ---------------------------------------------------------------- invitations

/// `POST /invitations` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    #[serde(default)]
    pub contacts: Option<Vec<Contact>>,
    #[serde(default)]
    pub batch_id: Option<Uuid>,
    /// Contacts picked from the batch; absent = the whole batch.
    #[serde(default)]
    pub contact_ids: Option<Vec<String>>,
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /invitations`: see [`invite`].
#[tracing::instrument(skip_all, fields(sponsor_id = %sponsor))]
pub async fn post_invitations(
    User { id: sponsor, .. }: User,
    State(state): State<AppState>,
    Json(req): Json<InviteRequest>,
) -> Result<Response, ApiError> {
    let out = invite(&state.db, sponsor, req, Utc::now(), &state.invite_url_base).await?;
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

fn limit_error(e: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(d) = &e {
        if d.code().as_deref() == Some("WL429") {
            let remaining = d
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|p| p.detail())
                .and_then(|s| s.strip_prefix("remaining="))
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0);
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "daily_limit_reached",
                "Limite de 50 invitations par jour atteinte (daily invitation limit reached)",
            )
            .details(format!("remaining_today={remaining}"))
            .hint("La limite se réinitialise à minuit, heure de Dakar.");
        }
    }
    db(e)
}

/// Sends invitations for `sponsor` at `now`: all of them within the daily limit, or none.
pub async fn invite(
    pool: &PgPool,
    sponsor: Uuid,
    req: InviteRequest,
    now: DateTime<Utc>,
    invite_url_base: &str,
) -> ApiResult<Value> {
    let message = req
        .message
        .map(|m| m.trim().chars().take(500).collect::<String>())
        .filter(|m| !m.is_empty());
    let mut tx = pool.begin().await.map_err(db)?;

    let (contacts, batch) = match (req.batch_id, req.contacts) {
        (Some(batch_id), None) => {
            let row = sqlx::query(
                "select contact_snapshot, status from referral.sponsor_contact_batches
                 where id = $1 and sponsor_user_id = $2 for update",
            )
            .bind(batch_id)
            .bind(sponsor)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or_else(|| {
                ApiError::not_found(
                    "batch_not_found",
                    "Lot de contacts introuvable (batch not found)",
                )
            })?;
            let status: Option<String> = row.get("status");
            if matches!(status.as_deref(), Some("sent") | Some("skipped")) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "batch_already_used",
                    "Ce lot de contacts a déjà été envoyé (batch already sent)",
                ));
            }
            let snapshot: Option<Value> = row.get("contact_snapshot");
            let all: Vec<Contact> = snapshot
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let picked: Vec<Contact> = match &req.contact_ids {
                None => all,
                Some(ids) => {
                    for id in ids {
                        if !all.iter().any(|c| c.contact_id.as_deref() == Some(id)) {
                            return Err(validation(&format!(
                                "Contact {id} absent du lot (contact not in the batch)"
                            )));
                        }
                    }
                    all.into_iter()
                        .filter(|c| ids.iter().any(|i| c.contact_id.as_deref() == Some(i)))
                        .collect()
                }
            };
            (picked, Some(batch_id))
        }
        (None, Some(contacts)) => (contacts, None),
        _ => {
            return Err(validation(
                "Donnez contacts ou batch_id (give either contacts or batch_id)",
            ))
        }
    };
    let contacts = normalise_contacts(contacts)?;

    // Inviting oneself is refused outright.
    let me = sqlx::query(
        "select phone, email from identity.users where id = $1 and coalesce(is_active, true)",
    )
    .bind(sponsor)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| {
        ApiError::unauthorized("user_not_found", "Utilisateur inconnu (unknown user)")
    })?;
    let (my_phone, my_email): (Option<String>, Option<String>) = (me.get("phone"), me.get("email"));
    if contacts.iter().any(|c| {
        (c.phone.is_some() && c.phone == my_phone) || (c.email.is_some() && c.email == my_email)
    }) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "self_referral",
            "Vous ne pouvez pas vous inviter vous-même (you cannot invite yourself)",
        ));
    }

    let code = sponsor_code(&mut tx, sponsor).await?;
    let validity = config_number(&mut tx, "referral.invitation_validity_days", 7.0)
        .await
        .map_err(db)? as i64;
    let expires_at = now + chrono::Duration::days(validity);

    let slot = sqlx::query(
        "select daily_limit_id, first_order from referral.take_invitation_slots($1, $2, $3)",
    )
    .bind(sponsor)
    .bind(now)
    .bind(contacts.len() as i32)
    .fetch_one(&mut *tx)
    .await
    .map_err(limit_error)?;
    let daily_limit_id: Uuid = slot.get("daily_limit_id");
    let first_order: i32 = slot.get("first_order");

    let sponsor_name: Option<String> =
        sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
            .bind(sponsor)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let sponsor_name = sponsor_name.unwrap_or_else(|| "Un ami".to_string());

    let mut out = Vec::with_capacity(contacts.len());
    for (i, c) in contacts.iter().enumerate() {
        let mut inserted = None;
        for _ in 0..5 {
            let referral_code = format!("{code}-{}", random_chars(5));
            let row = sqlx::query(
                "insert into referral.referrals
                     (sponsor_user_id, referral_code, invited_phone, invited_email, invited_name,
                      invitation_message, status, sent_at, expired_at, created_at,
                      daily_limit_id, batch_id, invitation_order)
                 values ($1, $2, $3, $4, $5, $6, 'sent', $7, $8, $7, $9, $10, $11)
                 on conflict (referral_code) do nothing
                 returning id",
            )
            .bind(sponsor)
            .bind(&referral_code)
            .bind(&c.phone)
            .bind(&c.email)
            .bind(&c.name)
            .bind(&message)
            .bind(now)
            .bind(expires_at)
            .bind(daily_limit_id)
            .bind(batch)
            .bind(first_order + i as i32)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            if let Some(r) = row {
                inserted = Some((r.get::<Uuid, _>("id"), referral_code));
                break;
            }
        }
        let (id, referral_code) =
            inserted.ok_or_else(|| ApiError::internal("could not allocate a referral code"))?;
        let invite_url = format!("{invite_url_base}{referral_code}");
        let recipient = Recipient {
            phone: c.phone.clone(),
            email: c.email.clone(),
        };
        let request = NotificationRequested::to_recipient(recipient, "referral_invitation")
            .var("sponsor_name", &sponsor_name)
            .var("invited_name", c.name.clone().unwrap_or_default())
            .var("referral_code", &referral_code)
            .var("invite_url", &invite_url)
            .var("validity_days", validity);
        events::publish(&mut tx, &request, crate::NAME)
            .await
            .map_err(db)?;
        out.push(json!({
            "id": id,
            "referral_code": referral_code,
            "invited_phone": c.phone,
            "invited_email": c.email,
            "invited_name": c.name,
            "invitation_order": first_order + i as i32,
            "expires_at": expires_at,
        }));
    }

    if let Some(batch_id) = batch {
        sqlx::query(
            "update referral.sponsor_contact_batches
             set status = 'sent', selected_count = $2, sent_count = $2, auto_selected = $3,
                 manual_selections = $4
             where id = $1",
        )
        .bind(batch_id)
        .bind(contacts.len() as i32)
        .bind(req.contact_ids.is_none())
        .bind(req.contact_ids.as_ref().map(|ids| json!(ids)))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "update referral.sponsor_daily_limits
             set preferred_selection_method = $2,
                 current_batch_start = (select end_position from referral.sponsor_contact_batches where id = $3)
             where id = $1",
        )
        .bind(daily_limit_id)
        .bind(if req.contact_ids.is_none() { "batch" } else { "individual" })
        .bind(batch_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    let remaining: i32 = sqlx::query_scalar(
        "select max_invitations_per_day - invitations_sent_today from referral.sponsor_daily_limits where id = $1",
    )
    .bind(daily_limit_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(json!({"sponsor_code": code, "invitations": out, "remaining_today": remaining}))
}

/// Marks invitations still `sent` after their expiry time as `expired`; returns how many.
pub async fn expire_invitations_once(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update referral.referrals set status = 'expired'
         where status = 'sent' and expired_at <= $1",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected())
}

/// `GET /me`: sponsor code, today's counter, points.
#[tracing::instrument(skip_all, fields(user_id = %me))]
pub async fn get_me(
    User { id: me, .. }: User,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let mut tx = state.db.begin().await.map_err(db)?;
    let code = sponsor_code(&mut tx, me).await?;
    let limit = config_number(&mut tx, "referral.daily_invitation_limit", 50.0)
        .await
        .map_err(db)? as i64;
    let sent: Option<i32> = sqlx::query_scalar(
        "select invitations_sent_today from referral.sponsor_daily_limits
         where sponsor_user_id = $1 and limit_date = $2",
    )
    .bind(me)
    .bind(dakar_day(Utc::now()))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let balances = crate::points::balances(&mut tx, me).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    let sent = sent.unwrap_or(0) as i64;
    Ok(axum::Json(json!({
        "sponsor_code": code,
        "invitations_today": sent,
        "remaining_today": (limit - sent).max(0),
        "points": balances,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_contacts() {
        assert_eq!(name_prefix("Ndèye Awa"), "NDEY");
        assert_eq!(name_prefix(""), "WOLO");
        let c = normalise_contacts(vec![Contact {
            contact_id: None,
            name: Some(" Awa ".into()),
            phone: Some("77 123 45 67".into()),
            email: None,
        }])
        .unwrap();
        assert_eq!(c[0].phone.as_deref(), Some("+221771234567"));
        assert_eq!(c[0].name.as_deref(), Some("Awa"));
        let dup = vec![
            Contact {
                contact_id: None,
                name: None,
                phone: Some("771234567".into()),
                email: None,
            },
            Contact {
                contact_id: None,
                name: None,
                phone: Some("+221771234567".into()),
                email: None,
            },
        ];
        assert!(normalise_contacts(dup).is_err());
    }
}
