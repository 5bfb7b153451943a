//! Hostile query strings against the live suite: nesting that used to overflow the stack and
//! abort every service, numbers that overflowed, and SQL written into every place of the
//! grammar that names something. Each is a 4xx in PostgREST's shape (or a 200 in which the text
//! stayed text), never a 5xx, never an injected effect, and the pool keeps serving.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{expect, stack, Stack};

/// Status and body of `GET path` as the admin (who may read everything, so that a refusal
/// can only come from the grammar).
async fn get(s: &Stack, path: &str) -> (StatusCode, Value) {
    let res = s.admin(Method::GET, path).send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A 4xx with PostgREST's `{code, message, details, hint}`.
fn assert_refused(path: &str, status: StatusCode, body: &Value) {
    assert!(
        status.is_client_error(),
        "{path}: expected a 4xx, got {status} {body}"
    );
    for key in ["code", "message", "details", "hint"] {
        assert!(body.get(key).is_some(), "{path}: no {key} in {body}");
    }
}

fn nested(open: &str, leaf: &str, close: &str, n: usize) -> String {
    format!("{}{leaf}{}", open.repeat(n), close.repeat(n))
}

/// The seeded pots are still all there, and a plain read works.
async fn still_serving(s: &Stack) {
    let rows = s.admin_json("/pots/pots?select=id").await;
    assert_eq!(rows.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn deep_nesting_from_an_anonymous_caller_is_a_400_and_every_service_keeps_serving() {
    let s = stack().await;
    // A few kilobytes each: before the limits, any one of these overflowed the stack of the
    // worker thread and aborted the process, all ten services with it.
    for query in [
        format!("select={}", nested("a(", "x", ")", 3000)),
        format!("or=({})", nested("or(", "id.eq.1", ")", 3000)),
        format!("not.and=({})", nested("not.and(", "id.eq.1", ")", 2000)),
        format!(
            "select=id,pot_invitations(id)&pot_invitations.or=({})",
            nested("and(", "id.eq.1", ")", 2000)
        ),
    ] {
        for service in ["pots/pots", "packs/packs", "identity/users"] {
            let path = format!("/{service}?{query}");
            let res = s.app.get(&path).await;
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["code"], "PGRST100");
            assert!(body["details"].as_str().unwrap().contains("deeper than 8"));
            // The answer does not echo kilobytes of input.
            assert!(body.to_string().len() < 500, "{body}");
        }
    }
    // Just within the limit is fine (the embed fails on the relation, not the grammar).
    let (status, body) = get(
        &s,
        &format!(
            "/pots/pots?select={}",
            nested("pot_invitations(", "id", ")", 8)
        ),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("PGRST200"))
    );
    let (status, body) = get(
        &s,
        &format!(
            "/pots/pots?select={}",
            nested("pot_invitations(", "id", ")", 9)
        ),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("PGRST100"))
    );
    // Too long a query string, too many filters, too long a JSON path.
    for path in [
        format!("/pots/pots?title=eq.{}", "x".repeat(33 * 1024)),
        format!("/pots/pots?or=({})", vec!["title.eq.x"; 101].join(",")),
        format!(
            "/admin/system_config?select=config_value{}",
            "->a".repeat(17)
        ),
    ] {
        let (status, body) = get(&s, &path).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("PGRST100")),
            "{body}"
        );
    }
    still_serving(&s).await;
}

