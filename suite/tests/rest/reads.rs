use reqwest::Method;
use serde_json::{json, Value};

use crate::{column, expect, stack, FATOU_POT, MOUSSA_POT};

#[tokio::test]
async fn comparison_operators_filter_rows() {
    let s = stack().await;
    let rows = s
        .admin_json("/pots/pots?select=title,status&status=eq.open")
        .await;
    assert_eq!(column(&rows, "status"), vec![json!("open")]);
    let rows = s.admin_json("/pots/pots?select=id&status=neq.open").await;
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let rows = s.admin_json("/pots/pots?select=target_amount_cfa&target_amount_cfa=gt.30000&order=target_amount_cfa").await;
    assert_eq!(
        column(&rows, "target_amount_cfa"),
        vec![json!(35000), json!(40000)]
    );
    let rows = s
        .admin_json("/pots/pots?select=id&target_amount_cfa=gte.30000&target_amount_cfa=lte.35000")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let rows = s
        .admin_json("/pots/pots?select=id&target_amount_cfa=lt.20000")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let rows = s
        .admin_json(&format!(
            "/pots/pots?select=id&id=in.({MOUSSA_POT},{FATOU_POT})"
        ))
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let rows = s
        .admin_json(&format!("/pots/pots?select=id&id=not.in.({MOUSSA_POT})"))
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let rows = s.admin_json("/pots/pots?select=id&id=in.()").await;
    assert_eq!(rows, json!([]));
    let rows = s
        .admin_json("/pots/pots?select=id&actual_opened_at=is.null")
        .await;
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "only the scheduled pot never opened"
    );
    let rows = s
        .admin_json("/pots/pots?select=id&actual_opened_at=not.is.null")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let rows = s
        .admin_json("/pots/pots?select=id&allow_anonymous_donations=is.true")
        .await;
    assert!(!rows.as_array().unwrap().is_empty());
    let rows = s
        .admin_json("/pots/pots?select=id&status=isdistinct.open")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn pattern_regex_array_and_text_search_operators() {
    let s = stack().await;
    let rows = s
        .admin_json("/pots/pots?select=title&title=like.*Moussa*")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let rows = s
        .admin_json("/pots/pots?select=title&title=ilike.*MOUSSA*")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let rows = s
        .admin_json("/pots/pots?select=title&title=like(any).{*Moussa*,*Fatou*}")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let rows = s
        .admin_json("/pots/pots?select=title&title=match.%5ELes%20%5B0-9%5D%2B")
        .await;
    assert!(rows.as_array().unwrap().len() >= 2, "{rows}");
    let rows = s
        .admin_json("/pots/pots?select=title&title=imatch.moussa")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let rows = s
        .admin_json("/identity/users?select=id&roles=cs.%7Badmin%7D")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let rows = s.admin_json("/identity/users?select=id&roles=cd.%7Buser,admin,super_admin%7D&roles=ov.%7Bsuper_admin%7D").await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let rows = s
        .admin_json("/packs/packs?select=name&description=fts(french).cinéma")
        .await;
    assert!(!rows.as_array().unwrap().is_empty(), "{rows}");
    let rows = s
        .admin_json("/packs/packs?select=name&description=plfts(french).cinéma")
        .await;
    assert!(!rows.as_array().unwrap().is_empty());
    let rows = s
        .admin_json("/packs/packs?select=name&description=wfts(french).cinéma%20-xyzzy")
        .await;
    assert!(!rows.as_array().unwrap().is_empty());
    let rows = s
        .admin_json("/packs/packs?select=name&description=phfts.xyzzy")
        .await;
    assert_eq!(rows, json!([]));
}

