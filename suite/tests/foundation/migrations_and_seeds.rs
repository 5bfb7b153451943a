//! Migrating twice is a no-op; seeding twice neither fails nor duplicates; the demo data
//! covers what a person exploring the product expects to find.

use testkit::TestDb;

/// Row counts of every table of the ten service schemas, in a stable order.
async fn row_counts(db: &TestDb) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', table_schema, table_name) from information_schema.tables
         where table_type = 'BASE TABLE' and table_schema = any($1) order by 1",
    )
    .bind(
        suite::SERVICES
            .iter()
            .map(|s| s.name.to_string())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut counts = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {t}"))
            .fetch_one(&db.pool)
            .await
            .unwrap();
        counts.push((t, n));
    }
    counts
}

#[tokio::test]
async fn migrating_a_current_database_again_changes_nothing() {
    let db = TestDb::new().await;
    let before = row_counts(&db).await;
    let applied = platform::migrate::run(&db.url).await.unwrap();
    assert!(applied.is_empty(), "re-applied {applied:?}");
    assert_eq!(row_counts(&db).await, before);
    let version = platform::migrate::applied_version(&db.pool).await.unwrap();
    assert_eq!(version, Some(platform::migrate::latest_version()));
}

#[tokio::test]
async fn every_service_schema_exists_with_tables() {
    let db = TestDb::new().await;
    for s in &suite::SERVICES {
        let tables: i64 = sqlx::query_scalar(
            "select count(*) from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'",
        )
        .bind(s.name)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert!(tables >= 2, "schema {} has {tables} tables", s.name);
    }
}

#[tokio::test]
async fn seeding_twice_neither_fails_nor_duplicates() {
    let db = TestDb::new().await;
    suite::seed(&db.url).await.unwrap();
    let first = row_counts(&db).await;
    suite::seed(&db.url).await.unwrap();
    assert_eq!(row_counts(&db).await, first);
}

#[tokio::test]
async fn the_demo_data_covers_the_product() {
    let db = TestDb::new().await;
    suite::seed(&db.url).await.unwrap();
    let scalar = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let statuses: Vec<String> =
        sqlx::query_scalar("select distinct status from pots.pots order by 1")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        ["closed", "expired", "funded", "open", "scheduled"]
    );
    assert!(scalar("select count(*) from identity.users where phone like '+221%'").await >= 8);
    assert!(scalar("select count(*) from profiles.profiles where guardian_user_id is not null and date_of_birth > current_date - interval '18 years'").await >= 1);
    assert!(scalar("select count(*) from referral.referrals where status = 'accepted'").await >= 1);
    assert!(scalar("select count(*) from referral.points_ledger").await >= 1);
    assert!(scalar("select count(*) from donations.donations where is_anonymous").await >= 1);
    let categories: Vec<String> =
        sqlx::query_scalar("select distinct category from packs.packs order by 1")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    for c in ["cinema", "experience", "restaurant", "spa"] {
        assert!(categories.iter().any(|x| x == c), "no {c} pack");
    }
    let cities: Vec<String> = sqlx::query_scalar(
        "select distinct v->>'city' from packs.partners, jsonb_array_elements(venues) v order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        cities.iter().any(|c| c == "Dakar") && cities.iter().any(|c| c == "Thiès"),
        "{cities:?}"
    );
    assert!(scalar("select count(*) from qr.qr_codes").await >= 1);
    assert!(scalar("select count(*) from notifications.notification_templates").await >= 1);
    assert!(scalar("select count(*) from admin.feature_flags").await >= 1);
    // A funded pot's succeeded donations reach its target.
    assert_eq!(
        scalar(
            "select count(*) from pots.pots p where p.status = 'funded' and
               (select coalesce(sum(amount_cfa), 0) from donations.donations d
                 where d.pot_id = p.id and d.status = 'succeeded') < p.target_amount_cfa"
        )
        .await,
        0
    );
}
