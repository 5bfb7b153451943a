//! The points ledger: earning (pending), maturation, revocation, balance and conversion.

use std::collections::BTreeMap;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use platform::{
    events::{
        self, DonationRefunded, DonationSucceeded, NotificationRequested, PotCredited, PotOpened,
        Published, Topic,
    },
    names::first_name,
    outbox::{Consumer, Event, Handler, HandlerFuture},
};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use rest::{
    extract::{Json, User},
    input::{db, validation},
    ApiError, ApiResult,
};
use tracing::Instrument;

use crate::system_config::config_number;
use crate::AppState;

/// One fact that earns points.
pub struct Earn<'a> {
    pub sponsor: Uuid,
    pub referral_id: Option<Uuid>,
    pub event_type: &'a str,
    /// One ledger line per key (`referral_accepted:<referral>`...).
    pub key: String,
    pub base_points: i32,
    pub now: DateTime<Utc>,
    pub pot_id: Option<Uuid>,
    pub donation_id: Option<Uuid>,
    /// Fraud: the line is written revoked (kept as evidence, never spendable).
    pub revoked_reason: Option<&'a str>,
}

/// The campaign multiplier: `packs.apply_campaign_boost` (packs service, V70) picks the
/// best active campaign within its budget. Returns (points, campaign).
pub async fn boost(
    conn: &mut PgConnection,
    sponsor: Uuid,
    points: i32,
    point_value_cfa: f64,
) -> Result<(i32, Option<Uuid>), sqlx::Error> {
    let row = sqlx::query("select points, campaign_id from packs.apply_campaign_boost($1, $2, $3)")
        .bind(sponsor)
        .bind(points)
        .bind(json!({"point_value_cfa": point_value_cfa}))
        .fetch_one(conn)
        .await?;
    Ok((row.get("points"), row.get("campaign_id")))
}

/// Writes a pending (or revoked) ledger line once per key. Returns (line id, points) when a
/// line was written.
pub async fn earn(
    conn: &mut PgConnection,
    e: Earn<'_>,
) -> Result<Option<(Uuid, i32)>, sqlx::Error> {
    if e.base_points <= 0 {
        return Ok(None);
    }
    let exists: bool = sqlx::query_scalar(
        "select exists (select 1 from referral.points_ledger where idempotency_key = $1)",
    )
    .bind(&e.key)
    .fetch_one(&mut *conn)
    .await?;
    if exists {
        return Ok(None);
    }
    let (points, campaign) = if e.revoked_reason.is_none() {
        let rate = config_number(conn, "points.conversion_rate_cfa_per_point", 10.0).await?;
        boost(conn, e.sponsor, e.base_points, rate).await?
    } else {
        (e.base_points, None)
    };
    let delay = config_number(conn, "points.maturation_delay_days", 14.0).await? as i64;
    let multiplier = (points as f64 / e.base_points as f64).min(9.99);
    let row = sqlx::query(
        "insert into referral.points_ledger
             (sponsor_user_id, referral_id, event_type, points_earned, status, matures_at,
              revoked_at, revoked_reason, base_multiplier, sponsor_boost_multiplier, description,
              idempotency_key, campaign_id, pot_id, donation_id, created_at)
         values ($1, $2, $3, $4, case when $6::text is null then 'pending' else 'revoked' end, $5,
                 case when $6::text is null then null else $12 end, $6, 1.00, round($7::numeric, 2),
                 $8, $9, $10, $11, $13, $12)
         on conflict (idempotency_key) where idempotency_key is not null do nothing
         returning id",
    )
    .bind(e.sponsor)
    .bind(e.referral_id)
    .bind(e.event_type)
    .bind(points)
    .bind(e.now + chrono::Duration::days(delay))
    .bind(e.revoked_reason)
    .bind(multiplier)
    .bind(format!("{} ({} points)", e.event_type, points))
    .bind(&e.key)
    .bind(campaign)
    .bind(e.pot_id)
    .bind(e.now)
    .bind(e.donation_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.get("id"), points)))
}

