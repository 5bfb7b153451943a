//! The pages people open from a link, served by the suite itself (`wolo serve` mounts them at
//! the root): no JavaScript framework, one HTML answer per page with its CSS inline, readable
//! on a 3G phone 360 px wide; French first, Wolof and English by `?lang=` or
//! `Accept-Language` ([`i18n`]).
//!
//! - `GET /p/{pot}`: the pot page ([`pot`]); `POST /p/{pot}` is its « Participer » form,
//!   which starts a checkout through the donations service's own `POST /checkout` and sends
//!   the browser on to Wave;
//! - `GET /dons/{donation}/merci` and `/dons/{donation}/echec`: where Wave sends the donor
//!   back ([`donation`]);
//! - `GET /cadeau/{qr code id}`: the gift, with its QR code ([`gift`]);
//! - `/reset`, `/auth/confirm`, `/invitation/{code}`: the links of the password reset,
//!   e-mail confirmation and sponsor invitation messages ([`account`]).
//!
//! Each page reads what the API gives, through the same code (`pots::public::load` for the
//! pot) and as the service that owns the data (its database role). Links to these pages are
//! written by `platform::links`.

use axum::{
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use platform::links::Links;
use sqlx::PgPool;

pub mod account;
pub mod donation;
pub mod gift;
pub mod i18n;
pub mod live;
pub mod pot;
pub mod preview;

use i18n::{Lang, Words};

/// What the pages read, each as the service that owns it.
#[derive(Clone)]
pub struct Sources {
    /// The pots service's pool: pots, their public donations and packs.
    pub pots: PgPool,
    /// The donations service's pool: a donation's state for the thank-you page.
    pub donations: PgPool,
    /// The qr service's pool: the gift's code, pack and venues.
    pub qr: PgPool,
    /// The referral service's pool: who sent an invitation.
    pub referral: PgPool,
    /// The donations service's router: the pot page's form posts to its `/checkout`, so a
    /// checkout started from a page obeys every rule of the API's.
    pub donations_router: Router,
    /// The identity service's router: reset, confirmation and sign-in by SMS code.
    pub identity_router: Router,
    /// The referral service's router: accepting an invitation.
    pub referral_router: Router,
    pub links: Links,
    /// Whether the donations service offers PayDunya (Orange Money, Free Money, cards): the
    /// pot page's form then lets the donor choose it.
    pub mobile_money: bool,
    /// The process's live feed of pot news (`/p/{pot}/live`).
    pub live: live::Live,
    /// The pots and qr services' pools on the standby (`WOLO_DATABASE_READ_URL`), for the
    /// pages that only show ([`Sources::reading`]).
    pub pots_read: Option<PgPool>,
    pub qr_read: Option<PgPool>,
}

impl Sources {
    /// These sources for a page that only reads, by the caller of `headers`: the pot and
    /// gift pools on the standby when `platform::reads` says it may serve them.
    pub fn reading(&self, headers: &axum::http::HeaderMap) -> Sources {
        let mut src = self.clone();
        src.pots = platform::reads::pool(&self.pots, self.pots_read.as_ref(), headers).clone();
        src.qr = platform::reads::pool(&self.qr, self.qr_read.as_ref(), headers).clone();
        src
    }
}

/// The pages' routes, to be merged at the root of the suite's router.
pub fn router(sources: Sources) -> Router {
    Router::new()
        .route("/p/{pot}", get(pot::get_page).post(pot::post_give))
        .route("/p/{pot}/live", get(live::get_live))
        .route("/p/{pot}/apercu.jpg", get(preview::get_preview))
        .route("/dons/{donation}/merci", get(donation::get_thanks))
        .route("/dons/{donation}/echec", get(donation::get_failed))
        .route("/cadeau/{id}", get(gift::get_page))
        .route("/reset", get(account::get_reset).post(account::post_reset))
        .route(
            "/auth/confirm",
            get(account::get_confirm).post(account::post_confirm),
        )
        .route(
            "/invitation/{code}",
            get(account::get_invitation).post(account::post_invitation),
        )
        .with_state(sources)
}

/// What every page carries besides its body.
pub struct Page<'a> {
    pub lang: Lang,
    pub title: String,
    /// The path of this page with its query (without `lang`), for the language switch.
    pub path: &'a str,
    /// Extra `<head>` content (Open Graph tags, a refresh).
    pub head: Markup,
    pub body: Markup,
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;background:#faf7f2}
header{display:flex;justify-content:space-between;align-items:center;padding:10px 16px;background:#0b6e4f;color:#fff}
header a{color:#fff}
.brand{font-weight:800;letter-spacing:.06em;text-decoration:none;font-size:20px}
.langs a{margin-left:10px;font-size:14px}
.langs a[aria-current]{font-weight:700;text-decoration:none}
main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:26px;line-height:1.2;margin:8px 0}
h2{font-size:19px;margin:24px 0 8px}
.muted{color:#5b5b5f}
.card{background:#fff;border-radius:12px;padding:16px;margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.bar{height:14px;background:#e6e1d8;border-radius:7px;overflow:hidden}
.bar span{display:block;height:100%;background:#f29f05}
.big{font-size:22px;font-weight:700}
.state{padding:10px 12px;border-radius:8px;background:#e8f4ef}
.state.warn{background:#fdf0d5}
label{display:block;margin:10px 0 4px;font-weight:600}
input[type=text],input[type=tel],input[type=number],textarea{width:100%;padding:12px;font-size:17px;border:1px solid #c9c3b8;border-radius:8px}
.check{display:flex;gap:8px;align-items:center;font-weight:400}
button,.button{display:inline-block;width:100%;margin-top:16px;padding:14px;font-size:18px;font-weight:700;color:#fff;background:#0b6e4f;border:0;border-radius:10px;text-align:center;text-decoration:none}
.error{padding:10px 12px;border-radius:8px;background:#fde2e1;color:#8a1c17}
ul.wall{list-style:none;padding:0;margin:0}
ul.wall li{padding:10px 0;border-bottom:1px solid #eee}
.qr svg{width:100%;max-width:360px;height:auto;display:block;margin:0 auto}
.code{font:700 24px/1.3 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.08em;text-align:center}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}
dt{color:#5b5b5f}
dd{margin:0;font-weight:600;overflow-wrap:anywhere}
footer{max-width:640px;margin:24px auto;padding:0 16px;color:#5b5b5f;font-size:13px}
@media (min-width:900px){h1{font-size:32px}main{padding:24px}}
"#;

/// The whole HTML document of a page.
pub fn render(page: Page<'_>) -> Markup {
    let w = page.lang.words();
    let sep = if page.path.contains('?') { '&' } else { '?' };
    html! {
        (DOCTYPE)
        html lang=(page.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (page.title) " — WOLO" }
                (page.head)
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a.brand href="/" { "WOLO" }
                    nav.langs {
                        @for l in Lang::ALL {
                            @if l == page.lang {
                                a href=(format!("{}{sep}lang={}", page.path, l.code())) aria-current="true" lang=(l.code()) { (l.name()) }
                            } @else {
                                a href=(format!("{}{sep}lang={}", page.path, l.code())) lang=(l.code()) { (l.name()) }
                            }
                        }
                    }
                }
                main { (page.body) }
                footer { "WOLO Sénégal — " (w.tagline) }
            }
        }
    }
}

/// The pages' script: the pot page's live progress.
pub const LIVE_JS: &str = include_str!("live.js");

/// The pages' Content-Security-Policy: nothing but their own inline style and script (allowed
/// by hash, so one request per page on a 3G phone), the live stream from their own origin,
/// images from their own origin. Forms may post anywhere the page's own handler redirects
/// (Wave), so `form-action` is not restricted.
fn csp() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let hash = |s: &str| {
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()))
        };
        format!(
            "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; \
             img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'",
            hash(CSS),
            hash(LIVE_JS)
        )
    })
}

/// An HTML answer with `status`, never cached by a shared cache (pages carry live totals and
/// personal receipts), under the pages' [`csp`].
pub fn answer(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-cache"),
            (header::CONTENT_SECURITY_POLICY, csp()),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A page that only says something: not found, private, an error.
pub fn message_page(
    lang: Lang,
    path: &str,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    answer(
        status,
        render(Page {
            lang,
            title: title.to_string(),
            path,
            head: html! {},
            body: html! {
                h1 { (title) }
                p.card { (text) }
            },
        }),
    )
}

/// The friendly page for a link that leads nowhere (404).
pub fn not_found(lang: Lang, path: &str) -> Response {
    let w = lang.words();
    message_page(
        lang,
        path,
        StatusCode::NOT_FOUND,
        w.not_found_title,
        w.not_found_text,
    )
}

/// The friendly page for a failure of ours (500), the cause logged.
pub fn failure(lang: Lang, path: &str, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(%cause, path, "page failed");
    let w = lang.words();
    message_page(
        lang,
        path,
        StatusCode::INTERNAL_SERVER_ERROR,
        w.error_title,
        w.error_text,
    )
}

/// What every page starts from: its language ([`lang_of`]), its own address without `lang`
/// (`here`, for the language switch and its forms) and its query (a link's proof).
pub struct Visit {
    pub lang: Lang,
    pub here: String,
    pub query: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().map(str::to_string);
        Ok(Visit {
            lang: lang_of(query.as_deref(), &parts.headers),
            here: path_without_lang(parts.uri.path(), query.as_deref()),
            query,
        })
    }
}

/// The language of a request: `?lang=` of `query`, else `Accept-Language`.
pub fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    let lang = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    });
    Lang::pick(lang.as_deref(), headers)
}

/// `path` with `query` minus its `lang` (the switch adds its own).
pub fn path_without_lang(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "lang")
                .take(8)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if kept.is_empty() {
        return path.to_string();
    }
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{q}")
}

