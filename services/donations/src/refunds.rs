//! Refunds (admin only): `POST /{id}/refund` for one donation, `POST /pots/{pot_id}/refund`
//! for every succeeded donation of an expired pot (reason `failed_pot`).
//!
//! Per donation: (1) in an admin request transaction, the donation (succeeded) is locked and
//! its `refunds` row created (unique per donation; a failed one is claimed again), audited,
//! committed; (2) Wave's refund call; (3) in a second admin transaction, on 200 the refund is
//! `completed`, the donation `refunded` (conditional update) and `donation.refunded` published
//! on a Wave error
//! the refund is `failed` with the error and the donation stays `succeeded`. Both audited.
//! `pot.refunded` is published by the pots service's consumer of `donation.refunded` once no
//! counted donation of the pot is left (one publisher, so the event is never doubled).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use platform::events::{self, DonationRefunded};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

use rest::{
    extract::{Admin, Json},
    input::{db, uuid as parse_id, validation},
    ApiError, ApiResult,
};

use crate::{
    checkout::wave_error,
    paydunya::{Operator, PayoutStatus},
    AppState, NAME,
};

pub const REASONS: [&str; 4] = ["user_request", "fraud", "failed_pot", "admin_action"];

/// The body of both refund endpoints.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Why (free text, required).
    #[serde(default)]
    reason: Option<String>,
    /// `user_request`, `fraud`, `admin_action` (default) or `failed_pot`.
    #[serde(default)]
    category: Option<String>,
}

/// The request's reason and category (`default_category` when none is given), checked.
fn reason_and_category(req: RefundRequest, default_category: &str) -> ApiResult<(String, String)> {
    let reason = req
        .reason
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| validation("Motif du remboursement requis (reason is required)"))?;
    let category = req.category.unwrap_or_else(|| default_category.to_string());
    if !REASONS.contains(&category.as_str()) {
        return Err(validation(
            "category : user_request, fraud, failed_pot ou admin_action (unknown category)",
        ));
    }
    Ok((reason, category))
}

/// `POST /{id}/refund` {reason, category?} (admin).
#[tracing::instrument(skip_all, fields(donation_id = %id))]
pub async fn post_refund(
    admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<RefundRequest>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "donation id")?;
    let (reason, category) = reason_and_category(req, "admin_action")?;
    let refund = refund_one(&state, &admin, &headers, id, &reason, &category).await?;
    Ok((StatusCode::OK, axum::Json(refund)).into_response())
}

/// `POST /pots/{pot_id}/refund` {reason} (admin): every succeeded donation of an expired pot.
#[tracing::instrument(skip_all, fields(pot_id = %pot_id))]
pub async fn post_pot_refund(
    admin: Admin,
    State(state): State<AppState>,
    Path(pot_id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<RefundRequest>,
) -> Result<Response, ApiError> {
    let pot_id = parse_id(&pot_id, "pot id")?;
    let (reason, _) = reason_and_category(req, "failed_pot")?;
    let status: Option<Option<String>> =
        sqlx::query_scalar("select status from pots.pots where id = $1")
            .bind(pot_id)
            .fetch_optional(&state.db)
            .await
            .map_err(db)?;
    let Some(status) = status else {
        return Err(ApiError::not_found(
            "pot_not_found",
            "Cagnotte introuvable (pot not found)",
        ));
    };
    if status.as_deref() != Some("expired") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "pot_not_expired",
            "Seule une cagnotte expirée (objectif non atteint) est remboursée en bloc (only an expired pot can be refunded)",
        ));
    }
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from donations.donations where pot_id = $1 and status = 'succeeded' order by confirmed_at",
    )
    .bind(pot_id)
    .fetch_all(&state.db)
    .await
    .map_err(db)?;
    let mut results = Vec::new();
    let mut failed = 0;
    for id in ids {
        match refund_one(&state, &admin, &headers, id, &reason, "failed_pot").await {
            Ok(r) => results.push(r),
            Err(e) => {
                failed += 1;
                results.push(json!({"donation_id": id, "error": e.message}));
            }
        }
    }
    let status = if failed == 0 {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    Ok((
        status,
        axum::Json(json!({"pot_id": pot_id, "failed": failed, "refunds": results})),
    )
        .into_response())
}

