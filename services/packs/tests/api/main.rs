//! The packs service over HTTP: the public catalog, audited admin management, partner
//! verification and venues, the pot's preferred pack, sponsor campaign boosts (raced).

use std::time::Duration;

use auth::Role;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::{TestApp, TestDb};
use uuid::Uuid;

struct Stack {
    db: TestDb,
    app: TestApp,
}

async fn stack() -> Stack {
    let db = TestDb::new().await;
    let app = testkit::spawn(packs::router(db.context_of(&packs::SERVICE))).await;
    for _ in 0..200 {
        if app.get("/packs?limit=0").await.status() != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Stack { db, app }
}

use testkit::expect;

async fn user(pool: &PgPool) -> Uuid {
    let phone = format!("+22178{:07}", Uuid::new_v4().as_u128() % 10_000_000);
    sqlx::query_scalar("insert into identity.users (phone) values ($1) returning id")
        .bind(phone)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn partner(pool: &PgPool) -> Uuid {
    sqlx::query_scalar(
        "insert into packs.partners (name, type, revenue_split_percentage, status)
         values ('Spa Saly', 'spa', 70, 'active') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn pack(pool: &PgPool, partner: Uuid, _extra: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into packs.packs (name, description, category, base_price_cfa, partner_id)
         values ('Massage', 'Une heure', 'spa', 20000, $1) returning id",
    )
    .bind(partner)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn set(pool: &PgPool, pack: Uuid, sql: &str) {
    sqlx::query(&format!("update packs.packs set {sql} where id = $1"))
        .bind(pack)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn catalog_shows_active_available_packs_with_quantity_left() {
    let s = stack().await;
    let pool = &s.db.pool;
    let p = partner(pool).await;
    let visible = pack(pool, p, "").await;
    let inactive = pack(pool, p, "").await;
    set(pool, inactive, "is_active = false").await;
    let ended = pack(pool, p, "").await;
    set(pool, ended, "available_until = current_date - 1").await;
    let future = pack(pool, p, "").await;
    set(pool, future, "available_from = current_date + 10").await;
    let sold_out = pack(pool, p, "").await;
    set(pool, sold_out, "total_available_quantity = 1").await;
    let one_left = pack(pool, p, "").await;
    set(
        pool,
        one_left,
        "total_available_quantity = 2, discounted_price_cfa = 15000",
    )
    .await;
    // One code issued for each of the last two.
    let owner = user(pool).await;
    for (i, pk) in [sold_out, one_left].into_iter().enumerate() {
        let pot: Uuid = sqlx::query_scalar(
            "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
             values ($1, 'A', 1000, current_date, now() - interval '30 days') returning id",
        )
        .bind(owner)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into qr.qr_codes (pot_id, pack_id, code, redeemable_from, expires_at)
             values ($1, $2, $3, now(), now() + interval '1 day')",
        )
        .bind(pot)
        .bind(pk)
        .bind(format!("CODE{i}"))
        .execute(pool)
        .await
        .unwrap();
    }
    let list = expect(s.app.get("/packs?select=id&order=id").await, 200).await;
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut want = vec![visible.to_string(), one_left.to_string()];
    want.sort();
    assert_eq!(ids, want);
    let price: (i32, Option<i32>, bool) = sqlx::query_as(
        "select packs.effective_price_cfa($1), packs.quantity_left($1), packs.is_available($2)",
    )
    .bind(one_left)
    .bind(sold_out)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(price, (15_000, Some(1), false));
    // A discount above the base price is refused.
    let bad = sqlx::query("update packs.packs set discounted_price_cfa = 25000 where id = $1")
        .bind(visible)
        .execute(pool)
        .await;
    assert!(bad.is_err());
}

#[tokio::test]
async fn admins_manage_partners_and_packs_audited_with_verification_and_venues() {
    let s = stack().await;
    let pool = &s.db.pool;
    let admin = user(pool).await;
    let token = testkit::token(Role::Admin, admin);
    let created = expect(
        s.app
            .request(Method::POST, "/partners")
            .bearer_auth(&token)
            .header("prefer", "return=representation")
            .json(&json!({"name": "Chez Loutcha", "type": "restaurant", "revenue_split_percentage": 75,
                          "venues": [{"name": "Médina"}, {"id": "almadies", "name": "Almadies"}],
                          "tax_id": "SN-123"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let row = &created[0];
    let id = row["id"].as_str().unwrap().to_string();
    assert_eq!(row["status"], "pending");
    assert!(row["verified_at"].is_null());
    let venues = row["venues"].as_array().unwrap();
    assert!(
        venues[0]["id"].as_str().is_some_and(|v| !v.is_empty()),
        "a venue gets an id"
    );
    assert_eq!(venues[1]["id"], "almadies");

    // Verification: activating stamps who and when.
    let updated = expect(
        s.app
            .request(Method::PATCH, &format!("/partners?id=eq.{id}"))
            .bearer_auth(&token)
            .header("prefer", "return=representation")
            .json(&json!({"status": "active"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(updated[0]["verified_by_user_id"], json!(admin));
    assert!(updated[0]["verified_at"].is_string());

    // Duplicate venue ids are refused.
    let dup = s
        .app
        .request(Method::PATCH, &format!("/partners?id=eq.{id}"))
        .bearer_auth(&token)
        .json(&json!({"venues": [{"id": "a"}, {"id": "a"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);

    let pack = expect(
        s.app
            .request(Method::POST, "/packs")
            .bearer_auth(&token)
            .header("prefer", "return=representation")
            .json(
                &json!({"name": "Thiéboudienne pour deux", "description": "Plat + boissons",
                          "category": "restaurant", "base_price_cfa": 12000, "partner_id": id}),
            )
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let pack_id = pack[0]["id"].as_str().unwrap().to_string();
    let actions: Vec<(String, Option<Uuid>, Option<Value>)> = sqlx::query_as(
        "select action, actor_user_id, new_values from admin.audit_logs order by created_at, id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "partners_insert").count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "partners_update").count(),
        1,
        "{names:?}"
    );
    assert!(names.contains(&"packs_insert"));
    assert!(actions.iter().all(|a| a.1 == Some(admin)));
    let ins = actions.iter().find(|a| a.0 == "partners_insert").unwrap();
    assert_eq!(ins.2.as_ref().unwrap()["tax_id"], "[redacted]");
    assert!(!pack_id.is_empty());

    // A user cannot manage packs.
    let u = user(pool).await;
    let res = s
        .app
        .request(Method::POST, "/packs")
        .bearer_auth(testkit::token(Role::User, u))
        .json(&json!({"name": "X", "description": "X", "category": "spa", "base_price_cfa": 1}))
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 401 || res.status() == 403,
        "{}",
        res.status()
    );
}

#[tokio::test]
async fn owner_picks_an_available_preferred_pack() {
    let s = stack().await;
    let pool = &s.db.pool;
    let owner = user(pool).await;
    let other = user(pool).await;
    let p = partner(pool).await;
    let pk = pack(pool, p, "").await;
    set(pool, pk, "discounted_price_cfa = 18000").await;
    let off = pack(pool, p, "").await;
    set(pool, off, "is_active = false").await;
    let pot: Uuid = sqlx::query_scalar(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at)
         values ($1, 'A', 1000, current_date + 40, now()) returning id",
    )
    .bind(owner)
    .fetch_one(pool)
    .await
    .unwrap();
    let post = |who: Uuid, role: Role, body: Value| {
        s.app
            .request(Method::POST, &format!("/pots/{pot}/preferred-pack"))
            .bearer_auth(testkit::token(role, who))
            .json(&body)
            .send()
    };
    expect(
        post(other, Role::User, json!({"pack_id": pk}))
            .await
            .unwrap(),
        403,
    )
    .await;
    let b = expect(
        post(owner, Role::User, json!({"pack_id": off}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(b["code"], "pack_unavailable");
    let b = expect(
        post(owner, Role::User, json!({"pack_id": pk}))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(b["effective_price_cfa"], 18000);
    let chosen: Option<Uuid> =
        sqlx::query_scalar("select preferred_pack_id from pots.pots where id = $1")
            .bind(pot)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(chosen, Some(pk));
    let res = s
        .app
        .request(
            Method::POST,
            &format!("/pots/{}/preferred-pack", Uuid::new_v4()),
        )
        .bearer_auth(testkit::token(Role::User, owner))
        .json(&json!({"pack_id": pk}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = s
        .app
        .request(Method::POST, &format!("/pots/{pot}/preferred-pack"))
        .json(&json!({"pack_id": pk}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Bodies: an unknown field, a wrong type and a missing pack_id are a 400 PGRST102
    // naming the field, and the pot keeps its pack.
    for (body, field) in [
        (json!({"pack_id": off, "pack": pk}), "pack"),
        (json!({"packId": off}), "packId"),
        (json!({"pack_id": 12}), "pack_id"),
        (json!({}), "pack_id"),
    ] {
        let b = expect(post(owner, Role::User, body).await.unwrap(), 400).await;
        assert_eq!(b["code"], "PGRST102", "{b}");
        assert!(b["message"].as_str().unwrap().contains(field), "{b}");
    }
    let chosen: Option<Uuid> =
        sqlx::query_scalar("select preferred_pack_id from pots.pots where id = $1")
            .bind(pot)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(chosen, Some(pk));
    // `null` still clears it.
    let b = expect(
        post(owner, Role::User, json!({"pack_id": null}))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(b["preferred_pack_id"], Value::Null);
}

async fn campaign(
    pool: &PgPool,
    budget: i32,
    multiplier: &str,
    categories: Option<Vec<&str>>,
    demo: Value,
) -> Uuid {
    // Campaigns act only while the admins' switch is on (V92).
    testkit::set_flag(pool, "sponsor_campaigns", true).await;
    sqlx::query_scalar(
        "insert into packs.sponsor_campaigns (sponsor_company_name, campaign_name, points_multiplier,
                 budget_cfa, starts_at, ends_at, status, pack_categories, target_demographics)
         values ('Orange', 'Tabaski', $1::numeric, $2, now() - interval '1 day', now() + interval '1 day',
                 'active', $3, $4) returning id",
    )
    .bind(multiplier)
    .bind(budget)
    .bind(categories.map(|c| c.into_iter().map(String::from).collect::<Vec<_>>()))
    .bind(demo)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn fifty_concurrent_boosts_never_overspend() {
    let s = stack().await;
    let pool = &s.db.pool;
    let sponsor = user(pool).await;
    // 10 points × 1.5 = 5 bonus points = 5 CFA each; 103 CFA pays 20 boosts (100), not 21.
    let c = campaign(pool, 103, "1.50", None, Value::Null).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let pool = pool.clone();
        set.spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            packs::apply_campaign_boost(&mut conn, sponsor, 10, &json!({}))
                .await
                .unwrap()
        });
    }
    let mut boosted = 0;
    let mut plain = 0;
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            (15, Some(id)) => {
                assert_eq!(id, c);
                boosted += 1
            }
            (10, None) => plain += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((boosted, plain), (20, 30));
    let (spent, conversions): (i32, i32) =
        sqlx::query_as("select spent_cfa, conversions from packs.sponsor_campaigns where id = $1")
            .bind(c)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((spent, conversions), (100, 20));
}

#[tokio::test]
async fn targeting_picks_the_matching_campaign_and_counters_count() {
    let s = stack().await;
    let pool = &s.db.pool;
    let sponsor = user(pool).await;
    let spa = campaign(
        pool,
        1000,
        "2.00",
        Some(vec!["spa"]),
        json!({"regions": ["Dakar"], "min_age": 18}),
    )
    .await;
    let cinema = campaign(pool, 1000, "1.20", Some(vec!["cinema"]), Value::Null).await;
    let mut conn = pool.acquire().await.unwrap();
    let r = packs::apply_campaign_boost(
        &mut conn,
        sponsor,
        10,
        &json!({"pack_category": "spa", "region": "Dakar", "age": 30}),
    )
    .await
    .unwrap();
    assert_eq!(r, (20, Some(spa)));
    let r = packs::apply_campaign_boost(
        &mut conn,
        sponsor,
        10,
        &json!({"pack_category": "spa", "region": "Thiès", "age": 30}),
    )
    .await
    .unwrap();
    assert_eq!(r, (10, None));
    let r = packs::apply_campaign_boost(
        &mut conn,
        sponsor,
        10,
        &json!({"pack_category": "spa", "region": "Dakar", "age": 16}),
    )
    .await
    .unwrap();
    assert_eq!(r, (10, None));
    let r =
        packs::apply_campaign_boost(&mut conn, sponsor, 10, &json!({"pack_category": "cinema"}))
            .await
            .unwrap();
    assert_eq!(r, (12, Some(cinema)));
    drop(conn);
    for kind in ["impression", "impression", "click"] {
        expect(
            s.app
                .request(Method::POST, &format!("/campaigns/{spa}/{kind}"))
                .send()
                .await
                .unwrap(),
            204,
        )
        .await;
    }
    expect(
        s.app
            .request(
                Method::POST,
                &format!("/campaigns/{}/click", Uuid::new_v4()),
            )
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let counts: (i32, i32, i32) = sqlx::query_as(
        "select impressions, clicks, conversions from packs.sponsor_campaigns where id = $1",
    )
    .bind(spa)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(counts, (2, 1, 1));
}

#[tokio::test]
async fn campaigns_boost_nothing_while_the_switch_is_off() {
    let s = stack().await;
    let pool = &s.db.pool;
    let sponsor = user(pool).await;
    let c = campaign(pool, 1000, "2.00", None, Value::Null).await;
    testkit::set_flag(pool, "sponsor_campaigns", false).await;
    let mut conn = pool.acquire().await.unwrap();
    let r = packs::apply_campaign_boost(&mut conn, sponsor, 10, &json!({}))
        .await
        .unwrap();
    assert_eq!(r, (10, None), "no boost with the flag off");
    let spent: Option<i32> =
        sqlx::query_scalar("select spent_cfa from packs.sponsor_campaigns where id = $1")
            .bind(c)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(spent.unwrap_or(0), 0);
    testkit::set_flag(pool, "sponsor_campaigns", true).await;
    let r = packs::apply_campaign_boost(&mut conn, sponsor, 10, &json!({}))
        .await
        .unwrap();
    assert_eq!(r, (20, Some(c)));
}
