//! admin: admins read every table and write the admin tables; nobody else touches them;
//! audit logs are append-only for everyone, the superuser included.

use crate::{
    admin, affected, as_role, assert_permission_denied, refused, world, ADAM, ALICE, PAT, SCHEMAS,
};

#[tokio::test]
async fn an_admin_reads_every_row_of_every_table() {
    let db = world().await;
    let schemas: Vec<String> = SCHEMAS.iter().map(|s| s.to_string()).collect();
    let tables: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname = any($1) order by 1",
    )
    .bind(&schemas)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(tables.len() >= 38);
    for table in tables {
        // Every column, but the hashes of six-digit codes (a code's hash is the code): OTP
        // codes (V107), pending confirmations and address changes (V109).
        let sql = match table.as_str() {
            "identity.otp_codes" => format!("select count(*) from (select id, phone, expires_at, attempts, consumed_at, created_at, ip from {table}) t"),
            "identity.users" => format!("select count(*) from (select id, email, phone, roles, password_hash, user_metadata, email_change, phone_change from {table}) t"),
            _ => format!("select count(*) from (select * from {table}) t"),
        };
        let all: i64 = sqlx::query_scalar(&sql).fetch_one(&db.pool).await.unwrap();
        let mut tx = admin(&db.pool).await;
        let seen: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("admin reading {table}: {e}"));
        assert_eq!(seen, all, "{table}");
    }
}

#[tokio::test]
async fn admins_write_feature_flags_and_config_nobody_else_reads_them() {
    let db = world().await;
    let mut tx = admin(&db.pool).await;
    assert_eq!(
        affected(&mut tx, "update admin.feature_flags set is_enabled = true where flag_key = 'whatsapp_notifications'").await,
        1
    );
    assert_eq!(
        affected(
            &mut tx,
            "insert into admin.feature_flags (flag_key, name) values ('security_test_flag', 'Test')"
        )
        .await,
        1
    );
    assert_eq!(
        affected(
            &mut tx,
            "delete from admin.feature_flags where flag_key = 'security_test_flag'"
        )
        .await,
        1
    );
    assert!(
        affected(
            &mut tx,
            "update admin.system_config set description = description"
        )
        .await
            > 0
    );
    tx.commit().await.unwrap();

    for (role, sub) in [
        ("wolo_anon", None),
        ("wolo_user", Some(ALICE)),
        ("wolo_partner", Some(PAT)),
    ] {
        for sql in [
            "select flag_key from admin.feature_flags",
            "update admin.feature_flags set is_enabled = true",
            "insert into admin.feature_flags (flag_key, name) values ('x', 'x')",
            "select config_key from admin.system_config",
            "update admin.system_config set config_value = '0'",
            "select id from admin.audit_logs",
            "insert into admin.audit_logs (actor_type, action, resource_type) values ('user', 'x', 'x')",
            "select id from admin.system_health_checks",
            "select id from admin.admin_sessions",
        ] {
            assert_permission_denied(&db.pool, role, sub, sql).await;
        }
    }
}

#[tokio::test]
async fn a_user_token_claiming_admin_does_not_make_wolo_user_an_admin() {
    let db = world().await;
    // The role decides the grants: wolo_user holds none on admin tables, whatever the claims.
    let mut tx = as_role(&db.pool, "wolo_user", Some(ALICE)).await;
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(serde_json::json!({"sub": ALICE, "role": "wolo_admin"}).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let (code, _) = refused(&mut tx, "select flag_key from admin.feature_flags").await;
    assert_eq!(code, "42501");
}

#[tokio::test]
async fn audit_logs_are_append_only_even_for_admins_and_the_superuser() {
    let db = world().await;
    let mut tx = admin(&db.pool).await;
    assert_eq!(
        affected(
            &mut tx,
            "insert into admin.audit_logs (actor_user_id, actor_type, action, resource_type)
             values ('00000000-0000-4000-b000-000000000107', 'user', 'flag_changed', 'feature_flag')"
        )
        .await,
        1
    );
    tx.commit().await.unwrap();
    let mut tx = admin(&db.pool).await;
    let n: i64 = sqlx::query_scalar("select count(*) from admin.audit_logs")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 2);
    drop(tx);

    assert_permission_denied(
        &db.pool,
        "wolo_admin",
        Some(ADAM),
        "update admin.audit_logs set reason = 'rewritten'",
    )
    .await;
    assert_permission_denied(
        &db.pool,
        "wolo_admin",
        Some(ADAM),
        "delete from admin.audit_logs",
    )
    .await;
    assert_permission_denied(
        &db.pool,
        "wolo_admin",
        Some(ADAM),
        "truncate admin.audit_logs",
    )
    .await;

    // The superuser (and so the table owner) is refused by the trigger.
    for sql in [
        "update admin.audit_logs set reason = 'rewritten'",
        "delete from admin.audit_logs",
        "truncate admin.audit_logs",
    ] {
        let mut tx = db.pool.begin().await.unwrap();
        let (code, message) = refused(&mut tx, sql).await;
        assert_eq!(code, "42501", "{sql}: {message}");
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    // Even with ordinary triggers switched off for replication.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    let (code, message) = refused(&mut tx, "delete from admin.audit_logs").await;
    assert_eq!(code, "42501", "{message}");
    drop(tx);

    let n: i64 = sqlx::query_scalar("select count(*) from admin.audit_logs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}