#[tokio::test]
async fn range_operators_compare_ranges() {
    let s = stack().await;
    // The spec has no range column: a table of the test's own, picked up by a schema reload.
    sqlx::raw_sql(
        "create table pots.periods (id int primary key, during daterange);
         insert into pots.periods values (1, '[2026-01-01,2026-02-01)'), (2, '[2026-03-01,2026-04-01)');
         grant select on pots.periods to wolo_admin;
         notify pgrst, 'reload schema'",
    )
    .execute(&s.db.pool)
    .await
    .unwrap();
    let mut ready = false;
    for _ in 0..50 {
        if s.admin(Method::GET, "/pots/periods")
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the new table never appeared");
    let ids = |rows: Value| column(&rows, "id");
    let feb = "[2026-02-01,2026-03-01)";
    // strictly left of / right of February
    assert_eq!(
        ids(s
            .admin_json(&format!("/pots/periods?select=id&during=sl.{feb}"))
            .await),
        vec![json!(1)]
    );
    assert_eq!(
        ids(s
            .admin_json(&format!("/pots/periods?select=id&during=sr.{feb}"))
            .await),
        vec![json!(2)]
    );
    // does not extend to the right / left of February
    assert_eq!(
        ids(s
            .admin_json(&format!("/pots/periods?select=id&during=nxr.{feb}"))
            .await),
        vec![json!(1)]
    );
    assert_eq!(
        ids(s
            .admin_json(&format!("/pots/periods?select=id&during=nxl.{feb}"))
            .await),
        vec![json!(2)]
    );
    // both are adjacent to February
    assert_eq!(
        ids(s
            .admin_json(&format!(
                "/pots/periods?select=id&during=adj.{feb}&order=id"
            ))
            .await),
        vec![json!(1), json!(2)]
    );
    // overlap and containment work on ranges too
    assert_eq!(
        ids(s
            .admin_json("/pots/periods?select=id&during=ov.[2026-01-15,2026-01-20)")
            .await),
        vec![json!(1)]
    );
    assert_eq!(
        ids(s
            .admin_json("/pots/periods?select=id&during=cs.[2026-03-10,2026-03-11)")
            .await),
        vec![json!(2)]
    );
}

#[tokio::test]
async fn logic_trees_nest_and_negate() {
    let s = stack().await;
    let rows = s
        .admin_json("/pots/pots?select=status&or=(status.eq.open,status.eq.funded)&order=status")
        .await;
    assert_eq!(
        column(&rows, "status"),
        vec![json!("funded"), json!("open")]
    );
    let rows = s
        .admin_json("/pots/pots?select=status&or=(status.eq.closed,and(target_amount_cfa.gt.30000,not.status.eq.expired))&order=status")
        .await;
    assert_eq!(
        column(&rows, "status"),
        vec![json!("closed"), json!("funded")]
    );
    let rows = s
        .admin_json("/pots/pots?select=status&not.or=(status.eq.open,status.eq.funded)")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 3);
    let rows = s
        .admin_json(
            "/pots/pots?select=title&or=(title.eq.%22L'anniversaire de Moussa%22,title.like.%22*x,y*%22)",
        )
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
}

#[tokio::test]
async fn select_aliases_casts_and_json_paths() {
    let s = stack().await;
    let rows = s
        .admin_json(&format!(
            "/pots/pots?select=titre:title,target_amount_cfa::text&id=eq.{MOUSSA_POT}"
        ))
        .await;
    assert_eq!(
        rows,
        json!([{"titre": "L'anniversaire de Moussa", "target_amount_cfa": "22500"}])
    );
    let rows = s.admin_json("/admin/system_config?select=config_key,start:config_value->>start&config_key=eq.notifications.quiet_hours").await;
    assert_eq!(rows[0]["start"], "22:00");
    let rows = s
        .admin_json(
            "/admin/system_config?select=config_key&config_value->>timezone=eq.Africa/Dakar",
        )
        .await;
    assert_eq!(
        column(&rows, "config_key"),
        vec![json!("notifications.quiet_hours")]
    );
}

#[tokio::test]
async fn embedding_follows_foreign_keys_both_ways_and_across_schemas() {
    let s = stack().await;
    // one-to-many, with the embed's own filter, order and limit
    let rows = s
        .admin_json(&format!(
            "/pots/pots?select=title,pot_invitations(invitation_method,sent_at)&id=eq.{MOUSSA_POT}&pot_invitations.order=sent_at.desc&pot_invitations.limit=2"
        ))
        .await;
    let invitations = rows[0]["pot_invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 2);
    assert!(invitations[0]["sent_at"].as_str() >= invitations[1]["sent_at"].as_str());
    // many-to-one
    let rows = s
        .admin_json("/pots/pot_invitations?select=*,pots(title)&limit=1")
        .await;
    assert!(rows[0]["pots"]["title"].is_string(), "{rows}");
    assert!(rows[0]["invitation_method"].is_string());
    // across schemas: a pot with its donations, only succeeded ones, biggest first
    let rows = s
        .admin_json(&format!(
            "/pots/pots?select=title,donations(amount_cfa,status)&id=eq.{FATOU_POT}&donations.status=eq.succeeded&donations.order=amount_cfa.desc"
        ))
        .await;
    let amounts: Vec<i64> = rows[0]["donations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["amount_cfa"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts.iter().sum::<i64>(), 40000);
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]));
    // !inner drops parents without a matching child
    let rows = s
        .admin_json("/pots/pots?select=title,donations!inner(status)&donations.status=eq.refunded")
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    // unknown relationship
    let res = s
        .admin(Method::GET, "/pots/pots?select=title,nonsense(id)")
        .send()
        .await
        .unwrap();
    let body = expect(res, 400).await;
    assert_eq!(body["code"], "PGRST200");
}

