//! The donation journey through the whole suite (`suite::suite_router`) and a fake Wave on
//! loopback: a user creates a pot, the lifecycle opens it, a donor checks out, Wave (fake)
//! completes the payment and POSTs a signed webhook, the donation succeeds, the pots consumer
//! raises the total and marks the pot funded, and the owner is notified (a notifications row).
//! Consumers and jobs are driven by hand, polling until the effect shows (with a deadline).
//! Every service runs as its own login role (`wolo_svc_<S>`, V102): the routers through
//! `suite::suite_router`, the jobs and consumers on `TestDb::service_pool`.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use testkit::{expect, TestDb};
use uuid::Uuid;

#[tokio::test]
async fn checkout_to_funded_pot_through_the_fake_wave() {
    let db = TestDb::new().await;
    let wave = fakewave::spawn(fakewave::FakeWaveConfig::default())
        .await
        .unwrap();
    // The services read their settings from this environment, pointed at the fake Wave as
    // `wolo serve` points it at its in-process fake.
    let env = platform::config::Env::process()
        .with("WOLO_WAVE_API_URL", &wave.url)
        .with("WOLO_WAVE_API_KEY", fakewave::DEV_API_KEY)
        .with("WOLO_WAVE_WEBHOOK_SECRET", fakewave::DEV_WEBHOOK_SECRET);
    let contexts = suite::service_contexts(&db.context(), &env).unwrap();
    let app = testkit::spawn(suite::suite_router_of(&contexts)).await;
    wave.set_webhook_url(Some(app.url("/donations/webhooks/wave")));
    app.wait_ready("/pots/pots?limit=0").await;

    // The birthday person and their pot (created through the REST layer, as the app does).
    let owner: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221771110000') returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, 'Awa Ndiaye', '1995-01-01')",
    )
    .bind(owner)
    .execute(&db.pool)
    .await
    .unwrap();
    let token = testkit::token(auth::Role::User, owner);
    let birthday = (Utc::now() + chrono::Duration::days(10)).date_naive();
    let created = expect(
        app.request(Method::POST, "/pots/pots")
            .bearer_auth(&token)
            .header("prefer", "return=representation")
            .json(&json!({"title": "Les 30 ans d'Awa", "target_amount_cfa": 20000, "birthday_date": birthday,
                          "owner_user_id": owner, "scheduled_open_at": Utc::now(), "visibility": "public"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let pot: Uuid = created[0]["id"].as_str().unwrap().parse().unwrap();
    // Jobs and consumers run as their service's role, as `wolo serve` runs them.
    let pots_pool = db.service_pool("pots");
    let notifications_pool = db.service_pool("notifications");
    pots::lifecycle::lifecycle_once(&pots_pool, Utc::now(), &platform::links::Links::local())
        .await
        .unwrap();
    let status: String = sqlx::query_scalar("select status from pots.pots where id = $1")
        .bind(pot)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "open");

    // A friend gives the whole target, anonymously signed out.
    let co = expect(
        app.request(Method::POST, "/donations/checkout")
            .header("idempotency-key", "journey-1")
            .json(&json!({"pot_id": pot, "amount_cfa": 20000, "donor_name": "Moussa", "donor_phone": "+221770000001",
                          "message": "Bon anniversaire !"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let donation: Uuid = co["donation_id"].as_str().unwrap().parse().unwrap();
    let launch = co["wave_payment_url"].as_str().unwrap().to_string();
    // The donor opens the pay page and presses « Payer » (the fake then signs and POSTs the webhook).
    let page = reqwest::get(&launch).await.unwrap().text().await.unwrap();
    assert!(page.contains("Payer"));
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirect
        .post(format!("{launch}/pay"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 303);
    assert_eq!(
        paid.headers()["location"].to_str().unwrap(),
        // No WOLO_PUBLIC_WEB_URL: the suite's own thank-you page.
        format!("{}/dons/{donation}/merci", db.config().public_web_url)
    );
    let status: String = sqlx::query_scalar("select status from donations.donations where id = $1")
        .bind(donation)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");

    // The consumers, until the pot is funded and the owner's message exists.
    let pots_consumer = pots::events::donations_consumer();
    let notify = notifications::events::requested_consumer();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        pots_consumer.run_once(&pots_pool).await.unwrap();
        notify.run_once(&notifications_pool).await.unwrap();
        pots::lifecycle::lifecycle_once(&pots_pool, Utc::now(), &platform::links::Links::local())
            .await
            .unwrap();
        let (pot_status, raised): (String, i32) =
            sqlx::query_as("select status, raised_amount_cfa from pots.pots where id = $1")
                .bind(pot)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        let notified: i64 = sqlx::query_scalar(
            "select count(*) from notifications.notifications n
             join notifications.notification_templates t on t.id = n.template_id
             where n.user_id = $1 and t.template_key like 'donation_received.%'",
        )
        .bind(owner)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if pot_status == "funded" && raised == 20000 && notified > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pot {pot_status} raised {raised}, owner notifications {notified}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let funded: i64 = sqlx::query_scalar(
        "select count(*) from wolo.outbox where topic = 'pot.funded' and payload->>'pot_id' = $1",
    )
    .bind(pot.to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(funded, 1);

    // The donation shows on the public pot (no donor identity beyond the public name).
    let rows = expect(
        app.get(&format!(
            "/donations/donations?pot_id=eq.{pot}&select=public_amount_cfa,public_donor_name,status"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(
        rows,
        json!([{"public_amount_cfa": 20000, "public_donor_name": "Moussa", "status": "succeeded"}])
    );
}

/// A relative on a feature phone gives through the USSD menu with Free Money (PayDunya, a
/// fake on loopback): the menu, the confirmation, the payment asked of PayDunya, the handset's
/// approval, the notification confirmed with PayDunya, the donation succeeded, the pot's total
/// raised by the pots consumer, and the donor's SMS receipt queued by the notifications service.
#[tokio::test]
async fn a_feature_phone_gives_through_the_ussd_menu() {
    let db = TestDb::new().await;
    let paydunya = fakepaydunya::spawn(fakepaydunya::FakePayDunyaConfig::default())
        .await
        .unwrap();
    let env = platform::config::Env::process()
        .with("WOLO_PAYDUNYA_MASTER_KEY", fakepaydunya::DEV_MASTER_KEY)
        .with("WOLO_PAYDUNYA_PRIVATE_KEY", fakepaydunya::DEV_PRIVATE_KEY)
        .with("WOLO_PAYDUNYA_TOKEN", fakepaydunya::DEV_TOKEN)
        .with("WOLO_PAYDUNYA_API_URL", &paydunya.api_url())
        .with(
            "WOLO_PAYDUNYA_PAYOUT_URL",
            &format!("{}/api/v2", paydunya.url),
        )
        .with("WOLO_SMS_GATEWAY_KEY", "journey-gateway-key");
    let contexts = suite::service_contexts(&db.context(), &env).unwrap();
    let app = testkit::spawn(suite::suite_router_of(&contexts)).await;
    app.wait_ready("/pots/pots?limit=0").await;
    let owner: Uuid = sqlx::query_scalar(
        "insert into identity.users (phone) values ('+221771110001') returning id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into profiles.profiles (user_id, full_name, date_of_birth) values ($1, 'Ndèye Fall', '1992-02-02')",
    )
    .bind(owner)
    .execute(&db.pool)
    .await
    .unwrap();
    let (pot, code): (Uuid, String) = sqlx::query_as(
        "insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date,
                                scheduled_open_at, status, actual_opened_at, visibility)
         values ($1, 'Les 34 ans de Ndèye', 50000, current_date + 20, now(), 'open', now(), 'public')
         returning id, short_code",
    )
    .bind(owner)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let phone = "+221760001234";
    let hop = |text: String| {
        let app = &app;
        async move {
            app.request(Method::POST, "/donations/ussd/journey-gateway-key")
                .form(&[
                    ("sessionId", "journey-ussd"),
                    ("phoneNumber", phone),
                    ("networkCode", "60802"),
                    ("text", text.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(hop(String::new()).await.starts_with("CON "));
    assert!(hop(code.clone())
        .await
        .contains("Cagnotte de Ndèye : 0 % atteint"));
    assert!(hop(format!("{code}*10000*2")).await.contains("Free Money"));
    let done = hop(format!("{code}*10000*2*1")).await;
    assert!(done.starts_with("END Merci"), "{done}");

    // The payment is asked of PayDunya in the background; the donor approves on the handset.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (donation, token) = loop {
        let row: Option<(Uuid, Option<String>)> = sqlx::query_as(
            "select id, provider_token from donations.donations where donor_phone = $1",
        )
        .bind(phone)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if let Some((id, Some(t))) = row {
            if !paydunya.softpay_calls().is_empty() {
                break (id, t);
            }
        }
        assert!(Instant::now() < deadline, "the payment never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let form = paydunya.complete(&token, "free_money_senegal").unwrap();
    let r = app
        .request(Method::POST, "/donations/webhooks/paydunya")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let status: String = sqlx::query_scalar("select status from donations.donations where id = $1")
        .bind(donation)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");

    // The consumers: the pot's total, and the donor's receipt by SMS.
    let pots_pool = db.service_pool("pots");
    let notifications_pool = db.service_pool("notifications");
    let pots_consumer = pots::events::donations_consumer();
    let notify = notifications::events::requested_consumer();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        pots_consumer.run_once(&pots_pool).await.unwrap();
        notify.run_once(&notifications_pool).await.unwrap();
        let raised: i32 =
            sqlx::query_scalar("select raised_amount_cfa from pots.pots where id = $1")
                .bind(pot)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        let receipt: Option<String> = sqlx::query_scalar(
            "select n.body from notifications.notifications n
             join notifications.notification_templates t on t.id = n.template_id
             where n.recipient_identifier = $1 and n.channel = 'sms' and t.template_key = 'donation_receipt.fr-SN'",
        )
        .bind(phone)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if raised == 10000 {
            if let Some(text) = receipt {
                assert!(
                    text.contains("10 000 FCFA") && text.contains("Ndèye"),
                    "{text}"
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "raised {raised}, receipt {receipt:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
