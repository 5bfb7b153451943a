//! The `pots.donations` consumer: raised total and donor count exactly once, funded once,
//! refunds, points credited, QR issuance.

use pots::lifecycle::lifecycle_once;
use serde_json::json;

use crate::*;

async fn open_pot(s: &Stack, owner: Uuid, target: i32) -> Uuid {
    let open_at = t("2027-02-13T00:00:00Z");
    let p = pot(
        s.pool(),
        owner,
        "2027-03-15".parse().unwrap(),
        open_at,
        "scheduled",
        target,
    )
    .await;
    lifecycle_once(&s.db.service_pool("pots"), open_at, &web())
        .await
        .unwrap();
    assert_eq!(status(s.pool(), p).await, "open");
    p
}

async fn totals(pool: &PgPool, p: Uuid) -> (i32, i32) {
    sqlx::query_as("select raised_amount_cfa, donor_count from pots.pots where id = $1")
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn succeeded(donation: Uuid, p: Uuid, amount: i32) -> Value {
    json!({
        "donation_id": donation, "pot_id": p, "amount_cfa": amount,
        "donor_user_id": null, "donor_phone": "+221771112233", "donor_name": "Awa",
        "is_anonymous": false, "confirmed_at": "2027-02-20T10:00:00Z",
    })
}

#[tokio::test]
async fn donations_fund_the_pot_once_even_when_events_repeat() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner, 25_000).await;
    let d1 = Uuid::new_v4();
    let d2 = Uuid::new_v4();
    publish(s.pool(), "donation.succeeded", succeeded(d1, p, 10_000)).await;
    // The same success delivered twice counts once.
    publish(s.pool(), "donation.succeeded", succeeded(d1, p, 10_000)).await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { totals(&pool, p).await.0 > 0 }
    })
    .await;
    // Let the duplicate go through too.
    drain(s.pool()).await;
    assert_eq!(totals(s.pool(), p).await, (10_000, 1));
    assert_eq!(status(s.pool(), p).await, "open");

    publish(s.pool(), "donation.succeeded", succeeded(d2, p, 15_000)).await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { status(&pool, p).await == "funded" }
    })
    .await;
    assert_eq!(totals(s.pool(), p).await, (25_000, 2));
    let ev = events(s.pool(), "pot.funded", p).await;
    assert_eq!(
        ev,
        vec![
            json!({"pot_id": p, "owner_user_id": owner, "raised_amount_cfa": 25000,
                    "target_amount_cfa": 25000, "preferred_pack_id": null,
                    "birthday_date": "2027-03-15"})
        ]
    );

    // The owner is told.
    let bodies = notified(s.pool(), owner, "pot_funded").await;
    assert!(
        bodies.iter().all(|b| b.contains("25 000")
            || b.contains("25\u{a0}000")
            || b.contains("25\u{202f}000")),
        "{bodies:?}"
    );

    // More money on a funded pot is counted; funded is published once only.
    publish(
        s.pool(),
        "donation.succeeded",
        succeeded(Uuid::new_v4(), p, 1_000),
    )
    .await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { totals(&pool, p).await.0 == 26_000 }
    })
    .await;
    assert_eq!(events(s.pool(), "pot.funded", p).await.len(), 1);
    // The job finds nothing more to do either.
    let c = lifecycle_once(
        &s.db.service_pool("pots"),
        t("2027-02-21T00:00:00Z"),
        &web(),
    )
    .await
    .unwrap();
    assert_eq!(c.funded, 0);
}

#[tokio::test]
async fn a_success_for_a_closed_pot_still_counts_the_money() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner, 5_000).await;
    sqlx::query("update pots.pots set status = 'closed', closed_at = now() where id = $1")
        .bind(p)
        .execute(s.pool())
        .await
        .unwrap();
    let d = Uuid::new_v4();
    publish(s.pool(), "donation.succeeded", succeeded(d, p, 7_000)).await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { totals(&pool, p).await.0 == 7_000 }
    })
    .await;
    assert_eq!(status(s.pool(), p).await, "closed");
    assert!(events(s.pool(), "pot.funded", p).await.is_empty());
    let at: String = sqlx::query_scalar(
        "select pot_status_at_credit from pots.pot_donation_credits where donation_id = $1",
    )
    .bind(d)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(at, "closed");
}

