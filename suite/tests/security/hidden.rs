//! What donors hide stays hidden (V103): `show_amount = false`, `is_anonymous` and a pot's
//! `show_donor_names = false` are applied by the database for every reader but the
//! entitled (the donor, the pot owner — never an anonymous donor's name —, admins); public
//! profiles are a public projection, and a minor's profile is never public.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    admin, affected, anon, assert_permission_denied, partner, user, world, ALICE, ALICE_PUBLIC_POT,
    BOB, CAROL, D_ANONYMOUS, D_NAMED, D_PENDING, D_PRIVATE_POT, MIA, PAT,
};

/// (id, public_donor_name, public_amount_cfa) of the public pot's donations, as `tx` sees them.
async fn public_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
) -> Vec<(Uuid, Option<String>, Option<i32>)> {
    sqlx::query_as(
        "select id, public_donor_name, public_amount_cfa from donations.donations
         where pot_id = $1 and status = 'succeeded' order by id",
    )
    .bind(ALICE_PUBLIC_POT)
    .fetch_all(&mut **tx)
    .await
    .unwrap()
}

async fn hide_bobs_amount(pool: &PgPool) {
    sqlx::query("update donations.donations set show_amount = false where id = $1")
        .bind(D_NAMED)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_hidden_amount_is_hidden_from_every_public_reader() {
    let db = world().await;
    hide_bobs_amount(&db.pool).await;
    let expected = vec![
        (D_NAMED, Some("Bob Donor".to_string()), None),
        (D_ANONYMOUS, None, Some(3000)),
    ];
    for mut tx in [
        anon(&db.pool).await,
        user(&db.pool, CAROL).await,
        partner(&db.pool, PAT).await,
        // The pot owner reading the public table sees the public columns too.
        user(&db.pool, ALICE).await,
    ] {
        assert_eq!(public_rows(&mut tx).await, expected);
    }
    // The raw amount is not readable, nor usable to filter or sort (which would reveal it).
    for sql in [
        "select amount_cfa from donations.donations",
        "select id from donations.donations where amount_cfa > 4000",
        "select id from donations.donations order by amount_cfa",
        // the embed /pots/pots?select=donations(amount_cfa)
        "select (select json_agg(d.amount_cfa) from donations.donations d where d.pot_id = p.id) from pots.pots p",
    ] {
        assert_permission_denied(&db.pool, "wolo_anon", None, sql).await;
        assert_permission_denied(&db.pool, "wolo_user", Some(CAROL), sql).await;
        assert_permission_denied(&db.pool, "wolo_partner", Some(PAT), sql).await;
    }
}

#[tokio::test]
async fn a_pot_that_hides_names_hides_them_on_every_public_read() {
    let db = world().await;
    // The owner hides donor names through PATCH /pots/pots...
    let mut tx = user(&db.pool, ALICE).await;
    let hide =
        format!("update pots.pots set show_donor_names = false where id = '{ALICE_PUBLIC_POT}'");
    assert_eq!(affected(&mut tx, &hide).await, 1);
    tx.commit().await.unwrap();
    // ...and no public reader sees a name any more, the embed included.
    let mut tx = anon(&db.pool).await;
    assert_eq!(
        public_rows(&mut tx).await,
        vec![(D_NAMED, None, Some(5000)), (D_ANONYMOUS, None, Some(3000))]
    );
    let embedded: Option<serde_json::Value> = sqlx::query_scalar(
        "select (select json_agg(d.public_donor_name) from donations.donations d where d.pot_id = p.id)
         from pots.pots p where p.id = $1",
    )
    .bind(ALICE_PUBLIC_POT)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(embedded, Some(serde_json::json!([null, null])));
    drop(tx);
    // A donation confirmed later is hidden as well.
    sqlx::query(
        "update donations.donations set status = 'succeeded', confirmed_at = now() where id = $1",
    )
    .bind(D_PENDING)
    .execute(&db.pool)
    .await
    .unwrap();
    let mut tx = user(&db.pool, CAROL).await;
    assert!(public_rows(&mut tx)
        .await
        .iter()
        .all(|(_, name, _)| name.is_none()));
    drop(tx);
    // Showing names again brings back the names of donors who did not ask for anonymity.
    let mut tx = user(&db.pool, ALICE).await;
    let show =
        format!("update pots.pots set show_donor_names = true where id = '{ALICE_PUBLIC_POT}'");
    assert_eq!(affected(&mut tx, &show).await, 1);
    tx.commit().await.unwrap();
    let mut tx = anon(&db.pool).await;
    let names: Vec<Option<String>> = public_rows(&mut tx)
        .await
        .into_iter()
        .map(|(_, name, _)| name)
        .collect();
    assert_eq!(
        names,
        vec![
            Some("Bob Donor".to_string()),
            None,
            Some("Pending Payer".to_string())
        ]
    );
}

/// (id, donor_name, amount_cfa, is_mine) of donation_details as `tx` sees them.
async fn details(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
) -> Vec<(Uuid, Option<String>, i32, bool)> {
    sqlx::query_as(
        "select id, donor_name, amount_cfa, is_mine from donations.donation_details order by id",
    )
    .fetch_all(&mut **tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_entitled_read_donation_details() {
    let db = world().await;
    hide_bobs_amount(&db.pool).await;
    sqlx::query("update pots.pots set show_donor_names = false where id = $1")
        .bind(ALICE_PUBLIC_POT)
        .execute(&db.pool)
        .await
        .unwrap();
    // The pot owner: every donation to her pots with its amount; the names of the donors
    // who did not ask for anonymity (her pot hiding names from the public does not hide
    // them from her); never the anonymous donor's name.
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(
        details(&mut tx).await,
        vec![
            (D_NAMED, Some("Bob Donor".to_string()), 5000, false),
            (D_ANONYMOUS, None, 3000, false),
            (D_PENDING, Some("Pending Payer".to_string()), 2000, false),
            (D_PRIVATE_POT, Some("Bob Donor".to_string()), 7000, false),
        ]
    );
    drop(tx);
    // The donor: his own donations whole, even the hidden amount; nobody else's.
    let mut tx = user(&db.pool, BOB).await;
    assert_eq!(
        details(&mut tx).await,
        vec![
            (D_NAMED, Some("Bob Donor".to_string()), 5000, true),
            (D_PRIVATE_POT, Some("Bob Donor".to_string()), 7000, true),
        ]
    );
    drop(tx);
    // An anonymous donor with an account sees their own name; the owner still does not.
    sqlx::query("update donations.donations set is_anonymous = true where id = $1")
        .bind(D_PRIVATE_POT)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = user(&db.pool, BOB).await;
    assert_eq!(details(&mut tx).await[1].1.as_deref(), Some("Bob Donor"));
    drop(tx);
    let mut tx = user(&db.pool, ALICE).await;
    assert_eq!(details(&mut tx).await[3].1, None);
    drop(tx);
    // Anyone else: nothing (a filter cannot widen the view), or no access at all.
    let mut tx = user(&db.pool, CAROL).await;
    assert!(details(&mut tx).await.is_empty());
    let sneaky: i64 = sqlx::query_scalar(
        "select count(*) from donations.donation_details where donor_name is not null or true",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(sneaky, 0);
    drop(tx);
    for (role, sub) in [("wolo_anon", None), ("wolo_partner", Some(PAT))] {
        assert_permission_denied(
            &db.pool,
            role,
            sub,
            "select id from donations.donation_details",
        )
        .await;
    }
    // Admins see every donation with its name.
    let mut tx = admin(&db.pool).await;
    let rows = details(&mut tx).await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1].1.as_deref(), Some("Secret Giver"));
}

#[tokio::test]
async fn public_profiles_are_a_public_projection() {
    let db = world().await;
    let mut tx = user(&db.pool, CAROL).await;
    let rows: Vec<(Uuid, String, i32, i32)> = sqlx::query_as(
        "select user_id, full_name, birthday_day, birthday_month from profiles.public_profiles",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0, rows[0].1.as_str()), (ALICE, "Alice Ndiaye"));
    // Only the projection's columns exist: no year, guardian, preferences or contact flags.
    let columns: Vec<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns
         where table_schema = 'profiles' and table_name = 'public_profiles' order by ordinal_position",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(
        columns,
        [
            "user_id",
            "full_name",
            "avatar_url",
            "bio",
            "birthday_day",
            "birthday_month"
        ]
    );
    // The table itself shows Carol no one else's profile (embeds included).
    let others: i64 = sqlx::query_scalar("select count(*) from profiles.profiles")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(others, 0);
    drop(tx);
    // A deactivated account is not listed.
    sqlx::query("update identity.users set is_active = false where id = $1")
        .bind(ALICE)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = user(&db.pool, CAROL).await;
    let n: i64 = sqlx::query_scalar("select count(*) from profiles.public_profiles")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    drop(tx);
    assert_permission_denied(
        &db.pool,
        "wolo_anon",
        None,
        "select user_id from profiles.public_profiles",
    )
    .await;
}

