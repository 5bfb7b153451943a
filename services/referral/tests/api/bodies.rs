//! Request bodies (`rest::extract::Json`): an unknown field or a wrong type is a 400
//! `PGRST102` naming the field, and nothing is written.

use serde_json::json;

use crate::*;

async fn refused(st: &Stack, path: &str, user: Uuid, body: Value, field: &str) {
    let err = expect(st.post(path, user, body).await, 400).await;
    assert_eq!(err["code"], "PGRST102", "{path}: {err}");
    assert!(
        err["message"].as_str().unwrap().contains(field),
        "{path}: {err}"
    );
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_named_and_write_nothing() {
    let st = stack().await;
    let sponsor = st.user("+221771110001", "Awa Ndiaye", None).await;
    refused(
        &st,
        "/invitations",
        sponsor,
        json!({"contacts": [{"phone": "+221771110002"}], "mesage": "Rejoins-moi"}),
        "mesage",
    )
    .await;
    refused(
        &st,
        "/invitations",
        sponsor,
        json!({"contacts": [{"phone": "+221771110002", "tel": "x"}]}),
        "contacts[0].tel",
    )
    .await;
    refused(
        &st,
        "/invitations",
        sponsor,
        json!({"contacts": "+221771110002"}),
        "contacts",
    )
    .await;
    refused(
        &st,
        "/contact-batches",
        sponsor,
        json!({"contacts": [{"phone": "+221771110002"}], "batch": 1}),
        "batch",
    )
    .await;
    refused(&st, "/accept", sponsor, json!({"code": 1234}), "code").await;
    refused(
        &st,
        "/accept",
        sponsor,
        json!({"referral_code": "AWA-1"}),
        "referral_code",
    )
    .await;
    refused(
        &st,
        "/points/convert",
        sponsor,
        json!({"points": "trente", "pot_id": Uuid::new_v4()}),
        "points",
    )
    .await;
    refused(
        &st,
        "/points/convert",
        sponsor,
        json!({"point": 30, "pot_id": Uuid::new_v4()}),
        "point",
    )
    .await;
    assert_eq!(st.count("select count(*) from referral.referrals").await, 0);
    assert_eq!(
        st.count("select count(*) from referral.sponsor_contact_batches")
            .await,
        0
    );
    assert_eq!(
        st.count("select count(*) from wolo.outbox where source = 'referral'")
            .await,
        0
    );
    // The caller is checked before the body.
    let res = st
        .app
        .request(Method::POST, "/invitations")
        .json(&json!({"mesage": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