/// Refunds one succeeded donation; returns the refund row as JSON.
#[tracing::instrument(skip_all, fields(donation_id = %donation_id))]
pub async fn refund_one(
    state: &AppState,
    Admin { caller, id: admin }: &Admin,
    headers: &HeaderMap,
    donation_id: Uuid,
    reason: &str,
    category: &str,
) -> ApiResult<Value> {
    let path = format!("/donations/{donation_id}/refund");
    // (1) Claim. Written as the donations service (V108: admins read donations and refunds
    // but write them only through this endpoint); the admin's claims name them in the audit.
    let mut tx = rest::begin_as_service(&state.db, caller, "POST", &path, headers).await?;
    let d = sqlx::query(
        "select status, amount_cfa, wave_session_id, pot_id, payment_provider, donor_phone,
                payment_method
         from donations.donations where id = $1 for update",
    )
    .bind(donation_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| {
        ApiError::not_found("donation_not_found", "Don introuvable (donation not found)")
    })?;
    let status: Option<String> = d.get(0);
    let amount: i32 = d.get(1);
    let session: Option<String> = d.get(2);
    let pot_id: Uuid = d.get(3);
    let provider: String = d.get(4);
    let donor_phone: Option<String> = d.get(5);
    let method: Option<String> = d.get(6);
    if status.as_deref() != Some("succeeded") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "donation_not_refundable",
            "Seul un don réussi peut être remboursé (only a succeeded donation can be refunded)",
        )
        .details(format!("status: {}", status.unwrap_or_default())));
    }
    let refund_id: Option<Uuid> = sqlx::query_scalar(
        "insert into donations.refunds
             (donation_id, refunded_by_user_id, amount_cfa, reason, reason_description,
              wave_refund_status, processed_at)
         values ($1, $2, $3, $4, $5, 'processing', now())
         on conflict (donation_id) do update
             set refunded_by_user_id = excluded.refunded_by_user_id, reason = excluded.reason,
                 reason_description = excluded.reason_description,
                 wave_refund_status = 'processing', processed_at = now(), error_message = null
             where donations.refunds.wave_refund_status = 'failed'
                or (donations.refunds.wave_refund_status in ('pending', 'processing')
                    and donations.refunds.processed_at < now() - interval '5 minutes'
                    -- A PayDunya payout submitted is followed by the payout job, never sent twice.
                    and donations.refunds.wave_refund_id is null)
         returning id",
    )
    .bind(donation_id)
    .bind(admin)
    .bind(amount)
    .bind(category)
    .bind(reason)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(refund_id) = refund_id else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "refund_in_progress",
            "Un remboursement de ce don est déjà en cours (a refund of this donation is in progress)",
        ));
    };
    sqlx::query("select wolo.audit('donation_refund_requested', 'donation', $1, $2, $3, $4, $5)")
        .bind(donation_id)
        .bind(json!({"status": "succeeded"}))
        .bind(json!({"refund_id": refund_id, "amount_cfa": amount, "category": category}))
        .bind(reason)
        .bind(json!({"pot_id": pot_id}))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;

    // (2) The provider that took the money gives it back: Wave refunds the session;
    // PayDunya has no refund call, so the amount is paid out to the donor's wallet.
    let outcome = if provider == "paydunya" {
        match paydunya_payout(
            state,
            donor_phone.as_deref(),
            method.as_deref(),
            amount,
            refund_id,
        )
        .await
        {
            Ok(PayoutStatus::Success) => Ok(()),
            Ok(PayoutStatus::Pending | PayoutStatus::Created) => {
                // Submitted (or not known to be), not final: the payout job finishes it
                // (payouts_once).
                return refund_json(&mut *state.db.acquire().await.map_err(db)?, refund_id).await;
            }
            Ok(PayoutStatus::Failed) => Err(crate::wave::WaveError::BadResponse(
                "PayDunya payout failed".into(),
            )),
            Err(e) => Err(e),
        }
    } else {
        match session.as_deref() {
            Some(s) => state.wave.refund(s).await,
            None => Err(crate::wave::WaveError::BadResponse(
                "the donation has no Wave session".into(),
            )),
        }
    };

    // (3) Record the outcome.
    let mut tx = rest::begin_as_service(&state.db, caller, "POST", &path, headers).await?;
    // Lock order donation → refund, as in the claim: a concurrent claim holding the donation
    // and waiting on our refund row would deadlock otherwise.
    sqlx::query("select 1 from donations.donations where id = $1 for update")
        .bind(donation_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    match outcome {
        Ok(()) => {
            complete_refund(
                &mut tx,
                refund_id,
                donation_id,
                pot_id,
                amount,
                reason,
                category,
            )
            .await
            .map_err(db)?;
            let refund = refund_json(&mut tx, refund_id).await?;
            tx.commit().await.map_err(db)?;
            Ok(refund)
        }
        Err(e) => {
            tracing::warn!(donation = %donation_id, error = %e, "Wave refund failed");
            sqlx::query(
                "update donations.refunds set wave_refund_status = 'failed', error_message = $2 where id = $1",
            )
            .bind(refund_id)
            .bind(e.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "select wolo.audit('donation_refund_failed', 'donation', $1, null, $2, $3, null)",
            )
            .bind(donation_id)
            .bind(json!({"refund_id": refund_id, "error": e.to_string()}))
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            let err = if provider == "paydunya" {
                // PayDunya's payout: its own names, whatever the transport error type says.
                let timeout = matches!(e, crate::wave::WaveError::Timeout);
                ApiError::new(
                    if timeout {
                        StatusCode::GATEWAY_TIMEOUT
                    } else {
                        StatusCode::BAD_GATEWAY
                    },
                    "paydunya_payout_failed",
                    "Le reversement PayDunya sur le portefeuille du donateur n'a pas pu se faire ; le don reste réussi (PayDunya payout failed; the donation is unchanged)",
                )
                .hint(e.to_string())
            } else {
                match wave_error(&e) {
                    err if err.status == StatusCode::GATEWAY_TIMEOUT => err,
                    _ => ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "wave_refund_failed",
                        "Wave a refusé ou n'a pas pu faire le remboursement ; le don reste réussi (Wave refund failed; the donation is unchanged)",
                    )
                    .hint(e.to_string()),
                }
            };
            Err(err.details(format!("refund_id: {refund_id}")))
        }
    }
}

