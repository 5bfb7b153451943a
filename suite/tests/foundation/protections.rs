//! What every answer carries (issue #13, items 1 and 12): a panic in a handler is a 500 in
//! PostgREST's shape with the request id, and the server goes on; nosniff, a referrer
//! policy, no framing, no caching of API answers, HSTS behind an https proxy; the admin
//! console and the scanning page load no inline script.

use axum::{routing::get, Router};
use reqwest::{header, Method};
use serde_json::{json, Value};
use testkit::TestDb;

fn header_of(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn boom() -> &'static str {
    panic!("secret detail: /etc/wolo/keys select * from identity.users")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_with_the_request_id_and_the_server_keeps_serving() {
    let router = Router::new()
        .route("/boom", get(boom))
        .route("/ok", get(|| async { "ok" }));
    let app = testkit::spawn(router).await;

    for _ in 0..3 {
        let res = app
            .request(Method::GET, "/boom")
            .header("x-request-id", "req-panic-1")
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.status(), 500);
        assert_eq!(header_of(&res, "x-request-id"), "req-panic-1");
        assert_eq!(header_of(&res, "x-content-type-options"), "nosniff");
        assert_eq!(header_of(&res, "cache-control"), "no-store");
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("secret detail") && !text.contains("/etc"),
            "{text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            body,
            json!({
                "code": "XX000",
                "message": "internal error",
                "details": "request id req-panic-1",
                "hint": null,
            })
        );
    }
    // A request id the edge made up is quoted as well.
    let res = app.get("/boom").await;
    let id = header_of(&res, "x-request-id");
    assert!(!id.is_empty());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["details"], format!("request id {id}"));

    let res = app.get("/ok").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn every_answer_carries_the_protections_and_api_answers_are_not_stored() {
    let db = TestDb::new().await;
    let app = testkit::spawn(suite::suite_router(db.context())).await;

    // Probes, the OpenAPI document, a REST read, a 404, and a token: all no-store.
    for path in ["/pots/health", "/pots/", "/packs/packs?limit=1", "/nowhere"] {
        let res = app.get(path).await;
        assert_eq!(
            header_of(&res, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(header_of(&res, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header_of(&res, "x-frame-options"), "DENY", "{path}");
        assert_eq!(
            header_of(&res, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(header_of(&res, "cache-control"), "no-store", "{path}");
        assert_eq!(header_of(&res, "strict-transport-security"), "", "{path}");
    }
    // The sign-up's answer (a user, personal data) and a session with its tokens.
    let res = app
        .request(Method::POST, "/identity/signup")
        .json(&json!({"email": "nostore@wolo.sn", "password": "mot-de-passe-solide"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header_of(&res, "cache-control"), "no-store");
    let code: String = sqlx::query_scalar(
        "select payload->'data'->>'code' from wolo.outbox
          where payload->'recipient'->>'email' = 'nostore@wolo.sn' order by id desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let res = app
        .request(Method::POST, "/identity/verify")
        .json(&json!({"type": "signup", "email": "nostore@wolo.sn", "token": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header_of(&res, "cache-control"), "no-store");
    let session: Value = res.json().await.unwrap();
    assert!(session["access_token"].is_string(), "{session}");

    // The vendored library is cacheable, as its handler says.
    let res = app.get("/qr/assets/jsQR.js").await;
    assert_eq!(header_of(&res, "cache-control"), "public, max-age=86400");
    assert_eq!(header_of(&res, "x-content-type-options"), "nosniff");
}

#[tokio::test]
async fn hsts_is_sent_when_a_proxy_of_ours_says_the_request_came_over_https() {
    let app = testkit::spawn(Router::new().route("/x", get(|| async { "x" }))).await;
    // The test client connects from 127.0.0.1: a proxy of ours.
    let res = app
        .request(Method::GET, "/x")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header_of(&res, "strict-transport-security"),
        platform::serve::HSTS
    );
    let res = app
        .request(Method::GET, "/x")
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(header_of(&res, "strict-transport-security"), "");
}

/// Every `<script>` has a `src`, and nothing else runs script or carries inline style.
fn assert_no_inline_script_or_style(page: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains(" src="), "{page}: inline script {tag}");
        assert!(
            lower[i..].starts_with(&format!("{tag}></script>")),
            "{page}: a script with a src and a body"
        );
    }
    assert!(!lower.contains("<style"), "{page}: inline <style>");
    assert!(!lower.contains(" style="), "{page}: a style attribute");
    assert!(!lower.contains("javascript:"), "{page}: a javascript: URL");
    for attr in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        " onchange=",
        " oninput=",
    ] {
        assert!(!lower.contains(attr), "{page}: an inline handler{attr}");
    }
}

/// The `src` / `href` values of `<script>` and `<link>` tags.
fn assets_of(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("script") || t.starts_with("link"))
    {
        for attr in ["src=\"", "href=\""] {
            if let Some(i) = tag.find(attr) {
                let rest = &tag[i + attr.len()..];
                out.push(rest[..rest.find('"').unwrap()].to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_console_and_the_scan_page_run_no_inline_script_and_cannot_be_framed() {
    let db = TestDb::new().await;
    let app = testkit::spawn(suite::suite_router(db.context())).await;
    for (page, base) in [("/admin/console", "/admin/"), ("/qr/scan", "/qr/")] {
        let res = app.get(page).await;
        assert_eq!(res.status(), 200, "{page}");
        let csp = header_of(&res, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{page}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{page}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{page}: {csp}"
        );
        assert_eq!(header_of(&res, "x-frame-options"), "DENY", "{page}");
        assert_eq!(
            header_of(&res, "x-content-type-options"),
            "nosniff",
            "{page}"
        );
        assert_eq!(header_of(&res, "referrer-policy"), "no-referrer", "{page}");
        let html = res.text().await.unwrap();
        assert_no_inline_script_or_style(page, &html);
        let assets = assets_of(&html);
        assert!(
            assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
            "{page}: {assets:?}"
        );
        for asset in assets {
            let res = app.get(&format!("{base}{asset}")).await;
            assert_eq!(res.status(), 200, "{page}: {asset}");
            let ctype = header_of(&res, "content-type");
            let want = if asset.ends_with(".js") {
                "text/javascript"
            } else {
                "text/css"
            };
            assert!(ctype.starts_with(want), "{asset}: {ctype}");
            assert_eq!(header_of(&res, "x-content-type-options"), "nosniff");
            assert!(!res.text().await.unwrap().contains("<script"), "{asset}");
        }
    }
}

#[test]
fn the_scan_page_may_call_an_absolute_identity_url_and_nothing_else() {
    let csp = qr::scan::page_csp("../identity");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    let csp = qr::scan::page_csp("https://id.wolo.sn/auth/");
    assert!(
        csp.contains("connect-src 'self' https://id.wolo.sn;"),
        "{csp}"
    );
    // Nothing that could widen the policy gets in.
    let csp = qr::scan::page_csp("https://x.sn; script-src * 'unsafe-inline'");
    assert!(
        csp.contains("connect-src 'self';") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(header::HeaderValue::from_str(&csp).is_ok());
}

/// Every answer is an answer (issue #17, item 6): a path nothing serves, at the root or under
/// a service, and a method a route does not take, answer in the PostgREST error shape; an
/// error a handler wrote itself is left as it is.
#[tokio::test]
async fn unknown_paths_and_methods_answer_json_errors() {
    let service = Router::new().route("/ok", get(|| async { "ok" })).route(
        "/gone",
        get(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(json!({"code": "own", "message": "m", "details": null, "hint": null})),
            )
        }),
    );
    let app = testkit::spawn(Router::new().nest("/svc", service)).await;
    for path in ["/nope", "/svc/nope", "/svc/ok/deeper", "/svc"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(header_of(&res, "content-type").starts_with("application/json"));
        assert_eq!(header_of(&res, "x-content-type-options"), "nosniff");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"code": "PGRST125", "message": "Invalid path specified in request URL",
                   "details": null, "hint": null}),
            "{path}"
        );
    }
    let res = app.request(Method::DELETE, "/svc/ok").send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert!(!header_of(&res, "allow").is_empty());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "PGRST117");
    assert_eq!(body["message"], "Unsupported HTTP method: DELETE");
    // A handler's own 404 is untouched.
    let body: Value = app.get("/svc/gone").await.json().await.unwrap();
    assert_eq!(body["code"], "own");
    assert_eq!(app.get("/svc/ok").await.text().await.unwrap(), "ok");
}
