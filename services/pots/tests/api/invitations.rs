//! Invitations (row, message, share count), their tracking links, counters under concurrency.

use reqwest::Method;
use serde_json::json;

use crate::*;

async fn open_pot(s: &Stack, owner: Uuid) -> Uuid {
    pot(
        s.pool(),
        owner,
        "2027-03-15".parse().unwrap(),
        t("2027-02-13T00:00:00Z"),
        "open",
        10_000,
    )
    .await
}

async fn counters(pool: &PgPool, p: Uuid) -> (i32, i32) {
    sqlx::query_as("select view_count, share_count from pots.pots where id = $1")
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_owner_invites_by_whatsapp_and_the_message_is_queued() {
    let s = stack().await;
    let owner = user(s.pool(), Some("Fatou Diop")).await;
    let p = open_pot(&s, owner).await;
    let inv = expect(
        s.send(
            Method::POST,
            &format!("/pots/{p}/invitations"),
            Some(&user_token(owner)),
            Some(json!({"method": "whatsapp", "recipient": "77 123 45 67",
                        "message": "Viens fêter avec moi !"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(inv["recipient_identifier"], "+221771234567");
    assert_eq!(inv["invitation_method"], "whatsapp");
    let inv_id = inv["id"].as_str().unwrap();
    let url = format!("{WEB}/p/{p}?i={inv_id}");
    assert_eq!(inv["url"], url);
    let (method, recipient, message): (String, String, Option<String>) = sqlx::query_as(
        "select invitation_method, recipient_identifier, custom_message
         from pots.pot_invitations where id = $1::uuid",
    )
    .bind(inv_id)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(
        (method.as_str(), recipient.as_str(), message.as_deref()),
        ("whatsapp", "+221771234567", Some("Viens fêter avec moi !"))
    );
    assert_eq!(counters(s.pool(), p).await.1, 1);

    // The notification request, and the notifications service turns it into a message.
    let ev: Value = sqlx::query_scalar(
        "select payload from wolo.outbox where topic = 'notification.requested' order by id desc limit 1",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(ev["message"], "pot_invitation");
    assert_eq!(ev["recipient"]["phone"], "+221771234567");
    assert_eq!(ev["channels"], json!(["whatsapp"]));
    assert_eq!(ev["data"]["pot_url"], url);
    assert_eq!(ev["data"]["inviter_name"], "Fatou Diop");
    let consumer = notifications::events::requested_consumer();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        consumer
            .run_once(&s.db.service_pool("notifications"))
            .await
            .unwrap();
        let row: Option<(String, String)> = sqlx::query_as(
            "select channel, body from notifications.notifications where recipient_identifier = $1",
        )
        .bind("+221771234567")
        .fetch_optional(s.pool())
        .await
        .unwrap_or(None);
        if let Some(r) = row {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notification row"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(body.0, "whatsapp");
    assert!(body.1.contains("Fatou Diop vous invite"), "{}", body.1);
    assert!(body.1.contains("Viens fêter avec moi !"), "{}", body.1);
    assert!(body.1.contains(&url), "{}", body.1);
}

#[tokio::test]
async fn invitations_are_validated_and_owner_only() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let stranger = user(s.pool(), None).await;
    let p = open_pot(&s, owner).await;
    let path = format!("/pots/{p}/invitations");
    let tok = user_token(owner);
    for (body, code) in [
        (
            json!({"method": "sms", "recipient": "12"}),
            "validation_failed",
        ),
        (
            json!({"method": "email", "recipient": "pas-un-email"}),
            "validation_failed",
        ),
        (
            json!({"method": "pigeon", "recipient": "+221771234567"}),
            "validation_failed",
        ),
        (
            json!({"method": "sms", "recipient": "+221771234567", "message": "x".repeat(501)}),
            "validation_failed",
        ),
    ] {
        let err = expect(
            s.send(Method::POST, &path, Some(&tok), Some(body)).await,
            400,
        )
        .await;
        assert_eq!(err["code"], code);
    }
    let err = expect(s.send(Method::POST, &path, Some(&tok), None).await, 400).await;
    assert_eq!(err["code"], "PGRST102");
    expect(
        s.send(
            Method::POST,
            &path,
            Some(&user_token(stranger)),
            Some(json!({"method": "sms", "recipient": "+221771234567"})),
        )
        .await,
        403,
    )
    .await;
    expect(
        s.send(
            Method::POST,
            &path,
            None,
            Some(json!({"method": "sms", "recipient": "+221771234567"})),
        )
        .await,
        401,
    )
    .await;
    // Nothing was written by the refused requests.
    let n: i64 = sqlx::query_scalar("select count(*) from pots.pot_invitations")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(counters(s.pool(), p).await.1, 0);

    // E-mail works, normalised.
    let inv = expect(
        s.send(
            Method::POST,
            &path,
            Some(&tok),
            Some(json!({"method": "email", "recipient": " Awa@Example.SN "})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(inv["recipient_identifier"], "awa@example.sn");

    // A closed pot takes no more invitations.
    sqlx::query("update pots.pots set status = 'closed' where id = $1")
        .bind(p)
        .execute(s.pool())
        .await
        .unwrap();
    let err = expect(
        s.send(
            Method::POST,
            &path,
            Some(&tok),
            Some(json!({"method": "sms", "recipient": "+221771234567"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(err["code"], "pot_not_open");
}

#[tokio::test]
async fn tracking_links_stamp_the_first_time_only() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner).await;
    let inv = expect(
        s.send(
            Method::POST,
            &format!("/pots/{p}/invitations"),
            Some(&user_token(owner)),
            Some(json!({"method": "sms", "recipient": "+221781112233"})),
        )
        .await,
        201,
    )
    .await;
    let id = inv["id"].as_str().unwrap();
    let first = expect(
        s.send(
            Method::POST,
            &format!("/pots/invitations/{id}/opened"),
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(first["opened_at"].is_string());
    assert!(first["clicked_at"].is_null());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = expect(
        s.send(
            Method::POST,
            &format!("/pots/invitations/{id}/opened"),
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["opened_at"], first["opened_at"]);
    let click = expect(
        s.send(
            Method::POST,
            &format!("/pots/invitations/{id}/clicked"),
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(click["opened_at"], first["opened_at"]);
    assert!(click["clicked_at"].is_string());
    let click2 = expect(
        s.send(
            Method::POST,
            &format!("/pots/invitations/{id}/clicked"),
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(click2["clicked_at"], click["clicked_at"]);
    expect(
        s.send(
            Method::POST,
            &format!("/pots/invitations/{}/opened", Uuid::new_v4()),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
    expect(
        s.send(Method::POST, "/pots/invitations/nope/clicked", None, None)
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn one_hundred_concurrent_views_and_shares_count_exactly() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200 {
        let what = if i % 2 == 0 { "view" } else { "share" };
        let url = s.app.url(&format!("/pots/{p}/{what}"));
        set.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    while let Some(code) = set.join_next().await {
        assert_eq!(code.unwrap(), 200);
    }
    assert_eq!(counters(s.pool(), p).await, (100, 100));
    let v = expect(
        s.send(Method::POST, &format!("/pots/{p}/view"), None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(v, json!({"view_count": 101}));
    expect(
        s.send(
            Method::POST,
            &format!("/pots/{}/view", Uuid::new_v4()),
            None,
            None,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn bodies_with_an_unknown_field_or_a_wrong_type_are_refused_by_name() {
    let s = stack().await;
    let owner = user(s.pool(), None).await;
    let p = open_pot(&s, owner).await;
    let tok = user_token(owner);
    let path = format!("/pots/{p}/invitations");
    // An unknown (misspelt) field is named, with the accepted ones; nothing is written.
    let err = expect(
        s.send(
            Method::POST,
            &path,
            Some(&tok),
            Some(json!({"method": "sms", "recipient": "+221771234567", "mesage": "Viens !"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102");
    assert!(err["message"].as_str().unwrap().contains("mesage"), "{err}");
    assert!(err["hint"].as_str().unwrap().contains("recipient"), "{err}");
    // A wrong type names the field.
    let err = expect(
        s.send(
            Method::POST,
            &path,
            Some(&tok),
            Some(json!({"method": "sms", "recipient": 221771234567_i64})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102");
    assert!(
        err["message"].as_str().unwrap().contains("recipient"),
        "{err}"
    );
    // A missing one too.
    let err = expect(
        s.send(
            Method::POST,
            &path,
            Some(&tok),
            Some(json!({"method": "sms"})),
        )
        .await,
        400,
    )
    .await;
    assert!(
        err["message"].as_str().unwrap().contains("recipient"),
        "{err}"
    );
    let n: i64 = sqlx::query_scalar("select count(*) from pots.pot_invitations")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(counters(s.pool(), p).await.1, 0);

    // Close: an unknown field is refused and the pot stays open; the caller is checked first.
    let close = format!("/pots/{p}/close");
    let err = expect(
        s.send(
            Method::POST,
            &close,
            Some(&tok),
            Some(json!({"raison": "fini"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102");
    assert!(err["message"].as_str().unwrap().contains("raison"), "{err}");
    let err = expect(
        s.send(Method::POST, &close, Some(&tok), Some(json!({"reason": 7})))
            .await,
        400,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("reason"), "{err}");
    expect(
        s.send(Method::POST, &close, None, Some(json!({"raison": "fini"})))
            .await,
        401,
    )
    .await;
    assert_eq!(status(s.pool(), p).await, "open");
    assert!(events(s.pool(), "pot.closed", p).await.is_empty());
}