/// What a page's form is handed on with: the browser's request headers and extensions
/// (its address as the edge saw it, for rate limits and idempotency scopes).
pub struct Origin {
    pub headers: HeaderMap,
    pub extensions: axum::http::Extensions,
}

/// Calls `method path` of a service's own `router` in process with a JSON `body` (and a
/// bearer token), as the browser's request `from`: every rule of the API holds for a form.
/// Returns the status and the JSON answer (`null` when it is not JSON).
pub async fn call(
    router: &Router,
    method: axum::http::Method,
    path: &str,
    body: &serde_json::Value,
    bearer: Option<&str>,
    idempotency_key: Option<&str>,
    from: &Origin,
) -> Result<(StatusCode, serde_json::Value), String> {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "fr");
    // Values from a form: one that cannot be a header (a tampered field) is left out, and the
    // service answers as it does without it (401, no idempotency key).
    let visible =
        |v: &str| !v.is_empty() && v.len() <= 4096 && v.bytes().all(|b| b.is_ascii_graphic());
    if let Some(token) = bearer.filter(|t| visible(t)) {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(key) = idempotency_key.filter(|k| visible(k)) {
        req = req.header("idempotency-key", key);
    }
    for name in [
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-request-id",
        "user-agent",
    ] {
        if let Some(v) = from.headers.get(name) {
            req = req.header(name, v);
        }
    }
    let mut req = req
        .body(axum::body::Body::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    *req.extensions_mut() = from.extensions.clone();
    let res = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 256 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    ))
}

/// The French message of an API error answer (`message`), else the page's generic one.
pub fn message_of(answer: &serde_json::Value, lang: Lang) -> String {
    answer["message"]
        .as_str()
        .or(answer["msg"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| lang.words().error_text.to_string())
}

/// The words of `lang` (a shorthand for pages).
pub fn words(lang: Lang) -> &'static Words {
    lang.words()
}
