//! Privacy: `GET /me/export` (everything WOLO holds on the caller) and `DELETE /me`
//! (account deletion). Both read or write every service's schema directly (one database);
//! docs/profiles.md lists what is exported, removed, anonymised and kept.

use axum::{
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use platform::events::{self, UserDeleted};
use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use rest::extract::User;
use rest::input::db;
use rest::{ApiError, ApiResult};

use crate::profile::profile_json;
use crate::AppState;

/// The export's sections: (name, query returning rows for `$1` = the user id).
pub const EXPORT_SECTIONS: &[(&str, &str)] = &[
    ("sessions", "select to_jsonb(s) - 'token_hash' as r from identity.user_sessions s where s.user_id = $1 order by s.created_at"),
    ("addresses", "select to_jsonb(a) as r from profiles.user_addresses a where a.user_id = $1 order by a.created_at"),
    ("sponsor_code", "select to_jsonb(c) as r from referral.sponsor_codes c where c.sponsor_user_id = $1"),
    ("referrals_sent", "select to_jsonb(r) as r from referral.referrals r where r.sponsor_user_id = $1 order by r.created_at"),
    ("referral_received", "select to_jsonb(r) - 'invitation_message' as r from referral.referrals r where r.sponsored_user_id = $1"),
    ("points_ledger", "select to_jsonb(l) as r from referral.points_ledger l where l.sponsor_user_id = $1 order by l.created_at"),
    ("points_balance", "select to_jsonb(b) as r from referral.points_balances b where b.sponsor_user_id = $1"),
    ("points_conversions", "select to_jsonb(c) as r from referral.points_conversions c where c.sponsor_user_id = $1 order by c.created_at"),
    ("sponsor_daily_limits", "select to_jsonb(d) as r from referral.sponsor_daily_limits d where d.sponsor_user_id = $1 order by d.limit_date"),
    ("contact_batches", "select to_jsonb(b) as r from referral.sponsor_contact_batches b where b.sponsor_user_id = $1 order by b.created_at"),
    ("pots", "select to_jsonb(p) as r from pots.pots p where p.owner_user_id = $1 order by p.created_at"),
    ("pot_invitations_sent", "select to_jsonb(i) as r from pots.pot_invitations i where i.invited_by_user_id = $1 order by i.created_at"),
    ("donations_made", "select to_jsonb(d) as r from donations.donations d where d.donor_user_id = $1 order by d.created_at"),
    // Given from the account's phone without signing in: by USSD or SMS (V119).
    ("donations_by_phone", "select to_jsonb(d) as r from donations.donations d where d.donor_user_id is null and d.channel <> 'web' and d.donor_phone = (select u.phone from identity.users u where u.id = $1) order by d.created_at"),
    ("sms_sent_to_wolo", "select to_jsonb(m) as r from donations.sms_messages m where m.from_phone = (select u.phone from identity.users u where u.id = $1) order by m.received_at"),
    ("ussd_sessions", "select to_jsonb(u) - 'authorization_code' as r from donations.ussd_sessions u where u.phone = (select i.phone from identity.users i where i.id = $1) order by u.created_at"),
    ("donations_received", "select jsonb_build_object('id', d.id, 'pot_id', d.pot_id, 'amount_cfa', d.amount_cfa, 'status', d.status, 'donor_name', case when d.is_anonymous is false then d.donor_name end, 'donation_message', d.donation_message, 'is_anonymous', d.is_anonymous, 'confirmed_at', d.confirmed_at, 'created_at', d.created_at) as r from donations.donations d join pots.pots p on p.id = d.pot_id where p.owner_user_id = $1 order by d.created_at"),
    ("refunds_of_my_donations", "select to_jsonb(f) as r from donations.refunds f join donations.donations d on d.id = f.donation_id where d.donor_user_id = $1"),
    ("qr_codes", "select to_jsonb(q) as r from qr.qr_codes q join pots.pots p on p.id = q.pot_id where p.owner_user_id = $1"),
    ("notifications", "select to_jsonb(n) - 'claim_token' as r from notifications.notifications n where n.user_id = $1 order by n.created_at"),
    ("notification_preferences", "select to_jsonb(n) as r from notifications.notification_preferences n where n.user_id = $1"),
    ("analytics_events", "select to_jsonb(e) as r from analytics.analytics_events e where e.user_id = $1 order by e.created_at"),
    ("analytics_events_archive", "select to_jsonb(e) as r from analytics.analytics_events_archive e where e.user_id = $1 order by e.timestamp"),
    ("ab_test_assignments", "select to_jsonb(a) as r from analytics.ab_test_assignments a where a.user_id = $1"),
    ("audit_logs_as_actor", "select to_jsonb(l) as r from admin.audit_logs l where l.actor_user_id = $1 order by l.created_at"),
];

async fn rows(conn: &mut PgConnection, sql: &str, user: Uuid) -> ApiResult<Value> {
    let list: Vec<Value> = sqlx::query_scalar(sql)
        .bind(user)
        .fetch_all(conn)
        .await
        .map_err(db)?;
    Ok(Value::Array(list))
}

/// The whole export of `user`.
pub async fn export(
    conn: &mut PgConnection,
    keys: &crate::IdKeys,
    user: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let mut doc = Map::new();
    doc.insert("exported_at".into(), json!(now));
    doc.insert("user_id".into(), json!(user));
    let me: Option<Value> = sqlx::query_scalar(
        "select to_jsonb(u) - 'password_hash' from identity.users u where u.id = $1",
    )
    .bind(user)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    doc.insert("user".into(), me.unwrap_or(Value::Null));
    doc.insert(
        "profile".into(),
        profile_json(conn, keys, user, platform::calendar::dakar_day(now))
            .await?
            .unwrap_or(Value::Null),
    );
    for (name, sql) in EXPORT_SECTIONS {
        doc.insert((*name).into(), rows(conn, sql, user).await?);
    }
    Ok(Value::Object(doc))
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn get_export(State(state): State<AppState>, user: User) -> Result<Response, ApiError> {
    let me = user.id;
    let mut tx = state.db.begin().await.map_err(db)?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let doc = export(&mut tx, &state.keys, me, state.clock.now()).await?;
    tx.commit().await.map_err(db)?;
    let mut res = Json(doc).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"wolo-export.json\""),
    );
    Ok(res)
}

