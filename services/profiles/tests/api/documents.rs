use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::{app_with, expect, key_spec, keys, stack};

#[tokio::test]
async fn identity_documents_are_hashed_encrypted_and_rotated() {
    let st = stack().await;
    let me = st.user("+221770000031").await;
    let other = st.user("+221770000032").await;
    let doc = json!({"type": "national_id", "number": "1 234-5678 90123"});
    let err = expect(
        st.call(Method::POST, "/me/identity-document", me, Some(doc.clone()))
            .await,
        409,
    )
    .await;
    assert_eq!(err["code"], "profile_required");
    for u in [me, other] {
        expect(
            st.call(
                Method::PUT,
                "/me",
                u,
                Some(json!({"full_name": "Awa", "date_of_birth": "1990-01-01"})),
            )
            .await,
            201,
        )
        .await;
    }
    let p = expect(
        st.call(Method::POST, "/me/identity-document", me, Some(doc.clone()))
            .await,
        201,
    )
    .await;
    assert_eq!(p["id_number_masked"], "*********0123");
    assert_eq!(p["id_type"], "national_id");

    let (clear, enc, hash): (Option<String>, String, String) = sqlx::query_as(
        "select id_number, id_number_encrypted, id_hash from profiles.profiles where user_id = $1",
    )
    .bind(me)
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert!(clear.is_none());
    assert!(enc.starts_with("k1:") && !enc.contains("1234567890123"));
    let k1 = keys(&key_spec("k1", 1));
    assert_eq!(k1.decrypt(&enc).unwrap(), "1234567890123");
    assert_eq!(hash, k1.id_hash("1234567890123"));
    assert_eq!(hash.len(), 64);

    // The same document (written differently) by another account is detected.
    let err = expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            other,
            Some(json!({"type": "national_id", "number": "12345 67890 123"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(err["code"], "id_document_already_registered");
    expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            me,
            Some(json!({"type": "visa", "number": "123456"})),
        )
        .await,
        400,
    )
    .await;

    // Rotation: k2 becomes current, k1 still decrypts; the job moves rows to k2.
    let rotated = keys(&format!("{},{}", key_spec("k2", 2), key_spec("k1", 1)));
    let app2 = app_with(&st.db, rotated.clone()).await;
    let p = expect(
        app2.request(Method::GET, "/me")
            .bearer_auth(crate::token(me))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(p["id_number_masked"], "*********0123");
    assert_eq!(
        profiles::crypto::reencrypt_documents_once(&st.db.service_pool("profiles"), &rotated, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        profiles::crypto::reencrypt_documents_once(&st.db.service_pool("profiles"), &rotated, 100)
            .await
            .unwrap(),
        0
    );
    let enc2: String =
        sqlx::query_scalar("select id_number_encrypted from profiles.profiles where user_id = $1")
            .bind(me)
            .fetch_one(st.pool())
            .await
            .unwrap();
    assert!(enc2.starts_with("k2:"));
    let only_k2 = keys(&key_spec("k2", 2));
    assert_eq!(only_k2.decrypt(&enc2).unwrap(), "1234567890123");
    assert!(only_k2.decrypt(&enc).is_err(), "k1 is gone");
}

#[tokio::test]
async fn admins_verify_documents_and_it_is_audited() {
    let st = stack().await;
    let me = st.user("+221770000041").await;
    let admin: Uuid = sqlx::query_scalar(
        "insert into identity.users (email, roles) values ('admin@wolo.sn', array['user', 'admin']) returning id",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    expect(
        st.call(
            Method::PUT,
            "/me",
            me,
            Some(json!({"full_name": "Awa", "date_of_birth": "1990-01-01"})),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/{me}/identity-document/verify");
    let verify = |tok: String| {
        st.app
            .request(Method::POST, &path)
            .bearer_auth(tok)
            .header("x-request-id", "req-verify-1")
            .json(&json!({"reason": "CNI contrôlée en agence"}))
            .send()
    };
    let admin_token = testkit::token(auth::Role::Admin, admin);
    let err = expect(verify(admin_token.clone()).await.unwrap(), 409).await;
    assert_eq!(err["code"], "no_identity_document");
    expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            me,
            Some(json!({"type": "passport", "number": "A1234567"})),
        )
        .await,
        201,
    )
    .await;
    expect(verify(crate::token(me)).await.unwrap(), 403).await;
    let out = expect(verify(admin_token).await.unwrap(), 200).await;
    assert_eq!(out["id_verified_by"], admin.to_string());
    let (by, at): (Option<Uuid>, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "select id_verified_by, id_verified_at from profiles.profiles where user_id = $1",
    )
    .bind(me)
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(by, Some(admin));
    assert!(at.is_some());
    let (actor, action, rid, reason, request_id): (
        Option<Uuid>,
        String,
        Option<Uuid>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "select actor_user_id, action, resource_id, reason, request_id from admin.audit_logs
             where action = 'identity_document_verified'",
    )
    .fetch_one(st.pool())
    .await
    .unwrap();
    assert_eq!(actor, Some(admin));
    assert_eq!(action, "identity_document_verified");
    assert_eq!(rid, Some(me));
    assert_eq!(reason.as_deref(), Some("CNI contrôlée en agence"));
    assert_eq!(request_id.as_deref(), Some("req-verify-1"));
    // A new document drops the verification.
    let p = expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            me,
            Some(json!({"type": "passport", "number": "B7654321"})),
        )
        .await,
        201,
    )
    .await;
    assert!(p["id_verified_at"].is_null());
}

#[tokio::test]
async fn a_document_body_with_an_unknown_field_or_a_wrong_type_is_named_and_stores_nothing() {
    let st = stack().await;
    let me = st.user("+221770000051").await;
    expect(
        st.call(
            Method::PUT,
            "/me",
            me,
            Some(json!({"full_name": "Awa", "date_of_birth": "1990-01-01"})),
        )
        .await,
        201,
    )
    .await;
    let err = expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            me,
            Some(json!({"type": "passport", "id_number": "A1234567"})),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "PGRST102");
    assert!(
        err["message"].as_str().unwrap().contains("id_number"),
        "{err}"
    );
    assert!(err["hint"].as_str().unwrap().contains("number"), "{err}");
    // The number is never echoed back.
    assert!(!err.to_string().contains("A1234567"), "{err}");
    let err = expect(
        st.call(
            Method::POST,
            "/me/identity-document",
            me,
            Some(json!({"type": "passport", "number": 1234567})),
        )
        .await,
        400,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("number"), "{err}");
    let hash: Option<String> =
        sqlx::query_scalar("select id_hash from profiles.profiles where user_id = $1")
            .bind(me)
            .fetch_one(st.pool())
            .await
            .unwrap();
    assert_eq!(hash, None);
    // The admin's verification body is strict too.
    let admin = testkit::token(auth::Role::Admin, Uuid::new_v4());
    let res = st
        .app
        .request(Method::POST, &format!("/{me}/identity-document/verify"))
        .bearer_auth(admin)
        .json(&json!({"motif": "CNI"}))
        .send()
        .await
        .unwrap();
    let err = expect(res, 400).await;
    assert!(err["message"].as_str().unwrap().contains("motif"), "{err}");
}
