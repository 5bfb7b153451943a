//! The service login roles of V102: each service connects as `wolo_svc_<service>`, writes
//! its own schema and, in another service's schema, only the documented exceptions below
//! (docs/security.md, "Service roles"). The matrix is tried for real: every table of every
//! other schema, insert, delete and an update of every column, as each role.

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection};
use testkit::TestDb;

use crate::{API_ROLES, SCHEMAS};

const SERVICES: [&str; 10] = SCHEMAS;

/// A cross-schema write a service may do: (service, "schema.table", operation, columns for
/// an update; empty = every column).
type Exception = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Every write a service role may do outside its own schema. The outbox cursors and
/// failures (schema `wolo`) are every service's; the rest is one service's job each.
const EXCEPTIONS: &[Exception] = &[
    // identity: a role change and its audit entry in one transaction.
    ("identity", "admin.audit_logs", "insert", &[]),
    // referral: converting points adds to the pot's total with the ledger debit.
    ("referral", "pots.pots", "update", &["raised_amount_cfa"]),
    // packs: choosing a pot's pack.
    ("packs", "pots.pots", "update", &["preferred_pack_id"]),
    // profiles: account deletion anonymises every schema in one transaction.
    (
        "profiles",
        "identity.users",
        "update",
        &[
            "phone",
            "email",
            "password_hash",
            "is_active",
            "last_login_at",
            "google_sub",
        ],
    ),
    (
        "profiles",
        "identity.user_sessions",
        "update",
        &["is_revoked", "revoked_at", "device_info", "ip_address"],
    ),
    ("profiles", "identity.password_reset_tokens", "delete", &[]),
    ("profiles", "identity.otp_codes", "delete", &[]),
    ("profiles", "referral.sponsor_codes", "delete", &[]),
    ("profiles", "referral.referrals", "delete", &[]),
    (
        "profiles",
        "referral.referrals",
        "update",
        // invited_*: account deletion; ids_required: a referred user completing the profile.
        &[
            "invited_name",
            "invitation_message",
            "invited_phone",
            "invited_email",
            "ids_required",
        ],
    ),
    (
        "profiles",
        "referral.sponsor_contact_batches",
        "update",
        &["contact_snapshot", "manual_selections"],
    ),
    (
        "profiles",
        "referral.points_ledger",
        "update",
        &["status", "revoked_at", "revoked_reason"],
    ),
    (
        "profiles",
        "pots.pots",
        "update",
        &["title", "description", "cover_image_url", "gallery_images"],
    ),
    (
        "profiles",
        "pots.pot_invitations",
        "update",
        &["recipient_identifier", "custom_message"],
    ),
    (
        "profiles",
        "donations.donations",
        "update",
        &[
            "donor_name",
            "donor_phone",
            "donor_email",
            "ip_address",
            "user_agent",
            "donation_message",
            "is_anonymous",
        ],
    ),
    ("profiles", "notifications.notifications", "delete", &[]),
    (
        "profiles",
        "notifications.notification_preferences",
        "delete",
        &[],
    ),
    (
        "profiles",
        "analytics.analytics_events",
        "update",
        &["user_id", "ip_address", "user_agent"],
    ),
    (
        "profiles",
        "analytics.analytics_events_archive",
        "update",
        &["user_id", "ip_address", "user_agent"],
    ),
    ("profiles", "analytics.ab_test_assignments", "delete", &[]),
    // USSD sessions and SMS from the account's phone (V119): erased with the account.
    ("profiles", "donations.ussd_sessions", "delete", &[]),
    (
        "profiles",
        "donations.sms_messages",
        "update",
        &["from_phone", "body"],
    ),
];

/// Shared plumbing every service writes: its outbox consumer's cursor and failures.
const PLUMBING: &[(&str, &str)] = &[
    ("wolo.outbox_cursors", "insert"),
    ("wolo.outbox_cursors", "update"),
    ("wolo.outbox_failures", "insert"),
    ("wolo.outbox_failures", "update"),
    ("wolo.outbox_failures", "delete"),
    // Periodic jobs' leases (V120).
    ("wolo.job_leases", "insert"),
    ("wolo.job_leases", "update"),
];