/// Pending, matured, revoked, spent and spendable points of a sponsor.
pub async fn balances(conn: &mut PgConnection, sponsor: Uuid) -> Result<Value, sqlx::Error> {
    let row = sqlx::query(
        "select coalesce(sum(points_earned) filter (where status = 'pending'), 0)::int as pending,
                coalesce(sum(points_earned) filter (where status = 'matured'), 0)::int as matured,
                coalesce(sum(points_earned) filter (where status = 'revoked'), 0)::int as revoked,
                coalesce(sum(points_spent) filter (where status <> 'revoked'), 0)::int as spent,
                referral.points_balance($1) as balance
         from referral.points_ledger where sponsor_user_id = $1",
    )
    .bind(sponsor)
    .fetch_one(conn)
    .await?;
    Ok(json!({
        "pending": row.get::<i32, _>("pending"),
        "matured": row.get::<i32, _>("matured"),
        "revoked": row.get::<i32, _>("revoked"),
        "spent": row.get::<i32, _>("spent"),
        "balance": row.get::<i32, _>("balance"),
    }))
}

// ---------------------------------------------------------------- consumer

struct PointsEvents;

/// The consumer's name (its cursor in `wolo.outbox_cursors`).
pub const CONSUMER: &str = "referral.points";
/// The topics it applies.
pub const TOPICS: &[&str] = &[
    PotOpened::TOPIC,
    DonationSucceeded::TOPIC,
    DonationRefunded::TOPIC,
];

impl Handler for PointsEvents {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let span = tracing::info_span!("event", consumer = CONSUMER, event_id = event.id, topic = %event.topic);
            let published = event.decode()?;
            apply_event(conn, &published, Utc::now())
                .instrument(span)
                .await
        })
    }
}

/// The consumer `referral.points` of [`TOPICS`].
pub fn points_consumer() -> Consumer {
    Consumer::new(CONSUMER, TOPICS, PointsEvents)
}

/// The referral whose pot `pot_id` is (accepted): (referral, sponsor, fraud reason).
async fn referral_of_pot(
    conn: &mut PgConnection,
    pot_id: Uuid,
) -> Result<Option<(Uuid, Uuid, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "select r.id, r.sponsor_user_id, r.fraud_reason
         from pots.pots p join referral.referrals r on r.id = p.created_from_referral_id
         where p.id = $1 and r.status = 'accepted'",
    )
    .bind(pot_id)
    .fetch_optional(&mut *conn)
    .await
}