/// What deletion keeps, and why (shown to the user and written to the audit log).
pub const KEPT: &[&str] = &[
    "donations (amounts, dates, pot, status) without name, phone, IP or message: accounting records, 7 years",
    "refunds and partner settlements: accounting records, 7 years",
    "points ledger and conversions: they moved money into pots, 7 years",
    "pots (amounts and dates) without title, description or pictures: donors' receipts refer to them",
    "QR codes issued and redeemed: partner settlements refer to them",
    "the user id, deactivated, without phone or e-mail: the records above point to it",
    "the audit log of this deletion",
];

/// Deletes `user`'s personal data in one transaction (the caller's request transaction,
/// switched back to the service's own role for the cross-schema writes).
pub async fn delete_account(
    conn: &mut PgConnection,
    user: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let contact: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("select phone, email from identity.users where id = $1 for update")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let Some((phone, email)) = contact else {
        return Err(ApiError::not_found(
            "user_not_found",
            "Utilisateur introuvable (user not found)",
        ));
    };
    let placeholder = format!("supprime-{}@deleted.wolo.invalid", user.simple());
    let statements: &[&str] = &[
        // identity: deactivated, contact scrubbed (a placeholder e-mail keeps check_contact_method),
        // the Google account unlinked (V110).
        "update identity.users set phone = null, email = $2, password_hash = null, is_active = false,
                last_login_at = null, google_sub = null where id = $1",
        "update identity.user_sessions set is_revoked = true, revoked_at = coalesce(revoked_at, $3),
                device_info = null, ip_address = null where user_id = $1",
        "delete from identity.password_reset_tokens where user_id = $1",
        "delete from identity.otp_codes where phone = $4",
        // profiles
        "delete from profiles.user_addresses where user_id = $1",
        "delete from profiles.profiles where user_id = $1",
        // referral: the sponsor's code and address book go; invitations never accepted go;
        // kept referrals lose names and messages; the user's own pending points are revoked.
        "delete from referral.sponsor_codes where sponsor_user_id = $1",
        "update referral.sponsor_contact_batches set contact_snapshot = null, manual_selections = null
         where sponsor_user_id = $1",
        "delete from referral.referrals r where r.sponsor_user_id = $1 and r.status <> 'accepted'
           and not exists (select 1 from referral.points_ledger l where l.referral_id = r.id)
           and not exists (select 1 from pots.pots p where p.created_from_referral_id = r.id)",
        "update referral.referrals set invited_name = null, invitation_message = null where sponsor_user_id = $1",
        "update referral.referrals set invited_phone = null, invited_email = $2, invited_name = null,
                invitation_message = null
         where sponsored_user_id = $1 or ($4::text is not null and invited_phone = $4)
            or ($5::text is not null and invited_email = $5)",
        "update referral.points_ledger set status = 'revoked', revoked_at = $3, revoked_reason = 'account_deleted'
         where sponsor_user_id = $1 and status = 'pending'",
        // pots: amounts kept, personal content removed.
        "update pots.pots set title = 'Cagnotte', description = null, cover_image_url = null,
                gallery_images = null where owner_user_id = $1",
        "update pots.pot_invitations set recipient_identifier = 'supprimé', custom_message = null
         where invited_by_user_id = $1",
        // donations: financial facts kept, donor PII removed.
        "update donations.donations set donor_name = null, donor_phone = null, donor_email = null, ip_address = null,
                user_agent = null, donation_message = null, is_anonymous = true
         where donor_user_id = $1 or ($4::text is not null and donor_phone = $4)",
        // notifications: messages and preferences go.
        "delete from notifications.notifications where user_id = $1",
        "delete from notifications.notification_preferences where user_id = $1",
        // analytics: events kept for aggregates, unlinked from the person.
        "update analytics.analytics_events set user_id = null, ip_address = null, user_agent = null
         where user_id = $1",
        "update analytics.analytics_events_archive set user_id = null, ip_address = null, user_agent = null
         where user_id = $1",
        "delete from analytics.ab_test_assignments where user_id = $1",
        // USSD sessions and SMS sent from the account's phone (V119): the number goes.
        "delete from donations.ussd_sessions where $4::text is not null and phone = $4",
        "update donations.sms_messages set from_phone = 'supprimé', body = ''
         where $4::text is not null and from_phone = $4",
    ];
    let mut counts = Map::new();
    for (i, sql) in statements.iter().enumerate() {
        let n = sqlx::query(sql)
            .bind(user)
            .bind(&placeholder)
            .bind(now)
            .bind(&phone)
            .bind(&email)
            .execute(&mut *conn)
            .await
            .map_err(db)?
            .rows_affected();
        counts.insert(format!("step_{i:02}"), json!(n));
    }
    sqlx::query("select wolo.audit('account_deleted', 'user', $1, null, $2, 'user_request', $3)")
        .bind(user)
        .bind(json!({"is_active": false}))
        .bind(json!({"kept": KEPT, "rows": counts}))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    events::publish(conn, &UserDeleted { user_id: user }, crate::NAME)
        .await
        .map_err(db)?;
    Ok(json!({"deleted": true, "user_id": user, "kept": KEPT}))
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn delete_me(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let User { caller, id: me } = user;
    // The request transaction carries the caller's claims and headers for wolo.audit();
    // the writes across schemas are the service's own (table owner), not the caller's role.
    let mut tx = rest::begin(&state.db, &caller, "DELETE", "/me", &headers, false).await?;
    sqlx::query("set local role none")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let out = delete_account(&mut tx, me, state.clock.now()).await?;
    tx.commit().await.map_err(db)?;
    // Every session of the account ended with it: this process forgets what it cached.
    rest::sessions::forget_user(me);
    Ok(Json(out).into_response())
}
