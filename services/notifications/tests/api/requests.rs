//! request_message: rendering per locale, validation, preferences, quiet hours, digests,
//! template versions.

use notifications::{request_message_at, Channel, NotifyError};
use serde_json::json;
use testkit::TestDb;

use crate::*;

fn donation() -> serde_json::Value {
    json!({"first_name": "Awa", "donor_name": "Moussa", "amount_cfa": 15000,
           "pot_title": "Anniv Awa", "raised_cfa": 40000, "target_amount_cfa": 100000})
}

#[tokio::test]
async fn renders_each_locale_with_senegalese_amounts() {
    let db = TestDb::new().await;
    let now = t("2026-03-05T12:00:00Z");
    let cases = [
        (Some("fr-SN"), "Awa, Moussa vient de verser 15 000 FCFA dans votre cagnotte « Anniv Awa ». Total : 40 000 FCFA sur 100 000 FCFA."),
        (Some("wo-SN"), "Awa, Moussa yónnee na 15 000 FCFA ci sa cagnotte « Anniv Awa ». Ba leegi : 40 000 FCFA ci 100 000 FCFA."),
        (Some("en"), "Awa, Moussa just gave 15 000 FCFA to your pot \"Anniv Awa\". Total so far: 40 000 FCFA of 100 000 FCFA."),
        // No template in that locale: fr-SN.
        (Some("de-DE"), "Awa, Moussa vient de verser 15 000 FCFA dans votre cagnotte « Anniv Awa ». Total : 40 000 FCFA sur 100 000 FCFA."),
        (None, "Awa, Moussa vient de verser 15 000 FCFA dans votre cagnotte « Anniv Awa ». Total : 40 000 FCFA sur 100 000 FCFA."),
    ];
    for (locale, expected) in cases {
        let mut r = req("donation_received", "+221770000001", donation());
        r.locale = locale.map(str::to_string);
        r.channels = Some(vec![Channel::Sms]);
        let ids = queue(&db.pool, r, now).await;
        assert_eq!(ids.len(), 1);
        let got = row(&db.pool, ids[0]).await;
        assert_eq!(got.body, expected, "{locale:?}");
        assert_eq!(got.status.as_deref(), Some("pending"));
        assert_eq!(got.scheduled_at, Some(now));
    }

    // E-mail: subject and HTML too (values HTML-escaped), dates the Dakar way.
    let mut r = req(
        "qr_ready",
        "+221770000001",
        json!({"first_name": "Awa <3", "pack_name": "Ciné", "partner_name": "Canal Olympia",
               "redeemable_from": "2026-08-05", "expires_at": "2026-11-05", "qr_url": "https://wolo.sn/q/1"}),
    );
    r.recipient.email = Some("awa@example.sn".into());
    r.channels = Some(vec![Channel::Email]);
    let ids = queue(&db.pool, r, now).await;
    let html: Option<String> =
        sqlx::query_scalar("select body_html from notifications.notifications where id = $1")
            .bind(ids[0])
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let got = row(&db.pool, ids[0]).await;
    assert!(got.body.contains("5 août 2026"), "{}", got.body);
    assert!(html.unwrap().contains("Awa &lt;3"));
    assert!(got.subject.is_some());
}

#[tokio::test]
async fn bad_variables_are_refused_and_nothing_is_queued() {
    let db = TestDb::new().await;
    let now = t("2026-03-05T12:00:00Z");
    let mut conn = db.pool.acquire().await.unwrap();
    let mut data = donation();
    data.as_object_mut().unwrap().remove("amount_cfa");
    let err = request_message_at(
        &mut conn,
        req("donation_received", "+221770000001", data),
        now,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, NotifyError::MissingVariable { variable, .. } if variable == "amount_cfa"),
        "{err}"
    );

    let mut data = donation();
    data["amount_cfa"] = json!("quinze mille");
    let err = request_message_at(
        &mut conn,
        req("donation_received", "+221770000001", data),
        now,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, NotifyError::BadVariable { variable, .. } if variable == "amount_cfa"),
        "{err}"
    );

    let mut data = donation();
    data["typo_name"] = json!("x");
    let err = request_message_at(
        &mut conn,
        req("donation_received", "+221770000001", data),
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NotifyError::UnknownVariable { .. }));

    let err = request_message_at(
        &mut conn,
        req("no_such_message", "+221770000001", json!({})),
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, NotifyError::UnknownMessage(_)));

    // OTP is SMS only.
    let mut r = req(
        "otp",
        "+221770000001",
        json!({"code": "123456", "minutes": 10}),
    );
    r.channels = Some(vec![Channel::Email]);
    let err = request_message_at(&mut conn, r, now).await.unwrap_err();
    assert!(matches!(err, NotifyError::ChannelNotSupported { .. }));
    drop(conn);
    assert_eq!(count(&db.pool, "true").await, 0);
}

