use reqwest::Method;
use serde_json::json;

use crate::{column, expect, stack};

#[tokio::test]
async fn insert_returns_what_was_asked_for() {
    let s = stack().await;
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .json(&json!({"flag_key": "t_min", "name": "Minimal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-range"], "*/*");
    assert!(res.text().await.unwrap().is_empty());

    let res = s
        .admin(
            Method::POST,
            "/admin/feature_flags?select=flag_key,rollout_percentage",
        )
        .header("Prefer", "return=representation")
        .json(&json!({"flag_key": "t_rep", "name": "Représentation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["preference-applied"], "return=representation");
    let body = expect(res, 201).await;
    assert_eq!(
        body,
        json!([{"flag_key": "t_rep", "rollout_percentage": 0}])
    );

    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .header("Prefer", "return=headers-only")
        .json(&json!({"flag_key": "t_loc", "name": "Location"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/feature_flags?id=eq."));
}

#[tokio::test]
async fn bulk_insert_with_columns_and_missing_defaults() {
    let s = stack().await;
    let res = s
        .admin(
            Method::POST,
            "/admin/feature_flags?columns=flag_key,name,rollout_percentage",
        )
        .header("Prefer", "return=representation, missing=default")
        .json(&json!([
            {"flag_key": "b1", "name": "Un", "rollout_percentage": 10, "ignored": true},
            {"flag_key": "b2", "name": "Deux"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["preference-applied"],
        "missing=default, return=representation"
    );
    let body = expect(res, 201).await;
    assert_eq!(
        column(&body, "rollout_percentage"),
        vec![json!(10), json!(0)],
        "the default fills the missing key"
    );
    // differing keys without columns=
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .json(&json!([{"flag_key": "c1", "name": "Un"}, {"flag_key": "c2"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "PGRST102");
    // an unknown column
    let res = s
        .admin(Method::POST, "/admin/feature_flags")
        .json(&json!({"flag_key": "c3", "name": "x", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "PGRST204");
}

#[tokio::test]
async fn upserts_merge_or_ignore_duplicates() {
    let s = stack().await;
    let post = |prefer: &'static str, name: &'static str| {
        s.admin(
            Method::POST,
            "/admin/feature_flags?on_conflict=flag_key&select=flag_key,name",
        )
        .header("Prefer", format!("return=representation, {prefer}"))
        .json(&json!({"flag_key": "u1", "name": name}))
    };
    expect(
        post("resolution=merge-duplicates", "Premier")
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let res = post("resolution=merge-duplicates", "Second")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["preference-applied"],
        "resolution=merge-duplicates, return=representation"
    );
    // Only an update happened: 200, as PostgREST answers.
    assert_eq!(
        expect(res, 200).await,
        json!([{"flag_key": "u1", "name": "Second"}])
    );
    let res = post("resolution=ignore-duplicates", "Troisième")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 201).await, json!([]));
    let rows = s
        .admin_json("/admin/feature_flags?select=name&flag_key=eq.u1")
        .await;
    assert_eq!(rows, json!([{"name": "Second"}]));
}

#[tokio::test]
async fn patch_and_delete_apply_to_the_filtered_rows() {
    let s = stack().await;
    let res = s
        .admin(Method::PATCH, "/admin/feature_flags?flag_key=in.(wave_payments,sponsor_campaigns)&select=flag_key,rollout_percentage")
        .header("Prefer", "return=representation, count=exact")
        .json(&json!({"rollout_percentage": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-range"], "0-1/2");
    let body = expect(res, 200).await;
    assert_eq!(
        column(&body, "rollout_percentage"),
        vec![json!(42), json!(42)]
    );
    let res = s
        .admin(Method::PATCH, "/admin/feature_flags?flag_key=eq.nothing")
        .json(&json!({"rollout_percentage": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = s
        .admin(
            Method::DELETE,
            "/admin/feature_flags?flag_key=eq.sponsor_campaigns",
        )
        .header("Prefer", "return=representation")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 200).await.as_array().unwrap().len(), 1);
    let rows = s
        .admin_json("/admin/feature_flags?flag_key=eq.sponsor_campaigns")
        .await;
    assert_eq!(rows, json!([]));
}

#[tokio::test]
async fn max_affected_and_rollback_leave_nothing_behind() {
    let s = stack().await;
    let before = s
        .admin_json("/admin/feature_flags?select=flag_key")
        .await
        .as_array()
        .unwrap()
        .len();
    assert!(before > 2);
    let res = s
        .admin(Method::DELETE, "/admin/feature_flags?flag_key=neq.x")
        .header("Prefer", "handling=strict, max-affected=1")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "PGRST124");
    let res = s
        .admin(Method::DELETE, "/admin/feature_flags?flag_key=neq.x")
        .header("Prefer", "tx=rollback, return=representation")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["preference-applied"],
        "return=representation, tx=rollback"
    );
    assert_eq!(expect(res, 200).await.as_array().unwrap().len(), before);
    let after = s
        .admin_json("/admin/feature_flags?select=flag_key")
        .await
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        after, before,
        "rolled back and refused requests change nothing"
    );
    let res = s
        .admin(Method::GET, "/admin/feature_flags")
        .header("Prefer", "handling=strict, bogus=1")
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 400).await["code"], "PGRST122");
}

#[tokio::test]
async fn a_single_object_mutation_of_several_rows_is_rolled_back() {
    let s = stack().await;
    let res = s
        .admin(
            Method::PATCH,
            "/admin/feature_flags?rollout_percentage=gte.0",
        )
        .header("Accept", "application/vnd.pgrst.object+json")
        .header("Prefer", "return=representation")
        .json(&json!({"name": "Tous"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 406).await["code"], "PGRST116");
    let rows = s.admin_json("/admin/feature_flags?name=eq.Tous").await;
    assert_eq!(rows, json!([]));
}

#[tokio::test]
async fn patch_and_delete_with_limit_or_offset_are_refused_and_change_nothing() {
    let s = stack().await;
    let before = s
        .admin_json("/admin/feature_flags?select=flag_key,rollout_percentage&order=flag_key")
        .await;
    assert!(before.as_array().unwrap().len() > 2);
    // Before the refusal, `limit=1` was ignored and every matching row changed.
    for (method, query) in [
        (Method::PATCH, "flag_key=neq.x&limit=1"),
        (Method::PATCH, "flag_key=neq.x&offset=1"),
        (Method::PATCH, "flag_key=neq.x&limit=-1"),
        (Method::DELETE, "flag_key=neq.x&limit=1"),
        (Method::DELETE, "flag_key=neq.x&offset=0"),
    ] {
        let res = s
            .admin(method.clone(), &format!("/admin/feature_flags?{query}"))
            .json(&json!({"rollout_percentage": 7}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = expect(res, status).await;
        assert_eq!(status, 400, "{method} {query}: {body}");
        assert!(body["code"].as_str().is_some(), "{method} {query}: {body}");
    }
    let after = s
        .admin_json("/admin/feature_flags?select=flag_key,rollout_percentage&order=flag_key")
        .await;
    assert_eq!(after, before, "a refused limited write changes nothing");
}
