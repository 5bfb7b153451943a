//! `POST /accept`: the invited person, signed in, accepts with the code.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use platform::{
    events::{self, NotificationRequested, ReferralAccepted},
    names::first_name,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use rest::{
    extract::{Json, User},
    input::{db, validation},
    ApiError, ApiResult,
};

use crate::points::{earn, Earn};
use crate::system_config::config_number;
use crate::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    #[serde(default)]
    code: Option<String>,
}

/// `POST /accept` {code}: the signed-in invited user accepts (see [`accept`]).
pub async fn post_accept(
    User { id: user, .. }: User,
    State(state): State<AppState>,
    client: platform::Client,
    Json(req): Json<AcceptRequest>,
) -> Result<Response, ApiError> {
    let code = req
        .code
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| validation("Code de parrainage requis (code is required)"))?;
    let out = accept(&state.db, user, &code, &client, Utc::now()).await?;
    Ok(axum::Json(out).into_response())
}

fn refused(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError::new(status, code, message)
}

/// Accepts the invitation `code` for `user` at `now`. See docs/referral.md for the rules.
#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn accept(
    pool: &PgPool,
    user: Uuid,
    code: &str,
    client: &platform::Client,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let mut tx = pool.begin().await.map_err(db)?;
    // One acceptance at a time per user (a user has one sponsor; the unique index
    // idx_referrals_one_sponsor backs this up).
    platform::db::xact_lock(&mut tx, &format!("referral.accept:{user}"))
        .await
        .map_err(db)?;
    let me = sqlx::query(
        "select phone, email, created_at from identity.users where id = $1 and coalesce(is_active, true)",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| {
        ApiError::unauthorized("user_not_found", "Utilisateur inconnu (unknown user)")
    })?;
    let (phone, email): (Option<String>, Option<String>) = (me.get("phone"), me.get("email"));
    let signed_up: Option<DateTime<Utc>> = me.get("created_at");

    // An invitation code, or the sponsor's personal code matching the caller's phone/e-mail.
    let mut row = sqlx::query(
        "select id, sponsor_user_id, status, sponsored_user_id, expired_at, sent_at
         from referral.referrals where upper(referral_code) = $1 for update",
    )
    .bind(code)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    if row.is_none() {
        row = sqlx::query(
            "select r.id, r.sponsor_user_id, r.status, r.sponsored_user_id, r.expired_at, r.sent_at
             from referral.referrals r
             join referral.sponsor_codes s on s.sponsor_user_id = r.sponsor_user_id
             where upper(s.code) = $1 and r.status = 'sent'
               and ((r.invited_phone is not null and r.invited_phone = $2)
                    or (r.invited_email is not null and r.invited_email = $3))
             order by r.sent_at desc limit 1
             for update of r",
        )
        .bind(code)
        .bind(&phone)
        .bind(&email)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    }
    let row = row.ok_or_else(|| {
        ApiError::not_found(
            "referral_not_found",
            "Code de parrainage inconnu (unknown referral code)",
        )
    })?;
    let referral_id: Uuid = row.get("id");
    let sponsor: Uuid = row.get("sponsor_user_id");
    let status: String = row.get("status");
    let sponsored: Option<Uuid> = row.get("sponsored_user_id");
    let expired_at: Option<DateTime<Utc>> = row.get("expired_at");
    let sent_at: Option<DateTime<Utc>> = row.get("sent_at");

    if sponsor == user {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "self_referral",
            "Vous ne pouvez pas accepter votre propre invitation (self-referral)",
        ));
    }
    if status == "accepted" {
        if sponsored == Some(user) {
            let pot: Option<Uuid> =
                sqlx::query_scalar("select id from pots.pots where created_from_referral_id = $1")
                    .bind(referral_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            return Ok(
                json!({"referral_id": referral_id, "sponsor_user_id": sponsor, "status": "accepted", "pot_id": pot, "already_accepted": true}),
            );
        }
        return Err(refused(
            StatusCode::CONFLICT,
            "referral_already_used",
            "Cette invitation a déjà été utilisée (referral already accepted)",
        ));
    }
    if status == "expired" || expired_at.is_some_and(|t| t <= now) {
        sqlx::query(
            "update referral.referrals set status = 'expired' where id = $1 and status = 'sent'",
        )
        .bind(referral_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        return Err(refused(
            StatusCode::GONE,
            "referral_expired",
            "Cette invitation a expiré (referral expired)",
        ));
    }
    if status != "sent" {
        return Err(refused(
            StatusCode::CONFLICT,
            "referral_not_open",
            "Cette invitation n'est plus valable (referral declined)",
        ));
    }
    // Sponsorship brings new people: an account older than the invitation does not count.
    if let (Some(signed_up), Some(sent_at)) = (signed_up, sent_at) {
        if signed_up < sent_at {
            return Err(refused(
                StatusCode::CONFLICT,
                "not_a_new_user",
                "Ce compte existait avant l'invitation (the account predates the invitation)",
            ));
        }
    }
    let already: bool = sqlx::query_scalar(
        "select exists (select 1 from referral.referrals where sponsored_user_id = $1 and status = 'accepted')",
    )
    .bind(user)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if already {
        return Err(refused(
            StatusCode::CONFLICT,
            "already_sponsored",
            "Vous avez déjà un parrain (already sponsored)",
        ));
    }

    // Fraud signals: the sponsor's own phone (as user or as Wave payer), or the same device
    // (same user agent and IP as one of the sponsor's sessions of the last 30 days).
    let same_phone: bool = sqlx::query_scalar(
        "select $2::text is not null and (
                exists (select 1 from identity.users where id = $1 and phone = $2)
             or exists (select 1 from donations.donations where donor_user_id = $1 and donor_phone = $2))",
    )
    .bind(sponsor)
    .bind(&phone)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let same_device: bool = sqlx::query_scalar(
        "select $2::text is not null and $3::text is not null and exists (
             select 1 from identity.user_sessions
             where user_id = $1 and created_at > $4 - interval '30 days'
               and device_info->>'user_agent' = $2 and host(ip_address) = $3)",
    )
    .bind(sponsor)
    .bind(&client.user_agent)
    .bind(&client.ip)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let fraud = if same_phone {
        Some("same_phone")
    } else if same_device {
        Some("same_device")
    } else {
        None
    };
    let minor: bool = sqlx::query_scalar(
        "select coalesce((select profiles.is_minor(date_of_birth, $2) from profiles.profiles where user_id = $1), false)",
    )
    .bind(user)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;

    sqlx::query(
        "update referral.referrals
         set status = 'accepted', sponsored_user_id = $2, accepted_at = $3, ids_required = $4,
             fraud_reason = $5, flagged_at = case when $5::text is null then null else $3 end
         where id = $1",
    )
    .bind(referral_id)
    .bind(user)
    .bind(now)
    .bind(minor)
    .bind(fraud)
    .execute(&mut *tx)
    .await
    .map_err(db)?;

    let pot: Option<Uuid> = sqlx::query_scalar("select referral.create_referral_pot($1, $2)")
        .bind(referral_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;

    let base = config_number(&mut tx, "points.referral_accepted", 100.0)
        .await
        .map_err(db)? as i32;
    let earned = earn(
        &mut tx,
        Earn {
            sponsor,
            referral_id: Some(referral_id),
            event_type: "referral_accepted",
            key: format!("referral_accepted:{referral_id}"),
            base_points: base,
            now,
            pot_id: None,
            donation_id: None,
            revoked_reason: fraud,
        },
    )
    .await
    .map_err(db)?;

    let accepted = ReferralAccepted {
        referral_id,
        sponsor_user_id: sponsor,
        sponsored_user_id: user,
    };
    events::publish(&mut tx, &accepted, crate::NAME)
        .await
        .map_err(db)?;
    if fraud.is_none() {
        if let Some((_, points)) = earned {
            let delay = config_number(&mut tx, "points.maturation_delay_days", 14.0)
                .await
                .map_err(db)? as i64;
            let invitee: Option<String> =
                sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
                    .bind(user)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            let sponsor_first = first_name(&mut tx, sponsor).await.map_err(db)?;
            let request = NotificationRequested::to_user(sponsor, "referral_accepted")
                .var("sponsor_first_name", sponsor_first)
                .var(
                    "invitee_name",
                    invitee.unwrap_or_else(|| "Votre filleul".into()),
                )
                .var("points", points)
                .var("maturation_days", delay);
            events::publish(&mut tx, &request, crate::NAME)
                .await
                .map_err(db)?;
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(json!({
        "referral_id": referral_id,
        "sponsor_user_id": sponsor,
        "status": "accepted",
        "pot_id": pot,
        "flagged": fraud,
        "ids_required": minor,
    }))
}