async fn tables(conn: &mut PgConnection) -> Vec<(String, String, Vec<String>)> {
    sqlx::query_as(
        "select n.nspname::text, c.relname::text,
                array(select a.attname::text from pg_attribute a
                      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                        and a.attgenerated = '' -- never updatable, whoever asks
                      order by a.attnum)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = any ($1) and c.relkind in ('r', 'p') and not c.relispartition
          order by 1, 2",
    )
    .bind(
        SCHEMAS
            .iter()
            .chain(["wolo"].iter())
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs `sql` in a savepoint: `false` when refused for want of a privilege (42501
/// "permission denied"), `true` otherwise (done, or failed for another reason such as a
/// NOT NULL column: the privilege was there).
async fn allowed(conn: &mut PgConnection, sql: &str) -> bool {
    sqlx::query("savepoint probe")
        .execute(&mut *conn)
        .await
        .unwrap();
    let out = sqlx::query(sql).execute(&mut *conn).await;
    sqlx::query("rollback to savepoint probe")
        .execute(&mut *conn)
        .await
        .unwrap();
    match out {
        Ok(_) => true,
        Err(e) => !e.as_database_error().is_some_and(|d| {
            d.code().as_deref() == Some("42501") && d.message().starts_with("permission denied")
        }),
    }
}

async fn service_connection(db: &TestDb, service: &str) -> PgConnection {
    let ctx = db.service_context(service);
    PgConnection::connect(ctx.config.database_url.expose())
        .await
        .unwrap_or_else(|e| panic!("log in as {}: {e}", platform::db::service_role(service)))
}

#[tokio::test]
async fn each_service_logs_in_as_its_own_role_that_owns_nothing_and_bypasses_only_rls() {
    let db = TestDb::new().await;
    for service in SERVICES {
        let role = platform::db::service_role(service);
        let (login, inherit, superuser, bypass, createrole, createdb): (
            bool,
            bool,
            bool,
            bool,
            bool,
            bool,
        ) = sqlx::query_as(
            "select rolcanlogin, rolinherit, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
                   from pg_roles where rolname = $1",
        )
        .bind(&role)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("role {role}: {e}"));
        assert!(
            login && !inherit && !superuser && bypass && !createrole && !createdb,
            "{role}"
        );
        let member_of: Vec<String> = sqlx::query_scalar(
            "select r.rolname::text from pg_auth_members m join pg_roles r on r.oid = m.roleid
              where m.member = (select oid from pg_roles where rolname = $1) order by 1",
        )
        .bind(&role)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let mut api: Vec<String> = API_ROLES.iter().map(|r| r.to_string()).collect();
        api.sort();
        assert_eq!(
            member_of, api,
            "{role} is a member of exactly the API roles"
        );

        // Logged in as it: the production check finds nothing to refuse.
        let mut conn = service_connection(&db, service).await;
        let me: String = sqlx::query_scalar("select current_user::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(me, role);
        assert_eq!(
            platform::db::privileged_login(&mut conn).await.unwrap(),
            None,
            "{role}"
        );
        assert!(platform::db::refuse_privileged_login(
            &db.service_context(service).config,
            service
        )
        .await
        .is_ok());
        // REST requests switch to an API role; nothing else is reachable.
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("set local role wolo_admin")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        for other in [
            "postgres",
            "wolo_authenticator",
            "wolo_svc_admin",
            "wolo_svc_identity",
        ] {
            if other == role {
                continue;
            }
            let err = sqlx::query(&format!("set role {other}"))
                .execute(&mut conn)
                .await
                .expect_err(other);
            assert_eq!(
                err.as_database_error().and_then(|d| d.code()).as_deref(),
                Some("42501"),
                "{role} -> {other}"
            );
        }
        let _ = conn.close().await;
    }
}

#[tokio::test]
async fn production_refuses_a_superuser_or_owner_login_naming_the_service() {
    let db = TestDb::new().await;
    // The harness's own login is a superuser.
    let superuser = db.context();
    let line = platform::db::refuse_privileged_login(&superuser.config, "pots")
        .await
        .unwrap_err();
    assert!(
        line.contains("pots") && line.contains("superuser"),
        "{line}"
    );
    assert!(
        line.contains("WOLO_DB_PASSWORD_POTS") && line.contains("WOLO_POTS_DATABASE_URL"),
        "{line}"
    );
    assert!(!line.contains('\n'));

    // A login that owns one table of the service schemas.
    let owner = format!("wolo_test_owner_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!(
        "create role {owner} login; alter table pots.pot_analytics owner to {owner}"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let url = platform::db::with_user(&db.url, &owner, None).unwrap();
    let mut config = (*superuser.config).clone();
    config.database_url = platform::config::Secret::new(url);
    let refused = platform::db::refuse_privileged_login(&config, "analytics").await;
    sqlx::raw_sql(&format!(
        "alter table pots.pot_analytics owner to current_user; drop role {owner}"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let line = refused.unwrap_err();
    assert!(
        line.contains("owns pots.pot_analytics") && line.contains("analytics"),
        "{line}"
    );

    // And every connection a production pool opens is checked the same way: a superuser
    // login never gets one (the refusal is logged; the caller waits out its acquire timeout).
    let mut config = (*superuser.config).clone();
    config.environment = platform::config::Environment::Production;
    config.db_acquire_timeout = std::time::Duration::from_secs(1);
    let pool = platform::db::connect(&config).unwrap();
    let err = sqlx::query("select 1").execute(&pool).await.unwrap_err();
    assert!(matches!(err, sqlx::Error::PoolTimedOut), "{err}");
    let mut config = (*db.service_context("pots").config).clone();
    config.environment = platform::config::Environment::Production;
    let pool = platform::db::connect(&config).unwrap();
    sqlx::query("select 1").execute(&pool).await.unwrap();
}

#[tokio::test]
async fn no_service_role_writes_another_services_tables_but_the_documented_exceptions() {
    let db = TestDb::new().await;
    let mut admin = db.pool.acquire().await.unwrap();
    let tables = tables(&mut admin).await;
    drop(admin);
    let mut unexpected = vec![];
    for service in SERVICES {
        let mut expected: BTreeSet<String> = BTreeSet::new();
        for (t, op) in PLUMBING {
            expected.insert(format!("{t} {op}"));
        }
        for (s, t, op, _) in EXCEPTIONS {
            if *s == service {
                expected.insert(format!("{t} {op}"));
            }
        }
        let mut conn = service_connection(&db, service).await;
        let mut tx = conn.begin().await.unwrap();
        let mut got: BTreeSet<String> = BTreeSet::new();
        for (schema, table, columns) in &tables {
            let qualified = format!("{}.{}", quote(schema), quote(table));
            let name = format!("{schema}.{table}");
            if schema == service {
                // Its own schema: every write.
                for op in ["insert", "update", "delete"] {
                    let ok: bool = sqlx::query_scalar("select has_table_privilege($1, $2, $3)")
                        .bind(platform::db::service_role(service))
                        .bind(&name)
                        .bind(op)
                        .fetch_one(&mut *tx)
                        .await
                        .unwrap();
                    assert!(ok, "{service} may {op} its own {name}");
                }
                continue;
            }
            if allowed(&mut tx, &format!("insert into {qualified} default values")).await {
                got.insert(format!("{name} insert"));
            }
            if allowed(&mut tx, &format!("delete from {qualified} where false")).await {
                got.insert(format!("{name} delete"));
            }
            let mut updatable = vec![];
            for c in columns {
                let c = quote(c);
                if allowed(
                    &mut tx,
                    &format!("update {qualified} set {c} = {c} where false"),
                )
                .await
                {
                    updatable.push(c);
                }
            }
            if !updatable.is_empty() {
                got.insert(format!("{name} update"));
                // Only the documented columns.
                if let Some((_, _, _, cols)) = EXCEPTIONS
                    .iter()
                    .find(|(s, t, op, _)| *s == service && *t == name && *op == "update")
                {
                    if !cols.is_empty() {
                        let want: Vec<String> = cols.iter().map(|c| quote(c)).collect();
                        let mut have = updatable.clone();
                        have.sort();
                        let mut want_sorted = want.clone();
                        want_sorted.sort();
                        if have != want_sorted {
                            unexpected.push(format!(
                                "{service}: update {name} columns {have:?}, documented {want_sorted:?}"
                            ));
                        }
                    }
                }
            }
        }
        tx.rollback().await.unwrap();
        for extra in got.difference(&expected) {
            unexpected.push(format!(
                "{service} may {extra} (not a documented exception)"
            ));
        }
        for missing in expected.difference(&got) {
            unexpected.push(format!(
                "{service} may not {missing} (a documented exception)"
            ));
        }
        let _ = conn.close().await;
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

#[tokio::test]
async fn a_service_reads_only_the_other_schemas_it_is_documented_to_read() {
    // The cross-schema reads of docs/security.md ("Service roles"); writes are above.
    let reads: &[(&str, &[&str])] = &[
        ("identity", &["profiles.profiles"]),
        (
            "profiles",
            &[
                "identity.users",
                "identity.user_sessions",
                "identity.password_reset_tokens",
                "identity.otp_codes",
                "referral.referrals",
                "referral.sponsor_codes",
                "referral.points_ledger",
                "referral.points_conversions",
                "referral.sponsor_daily_limits",
                "referral.sponsor_contact_batches",
                "pots.pots",
                "pots.pot_invitations",
                "donations.donations",
                "donations.refunds",
                "donations.ussd_sessions",
                "donations.sms_messages",
                "qr.qr_codes",
                "notifications.notifications",
                "notifications.notification_preferences",
                "analytics.analytics_events",
                "analytics.analytics_events_archive",
                "analytics.ab_test_assignments",
                "admin.audit_logs",
            ],
        ),
        (
            "referral",
            &[
                "identity.users",
                "identity.user_sessions",
                "profiles.profiles",
                "pots.pots",
                "donations.donations",
                "admin.system_config",
                "admin.feature_flags",
            ],
        ),
        (
            "pots",
            &["profiles.profiles", "donations.donations", "packs.packs"],
        ),
        (
            "donations",
            &[
                "pots.pots",
                "profiles.profiles",
                "profiles.user_addresses",
                "admin.system_config",
                "admin.feature_flags",
            ],
        ),
        ("packs", &["pots.pots", "qr.qr_codes"]),
        (
            "qr",
            &[
                "packs.packs",
                "packs.partners",
                "packs.partner_members",
                "pots.pots",
                "profiles.profiles",
            ],
        ),
        (
            "notifications",
            &[
                "identity.users",
                "profiles.profiles",
                "admin.system_config",
                "admin.feature_flags",
            ],
        ),
        (
            "analytics",
            &[
                "identity.users",
                "profiles.profiles",
                "profiles.user_addresses",
                "referral.referrals",
            ],
        ),
        ("admin", &["identity.users"]),
    ];
    let db = TestDb::new().await;
    let mut admin = db.pool.acquire().await.unwrap();
    let tables = tables(&mut admin).await;
    drop(admin);
    let mut unexpected = vec![];
    for (service, documented) in reads {
        let mut conn = service_connection(&db, service).await;
        let mut tx = conn.begin().await.unwrap();
        for (schema, table, _) in &tables {
            if schema == service || schema == "wolo" {
                continue;
            }
            let name = format!("{schema}.{table}");
            let ok = allowed(
                &mut tx,
                &format!("select from {}.{} limit 0", quote(schema), quote(table)),
            )
            .await;
            if ok != documented.contains(&name.as_str()) {
                unexpected.push(format!(
                    "{service} reading {name}: {}",
                    if ok { "allowed" } else { "refused" }
                ));
            }
        }
        tx.rollback().await.unwrap();
        let _ = conn.close().await;
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}