#[tokio::test]
async fn a_minors_profile_is_never_public() {
    let db = world().await;
    // Whoever writes it (the service, an admin, the minor through REST), the flag stays off.
    sqlx::query("update profiles.profiles set is_profile_public = true where user_id = $1")
        .bind(MIA)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut tx = user(&db.pool, MIA).await;
    let sql =
        format!("update profiles.profiles set is_profile_public = true where user_id = '{MIA}'");
    assert_eq!(affected(&mut tx, &sql).await, 1);
    tx.commit().await.unwrap();
    let public: bool =
        sqlx::query_scalar("select is_profile_public from profiles.profiles where user_id = $1")
            .bind(MIA)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(!public);
    // And even a row written past the trigger is not listed while she is a minor.
    let mut conn = db.pool.acquire().await.unwrap();
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("update profiles.profiles set is_profile_public = true where user_id = $1")
        .bind(MIA)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("set session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    for sub in [CAROL, ALICE] {
        let mut tx = user(&db.pool, sub).await;
        let listed: Vec<Uuid> =
            sqlx::query_scalar("select user_id from profiles.public_profiles where user_id = $1")
                .bind(MIA)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert!(listed.is_empty());
        let row: Vec<Uuid> =
            sqlx::query_scalar("select user_id from profiles.profiles where user_id = $1")
                .bind(MIA)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert!(row.is_empty());
    }
    // Her guardian still reads her profile (entitled).
    let mut tx = user(&db.pool, BOB).await;
    let row: Vec<Uuid> =
        sqlx::query_scalar("select user_id from profiles.profiles where user_id = $1")
            .bind(MIA)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(row, vec![MIA]);
}

