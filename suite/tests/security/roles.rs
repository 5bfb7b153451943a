//! The role model: four NOLOGIN API roles, the wolo_authenticator login that can switch to
//! them and to nothing else, per-role statement timeouts, the claim helpers, and RLS on
//! every table.

use std::time::Duration;

use testkit::TestDb;
use uuid::Uuid;

use crate::{
    admin, anon, as_role, claims, partner, refused, user, world, ALICE, API_ROLES, PAT, SCHEMAS,
};

#[tokio::test]
async fn the_api_roles_cannot_log_in_and_bypass_nothing() {
    let db = TestDb::new().await;
    for role in API_ROLES {
        let (login, superuser, bypass, createrole, createdb): (bool, bool, bool, bool, bool) = sqlx::query_as(
            "select rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = $1",
        )
        .bind(role)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("role {role}: {e}"));
        assert!(
            !login && !superuser && !bypass && !createrole && !createdb,
            "{role}"
        );
    }
}

#[tokio::test]
async fn the_authenticator_logs_in_without_privileges_and_is_member_of_exactly_the_api_roles() {
    let db = TestDb::new().await;
    let (login, inherit, superuser, bypass): (bool, bool, bool, bool) = sqlx::query_as(
        "select rolcanlogin, rolinherit, rolsuper, rolbypassrls from pg_roles where rolname = 'wolo_authenticator'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(login && !inherit && !superuser && !bypass);

    let mut member_of: Vec<String> = sqlx::query_scalar(
        "select r.rolname::text from pg_auth_members m
         join pg_roles r on r.oid = m.roleid
         join pg_roles u on u.oid = m.member
         where u.rolname = 'wolo_authenticator'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    member_of.sort();
    let mut expected: Vec<String> = API_ROLES.iter().map(|r| r.to_string()).collect();
    expected.sort();
    assert_eq!(member_of, expected);
}

#[tokio::test]
async fn the_authenticator_can_switch_to_an_api_role_but_not_to_postgres() {
    let db = world().await;

    // As wolo_authenticator itself (SET SESSION AUTHORIZATION makes it the session user,
    // whose memberships SET ROLE checks, as after a real login).
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("set local session authorization wolo_authenticator")
        .execute(&mut *tx)
        .await
        .unwrap();
    // NOINHERIT: before switching it can read nothing.
    let (code, message) = refused(&mut tx, "select id from pots.pots").await;
    assert_eq!(code, "42501", "{message}");
    drop(tx);

    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("set local session authorization wolo_authenticator")
        .execute(&mut *tx)
        .await
        .unwrap();
    for role in API_ROLES {
        sqlx::query(&format!("set local role {role}"))
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("set role {role}: {e}"));
        let current: String = sqlx::query_scalar("select current_user::text")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(current, role);
    }
    // Once switched, it has that role's rights: anon-visible pots only.
    sqlx::query("set local role wolo_anon")
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("select count(*) from pots.pots")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 1);
    drop(tx);

    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("set local session authorization wolo_authenticator")
        .execute(&mut *tx)
        .await
        .unwrap();
    let (code, message) = refused(&mut tx, "set local role postgres").await;
    assert_eq!(code, "42501", "{message}");
    assert!(
        message.contains("permission denied to set role"),
        "{message}"
    );
}

#[tokio::test]
async fn each_role_has_its_statement_timeout_and_the_request_can_apply_it() {
    let db = TestDb::new().await;
    for (role, timeout) in [
        ("wolo_anon", Some("3s")),
        ("wolo_user", Some("8s")),
        ("wolo_partner", Some("8s")),
        ("wolo_admin", Some("30s")),
        ("postgres", None),
    ] {
        let got: Option<String> = sqlx::query_scalar("select wolo.role_statement_timeout($1)")
            .bind(role)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(got.as_deref(), timeout, "{role}");
    }

    // What the REST layer does after SET LOCAL ROLE, and it bites.
    let mut tx = anon(&db.pool).await;
    let applied: String = sqlx::query_scalar(
        "select set_config('statement_timeout', wolo.role_statement_timeout(current_user), true)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(applied, "3s");
    let started = std::time::Instant::now();
    let (code, _) = refused(&mut tx, "select pg_sleep(10)").await;
    assert_eq!(code, "57014"); // query_canceled
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test]
async fn the_claim_helpers_read_the_request() {
    let db = TestDb::new().await;

    let mut tx = user(&db.pool, ALICE).await;
    let (me, admin_flag, claims_back): (Option<Uuid>, bool, serde_json::Value) =
        sqlx::query_as("select wolo.current_user_id(), wolo.is_admin(), wolo.jwt_claims()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(me, Some(ALICE));
    assert!(!admin_flag);
    assert_eq!(claims_back, claims("wolo_user", Some(ALICE)));
    drop(tx);

    let mut tx = anon(&db.pool).await;
    let (me, admin_flag): (Option<Uuid>, bool) =
        sqlx::query_as("select wolo.current_user_id(), wolo.is_admin()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(me, None);
    assert!(!admin_flag);
    drop(tx);

    // A sub that is not a UUID is nobody.
    let mut tx = as_role(&db.pool, "wolo_user", None).await;
    sqlx::query("select set_config('request.jwt.claims', '{\"sub\": \"not-a-uuid\", \"role\": \"wolo_user\"}', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let me: Option<Uuid> = sqlx::query_scalar("select wolo.current_user_id()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(me, None);
    drop(tx);

    // No claims at all (a transaction that never set them).
    let me: Option<Uuid> = sqlx::query_scalar("select wolo.current_user_id()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(me, None);

    let mut tx = admin(&db.pool).await;
    let admin_flag: bool = sqlx::query_scalar("select wolo.is_admin()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(admin_flag);
}

#[tokio::test]
async fn partner_ids_lists_the_partners_of_the_caller() {
    let db = world().await;
    let mut tx = partner(&db.pool, PAT).await;
    let ids: Vec<Uuid> = sqlx::query_scalar("select wolo.partner_ids()")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(ids, vec![crate::P1]);
    drop(tx);
    let mut tx = user(&db.pool, ALICE).await;
    let ids: Vec<Uuid> = sqlx::query_scalar("select wolo.partner_ids()")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert!(ids.is_empty());
}

#[tokio::test]
async fn every_table_of_the_service_schemas_has_row_level_security() {
    let db = TestDb::new().await;
    let schemas: Vec<String> = SCHEMAS.iter().map(|s| s.to_string()).collect();
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname = any($1)",
    )
    .bind(&schemas)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(tables >= 38, "only {tables} tables");
    let without: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname = any($1) and not c.relrowsecurity order by 1",
    )
    .bind(&schemas)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        without.is_empty(),
        "tables without row-level security: {without:?}"
    );

    // And nothing is granted to PUBLIC on them.
    let public: Vec<String> = sqlx::query_scalar(
        "select distinct format('%I.%I', table_schema, table_name) from information_schema.role_table_grants
         where grantee = 'PUBLIC' and table_schema = any($1) order by 1",
    )
    .bind(&schemas)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(public.is_empty(), "granted to PUBLIC: {public:?}");
}
