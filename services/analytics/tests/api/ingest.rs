use reqwest::Method;
use serde_json::{json, Value};

use crate::{expect, stack, user};

const ANDROID: &str = "Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

#[tokio::test]
async fn a_batch_keeps_good_events_and_reports_bad_ones_by_index() {
    let s = stack().await;
    let now = chrono::Utc::now();
    let batch = json!([
        {"event_name": "pot_viewed", "anonymous_id": "anon-1", "properties": {"pot_id": "p1"}},
        {"anonymous_id": "anon-1"},
        {"event_name": "pot_shared", "anonymous_id": "anon-1", "properties": "oops"},
        {"event_name": "pot_viewed", "anonymous_id": "anon-1",
         "timestamp": (now + chrono::Duration::hours(2)).to_rfc3339()},
        {"event_name": "Bad Name!", "anonymous_id": "anon-1"},
        {"event_name": "page_view", "anonymous_id": "anon-2", "timestamp": (now - chrono::Duration::hours(1)).to_rfc3339(),
         "page_url": "https://wolo.sn/c/abc", "session_id": "s-1"},
        {"event_name": "page_view"},
        {"event_name": "signup_started", "anonymous_id": "anon-3", "timestamp": (now - chrono::Duration::days(30)).to_rfc3339()}
    ]);
    let res = s
        .app
        .request(Method::POST, "/events")
        .header("user-agent", ANDROID)
        .header("cf-ipcountry", "sn")
        .header("x-region", "Thiès")
        .json(&batch)
        .send()
        .await
        .unwrap();
    let body = expect(res, 207).await;
    assert_eq!(body["inserted"], 2);
    let rejected: Vec<(u64, String)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, "missing_event_name".to_string()),
            (2, "invalid_properties".to_string()),
            (3, "timestamp_in_future".to_string()),
            (4, "invalid_event_name".to_string()),
            (6, "missing_subject".to_string()),
            (7, "timestamp_too_old".to_string()),
        ]
    );
    let rows: Vec<(String, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Value)> =
        sqlx::query_as(
            "select event_name, event_category, platform, device_type, os, browser, country, region, properties
               from analytics.analytics_events order by event_name",
        )
        .fetch_all(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let (name, cat, platform, device, os, browser, country, region, props) = &rows[1];
    assert_eq!((name.as_str(), cat.as_str()), ("pot_viewed", "pot"));
    assert_eq!(platform.as_deref(), Some("web"));
    assert_eq!(device.as_deref(), Some("mobile"));
    assert_eq!(os.as_deref(), Some("Android"));
    assert_eq!(browser.as_deref(), Some("Chrome"));
    assert_eq!(country.as_deref(), Some("SN"));
    assert_eq!(region.as_deref(), Some("Thiès"));
    assert_eq!(props["pot_id"], "p1");
    assert_eq!(rows[0].0, "page_view");
}

#[tokio::test]
async fn a_signed_in_batch_is_stored_as_the_user_and_cannot_claim_another() {
    let s = stack().await;
    let me = user(&s.db.pool, "+221770000001", "1990-01-01", Some("Dakar")).await;
    let other = uuid::Uuid::new_v4();
    let token = testkit::token(auth::Role::User, me);
    let res = s
        .app
        .request(Method::POST, "/events")
        .bearer_auth(&token)
        .header("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
        .json(&json!({"events": [
            {"event_name": "donation_started"},
            {"event_name": "donation_started", "user_id": other}
        ]}))
        .send()
        .await
        .unwrap();
    let body = expect(res, 207).await;
    assert_eq!(body["inserted"], 1);
    assert_eq!(body["rejected"][0]["code"], "user_mismatch");
    let (uid, device, region): (Option<uuid::Uuid>, Option<String>, Option<String>) =
        sqlx::query_as("select user_id, device_type, region from analytics.analytics_events")
            .fetch_one(&s.db.pool)
            .await
            .unwrap();
    assert_eq!(uid, Some(me));
    assert_eq!(device.as_deref(), Some("desktop"));
    // No X-Region header: the user's default address.
    assert_eq!(region.as_deref(), Some("Dakar"));
}

#[tokio::test]
async fn more_than_a_thousand_events_are_refused_whole() {
    let s = stack().await;
    let batch: Vec<Value> = (0..1001)
        .map(|i| json!({"event_name": "page_view", "anonymous_id": format!("a{i}")}))
        .collect();
    let res = s
        .app
        .request(Method::POST, "/events")
        .json(&batch)
        .send()
        .await
        .unwrap();
    let body = expect(res, 413).await;
    assert_eq!(body["code"], "batch_too_large");
    let n: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Exactly 1,000 is fine, all in.
    let res = s
        .app
        .request(Method::POST, "/events")
        .json(&batch[..1000])
        .send()
        .await
        .unwrap();
    let body = expect(res, 200).await;
    assert_eq!(body["inserted"], 1000);
    assert_eq!(body["rejected"], json!([]));
}

#[test]
fn user_agents_give_platform_and_device() {
    use analytics::ingest::parse_user_agent;
    let ipad = parse_user_agent(Some("Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"));
    assert_eq!(ipad.device_type, Some("tablet"));
    assert_eq!(ipad.platform, "web");
    let app = parse_user_agent(Some("WoloApp/2.1 (Android 13) okhttp/4.9"));
    assert_eq!(app.platform, "mobile_app");
    assert_eq!(parse_user_agent(Some("curl/8.0")).platform, "api");
    assert_eq!(parse_user_agent(None).platform, "api");
}

#[tokio::test]
async fn a_wrapped_batch_with_another_field_is_named_and_inserts_nothing() {
    let s = stack().await;
    let event = json!({"event_name": "page_view", "anonymous_id": "v-1"});
    let b = expect(
        s.app
            .request(Method::POST, "/events")
            .json(&json!({"events": [event], "evnets": []}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    assert!(b["message"].as_str().unwrap().contains("evnets"), "{b}");
    let b = expect(
        s.app
            .request(Method::POST, "/events")
            .body("[{\"event_name\": ")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(b["code"], "PGRST102");
    let n: i64 = sqlx::query_scalar("select count(*) from analytics.analytics_events")
        .fetch_one(&s.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