#[tokio::test]
async fn the_owners_export_follows_the_same_rules() {
    let db = world().await;
    // Bob's named donation becomes "unknown" (NULL counts as anonymous), the pot hides names
    // from the public (not from its owner), and an amount is hidden (not from the owner).
    sqlx::query("update donations.donations set is_anonymous = null where id = $1")
        .bind(D_NAMED)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("update donations.donations set show_amount = false where id = $1")
        .bind(D_PENDING)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("update pots.pots set show_donor_names = false where id = $1")
        .bind(ALICE_PUBLIC_POT)
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, sql) = profiles::privacy::EXPORT_SECTIONS
        .iter()
        .find(|(name, _)| *name == "donations_received")
        .expect("the export has donations_received");
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(sql)
        .bind(ALICE)
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let by_id = |id: Uuid| {
        rows.iter()
            .find(|r| r["id"] == serde_json::json!(id))
            .unwrap_or_else(|| panic!("{id} in {rows:?}"))
    };
    assert!(by_id(D_NAMED)["donor_name"].is_null());
    assert!(by_id(D_ANONYMOUS)["donor_name"].is_null());
    assert_eq!(by_id(D_PENDING)["donor_name"], "Pending Payer");
    assert_eq!(by_id(D_PENDING)["amount_cfa"], 2000);
}

#[tokio::test]
async fn every_http_path_shows_the_same_masks() {
    let db = world().await;
    hide_bobs_amount(&db.pool).await;
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    for _ in 0..100 {
        if app.get("/pots/pots?limit=0").await.status() != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let get = |path: String, who: Option<Uuid>| {
        let req = app.request(reqwest::Method::GET, &path);
        match who {
            Some(u) => req.bearer_auth(testkit::token(auth::Role::User, u)),
            None => req,
        }
    };
    // The embed: hidden amount, anonymous donor, for a visitor.
    let rows = testkit::expect(
        get(format!("/pots/pots?select=donations(id,public_amount_cfa,public_donor_name)&id=eq.{ALICE_PUBLIC_POT}&donations.order=id"), None)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        rows[0]["donations"],
        serde_json::json!([
            {"id": D_NAMED, "public_amount_cfa": null, "public_donor_name": "Bob Donor"},
            {"id": D_ANONYMOUS, "public_amount_cfa": 3000, "public_donor_name": null},
        ])
    );
    let res = get("/donations/donations?select=amount_cfa".into(), None)
        .send()
        .await
        .unwrap();
    assert_eq!(testkit::expect(res, 401).await["code"], "42501");
    // The public pot page.
    let page = testkit::expect(
        get(format!("/pots/pots/{ALICE_PUBLIC_POT}/public"), None)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let named = page["donors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == serde_json::json!(D_NAMED))
        .unwrap()
        .clone();
    assert_eq!(named["amount_cfa"], serde_json::Value::Null);
    assert_eq!(named["name"], "Bob Donor");
    // The owner's details: amounts, no anonymous name.
    let rows = testkit::expect(
        get(
            "/donations/donation_details?select=id,amount_cfa,donor_name&order=id".into(),
            Some(ALICE),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        rows[0],
        serde_json::json!({"id": D_NAMED, "amount_cfa": 5000, "donor_name": "Bob Donor"})
    );
    assert_eq!(
        rows[1],
        serde_json::json!({"id": D_ANONYMOUS, "amount_cfa": 3000, "donor_name": null})
    );
    // Profiles: the projection for a signed-in stranger, no row of the table.
    let rows = testkit::expect(
        get("/profiles/public_profiles".into(), Some(CAROL))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["full_name"], "Alice Ndiaye");
    assert!(rows[0].get("date_of_birth").is_none() && rows[0]["birthday_month"].is_number());
    let rows = testkit::expect(
        get("/profiles/profiles?select=user_id".into(), Some(CAROL))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(rows, serde_json::json!([]));
}
