//! The dispatcher: two racing over 1,000 messages, retries with backoff, providers (HTTP SMS
//! and WhatsApp, SMTP), and the analytics rollup.

use std::collections::HashSet;

use chrono::NaiveDate;
use notifications::{dispatch::dispatch_once, Channel};
use serde_json::json;
use testkit::TestDb;

use crate::{fakes::*, *};

fn otp(phone: &str, code: &str) -> notifications::MessageRequest {
    req("otp", phone, json!({"code": code, "minutes": 10}))
}

#[tokio::test]
async fn two_dispatchers_racing_never_send_a_message_twice() {
    let db = TestDb::new().await;
    let fake = FakeHttp::start().await;
    let now = t("2026-03-05T12:00:00Z");
    let mut conn = db.pool.acquire().await.unwrap();
    for i in 0..1000 {
        notifications::request_message_at(
            &mut conn,
            otp(&format!("+2217700{i:05}"), &format!("{i:06}")),
            now,
        )
        .await
        .unwrap();
    }
    drop(conn);
    // Two "replicas": separate pools, separate provider clients.
    let other = testkit::service_pool_of(&db.pool, "notifications");
    let run = |pool: sqlx::PgPool, url: String| {
        tokio::spawn(async move {
            let p = providers(Some(&url), None, None);
            let mut sent = 0;
            loop {
                let s = dispatch_once(&pool, &p, RETRY_BASE, t("2026-03-05T12:00:01Z"), 100)
                    .await
                    .unwrap();
                sent += s.sent;
                if s.claimed == 0 {
                    return sent;
                }
            }
        })
    };
    let a = run(db.service_pool("notifications"), fake.url.clone());
    let b = run(other.clone(), fake.url.clone());
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, 1000);
    assert!(a > 0 && b > 0, "both dispatchers took part: {a} + {b}");
    assert_eq!(fake.count(), 1000, "one request per message");
    let texts: HashSet<String> = fake
        .bodies()
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts.len(), 1000, "no message sent twice");
    assert_eq!(
        count(&db.pool, "status = 'sent' and provider = 'sms'").await,
        1000
    );
    // The request shape of common SMS APIs, with the key as a bearer token.
    let (auth, body) = fake.requests.lock().unwrap()[0].clone();
    assert_eq!(auth.as_deref(), Some("Bearer test-key"));
    assert_eq!(body["from"], "WOLO");
    assert!(body["to"].as_str().unwrap().starts_with("+2217700"));
}

#[tokio::test]
async fn provider_failures_are_retried_with_backoff_then_fail() {
    let db = TestDb::new().await;
    let fake = FakeHttp::start().await;
    let p = providers(Some(&fake.url), None, None);
    let t0 = t("2026-03-05T12:00:00Z");
    let id = queue(&db.pool, otp("+221770000001", "123456"), t0).await[0];

    // Two failures, then success.
    fake.fail(2, 503);
    let s = dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, t0, 100)
        .await
        .unwrap();
    assert_eq!(s.retried, 1);
    let r = row(&db.pool, id).await;
    assert_eq!(
        (r.status.as_deref(), r.retry_count),
        (Some("pending"), Some(1))
    );
    let next = r.next_retry_at.unwrap();
    assert!(
        next >= t0 + chrono::Duration::seconds(30)
            && next < t0 + chrono::Duration::milliseconds(37_500),
        "{next}"
    );
    assert!(r
        .error_message
        .unwrap()
        .contains("fake provider says no (503)"));
    // Not before next_retry_at.
    assert_eq!(
        dispatch_once(
            &db.service_pool("notifications"),
            &p,
            RETRY_BASE,
            t0 + chrono::Duration::seconds(29),
            100
        )
        .await
        .unwrap()
        .claimed,
        0
    );
    dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, next, 100)
        .await
        .unwrap();
    let r = row(&db.pool, id).await;
    let next2 = r.next_retry_at.unwrap();
    assert_eq!(r.retry_count, Some(2));
    assert!(
        next2 - next >= chrono::Duration::seconds(60)
            && next2 - next < chrono::Duration::seconds(75),
        "doubled"
    );
    let s = dispatch_once(
        &db.service_pool("notifications"),
        &p,
        RETRY_BASE,
        next2,
        100,
    )
    .await
    .unwrap();
    assert_eq!(s.sent, 1);
    let r = row(&db.pool, id).await;
    assert_eq!(r.status.as_deref(), Some("sent"));
    assert_eq!(r.provider_message_id.as_deref(), Some("fake-1"));
    assert_eq!(fake.count(), 3);

    // Always failing: 1 attempt + max_retries (3) retries, then failed with the provider's error.
    let id = queue(&db.pool, otp("+221770000002", "654321"), t0).await[0];
    fake.fail(100, 500);
    let mut at = t0;
    for attempt in 1..=4 {
        let s = dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, at, 100)
            .await
            .unwrap();
        assert_eq!(s.claimed, 1, "attempt {attempt}");
        let r = row(&db.pool, id).await;
        if attempt < 4 {
            at = r.next_retry_at.unwrap();
        } else {
            assert_eq!(r.status.as_deref(), Some("failed"));
            assert_eq!(r.retry_count, Some(4));
            assert_eq!(r.error_code.as_deref(), Some("500"));
            assert_eq!(
                r.error_message.as_deref(),
                Some("sms provider answered 500: fake provider says no (500)")
            );
        }
    }
    assert_eq!(
        dispatch_once(
            &db.service_pool("notifications"),
            &p,
            RETRY_BASE,
            at + chrono::Duration::days(1),
            100
        )
        .await
        .unwrap()
        .claimed,
        0
    );

    // A refusal a retry cannot fix (4xx): failed at once.
    let id = queue(&db.pool, otp("+221770000003", "000111"), t0).await[0];
    fake.fail(1, 400);
    let s = dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, t0, 100)
        .await
        .unwrap();
    assert_eq!(s.failed, 1);
    assert_eq!(row(&db.pool, id).await.status.as_deref(), Some("failed"));
}