#[tokio::test]
async fn refunds_take_the_money_back_once_and_the_last_one_publishes_pot_refunded() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner, 100_000).await;
    let (d1, d2) = (Uuid::new_v4(), Uuid::new_v4());
    publish(s.pool(), "donation.succeeded", succeeded(d1, p, 3_000)).await;
    publish(s.pool(), "donation.succeeded", succeeded(d2, p, 2_000)).await;
    let refund = |d: Uuid, amount: i32| {
        json!({"donation_id": d, "pot_id": p, "amount_cfa": amount, "donor_user_id": null,
               "refund_id": Uuid::new_v4()})
    };
    publish(s.pool(), "donation.refunded", refund(d1, 3_000)).await;
    publish(s.pool(), "donation.refunded", refund(d1, 3_000)).await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { totals(&pool, p).await == (2_000, 1) }
    })
    .await;
    // Let the duplicate refund go through too.
    drain(s.pool()).await;
    assert_eq!(totals(s.pool(), p).await, (2_000, 1));
    assert!(events(s.pool(), "pot.refunded", p).await.is_empty());

    publish(s.pool(), "donation.refunded", refund(d2, 2_000)).await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { totals(&pool, p).await == (0, 0) }
    })
    .await;
    assert_eq!(
        events(s.pool(), "pot.refunded", p).await,
        vec![json!({"pot_id": p, "owner_user_id": owner})]
    );
    // A refund seen before its success: the late success is not counted.
    let d3 = Uuid::new_v4();
    publish(s.pool(), "donation.refunded", refund(d3, 4_000)).await;
    publish(s.pool(), "donation.succeeded", succeeded(d3, p, 4_000)).await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "select exists (select 1 from pots.pot_donation_credits where donation_id = $1)",
            )
            .bind(d3)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    })
    .await;
    drain(s.pool()).await;
    assert_eq!(totals(s.pool(), p).await, (0, 0));
}

#[tokio::test]
async fn points_credited_and_qr_issued_apply_their_transitions() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner, 10_000).await;
    // The converter adds the amount itself, then publishes pot.credited.
    sqlx::query("update pots.pots set raised_amount_cfa = raised_amount_cfa + 10000 where id = $1")
        .bind(p)
        .execute(s.pool())
        .await
        .unwrap();
    publish(
        s.pool(),
        "pot.credited",
        json!({"pot_id": p, "amount_cfa": 10000, "conversion_id": Uuid::new_v4()}),
    )
    .await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { status(&pool, p).await == "funded" }
    })
    .await;
    assert_eq!(totals(s.pool(), p).await.0, 10_000);

    publish(
        s.pool(),
        "qr.issued",
        json!({"qr_code_id": Uuid::new_v4(), "pot_id": p, "pack_id": Uuid::new_v4(),
               "owner_user_id": owner}),
    )
    .await;
    let pool = s.pool().clone();
    consume_until(s.pool(), || {
        let pool = pool.clone();
        async move { status(&pool, p).await == "closed" }
    })
    .await;
    let ev = events(s.pool(), "pot.closed", p).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["reason"], "qr_issued");
    assert_eq!(ev[0]["raised_amount_cfa"], 10000);
}

#[tokio::test]
async fn concurrent_consumer_passes_count_every_donation_once() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner, 40_000).await;
    // 50 donations of 1 000, each published twice.
    let ids: Vec<Uuid> = (0..50).map(|_| Uuid::new_v4()).collect();
    for d in ids.iter().chain(ids.iter()) {
        publish(s.pool(), "donation.succeeded", succeeded(*d, p, 1_000)).await;
    }
    // Four replicas polling at once.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let pool = s.pool().clone();
        set.spawn(async move {
            let consumer = pots::events::donations_consumer();
            for _ in 0..40 {
                consumer
                    .run_once(&testkit::service_pool_of(&pool, "pots"))
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    drain(s.pool()).await;
    assert_eq!(totals(s.pool(), p).await, (50_000, 50));
    assert_eq!(status(s.pool(), p).await, "funded");
    assert_eq!(events(s.pool(), "pot.funded", p).await.len(), 1);
}
