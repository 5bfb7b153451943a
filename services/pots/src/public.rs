//! `GET /pots/{id}/public`: the pot page in one request, and [`load`], what the suite's own
//! pot page (`web`) reads through the same code.
//!
//! Who may read it: anyone holding a link its owner gave out. A pot whose visibility is
//! `public` or `friends_only` opens with its id alone; a `private` pot needs its share key
//! (`?k=`, the owner's link, `platform::links`) or one of its invitations (`?i=`), unless the
//! caller is its owner or an admin: else 403 `pot_private`, with no data.

use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use platform::links::Links;
use rest::{
    extract::Anyone,
    input::{db, uuid as parse_id},
    ApiError,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{access::pot_not_found, lifecycle::expires_at, AppState};

/// How many donors the public page lists (newest first).
pub const PUBLIC_DONORS: i64 = 100;

/// The link's proof: `?k=<share key>` or `?i=<invitation id>` (either may be absent).
#[derive(Debug, Default, Deserialize)]
pub struct LinkProof {
    #[serde(default)]
    pub k: Option<String>,
    #[serde(default)]
    pub i: Option<String>,
}

/// A private pot, refused with no data.
pub fn pot_private() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "pot_private",
        "Cette cagnotte est privée : ouvrez le lien d'invitation reçu (private pot: open the invitation link)",
    )
}

/// Whether `proof` opens the pot `pot_id` of visibility `visibility`: any link for a
/// public or friends-only pot; the share key or one of its invitations for a private one.
pub async fn link_opens(
    pool: &PgPool,
    links: &Links,
    pot_id: Uuid,
    visibility: &str,
    proof: &LinkProof,
) -> Result<bool, ApiError> {
    if visibility != "private" {
        return Ok(true);
    }
    if let Some(k) = proof.k.as_deref() {
        if links.is_share_key(pot_id, k) {
            return Ok(true);
        }
    }
    let Some(i) = proof.i.as_deref().and_then(|i| Uuid::parse_str(i).ok()) else {
        return Ok(false);
    };
    sqlx::query_scalar(
        "select exists (select 1 from pots.pot_invitations where id = $1 and pot_id = $2)",
    )
    .bind(i)
    .bind(pot_id)
    .fetch_one(pool)
    .await
    .map_err(db)
}

/// `GET /pots/{id}/public`: everything the pot page shows, in one request (see the module
/// docs for who may read it). Reads `donations.donations` and `packs.packs` directly.
#[tracing::instrument(skip_all, fields(pot_id = %id))]
pub async fn get_public(
    State(state): State<AppState>,
    Anyone(caller): Anyone,
    Path(id): Path<String>,
    Query(proof): Query<LinkProof>,
) -> Result<Response, ApiError> {
    let pot_id = parse_id(&id, "pot")?;
    let view = load(&state.db, pot_id).await?.ok_or_else(pot_not_found)?;
    let privileged = caller.role == auth::Role::Admin
        || (caller.user_id.is_some() && caller.user_id == Some(view.owner_user_id));
    if !privileged && !link_opens(&state.db, &state.links, pot_id, &view.visibility, &proof).await?
    {
        return Err(pot_private());
    }
    Ok(Json(view.json).into_response())
}

/// A pot's public view: the JSON of `GET /pots/{id}/public`, with who owns it and its
/// visibility (for the access rule, which the caller applies).
pub struct PublicView {
    pub owner_user_id: Uuid,
    pub visibility: String,
    pub json: Value,
}

/// The public view of pot `pot_id` (`None`: no such pot), in one read-only transaction.
pub async fn load(pool: &PgPool, pot_id: Uuid) -> Result<Option<PublicView>, ApiError> {
    let mut tx = pool.begin_with("BEGIN READ ONLY").await.map_err(db)?;
    let pot: Option<PublicPot> = sqlx::query_as(
        "select id, owner_user_id, short_code, title, description, birthday_date,
                coalesce(status, 'scheduled') as status,
                target_amount_cfa, raised_amount_cfa, donor_count, scheduled_open_at,
                actual_opened_at, closed_at, coalesce(visibility, 'private') as visibility,
                coalesce(show_donor_names, true) as show_donor_names,
                coalesce(enable_messages, true) as enable_messages,
                coalesce(allow_anonymous_donations, true) as allow_anonymous_donations,
                cover_image_url, gallery_images, preferred_pack_id,
                coalesce(view_count, 0) as view_count, coalesce(share_count, 0) as share_count,
                -- The owner's first name, never a minor's.
                (select case when profiles.is_minor(pr.date_of_birth, now()) then null
                             else nullif(split_part(btrim(pr.full_name), ' ', 1), '') end
                 from profiles.profiles pr where pr.user_id = pots.owner_user_id)
                    as owner_first_name
         from pots.pots where id = $1",
    )
    .bind(pot_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(p) = pot else {
        return Ok(None);
    };

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
    let json = json!({
        "id": p.id,
        "title": p.title,
        "owner_first_name": p.owner_first_name,
        // What a relative types on a feature phone (USSD menu, SMS).
        "short_code": p.short_code,
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
    });
    Ok(Some(PublicView {
        owner_user_id: p.owner_user_id,
        visibility: p.visibility,
        json,
    }))
}

#[derive(sqlx::FromRow)]
struct PublicPot {
    id: Uuid,
    owner_user_id: Uuid,
    owner_first_name: Option<String>,
    short_code: String,
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
