//! Custom endpoints: close, invitations and their tracking, view/share counters, the public
//! pot page. They run on the service's pool (table owner) with the access checks written out
//! here; each request is one transaction.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use crate::{
    lifecycle::{close_pot, expires_at, CloseError},
    AppState,
};
use rest::input::{db, uuid as parse_id};

pub use rest::input::{body, normalise_email, normalise_phone, validation};

fn internal(e: anyhow::Error) -> ApiError {
    match e.downcast::<sqlx::Error>() {
        Ok(e) => db(e),
        Err(e) => {
            tracing::error!(error = %e, "pots endpoint failed");
            ApiError::internal("see the server log")
        }
    }
}

fn pot_not_found() -> ApiError {
    ApiError::not_found("pot_not_found", "Cagnotte introuvable (pot not found)")
}

/// A request transaction carrying the caller's claims and headers (for `wolo.audit()` and the
/// audit triggers), whose writes are the service's own (table owner), not the caller's role:
/// the access checks are written out in the handlers.
async fn service_tx(
    state: &AppState,
    caller: &auth::Caller,
    method: &str,
    path: &str,
    headers: &HeaderMap,
) -> ApiResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = rest::begin(&state.db, caller, method, path, headers, false).await?;
    sqlx::query("set local role none")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    Ok(tx)
}

/// The caller must be the pot's owner (or an admin). Locks the pot row.
async fn owned_pot(
    conn: &mut sqlx::PgConnection,
    caller: &auth::Caller,
    pot_id: Uuid,
) -> ApiResult<PotRow> {
    let user = rest::require_user(caller)?;
    let pot: Option<PotRow> = sqlx::query_as(
        "select id, owner_user_id, title, birthday_date, coalesce(status, 'scheduled')
         from pots.pots where id = $1 for update",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let pot = pot.ok_or_else(pot_not_found)?;
    if pot.1 != user && caller.role != auth::Role::Admin {
        return Err(ApiError::forbidden(
            "Seul le propriétaire de la cagnotte peut faire cela (only the pot's owner may do this)",
        ));
    }
    Ok(pot)
}

/// id, owner_user_id, title, birthday_date, status.
type PotRow = (Uuid, Uuid, String, NaiveDate, String);

// ---------------------------------------------------------------- close

#[derive(Deserialize, Default)]
struct CloseRequest {
    reason: Option<String>,
}

/// `POST /pots/{id}/close` {reason?}: the owner closes the pot.
pub async fn post_close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let pot_id = parse_id(&id, "pot")?;
    let req: CloseRequest = if bytes.is_empty() {
        CloseRequest::default()
    } else {
        body(&bytes)?
    };
    let reason = req
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "owner".to_string());
    if reason.chars().count() > 100 {
        return Err(validation(
            "reason : 100 caractères au plus (reason: at most 100 characters)",
        ));
    }
    rest::require_user(&caller)?;
    let path = format!("/pots/{pot_id}/close");
    let mut tx = service_tx(&state, &caller, "POST", &path, &headers).await?;
    owned_pot(&mut tx, &caller, pot_id).await?;
    match close_pot(&mut tx, pot_id, &reason, Utc::now())
        .await
        .map_err(internal)?
    {
        Ok(()) => {}
        Err(CloseError::NotFound) => return Err(pot_not_found()),
        Err(CloseError::AlreadyClosed) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "pot_closed",
                "Cette cagnotte est déjà fermée (the pot is already closed)",
            ))
        }
    }
    let pot = pot_json(&mut tx, pot_id).await?;
    tx.commit().await.map_err(db)?;
    Ok(Json(pot).into_response())
}