#[tokio::test]
async fn whatsapp_and_email_providers() {
    let db = TestDb::new().await;
    let wa = FakeHttp::start().await;
    let sink = SmtpSink::start().await;
    let p = providers(None, Some(&wa.url), Some(&sink.url));
    let now = t("2026-03-05T12:00:00Z");
    let mut r = req(
        "pot_funded",
        "+221770000001",
        json!({"first_name": "Awa", "pot_title": "Anniv", "raised_cfa": 25000, "pack_name": "Spa"}),
    );
    r.recipient.email = Some("awa@example.sn".into());
    r.channels = Some(vec![Channel::Whatsapp, Channel::Email]);
    let ids = queue(&db.pool, r, now).await;
    let s = dispatch_once(&db.service_pool("notifications"), &p, RETRY_BASE, now, 100)
        .await
        .unwrap();
    assert_eq!(s.sent, 2, "{s:?}");

    let body = &wa.bodies()[0];
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["type"], "text");
    assert_eq!(body["to"], "221770000001");
    assert!(body["text"]["body"]
        .as_str()
        .unwrap()
        .contains("25 000 FCFA"));

    let mails = sink.messages.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["<awa@example.sn>".to_string()]);
    assert_eq!(mails[0].from, "<no-reply@wolo.sn>");
    assert!(mails[0].data.contains("no-reply@wolo.sn"));
    assert!(mails[0].data.contains("text/html"));
    let email_row = row(&db.pool, ids[1]).await;
    assert_eq!(email_row.provider.as_deref(), Some("smtp"));
    assert_eq!(
        email_row.provider_message_id,
        Some(format!("<{}@wolo.sn>", ids[1]))
    );
    assert!(mails[0].data.contains(&format!("{}@wolo.sn", ids[1])));
}

#[tokio::test]
async fn analytics_rollup_arithmetic_is_idempotent() {
    let db = TestDb::new().await;
    let tpl: uuid::Uuid = sqlx::query_scalar(
        "select id from notifications.notification_templates where template_key = 'donation_received.fr-SN'")
        .fetch_one(&db.pool).await.unwrap();
    // 8 sms of one day: 6 sent (5 delivered of which 3 opened and 1 clicked; 1 bounced), 2 failed,
    // plus one pending and one of the next day that must not count.
    let rows = [
        ("delivered", true, true, true, true),
        ("delivered", true, true, true, false),
        ("delivered", true, true, true, false),
        ("delivered", true, true, false, false),
        ("delivered", true, true, false, false),
        ("bounced", true, false, false, false),
        ("failed", false, false, false, false),
        ("failed", false, false, false, false),
    ];
    let day = "2026-03-05T10:00:00Z";
    for (status, sent, delivered, opened, clicked) in rows {
        sqlx::query(
            "insert into notifications.notifications
                 (recipient_identifier, template_id, channel, body, status, sent_at, delivered_at, opened_at, clicked_at, failed_at)
             values ('+221770000001', $1, 'sms', 'x', $2,
                     case when $3 then $7::timestamptz end, case when $4 then $7::timestamptz end,
                     case when $5 then $7::timestamptz end, case when $6 then $7::timestamptz end,
                     case when $2 = 'failed' then $7::timestamptz end)")
            .bind(tpl).bind(status).bind(sent).bind(delivered).bind(opened).bind(clicked).bind(t(day))
            .execute(&db.pool).await.unwrap();
    }
    sqlx::query("insert into notifications.notifications (recipient_identifier, template_id, channel, body, status, sent_at)
                 values ('+221770000001', $1, 'sms', 'x', 'sent', '2026-03-06T10:00:00Z'),
                        ('+221770000001', $1, 'sms', 'x', 'pending', null)")
        .bind(tpl).execute(&db.pool).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    for _ in 0..2 {
        notifications::jobs::rollup_analytics(&db.pool, day)
            .await
            .unwrap();
    }
    type Counts = (
        String,
        String,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
        String,
        String,
        String,
    );
    let got: Vec<Counts> = sqlx::query_as(
        "select template_key, channel, sent_count, delivered_count, failed_count, bounce_count,
                opened_count, clicked_count, delivery_rate::text, open_rate::text, click_rate::text
         from notifications.notification_analytics where date = '2026-03-05'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        got,
        vec![(
            "donation_received.fr-SN".into(),
            "sms".into(),
            6,
            5,
            2,
            1,
            3,
            1,
            "0.8333".into(),
            "0.6000".into(),
            "0.2000".into(),
        )]
    );
}
