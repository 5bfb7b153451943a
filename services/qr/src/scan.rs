//! The partners' scanning page `GET /scan` (mobile-first, French), its assets, and
//! `GET /venues` (where the signed-in staff may redeem).
//!
//! The page signs in against the identity service at `WOLO_QR_IDENTITY_URL` (default
//! `../identity`, i.e. `/identity` next to `/qr` under `wolo serve`): phone + SMS code
//! (`/otp`, `/verify`) or e-mail + password (`/token?grant_type=password`). It scans with the
//! camera using jsQR (vendored in `assets/`, Apache-2.0, see `assets/jsQR.LICENSE`) or takes
//! a typed code, and posts to `redeem` (relative: `/qr/redeem`).

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use sqlx::Row;

use rest::{extract::Partner, ApiError};

use crate::{db, redeem::member_venues, AppState};

const PAGE: &str = include_str!("../assets/scan.html");
const SCAN_JS: &str = include_str!("../assets/scan.js");
const SCAN_CSS: &str = include_str!("../assets/scan.css");
const JSQR: &str = include_str!("../assets/jsQR.js");
const JSQR_LICENSE: &str = include_str!("../assets/jsQR.LICENSE");

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page's Content-Security-Policy: scripts and styles from its own files only (no inline
/// script), API calls to its own origin and to the identity service's origin when
/// `WOLO_QR_IDENTITY_URL` is absolute, never framed.
pub fn page_csp(identity_url: &str) -> String {
    let mut connect = String::from("'self'");
    if let Some(origin) = origin_of(identity_url) {
        connect.push(' ');
        connect.push_str(&origin);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob:; connect-src {connect}; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an absolute http(s) URL; `None` for a relative one or anything
/// that could not sit in a policy (spaces, quotes, semicolons, commas).
fn origin_of(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{host}"))
}

pub async fn get_page(State(state): State<AppState>) -> Response {
    let page = PAGE.replace("{{IDENTITY_URL}}", &html_attr(&state.identity_url));
    let csp = page_csp(&state.identity_url);
    let mut res = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        page,
    )
        .into_response();
    if let Ok(v) = header::HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

pub async fn get_asset(Path(file): Path<String>) -> Response {
    // The vendored library never changes between releases; the page's own files may.
    let (ctype, cache, body) = match file.as_str() {
        "jsQR.js" => (
            "text/javascript; charset=utf-8",
            "public, max-age=86400",
            JSQR,
        ),
        "jsQR.LICENSE" => (
            "text/plain; charset=utf-8",
            "public, max-age=86400",
            JSQR_LICENSE,
        ),
        "scan.js" => ("text/javascript; charset=utf-8", "no-cache", SCAN_JS),
        "scan.css" => ("text/css; charset=utf-8", "no-cache", SCAN_CSS),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// The venues of the partners the caller is staff of, as `[{partner_id, partner_name,
/// id, name, address, ...}]`.
#[tracing::instrument(skip_all, fields(user_id = %partner.id))]
pub async fn get_venues(
    State(state): State<AppState>,
    partner: Partner,
) -> Result<Response, ApiError> {
    let user = partner.id;
    let rows = sqlx::query(
        "select pa.id, pa.name, pa.venues, m.venue_ids
         from packs.partner_members m join packs.partners pa on pa.id = m.partner_id
         where m.user_id = $1 and pa.status = 'active' order by pa.name",
    )
    .bind(user)
    .fetch_all(&state.db)
    .await
    .map_err(db)?;
    let mut out = Vec::new();
    for r in rows {
        let venues: Value = r.get::<Option<Value>, _>("venues").unwrap_or(Value::Null);
        let ids: Option<Value> = r.get("venue_ids");
        let pid: uuid::Uuid = r.get("id");
        let pname: String = r.get("name");
        for mut v in member_venues(&venues, ids.as_ref()) {
            if let Some(o) = v.as_object_mut() {
                o.insert("partner_id".into(), json!(pid));
                o.insert("partner_name".into(), json!(pname));
            }
            out.push(v);
        }
    }
    Ok((StatusCode::OK, Json(Value::Array(out))).into_response())
}
