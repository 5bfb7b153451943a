//! Partner settlements: awkward splits, minimum payout carried over, idempotent reruns,
//! approval and payment by admins (audited).

use auth::Role;
use chrono::{NaiveDate, TimeZone, Utc};
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::*;

/// A code of `pack` redeemed at `partner` at `at` (UTC), priced `price`.
async fn redeemed(pool: &PgPool, partner: Uuid, pack: Uuid, price: i32, at: chrono::DateTime<Utc>) {
    let owner = user(pool, None).await;
    let pot = pot(
        pool,
        owner,
        NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        Some(pack),
    )
    .await;
    sqlx::query(
        "insert into qr.qr_codes (pot_id, pack_id, code, redeemable_from, expires_at, status,
                                  redeemed_at, redeemed_by_partner_id, price_cfa)
         values ($1, $2, $3, '2026-09-01', '2027-09-01', 'redeemed', $4, $5, $6)",
    )
    .bind(pot)
    .bind(pack)
    .bind(config().secret.generate())
    .bind(at)
    .bind(partner)
    .bind(price)
    .execute(pool)
    .await
    .unwrap();
}

type Row = (
    NaiveDate,
    NaiveDate,
    i32,
    i32,
    i32,
    i32,
    String,
    i32,
    i32,
    i32,
    Uuid,
);

