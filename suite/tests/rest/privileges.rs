//! Issue #13 items 4 and 8 on the REST layer: the writes docs/security.md allows work on
//! tables whose other columns the role may not read (RETURNING names only what the answer
//! needs), e-mail and phone stay out of reach, and the OpenAPI document follows privileges.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{expect, stack, MOUSSA, MOUSSA_POT};

const MOUSSA_SESSION: &str = "00000000-0000-4000-a000-010200000002";
const AWA_SESSION: &str = "00000000-0000-4000-a000-010200000001";
const MOUSSA_ADDRESS: &str = "00000000-0000-4000-a000-020100000002";

fn keys(row: &Value) -> Vec<String> {
    row.as_object()
        .unwrap_or_else(|| panic!("not an object: {row}"))
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_user_patches_own_profile_through_rest_and_reads_back_only_what_is_granted() {
    let s = stack().await;
    let path = format!("/profiles/profiles?user_id=eq.{MOUSSA}");
    // return=minimal (the default): no RETURNING that needs SELECT on the id_* columns.
    let res = s
        .as_user(MOUSSA, Method::PATCH, &path)
        .json(&json!({"bio": "Fan de lutte"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 204).await, Value::Null);
    let bio: Option<String> = sqlx::query_scalar(&format!(
        "select bio from profiles.profiles where user_id = '{MOUSSA}'"
    ))
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(bio.as_deref(), Some("Fan de lutte"));

    // return=representation: `*` is the columns wolo_user may read, never the document.
    let res = s
        .as_user(MOUSSA, Method::PATCH, &path)
        .header("Prefer", "return=representation")
        .json(&json!({"bio": "Fan de lutte et de foot"}))
        .send()
        .await
        .unwrap();
    let rows = expect(res, 200).await;
    assert_eq!(rows[0]["bio"], "Fan de lutte et de foot");
    let k = keys(&rows[0]);
    assert!(k.contains(&"full_name".to_string()), "{k:?}");
    for hidden in [
        "id_number",
        "id_type",
        "id_country",
        "id_hash",
        "id_media_url",
    ] {
        assert!(
            !k.contains(&hidden.to_string()),
            "{hidden} came back: {k:?}"
        );
    }

    // Naming a hidden column is refused by PostgreSQL, and nothing is written.
    let res = s
        .as_user(
            MOUSSA,
            Method::PATCH,
            &format!("{path}&select=full_name,id_number"),
        )
        .header("Prefer", "return=representation")
        .json(&json!({"bio": "jamais écrit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 403).await["code"], "42501");
    let bio: Option<String> = sqlx::query_scalar(&format!(
        "select bio from profiles.profiles where user_id = '{MOUSSA}'"
    ))
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(bio.as_deref(), Some("Fan de lutte et de foot"));

    // Columns the role may not update stay refused.
    let res = s
        .as_user(MOUSSA, Method::PATCH, &path)
        .json(&json!({"id_number": "SN-0000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 403).await["code"], "42501");
}

#[tokio::test]
async fn a_user_revokes_own_session_through_rest_but_not_another_users() {
    let s = stack().await;
    let res = s
        .as_user(
            MOUSSA,
            Method::PATCH,
            &format!("/identity/user_sessions?id=eq.{MOUSSA_SESSION}"),
        )
        .header("Prefer", "return=representation")
        .json(&json!({"is_revoked": true}))
        .send()
        .await
        .unwrap();
    let rows = expect(res, 200).await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["is_revoked"], true);
    assert!(
        !keys(&rows[0]).contains(&"token_hash".to_string()),
        "the token hash stays server-side: {rows}"
    );

    // Someone else's session: 0 rows, untouched.
    let res = s
        .as_user(
            MOUSSA,
            Method::PATCH,
            &format!("/identity/user_sessions?id=eq.{AWA_SESSION}"),
        )
        .json(&json!({"is_revoked": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 204).await, Value::Null);
    let revoked: Vec<(String, bool)> = sqlx::query_as(
        "select id::text, is_revoked from identity.user_sessions where id::text = any($1) order by id",
    )
    .bind(vec![AWA_SESSION.to_string(), MOUSSA_SESSION.to_string()])
    .fetch_all(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(
        revoked,
        vec![
            (AWA_SESSION.to_string(), false),
            (MOUSSA_SESSION.to_string(), true)
        ]
    );
}

#[tokio::test]
async fn analytics_events_are_sent_with_return_minimal_and_never_read_back() {
    let s = stack().await;
    let before: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    // Anonymously.
    let res = s
        .app
        .request(Method::POST, "/analytics/analytics_events")
        .header("Prefer", "return=minimal")
        .json(&json!({"event_name": "page_viewed", "event_category": "web", "anonymous_id": "anon-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 201).await, Value::Null);
    // As oneself, without Prefer (minimal is the default).
    let res = s
        .as_user(MOUSSA, Method::POST, "/analytics/analytics_events")
        .json(&json!({"event_name": "pot_viewed", "event_category": "pot", "user_id": MOUSSA}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 201).await, Value::Null);
    let after: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(after, before + 2);

    // Asking for the row back needs SELECT, which nobody but admins holds.
    let res = s
        .app
        .request(Method::POST, "/analytics/analytics_events")
        .header("Prefer", "return=representation")
        .json(&json!({"event_name": "page_viewed", "event_category": "web", "anonymous_id": "anon-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 401).await["code"], "42501");
    // Nor as someone else.
    let res = s
        .as_user(MOUSSA, Method::POST, "/analytics/analytics_events")
        .json(
            &json!({"event_name": "pot_viewed", "event_category": "pot", "user_id": crate::ADMIN}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 403).await["code"], "42501");
}

#[tokio::test]
async fn email_and_phone_are_not_changed_through_rest() {
    let s = stack().await;
    let before: (Option<String>, Option<String>) = sqlx::query_as(&format!(
        "select email::text, phone::text from identity.users where id = '{MOUSSA}'"
    ))
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    for body in [
        json!({"email": "moussa.pirate@example.com"}),
        json!({"phone": "+221770009999"}),
    ] {
        for prefer in ["return=minimal", "return=representation"] {
            let res = s
                .as_user(
                    MOUSSA,
                    Method::PATCH,
                    &format!("/identity/users?id=eq.{MOUSSA}"),
                )
                .header("Prefer", prefer)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(expect(res, 403).await["code"], "42501", "{body} {prefer}");
        }
    }
    let after: (Option<String>, Option<String>) = sqlx::query_as(&format!(
        "select email::text, phone::text from identity.users where id = '{MOUSSA}'"
    ))
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_documented_user_writes_work_through_rest() {
    let s = stack().await;
    // Addresses: S I U D own rows, read back whole.
    let res = s
        .as_user(MOUSSA, Method::POST, "/profiles/user_addresses")
        .header("Prefer", "return=representation")
        .json(&json!({"user_id": MOUSSA, "city": "Saint-Louis"}))
        .send()
        .await
        .unwrap();
    let created = expect(res, 201).await;
    assert_eq!(created[0]["city"], "Saint-Louis");
    let res = s
        .as_user(
            MOUSSA,
            Method::PATCH,
            &format!("/profiles/user_addresses?id=eq.{MOUSSA_ADDRESS}&select=id,city"),
        )
        .header("Prefer", "return=representation")
        .json(&json!({"city": "Rufisque"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect(res, 200).await,
        json!([{"id": MOUSSA_ADDRESS, "city": "Rufisque"}])
    );
    let id = created[0]["id"].as_str().unwrap();
    let res = s
        .as_user(
            MOUSSA,
            Method::DELETE,
            &format!("/profiles/user_addresses?id=eq.{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 204).await, Value::Null);

    // Own pot: the updatable columns, read back with an embed.
    let res = s
        .as_user(
            MOUSSA,
            Method::PATCH,
            &format!("/pots/pots?id=eq.{MOUSSA_POT}&select=title,pot_invitations(id)"),
        )
        .header("Prefer", "return=representation")
        .json(&json!({"title": "Mes 30 ans"}))
        .send()
        .await
        .unwrap();
    let rows = expect(res, 200).await;
    assert_eq!(rows[0]["title"], "Mes 30 ans");
    assert!(rows[0]["pot_invitations"].is_array(), "{rows}");

    // Notification preferences: readable whole, so a merge-duplicates upsert still tells
    // an update (200) from an insert (201).
    let res = s
        .as_user(
            MOUSSA,
            Method::POST,
            "/notifications/notification_preferences",
        )
        .header(
            "Prefer",
            "resolution=merge-duplicates, return=representation",
        )
        .json(&json!({"user_id": MOUSSA, "sms_enabled": false}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let rows = expect(res, status).await;
    assert!(status == 200 || status == 201, "{status} {rows}");
    assert_eq!(rows[0]["sms_enabled"], false);

    // A profile for a user who has none, read back without the identity document.
    let newcomer = "00000000-0000-4000-a000-010100000099";
    sqlx::query("insert into identity.users (id, phone, roles) values ($1::uuid, '+221770000999', array['user'])")
        .bind(newcomer)
        .execute(&s.db.pool)
        .await
        .unwrap();
    let res = s
        .as_user(newcomer, Method::POST, "/profiles/profiles")
        .header("Prefer", "return=representation")
        .json(&json!({"user_id": newcomer, "full_name": "Nouveau Venu", "date_of_birth": "1990-05-04"}))
        .send()
        .await
        .unwrap();
    let rows = expect(res, 201).await;
    assert_eq!(rows[0]["full_name"], "Nouveau Venu");
    assert!(!keys(&rows[0]).contains(&"id_hash".to_string()));
}

#[tokio::test]
async fn the_openapi_document_follows_the_callers_privileges() {
    let s = stack().await;
    // Anonymous: identity has nothing an anonymous caller may touch.
    let doc = expect(s.app.get("/identity/").await, 200).await;
    let text = doc.to_string();
    assert!(!text.contains("password_hash"), "{text}");
    assert!(doc["paths"]["/users"].is_null(), "{}", doc["paths"]);
    assert!(doc["paths"]["/user_sessions"].is_null());
    assert!(doc["definitions"]["users"].is_null());

    // A user: their row (read only, without the hash), their sessions (revocable).
    let res = s
        .as_user(MOUSSA, Method::GET, "/identity/")
        .send()
        .await
        .unwrap();
    let doc = expect(res, 200).await;
    assert!(!doc.to_string().contains("password_hash"));
    assert!(doc["paths"]["/users"]["get"].is_object());
    assert!(
        doc["paths"]["/users"]["patch"].is_null(),
        "e-mail and phone are not writable"
    );
    assert!(doc["paths"]["/users"]["delete"].is_null());
    assert!(doc["paths"]["/user_sessions"]["patch"].is_object());
    assert!(doc["paths"]["/user_sessions"]["post"].is_null());
    assert!(doc["definitions"]["user_sessions"]["properties"]["is_revoked"].is_object());
    assert!(doc["definitions"]["user_sessions"]["properties"]["token_hash"].is_null());
    assert!(doc["paths"]["/password_reset_tokens"].is_null());

    // An admin reads every column.
    let doc = s.admin_json("/identity/").await;
    assert!(doc["definitions"]["users"]["properties"]["password_hash"].is_object());

    // Anonymous analytics: events may be sent, not read.
    let doc = expect(s.app.get("/analytics/").await, 200).await;
    assert!(doc["paths"]["/analytics_events"]["post"].is_object());
    assert!(doc["paths"]["/analytics_events"]["get"].is_null());
    assert!(doc["paths"]["/ab_tests"].is_null());
    assert!(doc["definitions"]["analytics_events"]["properties"]["event_name"].is_object());
    assert!(doc["definitions"]["analytics_events"]["properties"]["id"].is_null());

    // Anonymous profiles: nothing; a user sees profiles without the identity document.
    let doc = expect(s.app.get("/profiles/").await, 200).await;
    assert!(doc["paths"]["/profiles"].is_null());
    let res = s
        .as_user(MOUSSA, Method::GET, "/profiles/")
        .send()
        .await
        .unwrap();
    let doc = expect(res, 200).await;
    let props = &doc["definitions"]["profiles"]["properties"];
    assert!(props["bio"].is_object());
    assert!(props["id_number"].is_null(), "{props}");
    // Custom endpoints are listed for everyone (each checks its own caller).
    assert!(doc["paths"]["/me"].is_object());
}

#[tokio::test]
async fn partner_staff_edit_own_profile_and_revoke_own_session_through_rest() {
    const PAPE: &str = "00000000-0000-4000-a000-010100000013";
    const PAPE_SESSION: &str = "00000000-0000-4000-a000-010200000006";
    let s = stack().await;
    let partner = |method: Method, path: &str| {
        s.app
            .request(method, path)
            .bearer_auth(testkit::token(auth::Role::Partner, PAPE.parse().unwrap()))
    };
    let res = partner(
        Method::PATCH,
        &format!("/profiles/profiles?user_id=eq.{PAPE}&select=bio"),
    )
    .header("Prefer", "return=representation")
    .json(&json!({"bio": "Accueil, CinéTeranga"}))
    .send()
    .await
    .unwrap();
    assert_eq!(
        expect(res, 200).await,
        json!([{"bio": "Accueil, CinéTeranga"}])
    );
    let res = partner(
        Method::PATCH,
        &format!("/identity/user_sessions?id=eq.{PAPE_SESSION}"),
    )
    .json(&json!({"is_revoked": true}))
    .send()
    .await
    .unwrap();
    assert_eq!(expect(res, 204).await, Value::Null);
    let revoked: bool = sqlx::query_scalar(&format!(
        "select is_revoked from identity.user_sessions where id = '{PAPE_SESSION}'"
    ))
    .fetch_one(&s.db.pool)
    .await
    .unwrap();
    assert!(revoked);
}

#[tokio::test]
async fn a_user_invites_through_rest_and_reads_the_invitation_back() {
    let s = stack().await;
    let res = s
        .as_user(MOUSSA, Method::POST, "/pots/pot_invitations")
        .header("Prefer", "return=representation")
        .json(&json!({"pot_id": MOUSSA_POT, "invited_by_user_id": MOUSSA,
                      "invitation_method": "sms", "recipient_identifier": "+221770001122"}))
        .send()
        .await
        .unwrap();
    let rows = expect(res, 201).await;
    assert_eq!(rows[0]["recipient_identifier"], "+221770001122");

    let res = s
        .as_user(
            MOUSSA,
            Method::POST,
            "/referral/referrals?select=referral_code,invited_phone,status",
        )
        .header("Prefer", "return=representation")
        .json(
            &json!({"sponsor_user_id": MOUSSA, "referral_code": "MOUSSA-REST-1",
                      "invited_phone": "+221770001133", "invited_name": "Ami"}),
        )
        .send()
        .await
        .unwrap();
    let rows = expect(res, 201).await;
    assert_eq!(rows[0]["referral_code"], "MOUSSA-REST-1");
    assert_eq!(rows[0]["invited_phone"], "+221770001133");
}