#[tokio::test]
async fn ordering_paging_ranges_and_counts() {
    let s = stack().await;
    let rows = s
        .admin_json(
            "/pots/pots?select=target_amount_cfa&order=target_amount_cfa.desc&limit=2&offset=1",
        )
        .await;
    assert_eq!(
        column(&rows, "target_amount_cfa"),
        vec![json!(35000), json!(30000)]
    );
    let rows = s
        .admin_json(
            "/pots/pots?select=actual_opened_at&order=actual_opened_at.asc.nullsfirst,title",
        )
        .await;
    assert!(rows[0]["actual_opened_at"].is_null());
    let rows = s
        .admin_json("/pots/pots?select=actual_opened_at&order=actual_opened_at.asc.nullslast")
        .await;
    assert!(rows[4]["actual_opened_at"].is_null());

    let res = s
        .admin(Method::GET, "/pots/pots?select=id&order=title")
        .header("Range", "0-1")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], "0-1/5");
    assert_eq!(res.headers()["preference-applied"], "count=exact");
    let res = s
        .admin(Method::GET, "/pots/pots?select=id&limit=10")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-range"], "0-4/5");
    let res = s
        .admin(Method::GET, "/pots/pots?select=id")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-range"], "0-4/*");
    let res = s
        .admin(Method::GET, "/pots/pots?select=id&offset=10")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    let body = expect(res, 416).await;
    assert_eq!(body["code"], "PGRST103");
    let res = s
        .admin(Method::GET, "/pots/pots?select=id&limit=-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    let res = s
        .admin(Method::GET, "/pots/pots?select=id")
        .header("Prefer", "count=planned")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16() / 100, 2);
    assert!(res.headers()["content-range"]
        .to_str()
        .unwrap()
        .contains('/'));
    let res = s
        .admin(Method::GET, "/pots/pots?limit=0")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-range"], "*/5");
    // HEAD: same headers, no body
    let res = s
        .admin(Method::HEAD, "/pots/pots?select=id")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-range"], "0-4/5");
    assert!(res.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn single_objects_and_csv() {
    let s = stack().await;
    let res = s
        .admin(
            Method::GET,
            &format!("/pots/pots?select=title&id=eq.{MOUSSA_POT}"),
        )
        .header("Accept", "application/vnd.pgrst.object+json")
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/vnd.pgrst.object+json"));
    let body: Value = expect(res, 200).await;
    assert_eq!(body, json!({"title": "L'anniversaire de Moussa"}));
    let res = s
        .admin(Method::GET, "/pots/pots?select=title")
        .header("Accept", "application/vnd.pgrst.object+json")
        .send()
        .await
        .unwrap();
    let body = expect(res, 406).await;
    assert_eq!(body["code"], "PGRST116");
    assert_eq!(body["details"], "The result contains 5 rows");
    let res = s
        .admin(
            Method::GET,
            "/pots/pots?select=title,target_amount_cfa&order=target_amount_cfa&limit=2",
        )
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "title,target_amount_cfa");
    assert_eq!(lines.len(), 3);
    assert!(lines[1].ends_with(",15000"), "{csv}");
    let res = s
        .admin(Method::GET, "/pots/pots")
        .header("Accept", "image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 406).await["code"], "PGRST107");
}

#[tokio::test]
async fn the_openapi_document_describes_the_live_schema() {
    let s = stack().await;
    let res = s.admin(Method::GET, "/pots/").send().await.unwrap();
    let doc = expect(res, 200).await;
    assert_eq!(doc["swagger"], "2.0");
    assert!(doc["paths"]["/pots"]["get"].is_object());
    assert!(doc["definitions"]["pots"]["properties"]["target_amount_cfa"]["type"] == "integer");
    assert!(doc["definitions"]["pot_invitations"].is_object());
    assert!(
        doc["definitions"]["donations"].is_null(),
        "only the service's own schema"
    );
}

#[tokio::test]
async fn a_new_table_appears_after_a_schema_reload_notification() {
    let s = stack().await;
    let res = s.admin(Method::GET, "/pots/wishes").send().await.unwrap();
    assert_eq!(expect(res, 404).await["code"], "PGRST205");
    sqlx::raw_sql("create table pots.wishes (id serial primary key, wish text); grant select on pots.wishes to wolo_admin; notify pgrst, 'reload schema'")
        .execute(&s.db.pool)
        .await
        .unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = s
            .admin(Method::GET, "/pots/wishes")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_embedded_cross_schema_resource_keeps_its_own_row_security() {
    let s = stack().await;
    let path = format!("/pots/pots?select=title,donations(public_amount_cfa,status,is_anonymous,public_donor_name)&id=eq.{MOUSSA_POT}");
    // The owner sees every donation of their pot, whatever its status.
    let res = s
        .as_user(crate::MOUSSA, Method::GET, &path)
        .send()
        .await
        .unwrap();
    let rows = expect(res, 200).await;
    let statuses: Vec<&str> = rows[0]["donations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"pending") && statuses.contains(&"failed"),
        "{statuses:?}"
    );
    // An anonymous visitor of the public pot sees only succeeded donations, and no name
    // behind an anonymous one.
    let res = s.app.request(Method::GET, &path).send().await.unwrap();
    let rows = expect(res, 200).await;
    let donations = rows[0]["donations"].as_array().unwrap();
    assert!(!donations.is_empty());
    assert!(
        donations.iter().all(|d| d["status"] == "succeeded"),
        "{donations:?}"
    );
    assert!(donations
        .iter()
        .filter(|d| d["is_anonymous"] == true)
        .all(|d| d["public_donor_name"].is_null()));
    assert!(donations.iter().any(|d| d["is_anonymous"] == true));
    // Asking for the donor's real name, or the raw amount, is refused outright.
    for column in ["donor_name", "amount_cfa"] {
        let res = s
            .app
            .request(
                Method::GET,
                &format!("/pots/pots?select=donations({column})&id=eq.{MOUSSA_POT}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(expect(res, 401).await["code"], "42501", "{column}");
    }
}

/// A read ends by dropping its read-only transaction (`rest::execute`): the ROLLBACK goes out
/// with the pool's check of the returned connection, not as a round trip of its own. On a pool
/// of one connection, every statement after a read (a good one, or one PostgreSQL refused) runs
/// as the pool's own login, with no caller's claims, outside the read's read-only transaction.
#[tokio::test]
async fn after_a_read_the_connection_carries_no_role_claims_or_transaction() {
    use sqlx::postgres::PgPoolOptions;

    let db = testkit::TestDb::new().await;
    suite::seed(&db.url).await.unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let jwt = auth::Jwt::new(testkit::TEST_JWT_SECRET.as_bytes(), None);
    let api = rest::Api::new("pots", &db.url, pool.clone(), jwt, vec![]);
    let app = testkit::spawn(rest::router(api)).await;
    let token = testkit::token(auth::Role::User, crate::MOUSSA.parse().unwrap());
    let read = |path: String| app.request(Method::GET, &path).bearer_auth(&token).send();
    for _ in 0..100 {
        if app.get("/pots?limit=0").await.status() != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let clean = || async {
        sqlx::query_as::<_, (bool, Option<String>, bool)>(
            "select current_user = session_user,
                    nullif(current_setting('request.jwt.claims', true), ''),
                    current_setting('transaction_read_only') = 'off'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    for round in 0..3 {
        let rows = expect(
            read(format!("/pots?id=eq.{MOUSSA_POT}")).await.unwrap(),
            200,
        )
        .await;
        assert_eq!(rows.as_array().unwrap().len(), 1, "round {round}: {rows}");
        assert_eq!(clean().await, (true, None, true), "after read {round}");
    }
    // A value PostgreSQL refuses: the read fails inside its transaction, which ends all the same.
    let res = read("/pots?id=eq.not-a-uuid".to_string()).await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(clean().await, (true, None, true), "after a refused read");
}