async fn settlements(pool: &PgPool, partner: Uuid) -> Vec<Row> {
    sqlx::query_as(
        "select period_start, period_end, total_redemptions_count, total_revenue_cfa,
                partner_share_cfa, wolo_commission_cfa, status, carried_in_cfa, payout_cfa,
                carried_out_cfa, id
         from qr.partner_settlements where partner_id = $1 order by period_start",
    )
    .bind(partner)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[tokio::test]
async fn awkward_split_minimum_payout_and_carry_over() {
    let s = stack().await;
    let pool = s.pool();
    let partner = partner(pool, "67.5", 10_000, "monthly").await;
    let pack = pack(pool, partner, 3_333, None).await;
    // Three in October (one at 23:30 on 31 October in Dakar = UTC), two in November.
    for at in [
        Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 15, 9, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 31, 23, 30, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 3, 18, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap(),
    ] {
        redeemed(pool, partner, pack, 3_333, at).await;
    }

    // On 5 November only October is finished.
    let now = Utc.with_ymd_and_hms(2026, 11, 5, 8, 0, 0).unwrap();
    assert_eq!(
        qr::jobs::build_settlements_once(&testkit::service_pool_of(pool, "qr"), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        qr::jobs::build_settlements_once(&testkit::service_pool_of(pool, "qr"), now)
            .await
            .unwrap(),
        0,
        "rerun builds nothing"
    );
    let rows = settlements(pool, partner).await;
    // 3 × 3 333 = 9 999; 67.5 % = 6 749.325 → 6 749 for the partner, 3 250 for WOLO.
    let oct = &rows[0];
    assert_eq!((oct.0, oct.1), (d(2026, 10, 1), d(2026, 10, 31)));
    assert_eq!((oct.2, oct.3, oct.4, oct.5), (3, 9_999, 6_749, 3_250));
    // Below the 10 000 minimum: nothing paid, all carried over.
    assert_eq!(
        (oct.6.as_str(), oct.7, oct.8, oct.9),
        ("carried_over", 0, 0, 6_749)
    );

    // On 2 December November is finished: 2 × 3 333 = 6 666 → 4 499 + 2 167; with the
    // 6 749 carried in, 11 248 is paid.
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap();
    assert_eq!(
        qr::jobs::build_settlements_once(&testkit::service_pool_of(pool, "qr"), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        qr::jobs::build_settlements_once(&testkit::service_pool_of(pool, "qr"), now)
            .await
            .unwrap(),
        0
    );
    let rows = settlements(pool, partner).await;
    assert_eq!(rows.len(), 2);
    let nov = &rows[1];
    assert_eq!((nov.0, nov.1), (d(2026, 11, 1), d(2026, 11, 30)));
    assert_eq!((nov.2, nov.3, nov.4, nov.5), (2, 6_666, 4_499, 2_167));
    assert_eq!(
        (nov.6.as_str(), nov.7, nov.8, nov.9),
        ("pending", 6_749, 11_248, 0)
    );
    // Nothing lost: all shares paid or carried.
    let shares: i32 = rows.iter().map(|r| r.4).sum();
    assert_eq!(
        shares,
        rows.iter().map(|r| r.8).sum::<i32>() + rows.last().unwrap().9
    );

    // Approve then mark paid, audited; the wrong order is refused.
    let admin = user(pool, None).await;
    let id = nov.10;
    let token = testkit::token(Role::Admin, admin);
    let post = |path: String, body: serde_json::Value, t: String| {
        s.app
            .request(Method::POST, &path)
            .bearer_auth(t)
            .json(&body)
            .send()
    };
    let b = expect(
        post(
            format!("/settlements/{id}/paid"),
            json!({"payment_reference": "WAVE-1"}),
            token.clone(),
        )
        .await
        .unwrap(),
        409,
    )
    .await;
    assert_eq!(b["code"], "invalid_status");
    let partner_staff = member(pool, partner, None).await;
    expect(
        post(
            format!("/settlements/{id}/approve"),
            json!({}),
            testkit::token(Role::Partner, partner_staff),
        )
        .await
        .unwrap(),
        403,
    )
    .await;
    let b = expect(
        post(
            format!("/settlements/{id}/approve"),
            json!({}),
            token.clone(),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(b["status"], "approved");
    assert_eq!(b["approved_by_user_id"], json!(admin));
    expect(
        post(
            format!("/settlements/{id}/approve"),
            json!({}),
            token.clone(),
        )
        .await
        .unwrap(),
        409,
    )
    .await;
    expect(
        post(format!("/settlements/{id}/paid"), json!({}), token.clone())
            .await
            .unwrap(),
        400,
    )
    .await;
    let b = expect(
        post(
            format!("/settlements/{id}/paid"),
            json!({"payment_reference": "WAVE-1"}),
            token.clone(),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(b["status"], "paid");
    assert_eq!(b["payment_reference"], "WAVE-1");
    let actions: Vec<(String, Option<Uuid>)> = sqlx::query_as(
        "select action, actor_user_id from admin.audit_logs where resource_id = $1 order by created_at, action",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a.0.as_str()).collect();
    assert!(names.contains(&"partner_settlement_approved"), "{names:?}");
    assert!(names.contains(&"partner_settlement_paid"), "{names:?}");
    assert!(actions.iter().all(|a| a.1 == Some(admin)));
}

#[tokio::test]
async fn weekly_terms_and_concurrent_builders() {
    let s = stack().await;
    let pool = s.pool();
    let partner = partner(pool, "80", 0, "weekly").await;
    let pack = pack(pool, partner, 5_000, None).await;
    // Monday 16 and Sunday 22 November: one week; Monday 23: the next.
    for day in [16, 22, 23] {
        redeemed(
            pool,
            partner,
            pack,
            5_000,
            Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
        )
        .await;
    }
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let pool = pool.clone();
        set.spawn(async move {
            qr::jobs::build_settlements_once(&testkit::service_pool_of(&pool, "qr"), now)
                .await
                .unwrap()
        });
    }
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n.unwrap();
    }
    assert_eq!(total, 2);
    let rows = settlements(pool, partner).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].0, rows[0].1, rows[0].2, rows[0].3, rows[0].4, rows[0].5),
        (d(2026, 11, 16), d(2026, 11, 22), 2, 10_000, 8_000, 2_000)
    );
    assert_eq!(
        (rows[1].0, rows[1].1, rows[1].2, rows[1].8),
        (d(2026, 11, 23), d(2026, 11, 29), 1, 4_000)
    );
}

#[tokio::test]
async fn a_paid_body_with_an_unknown_field_or_a_wrong_type_is_named_and_changes_nothing() {
    let s = stack().await;
    let pool = s.pool();
    let partner = partner(pool, "67.5", 0, "monthly").await;
    let pack = pack(pool, partner, 5_000, None).await;
    redeemed(
        pool,
        partner,
        pack,
        5_000,
        Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap(),
    )
    .await;
    let now = Utc.with_ymd_and_hms(2026, 11, 5, 8, 0, 0).unwrap();
    qr::jobs::build_settlements_once(&testkit::service_pool_of(pool, "qr"), now)
        .await
        .unwrap();
    let id = settlements(pool, partner).await[0].10;
    sqlx::query("update qr.partner_settlements set status = 'approved' where id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    let token = testkit::token(Role::Admin, user(pool, None).await);
    let paid = |body: serde_json::Value, t: Option<String>| {
        let mut r = s
            .app
            .request(Method::POST, &format!("/settlements/{id}/paid"))
            .json(&body);
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    // A misspelt field: 400 naming it, with the accepted ones; the settlement is unchanged.
    let b = expect(
        paid(json!({"payment_ref": "WAVE-1"}), Some(token.clone()))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    assert!(
        b["message"].as_str().unwrap().contains("payment_ref"),
        "{b}"
    );
    assert!(
        b["hint"].as_str().unwrap().contains("payment_reference"),
        "{b}"
    );
    // A wrong type names the field.
    let b = expect(
        paid(json!({"payment_reference": 42}), Some(token.clone()))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    assert!(
        b["message"].as_str().unwrap().contains("payment_reference"),
        "{b}"
    );
    // Anonymous: 401 before the body is read.
    expect(paid(json!({"payment_ref": 1}), None).await.unwrap(), 401).await;
    let status: String =
        sqlx::query_scalar("select status from qr.partner_settlements where id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(status, "approved");
    let audits: i64 =
        sqlx::query_scalar("select count(*) from admin.audit_logs where resource_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(audits, 0);
}