async fn pot_json(conn: &mut sqlx::PgConnection, pot_id: Uuid) -> ApiResult<Value> {
    sqlx::query_scalar("select to_jsonb(p) from pots.pots p where id = $1")
        .bind(pot_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}

// ---------------------------------------------------------------- invitations

#[derive(Deserialize)]
struct InvitationRequest {
    method: Option<String>,
    recipient: Option<String>,
    message: Option<String>,
}

/// `POST /pots/{id}/invitations` {method: whatsapp|sms|email, recipient, message?}: the
/// owner invites someone; the invitation row, `share_count + 1` and the
/// `notification.requested` event are written in one transaction.
pub async fn post_invitation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let pot_id = parse_id(&id, "pot")?;
    let req: InvitationRequest = body(&bytes)?;
    let method = req.method.unwrap_or_default().trim().to_lowercase();
    let recipient = req.recipient.unwrap_or_default();
    let (recipient, address) =
        match method.as_str() {
            "whatsapp" | "sms" => {
                let phone = normalise_phone(&recipient)?;
                (phone.clone(), json!({"phone": phone}))
            }
            "email" => {
                let email = normalise_email(&recipient)?;
                (email.clone(), json!({"email": email}))
            }
            _ => return Err(validation(
                "method doit valoir whatsapp, sms ou email (method must be whatsapp, sms or email)",
            )),
        };
    let message = req
        .message
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > 500) {
        return Err(validation(
            "message : 500 caractères au plus (message: at most 500 characters)",
        ));
    }

    rest::require_user(&caller)?;
    let path = format!("/pots/{pot_id}/invitations");
    let mut tx = service_tx(&state, &caller, "POST", &path, &headers).await?;
    let (_, owner, title, birthday, status) = owned_pot(&mut tx, &caller, pot_id).await?;
    if status == "closed" || status == "expired" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "pot_not_open",
            format!(
                "Cette cagnotte est {} : on ne peut plus y inviter (the pot is {status})",
                if status == "closed" {
                    "fermée"
                } else {
                    "expirée"
                }
            ),
        ));
    }
    let invitation: (Uuid, DateTime<Utc>) = sqlx::query_as(
        "insert into pots.pot_invitations
             (pot_id, invited_by_user_id, invitation_method, recipient_identifier, custom_message)
         values ($1, $2, $3, $4, $5)
         returning id, sent_at",
    )
    .bind(pot_id)
    .bind(rest::require_user(&caller)?)
    .bind(&method)
    .bind(&recipient)
    .bind(&message)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("update pots.pots set share_count = coalesce(share_count, 0) + 1 where id = $1")
        .bind(pot_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let inviter: Option<String> =
        sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let url = format!(
        "{}/p/{}?i={}",
        state.public_web_url.trim_end_matches('/'),
        pot_id,
        invitation.0
    );
    platform::outbox::publish(
        &mut tx,
        "notification.requested",
        &json!({
            "user_id": null,
            "recipient": address,
            "message": "pot_invitation",
            "channels": [method],
            "data": {
                "inviter_name": inviter.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "Un proche".into()),
                "pot_title": title,
                "birthday_date": birthday,
                "custom_message": message.clone().unwrap_or_default(),
                "pot_url": url,
            },
        }),
        crate::lifecycle::SOURCE,
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": invitation.0,
            "pot_id": pot_id,
            "invitation_method": method,
            "recipient_identifier": recipient,
            "custom_message": message,
            "sent_at": invitation.1,
            "url": url,
        })),
    )
        .into_response())
}

/// `POST /pots/invitations/{id}/opened` and `/clicked` (anonymous): the first call stamps the
/// time, later ones change nothing. A click implies the message was opened.
pub async fn post_invitation_opened(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    track(&state, &id, false).await
}

pub async fn post_invitation_clicked(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    track(&state, &id, true).await
}

/// opened_at, clicked_at.
type Stamps = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

async fn track(state: &AppState, id: &str, clicked: bool) -> Result<Response, ApiError> {
    let id = parse_id(id, "invitation")?;
    let row: Option<Stamps> = sqlx::query_as(
        "update pots.pot_invitations
         set opened_at = coalesce(opened_at, now()),
             clicked_at = case when $2 then coalesce(clicked_at, now()) else clicked_at end
         where id = $1
         returning opened_at, clicked_at",
    )
    .bind(id)
    .bind(clicked)
    .fetch_optional(&state.db)
    .await
    .map_err(db)?;
    let (opened_at, clicked_at) = row.ok_or_else(|| {
        ApiError::not_found(
            "invitation_not_found",
            "Invitation introuvable (invitation not found)",
        )
    })?;
    Ok(Json(json!({"id": id, "opened_at": opened_at, "clicked_at": clicked_at})).into_response())
}

// ---------------------------------------------------------------- counters

/// `POST /pots/{id}/view` (anonymous): one more view; 200 {view_count}.
pub async fn post_view(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    count(&state, &id, "view_count").await
}

/// `POST /pots/{id}/share` (anonymous): one more share (a visitor shared the link); 200
/// {share_count}.
pub async fn post_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    count(&state, &id, "share_count").await
}

async fn count(state: &AppState, id: &str, column: &'static str) -> Result<Response, ApiError> {
    let pot_id = parse_id(id, "pot")?;
    // One atomic statement: concurrent increments queue on the row lock, none is lost.
    let n: Option<i32> = sqlx::query_scalar(&format!(
        "update pots.pots set {column} = coalesce({column}, 0) + 1 where id = $1 returning {column}"
    ))
    .bind(pot_id)
    .fetch_optional(&state.db)
    .await
    .map_err(db)?;
    let n = n.ok_or_else(pot_not_found)?;
    Ok(Json(json!({ column: n })).into_response())
}

// ---------------------------------------------------------------- public page

/// How many donors the public page lists (newest first).
pub const PUBLIC_DONORS: i64 = 100;