#[tokio::test]
async fn numbers_beyond_64_bits_or_at_its_edge_are_a_4xx_or_a_sane_page() {
    let s = stack().await;
    let max = i64::MAX;
    // Each of these overflowed an i64 in the paging arithmetic: a panic in a debug build, a
    // wrapped (negative) limit in a release build.
    let rows = s
        .admin_json(&format!(
            "/pots/pots?select=id&order=title&limit={max}&offset=1"
        ))
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 4);
    for range in [format!("0-{max}"), format!("items=3-{max}")] {
        let res = s
            .admin(
                Method::GET,
                &format!("/pots/pots?select=id&limit={max}&offset=2"),
            )
            .header("Range", &range)
            .send()
            .await
            .unwrap();
        let rows = expect(res, 200).await;
        assert_eq!(
            rows.as_array().unwrap().len(),
            if range.starts_with('0') { 3 } else { 2 }
        );
    }
    let res = s
        .admin(
            Method::GET,
            &format!("/pots/pots?select=id&limit={max}&offset={max}"),
        )
        .header("Range", format!("{max}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 200).await, json!([]));
    // Beyond 64 bits: 400 in the query, 416 in the Range header.
    let (status, body) = get(&s, "/pots/pots?select=id&limit=99999999999999999999").await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("PGRST100"))
    );
    let (status, body) = get(&s, "/pots/pots?select=id&offset=-99999999999999999999").await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("PGRST100"))
    );
    let res = s
        .admin(Method::GET, "/pots/pots?select=id")
        .header("Range", "0-99999999999999999999")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 416).await["code"], "PGRST103");
    // A negative limit of an embedded resource is refused like the top level's.
    let (status, body) = get(
        &s,
        "/pots/pots?select=id,pot_invitations(id)&pot_invitations.limit=-1",
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (416, Some("PGRST103"))
    );
    let (status, _) = get(&s, &format!("/pots/pots?select=id,pot_invitations(id)&pot_invitations.limit={max}&pot_invitations.offset={max}")).await;
    assert_eq!(status, 200);
    // A JSON index beyond `int` is a key, not a wrapped index.
    let (status, _) = get(
        &s,
        "/admin/system_config?select=v:config_value->99999999999",
    )
    .await;
    assert_eq!(status, 200);
    // max-affected: a count from 0 to 2^63-1; anything else is not a preference, refused
    // under handling=strict, and nothing is written.
    for n in ["99999999999999999999", "-1", "1e3"] {
        let res = s
            .admin(Method::PATCH, "/admin/feature_flags?flag_key=eq.nope")
            .header("Prefer", format!("handling=strict, max-affected={n}"))
            .json(&json!({"description": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(expect(res, 400).await["code"], "PGRST122", "{n}");
    }
    let res = s
        .admin(Method::PATCH, "/admin/feature_flags?flag_key=neq.nope")
        .header(
            "Prefer",
            format!("handling=strict, max-affected={max}, tx=rollback"),
        )
        .json(&json!({"description": "x"}))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    still_serving(&s).await;
}

/// SQL as an attacker writes it, for every place of the grammar.
const SQL: &[&str] = &[
    "id;drop table pots.pots",
    "id; select pg_sleep(5)",
    "id) union select password_hash from identity.users --",
    "id union select 1",
    "id--",
    "id/*",
    "id'",
    "id\"",
    "\"id\"\"; drop table pots.pots; --\"",
    "id%00",
    "id%00;drop table pots.pots",
];

#[tokio::test]
async fn sql_in_any_place_of_the_query_string_is_a_4xx_and_has_no_effect() {
    let s = stack().await;
    let enc = |t: &str| {
        t.replace(' ', "%20")
            .replace(';', "%3B")
            .replace('\'', "%27")
    };
    // Before #13 a cast passed a character filter that let these through: a 200 with
    // the client's SQL evaluated.
    let mut paths = vec![
        "/pots/pots?select=target_amount_cfa::int%20is%20not%20null".to_string(),
        "/pots/pots?select=target_amount_cfa::text%20collate%20C".to_string(),
        "/packs/packs?description=fts(nope).a".to_string(),
    ];
    for sql in SQL {
        let x = enc(sql);
        paths.extend([
            // select, embeds and their hints, casts
            format!("/pots/pots?select={x}"),
            format!("/pots/pots?select=id,{x}(id)"),
            format!("/pots/pots?select=id,pot_invitations!{x}(id)"),
            format!("/pots/pots?select=id::{x}"),
            // filters, logic trees, order
            format!("/pots/pots?{x}=eq.1"),
            format!("/pots/pots?or=({x}.eq.1,id.eq.1)"),
            format!("/pots/pots?order={x}"),
            format!("/pots/pots?order=title.{x}"),
            format!("/pots/pots?title=fts({x}).a"),
            // JSON paths into a column that is not JSON
            format!("/pots/pots?select=title->>{x}"),
        ]);
    }
    for path in &paths {
        let (status, body) = get(&s, path).await;
        assert_refused(path, status, &body);
    }
    // Writes: on_conflict and columns name columns of the table, or the request is refused.
    for sql in SQL {
        let x = enc(sql);
        for path in [
            format!("/admin/feature_flags?on_conflict={x}"),
            format!("/admin/feature_flags?columns=flag_key,{x}"),
        ] {
            let res = s
                .admin(Method::POST, &path)
                .header("Prefer", "resolution=merge-duplicates")
                .json(&json!({"flag_key": "hostile", "name": "x"}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            assert_refused(&path, status, &body);
        }
    }
    // NULs in a written value or key: a 4xx, nothing written.
    for body in [
        json!({"flag_key": "hostile\u{0}x", "name": "x"}),
        json!({"flag_key": "hostile", "name\u{0}; drop table pots.pots": "x"}),
    ] {
        let res = s
            .admin(Method::POST, "/admin/feature_flags")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_refused("POST /admin/feature_flags", status, &body);
    }
    // Text that stays text: an alias or a JSON key is any text, quoted or bound, and comes back
    // as it was sent.
    let rows = s
        .admin_json(
            "/pots/pots?select=%22x%5C%22%3B%20drop%20table%20pots.pots%3B%20--%22:title&limit=1",
        )
        .await;
    assert!(
        rows[0].get("x\"; drop table pots.pots; --").is_some(),
        "{rows}"
    );
    let rows = s
        .admin_json("/admin/system_config?select=config_value->>x%27%20or%201=1%3B--&limit=1")
        .await;
    assert_eq!(rows, json!([{"x' or 1=1;--": null}]));
    // Filter values are bound: SQL in them matches nothing.
    let rows = s
        .admin_json("/pots/pots?select=id&title=eq.x%27%20or%20%271%27=%271")
        .await;
    assert_eq!(rows, json!([]));
    // Types and configurations the catalog knows still work, in every spelling it knows.
    let rows = s
        .admin_json("/pots/pots?select=a:target_amount_cfa::text,b:target_amount_cfa::INTEGER,c:target_amount_cfa::int8,d:title::character%20varying,e:target_amount_cfa::numeric&limit=1")
        .await;
    assert!(
        rows[0]["a"].is_string() && rows[0]["b"].is_number(),
        "{rows}"
    );
    let rows = s
        .admin_json("/packs/packs?select=name&description=fts(french).cin%C3%A9ma")
        .await;
    assert!(!rows.as_array().unwrap().is_empty());
    still_serving(&s).await;
    let (status, body) = get(&s, "/admin/feature_flags?flag_key=like.hostile*").await;
    assert_eq!((status.as_u16(), body), (200, json!([])));
}

#[tokio::test]
async fn fifty_hostile_requests_at_once_leave_the_pool_serving() {
    let s = stack().await;
    let mut hostile = vec![];
    for i in 0..50 {
        // Refused by the parser, or by PostgreSQL inside the request's transaction (which
        // must give its connection back).
        let path = match i % 8 {
            0 => format!("/pots/pots?select={}", nested("a(", "x", ")", 2000)),
            1 => "/pots/pots?select=id%00".to_string(),
            2 => "/pots/pots?select=id::text%3Bselect%20pg_sleep(10)".to_string(),
            3 => format!("/pots/pots?or=({})", nested("or(", "id.eq.1", ")", 2000)),
            4 => "/pots/pots?select=%22a%00b%22:id".to_string(),
            5 => "/pots/pots?id=eq.x%27%3Bselect%20pg_sleep(10)--".to_string(),
            6 => "/pots/pots?select=t:title->>x%27%3Bselect%20pg_sleep(10)--".to_string(),
            _ => "/pots/pots?select=id::regclass".to_string(),
        };
        let req = if i % 2 == 0 {
            s.app.request(Method::GET, &path)
        } else {
            s.admin(Method::GET, &path)
        };
        hostile.push(tokio::spawn(
            async move { req.send().await.unwrap().status() },
        ));
    }
    for h in hostile {
        let status = h.await.unwrap();
        assert!(status.is_client_error(), "{status}");
    }
    let started = std::time::Instant::now();
    still_serving(&s).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn deeply_nested_json_in_a_row_reads_back_in_every_media_type() {
    let s = stack().await;
    // As deep as a request body may be (serde_json's limit is 128 with the enclosing object).
    let deep = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"flag_key": "deep", "name": "deep", "flag_value": {deep}}}"#
        ))
        .send()
        .await
        .unwrap();
    expect(res, 201).await;
    for accept in [
        "application/json",
        "application/vnd.pgrst.object+json",
        "text/csv",
    ] {
        let res = s
            .admin(
                Method::GET,
                "/admin/feature_flags?select=flag_key,flag_value&flag_key=eq.deep",
            )
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{accept}: {text}");
    }
}

#[tokio::test]
async fn a_modifier_of_a_resource_not_embedded_is_pgrst108() {
    let s = stack().await;
    for query in [
        "select=id&pot_invitations.order=id",
        "select=id&pot_invitations.limit=1",
        "select=id,pot_invitations(id)&donations.id=eq.1",
    ] {
        let (status, body) = get(&s, &format!("/pots/pots?{query}")).await;
        assert_refused(query, status, &body);
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("PGRST108")),
            "{query}: {body}"
        );
    }
    // Embedded, the same modifiers are fine.
    let (status, body) = get(
        &s,
        "/pots/pots?select=id,pot_invitations(id)&pot_invitations.order=id&pot_invitations.limit=1",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