/// What one event does to the ledger.
pub async fn apply_event(
    conn: &mut PgConnection,
    event: &Published,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match event {
        Published::PotOpened(e) => {
            let pot_id = e.pot_id;
            let Some((referral_id, sponsor, fraud)) = referral_of_pot(conn, pot_id).await? else {
                return Ok(());
            };
            let base = config_number(conn, "points.pot_opened", 50.0).await? as i32;
            earn(
                conn,
                Earn {
                    sponsor,
                    referral_id: Some(referral_id),
                    event_type: "pot_opened",
                    key: format!("pot_opened:{pot_id}"),
                    base_points: base,
                    now,
                    pot_id: Some(pot_id),
                    donation_id: None,
                    revoked_reason: fraud.as_deref(),
                },
            )
            .instrument(tracing::info_span!("pot_opened", pot_id = %pot_id))
            .await?;
        }
        Published::DonationSucceeded(e) => {
            let pot_id = e.pot_id;
            let Some((referral_id, sponsor, fraud)) = referral_of_pot(conn, pot_id).await? else {
                return Ok(());
            };
            // The sponsor paying into the pot to earn points does not count.
            let reason = fraud.as_deref().or(if e.donor_user_id == Some(sponsor) {
                Some("self_donation")
            } else {
                None
            });
            let base = config_number(conn, "points.first_donation", 25.0).await? as i32;
            earn(
                conn,
                Earn {
                    sponsor,
                    referral_id: Some(referral_id),
                    event_type: "first_donation",
                    key: format!("first_donation:{referral_id}"),
                    base_points: base,
                    now,
                    pot_id: Some(pot_id),
                    donation_id: Some(e.donation_id),
                    revoked_reason: reason,
                },
            )
            .instrument(tracing::info_span!(
                "first_donation",
                pot_id = %pot_id,
                donation_id = %e.donation_id
            ))
            .await?;
        }
        Published::DonationRefunded(e) => {
            sqlx::query(
                "update referral.points_ledger
                 set status = 'revoked', revoked_at = $2, revoked_reason = 'refunded_donation'
                 where donation_id = $1 and status = 'pending'",
            )
            .bind(e.donation_id)
            .bind(now)
            .execute(&mut *conn)
            .instrument(tracing::info_span!("refunded", donation_id = %e.donation_id))
            .await?;
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------- maturation

/// Matures pending lines due at `now` (not revoked; for a minor sponsored user, only once
/// the minor's and the guardian's identity documents are verified), refreshes the minors'
/// referral flags, and notifies each sponsor once. Returns the number of lines matured.
pub async fn mature_points_once(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "update referral.referrals r
         set both_ids_collected = (sp.id_hash is not null and gp.id_hash is not null),
             sponsored_id_verified = (sp.id_verified_at is not null),
             sponsor_id_verified = coalesce((select s.id_verified_at is not null from profiles.profiles s
                                             where s.user_id = r.sponsor_user_id), false)
         from profiles.profiles sp
         left join profiles.profiles gp on gp.user_id = sp.guardian_user_id
         where sp.user_id = r.sponsored_user_id and r.status = 'accepted' and r.ids_required
           and (r.both_ids_collected is distinct from (sp.id_hash is not null and gp.id_hash is not null)
                or r.sponsored_id_verified is distinct from (sp.id_verified_at is not null))",
    )
    .execute(&mut *tx)
    .await?;
    let delay = config_number(&mut tx, "points.maturation_delay_days", 14.0).await? as i32;
    let rows = sqlx::query(
        "with due as (
             select l.id
             from referral.points_ledger l
             left join referral.referrals r on r.id = l.referral_id
             left join profiles.profiles sp on sp.user_id = r.sponsored_user_id
             left join profiles.profiles gp on gp.user_id = sp.guardian_user_id
             where l.status = 'pending' and l.points_earned > 0
               and coalesce(l.matures_at, l.created_at + make_interval(days => $2)) <= $1
               and r.fraud_reason is null
               and (sp.user_id is null or not profiles.is_minor(sp.date_of_birth, $1)
                    or (sp.id_verified_at is not null and gp.id_verified_at is not null))
             for update of l skip locked
         )
         update referral.points_ledger l set status = 'matured', matured_at = $1
         from due where l.id = due.id
         returning l.sponsor_user_id, l.points_earned",
    )
    .bind(now)
    .bind(delay)
    .fetch_all(&mut *tx)
    .await?;
    let mut per_sponsor: BTreeMap<Uuid, i64> = BTreeMap::new();
    for r in &rows {
        *per_sponsor.entry(r.get("sponsor_user_id")).or_default() +=
            r.get::<i32, _>("points_earned") as i64;
    }
    let rate = config_number(&mut tx, "points.conversion_rate_cfa_per_point", 10.0).await?;
    for (sponsor, points) in per_sponsor {
        let balance: i32 = sqlx::query_scalar("select referral.points_balance($1)")
            .bind(sponsor)
            .fetch_one(&mut *tx)
            .await?;
        let request = NotificationRequested::to_user(sponsor, "points_matured")
            .var("first_name", first_name(&mut tx, sponsor).await?)
            .var("points", points)
            .var("balance_points", balance)
            .var("balance_cfa", (balance as f64 * rate).floor() as i64);
        events::publish(&mut tx, &request, crate::NAME).await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

// ---------------------------------------------------------------- conversion

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertRequest {
    #[serde(default)]
    points: Option<i64>,
    #[serde(default)]
    pot_id: Option<Uuid>,
}

/// `POST /points/convert` {points, pot_id}: see [`convert`].
#[tracing::instrument(skip_all, fields(sponsor_id = %sponsor))]
pub async fn post_convert(
    User { id: sponsor, .. }: User,
    State(state): State<AppState>,
    Json(req): Json<ConvertRequest>,
) -> Result<Response, ApiError> {
    let points = req
        .points
        .ok_or_else(|| validation("points est requis (points is required)"))?;
    let pot = req
        .pot_id
        .ok_or_else(|| validation("pot_id est requis (pot_id is required)"))?;
    let out = convert(&state.db, sponsor, points, pot, Utc::now()).await?;
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

/// Converts `points` matured points of `sponsor` into CFA credit on `pot`, in one
/// transaction under the sponsor's lock (concurrent conversions cannot overdraw).
#[tracing::instrument(skip_all, fields(sponsor_id = %sponsor, pot_id = %pot))]
pub async fn convert(
    pool: &PgPool,
    sponsor: Uuid,
    points: i64,
    pot: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    if points <= 0 || points > i32::MAX as i64 {
        return Err(validation(
            "points doit être un entier positif (points must be positive)",
        ));
    }
    let points = points as i32;
    let mut tx = pool.begin().await.map_err(db)?;
    platform::db::xact_lock(&mut tx, &format!("referral.points:{sponsor}"))
        .await
        .map_err(db)?;
    // The admins' switch (admin.feature_flags `points_conversion`).
    let open: bool = sqlx::query_scalar("select admin.flag_on('points_conversion')")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    if !open {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "feature_disabled",
            "La conversion des points n'est pas ouverte pour le moment (points conversion is disabled)",
        )
        .hint("Feature flag points_conversion is off"));
    }
    let balance: i32 = sqlx::query_scalar("select referral.points_balance($1)")
        .bind(sponsor)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    if points > balance {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "insufficient_points",
            "Solde de points insuffisant (not enough matured points)",
        )
        .details(format!("balance={balance}")));
    }
    let rate = config_number(&mut tx, "points.conversion_rate_cfa_per_point", 10.0)
        .await
        .map_err(db)?;
    let credit = (points as f64 * rate).floor() as i64;
    if credit <= 0 || credit > i32::MAX as i64 {
        return Err(validation(
            "Conversion trop petite (the credit would be 0 CFA)",
        ));
    }
    let pot_row = sqlx::query("select title, status from pots.pots where id = $1 for update")
        .bind(pot)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| {
            ApiError::not_found("pot_not_found", "Cagnotte introuvable (pot not found)")
        })?;
    let title: String = pot_row.get("title");
    let status: Option<String> = pot_row.get("status");
    if !matches!(
        status.as_deref(),
        Some("scheduled") | Some("open") | Some("funded")
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "pot_not_creditable",
            "Cette cagnotte ne peut plus recevoir de crédit (pot is closed or expired)",
        ));
    }
    let conversion: Uuid = sqlx::query_scalar(
        "insert into referral.points_conversions
             (sponsor_user_id, points_converted, credits_issued, conversion_rate, applied_to_pot_id, created_at)
         values ($1, $2, $3, $4::float8::numeric(10,4), $5, $6) returning id",
    )
    .bind(sponsor)
    .bind(points)
    .bind(credit as i32)
    .bind(rate)
    .bind(pot)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query(
        "insert into referral.points_ledger
             (sponsor_user_id, event_type, points_spent, status, matured_at, description,
              idempotency_key, pot_id, conversion_id, created_at)
         values ($1, 'conversion', $2, 'matured', $3, $4, $5, $6, $7, $3)",
    )
    .bind(sponsor)
    .bind(points)
    .bind(now)
    .bind(format!("conversion ({points} points -> {credit} CFA)"))
    .bind(format!("conversion:{conversion}"))
    .bind(pot)
    .bind(conversion)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("update pots.pots set raised_amount_cfa = raised_amount_cfa + $2 where id = $1")
        .bind(pot)
        .bind(credit as i32)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let credited = PotCredited {
        pot_id: pot,
        amount_cfa: credit,
        conversion_id: conversion,
    };
    events::publish(&mut tx, &credited, crate::NAME)
        .await
        .map_err(db)?;
    let left = balance - points;
    let request = NotificationRequested::to_user(sponsor, "points_converted")
        .var(
            "first_name",
            first_name(&mut tx, sponsor).await.map_err(db)?,
        )
        .var("points", points)
        .var("credit_cfa", credit)
        .var("pot_title", title)
        .var("balance_points", left);
    events::publish(&mut tx, &request, crate::NAME)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(json!({
        "conversion_id": conversion,
        "points_converted": points,
        "credits_issued": credit,
        "conversion_rate": rate,
        "pot_id": pot,
        "balance_points": left,
    }))
}