#[tokio::test]
async fn quiet_hours_defer_but_otp_goes_at_once() {
    let db = TestDb::new().await;
    let uid = user(&db.pool, "+221770000010", "fatou@example.sn").await;
    // 23:30 in Dakar (UTC+0 all year).
    let late = t("2026-03-05T23:30:00Z");
    let mut r = req(
        "pot_opened",
        "+221770000010",
        json!({"first_name": "Fatou", "pot_title": "Mes 30 ans", "birthday_date": "2026-04-04",
               "days_left": 30, "target_amount_cfa": 150000, "pot_url": "https://wolo.sn/p/1",
               "short_code": "482913"}),
    );
    r.user_id = Some(uid);
    // The reference configuration ships with whatsapp_notifications off: sms and e-mail.
    let ids = queue(&db.pool, r.clone(), late).await;
    assert_eq!(ids.len(), 2);
    // With the admins' switch on: sms, whatsapp and email (both addresses, defaults allow all).
    testkit::set_flag(&db.pool, "whatsapp_notifications", true).await;
    let ids = queue(&db.pool, r, late).await;
    assert_eq!(ids.len(), 3);
    let mut channels: Vec<String> =
        sqlx::query_scalar("select channel from notifications.notifications where id = any($1)")
            .bind(&ids)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    channels.sort();
    assert_eq!(channels, ["email", "sms", "whatsapp"]);
    for id in &ids {
        assert_eq!(
            row(&db.pool, *id).await.scheduled_at,
            Some(t("2026-03-06T08:00:00Z"))
        );
    }

    let mut otp = req(
        "otp",
        "+221770000010",
        json!({"code": "482913", "minutes": 10}),
    );
    otp.user_id = Some(uid);
    let otp_ids = queue(&db.pool, otp, late).await;
    assert_eq!(row(&db.pool, otp_ids[0]).await.scheduled_at, Some(late));

    // The dispatcher at 23:31 sends the OTP only (dev provider: the code stays readable).
    let p = providers(None, None, None);
    let s = notifications::dispatch::dispatch_once(
        &db.service_pool("notifications"),
        &p,
        RETRY_BASE,
        t("2026-03-05T23:31:00Z"),
        100,
    )
    .await
    .unwrap();
    assert_eq!((s.claimed, s.sent), (1, 1));
    let sent = row(&db.pool, otp_ids[0]).await;
    assert_eq!(sent.status.as_deref(), Some("sent"));
    assert_eq!(sent.provider.as_deref(), Some("dev"));
    assert!(sent.body.contains("482913"), "{}", sent.body);
    let s = notifications::dispatch::dispatch_once(
        &db.service_pool("notifications"),
        &p,
        RETRY_BASE,
        t("2026-03-06T08:00:00Z"),
        100,
    )
    .await
    .unwrap();
    // The deferred ones at 08:00: two without WhatsApp, then three with it.
    assert_eq!(s.sent, 5);

    // Custom quiet hours, and an explicit opt-out of pot messages and of e-mail.
    sqlx::query("insert into notifications.notification_preferences (user_id, quiet_hours_start, quiet_hours_end, email_enabled)
                 values ($1, '12:00', '14:00', false)")
        .bind(uid).execute(&db.pool).await.unwrap();
    let mut r = req(
        "pot_funded",
        "+221770000010",
        json!({"first_name": "Fatou", "pot_title": "Mes 30 ans", "raised_cfa": 150000, "pack_name": "Spa"}),
    );
    r.user_id = Some(uid);
    let ids = queue(&db.pool, r.clone(), t("2026-03-06T13:00:00Z")).await;
    assert_eq!(ids.len(), 2, "e-mail disabled");
    assert_eq!(
        row(&db.pool, ids[0]).await.scheduled_at,
        Some(t("2026-03-06T14:00:00Z"))
    );
    sqlx::query("update notifications.notification_preferences set pot_notifications = false where user_id = $1")
        .bind(uid).execute(&db.pool).await.unwrap();
    assert!(queue(&db.pool, r, t("2026-03-06T15:00:00Z"))
        .await
        .is_empty());
}

#[tokio::test]
async fn low_priority_messages_wait_for_the_digest() {
    let db = TestDb::new().await;
    let uid = user(&db.pool, "+221770000020", "ibou@example.sn").await;
    let data = |n: i64| json!({"sponsor_first_name": "Ibou", "invitee_name": format!("Ami {n}"), "points": 100, "maturation_days": 30});
    let mut ids = vec![];
    for (i, at) in [
        "2026-03-05T09:00:00Z",
        "2026-03-05T11:00:00Z",
        "2026-03-05T15:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let mut r = req("referral_accepted", "+221770000020", data(i as i64));
        r.user_id = Some(uid);
        r.channels = Some(vec![Channel::Sms]);
        ids.extend(queue(&db.pool, r, t(at)).await);
    }
    for id in &ids {
        let r = row(&db.pool, *id).await;
        assert!(r.held_for_digest);
        assert_eq!(r.scheduled_at, Some(t("2026-03-05T18:00:00Z")));
    }
    let p = providers(None, None, None);
    // Held rows are not the dispatcher's.
    let s = notifications::dispatch::dispatch_once(
        &db.service_pool("notifications"),
        &p,
        RETRY_BASE,
        t("2026-03-05T19:00:00Z"),
        100,
    )
    .await
    .unwrap();
    assert_eq!(s.claimed, 0);
    // Before the slot: nothing; at the slot: one digest.
    assert_eq!(
        notifications::jobs::run_digest(&db.pool, t("2026-03-05T17:59:00Z"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        notifications::jobs::run_digest(&db.pool, t("2026-03-05T18:00:00Z"))
            .await
            .unwrap(),
        1
    );
    let digest_id = row(&db.pool, ids[0]).await.digest_id.unwrap();
    for id in &ids {
        let r = row(&db.pool, *id).await;
        assert_eq!(
            (r.status.as_deref(), r.digest_id),
            (Some("digested"), Some(digest_id))
        );
    }
    let d = row(&db.pool, digest_id).await;
    assert!(
        d.body.starts_with("WOLO : 3 nouvelles pour vous.\n- "),
        "{}",
        d.body
    );
    assert!(d.body.contains("Ami 0") && d.body.contains("Ami 2"));
    let s = notifications::dispatch::dispatch_once(
        &db.service_pool("notifications"),
        &p,
        RETRY_BASE,
        t("2026-03-05T18:00:01Z"),
        100,
    )
    .await
    .unwrap();
    assert_eq!(s.sent, 1);
    // Running the job again changes nothing.
    assert_eq!(
        notifications::jobs::run_digest(&db.pool, t("2026-03-05T18:05:00Z"))
            .await
            .unwrap(),
        0
    );

    // "immediate": no hold.
    sqlx::query("insert into notifications.notification_preferences (user_id, digest_frequency) values ($1, 'immediate')")
        .bind(uid).execute(&db.pool).await.unwrap();
    let mut r = req("referral_accepted", "+221770000020", data(9));
    r.user_id = Some(uid);
    r.channels = Some(vec![Channel::Sms]);
    let id = queue(&db.pool, r, t("2026-03-05T10:00:00Z")).await[0];
    assert!(!row(&db.pool, id).await.held_for_digest);
}

#[tokio::test]
async fn template_updates_keep_the_old_version() {
    let db = TestDb::new().await;
    let (id, v): (uuid::Uuid, Option<i32>) = sqlx::query_as(
        "select id, version from notifications.notification_templates where template_key = 'otp.en'")
        .fetch_one(&db.pool).await.unwrap();
    assert_eq!(v, Some(1));
    let old: String = sqlx::query_scalar(
        "select body_text from notifications.notification_templates where id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query("update notifications.notification_templates set body_text = 'WOLO code: {{code}} ({{minutes}} min)' where id = $1")
        .bind(id).execute(&db.pool).await.unwrap();
    // A change that touches nothing the template says does not make a version.
    sqlx::query("update notifications.notification_templates set updated_at = now() where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let v: Option<i32> = sqlx::query_scalar(
        "select version from notifications.notification_templates where id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(v, Some(2));
    let hist: Vec<(i32, String)> = sqlx::query_as(
        "select version, body_text from notifications.notification_template_versions where template_id = $1")
        .bind(id).fetch_all(&db.pool).await.unwrap();
    assert_eq!(hist, vec![(1, old)]);
    // The new text is what gets rendered.
    let mut r = req(
        "otp",
        "+221770000001",
        json!({"code": "111222", "minutes": 5}),
    );
    r.locale = Some("en".into());
    let ids = queue(&db.pool, r, t("2026-03-05T12:00:00Z")).await;
    assert_eq!(
        row(&db.pool, ids[0]).await.body,
        "WOLO code: 111222 (5 min)"
    );
}

#[tokio::test]
async fn the_configured_quiet_hours_apply_to_whoever_has_no_preferences() {
    let db = TestDb::new().await;
    sqlx::query(
        "update admin.system_config set config_value = '{\"start\": \"21:00\", \"end\": \"07:30\", \"timezone\": \"Africa/Dakar\"}'
         where config_key = 'notifications.quiet_hours'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let r = req(
        "pot_opened",
        "+221770000011",
        json!({"first_name": "Fatou", "pot_title": "Mes 30 ans", "birthday_date": "2026-04-04",
               "days_left": 30, "target_amount_cfa": 150000, "pot_url": "https://wolo.sn/p/1",
               "short_code": "482913"}),
    );
    // 21:15 in Dakar: inside the configured window, outside the 22:00 column default.
    let ids = queue(&db.pool, r, t("2026-03-05T21:15:00Z")).await;
    assert!(!ids.is_empty());
    assert_eq!(
        row(&db.pool, ids[0]).await.scheduled_at,
        Some(t("2026-03-06T07:30:00Z"))
    );
}