/// `GET /pots/{id}/public`: everything the pot page shows, in one request. The pot's id is
/// its link: anyone holding it may see the page whatever the visibility (visibility governs
/// listing through the tables). Reads `donations.donations` and `packs.packs` directly.
pub async fn get_public(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pot_id = parse_id(&id, "pot")?;
    let mut tx = state.db.begin().await.map_err(db)?;
    sqlx::query("set transaction read only")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let pot: Option<PublicPot> = sqlx::query_as(
        "select id, title, description, birthday_date, coalesce(status, 'scheduled') as status,
                target_amount_cfa, raised_amount_cfa, donor_count, scheduled_open_at,
                actual_opened_at, closed_at, coalesce(visibility, 'private') as visibility,
                coalesce(show_donor_names, true) as show_donor_names,
                coalesce(enable_messages, true) as enable_messages,
                coalesce(allow_anonymous_donations, true) as allow_anonymous_donations,
                cover_image_url, gallery_images, preferred_pack_id,
                coalesce(view_count, 0) as view_count, coalesce(share_count, 0) as share_count
         from pots.pots where id = $1",
    )
    .bind(pot_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let p = pot.ok_or_else(pot_not_found)?;

    // The public columns: public_amount_cfa and public_donor_name are masked by the
    // database (show_amount, is_anonymous, the pot's show_donor_names).
    type DonorRow = (
        Uuid,
        Option<i32>,
        Option<bool>,
        Option<bool>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let donors: Vec<DonorRow> = sqlx::query_as(
        "select id, public_amount_cfa, is_anonymous, show_amount, public_donor_name, donation_message,
                confirmed_at
         from donations.donations
         where pot_id = $1 and status = 'succeeded'
         order by confirmed_at desc nulls last, created_at desc
         limit $2",
    )
    .bind(pot_id)
    .bind(PUBLIC_DONORS)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let donors: Vec<Value> = donors
        .into_iter()
        .map(|(id, amount, anon, show_amount, name, message, at)| {
            // is_anonymous NULL counts as anonymous (as public_donor_name does).
            let anonymous = anon != Some(false) || !p.show_donor_names;
            json!({
                "id": id,
                "anonymous": anonymous,
                "name": if anonymous { None } else { name },
                "amount_cfa": if show_amount == Some(true) { amount } else { None },
                "message": if p.enable_messages { message.filter(|m| !m.trim().is_empty()) } else { None },
                "confirmed_at": at,
            })
        })
        .collect();
    let messages: Vec<Value> = donors
        .iter()
        .filter(|d| !d["message"].is_null())
        .map(|d| json!({"name": d["name"], "message": d["message"], "confirmed_at": d["confirmed_at"]}))
        .collect();

    let pack: Option<Value> = match p.preferred_pack_id {
        None => None,
        Some(pack_id) => sqlx::query_scalar(
            "select jsonb_build_object('id', id, 'name', name, 'description', description,
                                       'category', category, 'price_cfa', base_price_cfa,
                                       'discounted_price_cfa', discounted_price_cfa,
                                       'image_url', image_url)
             from packs.packs where id = $1",
        )
        .bind(pack_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?,
    };
    tx.commit().await.map_err(db)?;

    let now = Utc::now();
    let today = now.with_timezone(&Dakar).date_naive();
    let days_left = (p.birthday_date - today).num_days().max(0);
    let progress = if p.target_amount_cfa > 0 {
        ((p.raised_amount_cfa as f64) * 100.0 / (p.target_amount_cfa as f64)).min(100.0)
    } else {
        0.0
    };
    let progress = (progress * 10.0).floor() / 10.0;
    Ok(Json(json!({
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "birthday_date": p.birthday_date,
        "status": p.status,
        "visibility": p.visibility,
        "target_amount_cfa": p.target_amount_cfa,
        "raised_amount_cfa": p.raised_amount_cfa,
        "progress_percent": progress,
        "donor_count": p.donor_count,
        "days_left": days_left,
        "scheduled_open_at": p.scheduled_open_at,
        "opened_at": p.actual_opened_at,
        "closed_at": p.closed_at,
        "expires_at": expires_at(p.birthday_date),
        "accepts_donations": p.status == "open",
        "allow_anonymous_donations": p.allow_anonymous_donations,
        "show_donor_names": p.show_donor_names,
        "enable_messages": p.enable_messages,
        "cover_image_url": p.cover_image_url,
        "gallery_images": p.gallery_images,
        "view_count": p.view_count,
        "share_count": p.share_count,
        "donors": donors,
        "messages": if p.enable_messages { messages } else { vec![] },
        "preferred_pack": pack,
    }))
    .into_response())
}

#[derive(sqlx::FromRow)]
struct PublicPot {
    id: Uuid,
    title: String,
    description: Option<String>,
    birthday_date: NaiveDate,
    status: String,
    target_amount_cfa: i32,
    raised_amount_cfa: i32,
    donor_count: i32,
    scheduled_open_at: DateTime<Utc>,
    actual_opened_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    visibility: String,
    show_donor_names: bool,
    enable_messages: bool,
    allow_anonymous_donations: bool,
    cover_image_url: Option<String>,
    gallery_images: Option<Value>,
    preferred_pack_id: Option<Uuid>,
    view_count: i32,
    share_count: i32,
}