/// Records a refund whose money went back: the refund `completed`, the donation `refunded`
/// (once), `donation.refunded` published and audited, in the caller's transaction.
pub async fn complete_refund(
    tx: &mut sqlx::PgConnection,
    refund_id: Uuid,
    donation_id: Uuid,
    pot_id: Uuid,
    amount: i32,
    reason: &str,
    category: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update donations.refunds set wave_refund_status = 'completed', completed_at = now(),
                error_message = null
         where id = $1",
    )
    .bind(refund_id)
    .execute(&mut *tx)
    .await?;
    let changed = sqlx::query(
        "update donations.donations set status = 'refunded', refunded_at = now()
         where id = $1 and status = 'succeeded'",
    )
    .bind(donation_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 1 {
        let donor: Option<Uuid> =
            sqlx::query_scalar("select donor_user_id from donations.donations where id = $1")
                .bind(donation_id)
                .fetch_one(&mut *tx)
                .await?;
        let refunded = DonationRefunded {
            donation_id,
            pot_id,
            amount_cfa: i64::from(amount),
            donor_user_id: donor,
            refund_id,
        };
        events::publish(&mut *tx, &refunded, NAME).await?;
        sqlx::query("select wolo.audit('donation_refunded', 'donation', $1, $2, $3, $4, $5)")
            .bind(donation_id)
            .bind(json!({"status": "succeeded"}))
            .bind(json!({"status": "refunded", "refund_id": refund_id}))
            .bind(reason)
            .bind(json!({"pot_id": pot_id, "category": category}))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Pays `amount` back to the donor's wallet through PayDunya: the payout's token first, stored
/// on the refund (`wave_refund_id`) before it is submitted, so that a submit whose answer is
/// lost is followed by the payout job ([`payouts_once`]) with that token, and never paid
/// twice (the refund cannot be claimed again while it carries a token). An unknown outcome
/// answers `Pending`: the refund stays `processing`.
async fn paydunya_payout(
    state: &AppState,
    phone: Option<&str>,
    method: Option<&str>,
    amount: i32,
    refund_id: Uuid,
) -> Result<PayoutStatus, crate::wave::WaveError> {
    let bad = |m: &str| crate::wave::WaveError::BadResponse(m.to_string());
    let paydunya = state
        .paydunya
        .as_ref()
        .ok_or_else(|| bad("PayDunya is not configured"))?;
    let phone = phone.ok_or_else(|| bad("the donation has no donor phone to pay back"))?;
    let operator = method.and_then(Operator::from_method).ok_or_else(|| {
        bad("the donation was not paid by Orange Money or Free Money: refund it by hand")
    })?;
    // No money moves before the submit: any failure here is a plain failure.
    let token = paydunya
        .payout_token(phone, amount, operator)
        .await
        .map_err(|e| match e {
            crate::paydunya::PayDunyaError::Timeout => crate::wave::WaveError::Timeout,
            other => bad(&other.to_string()),
        })?;
    sqlx::query("update donations.refunds set wave_refund_id = $2 where id = $1")
        .bind(refund_id)
        .bind(&token)
        .execute(&state.db)
        .await
        .map_err(|e| bad(&e.to_string()))?;
    match paydunya.submit_payout(&token, refund_id).await {
        Ok(status) => Ok(status),
        Err(e) if e.outcome_unknown() => {
            tracing::warn!(%refund_id, error = %e, "PayDunya payout submitted, outcome unknown: the payout job follows it");
            Ok(PayoutStatus::Pending)
        }
        Err(e) => {
            // Refused: nothing was paid; the token is dropped so that a new request may try.
            sqlx::query("update donations.refunds set wave_refund_id = null where id = $1")
                .bind(refund_id)
                .execute(&state.db)
                .await
                .map_err(|e| bad(&e.to_string()))?;
            Err(bad(&e.to_string()))
        }
    }
}

/// Follows PayDunya payouts still `processing` (submitted, not final): a success completes
/// the refund ([`complete_refund`]), a failure marks it failed (the donation stays
/// succeeded). Returns how many ended.
pub async fn payouts_once(
    pool: &sqlx::PgPool,
    paydunya: &crate::paydunya::PayDunya,
) -> Result<u64, sqlx::Error> {
    let due: Vec<(Uuid, Uuid, String, Uuid, i32, String, String)> = sqlx::query_as(
        "select r.id, r.donation_id, r.wave_refund_id, d.pot_id, r.amount_cfa,
                coalesce(r.reason_description, ''), r.reason
           from donations.refunds r join donations.donations d on d.id = r.donation_id
          where r.wave_refund_status = 'processing' and r.wave_refund_id is not null
            and d.payment_provider = 'paydunya'
          limit 100",
    )
    .fetch_all(pool)
    .await?;
    let mut ended = 0;
    for (refund, donation, token, pot, amount, reason, category) in due {
        let status = match paydunya.payout_status(&token).await {
            // Never submitted (a submit that did not reach PayDunya): submitted now, with the
            // same token (PayDunya pays once per token).
            Ok(PayoutStatus::Created) => match paydunya.submit_payout(&token, refund).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%refund, error = %e, "PayDunya payout submit failed; tried again later");
                    continue;
                }
            },
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%refund, error = %e, "PayDunya payout status unknown");
                continue;
            }
        };
        let mut tx = pool.begin().await?;
        sqlx::query("select 1 from donations.donations where id = $1 for update")
            .bind(donation)
            .execute(&mut *tx)
            .await?;
        let still: Option<String> = sqlx::query_scalar(
            "select wave_refund_status from donations.refunds where id = $1 for update",
        )
        .bind(refund)
        .fetch_optional(&mut *tx)
        .await?;
        if still.as_deref() != Some("processing") {
            continue;
        }
        match status {
            PayoutStatus::Success => {
                complete_refund(&mut tx, refund, donation, pot, amount, &reason, &category).await?;
                ended += 1;
            }
            PayoutStatus::Failed => {
                sqlx::query(
                    "update donations.refunds set wave_refund_status = 'failed',
                            error_message = 'PayDunya payout failed' where id = $1",
                )
                .bind(refund)
                .execute(&mut *tx)
                .await?;
                ended += 1;
            }
            PayoutStatus::Pending | PayoutStatus::Created => {}
        }
        tx.commit().await?;
    }
    Ok(ended)
}

async fn refund_json(conn: &mut sqlx::PgConnection, id: Uuid) -> ApiResult<Value> {
    sqlx::query_scalar("select to_jsonb(r) from donations.refunds r where id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
        .map_err(db)
}
