//! The admin console: one static page (French), no build step; its script and styles are
//! served as files (`/console.js`, `/console.css`) so its policy allows no inline script.

use axum::{http::header, response::IntoResponse};

/// The page.
pub const CONSOLE_HTML: &str = include_str!("console.html");
pub const CONSOLE_JS: &str = include_str!("console.js");
pub const CONSOLE_CSS: &str = include_str!("console.css");

/// The console's Content-Security-Policy: its own files only, API calls to its own origin
/// (identity and admin sit side by side), never framed.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// `GET /console`.
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONSOLE_CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        CONSOLE_HTML,
    )
}

/// `GET /console.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CONSOLE_JS,
    )
}

/// `GET /console.css`.
pub async fn styles() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CONSOLE_CSS,
    )
}
