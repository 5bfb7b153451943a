//! The HTTP edge shared by every binary: request ids, request spans, request metrics
//! ([`crate::metrics`]), a body size limit,
//! the usual response protections, a catch-panic layer, binding, and graceful shutdown on
//! SIGTERM or Ctrl-C.
//!
//! Every response gets (see [`protections`]):
//! - `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
//! - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'` and
//!   `X-Frame-Options: DENY` unless the handler set its own (the HTML pages do: their own
//!   policy, still `frame-ancestors 'none'`, no inline script);
//! - `Cache-Control: no-store` unless the handler set its own: answers carry tokens and
//!   personal data, so nothing is stored by a browser or a proxy unless a handler says it is
//!   safe (vendored static files, a flag evaluation cached privately);
//! - `Strict-Transport-Security` when the request came over https, as told by
//!   `X-Forwarded-Proto: https` from a proxy of ours: the TCP peer is in the trusted proxies
//!   (`WOLO_TRUSTED_PROXIES`, default loopback; the same list as for `X-Forwarded-For`, see
//!   [`crate::client`]): the services speak plain http behind a TLS-terminating proxy.
//!
//! A panic in a handler is caught ([`CatchPanicLayer`]): logged once with the request id (by
//! the panic hook of [`crate::telemetry`]),
//! answered 500 `{"code":"XX000","message":"internal error","details":"request id <id>",
//! "hint":null}`, and the process keeps serving.

use std::net::SocketAddr;

use crate::client::TrustedProxies;

use std::any::Any;

use axum::ServiceExt;
use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{header, HeaderName, HeaderValue, Method, Response, StatusCode},
    middleware::Next,
    response::IntoResponse,
    Router,
};
use tower::{Layer, ServiceBuilder};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    normalize_path::{NormalizePath, NormalizePathLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// CORS as PostgREST does it: the configured origins (any when `None`), preflights
/// answered, and the headers the web app must read exposed to the browser.
pub fn cors(origins: Option<&[String]>) -> CorsLayer {
    let allow = match origins {
        None => AllowOrigin::any(),
        Some(list) => AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("content-range"),
            HeaderName::from_static("location"),
            HeaderName::from_static("preference-applied"),
            HeaderName::from_static("content-location"),
            HeaderName::from_static("content-profile"),
            HeaderName::from_static("proxy-status"),
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(std::time::Duration::from_secs(86400))
}

/// `Strict-Transport-Security` sent on answers to https requests: one year.
pub const HSTS: &str = "max-age=31536000";
/// The policy of every answer that is not a page: nothing may load, nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Middleware: the protections every response carries (see the module docs).
pub async fn protections(req: Request, next: Next) -> axum::response::Response {
    let https = came_over_https(&req);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CSP));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    res
}

/// Every answer is an answer: the router's own 404 (no route for the path) and 405 (a
/// route, not for that method) come with an empty body; they get the PostgREST error shape
/// (`code`, `message`, `details`, `hint`) that every other error has, `PGRST125` and
/// `PGRST117` as PostgREST names them. Answers that have a body are left alone.
pub async fn bare_errors(req: Request, next: Next) -> axum::response::Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    if !matches!(
        status,
        axum::http::StatusCode::NOT_FOUND | axum::http::StatusCode::METHOD_NOT_ALLOWED
    ) || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let (code, message) = if status == axum::http::StatusCode::NOT_FOUND {
        (
            "PGRST125",
            "Invalid path specified in request URL".to_string(),
        )
    } else {
        ("PGRST117", format!("Unsupported HTTP method: {method}"))
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let body = serde_json::json!({"code": code, "message": message, "details": null, "hint": null});
    axum::response::Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}

/// Whether a proxy of ours (a peer in the trusted proxies the edge put into the request)
/// says the request reached it over https.
fn came_over_https(req: &Request) -> bool {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    crate::client::proxies_of(req.extensions()).trusts(peer)
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Marks the answer [`CatchPanicLayer`] gives for a panic, so [`panic_answer`] can add the
/// request id.
#[derive(Clone, Copy)]
struct Panicked;

/// The body of a 5xx: PostgREST's shape, a bland message, the request id to quote.
pub fn internal_error_body(request_id: &str) -> serde_json::Value {
    serde_json::json!({
        "code": "XX000",
        "message": "internal error",
        "details": format!("request id {request_id}"),
        "hint": null,
    })
}

/// The panic itself was logged where it happened (the panic hook, `crate::telemetry`,
/// inside the request's span, so with its request id): the answer only.
fn on_panic(_: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.extensions_mut().insert(Panicked);
    res
}

/// Middleware: gives the answer to a caught panic its body, with the request id.
async fn panic_answer(req: Request, next: Next) -> axum::response::Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let res = next.run(req).await;
    if res.extensions().get::<Panicked>().is_none() {
        return res;
    }
    let mut out = axum::Json(internal_error_body(&id)).into_response();
    *out.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    out
}

/// Wraps a router with the edge middleware: CORS, `x-request-id` set (or kept) and echoed,
/// one span per request carrying it (`request{service, request_id, method, path, route}`),
/// the request metrics ([`crate::metrics::count`]), the response protections, panics caught,
/// `x-wolo-client-ip` computed, and the body size limit. Only loopback peers are trusted
/// proxies ([`edge_with`] takes the list).
pub fn edge(router: Router, origins: Option<&[String]>) -> Router {
    edge_with(router, origins, TrustedProxies::default())
}

/// [`edge`] trusting `proxies`' `X-Forwarded-For` and `X-Forwarded-Proto` (the list goes
/// into every request's extensions, where [`crate::Client`] and the HSTS rule read it).
pub fn edge_with(router: Router, origins: Option<&[String]>, proxies: TrustedProxies) -> Router {
    // With a standby (crate::reads), writes mark their caller; innermost, so the client IP
    // (which keys anonymous callers) is known. Without one, no layer at all.
    let router = if crate::reads::standby_state().is_some() {
        router.layer(axum::middleware::from_fn(crate::reads::remember_writes))
    } else {
        router
    };
    router.layer(cors(origins)).layer(
        ServiceBuilder::new()
            .layer(axum::Extension(proxies))
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path, never the query string (filters may carry a phone number or an
                    // e-mail address); `service` and `route` (the matched template) are recorded
                    // once routed, by `metrics::label`.
                    tracing::info_span!(
                        "request",
                        service = tracing::field::Empty,
                        request_id = %id,
                        method = %req.method(),
                        path = %logged_path(req.uri().path()),
                        route = tracing::field::Empty,
                    )
                }),
            )
            // Requests counted and timed per service, method, route template, status class.
            .layer(axum::middleware::from_fn(crate::metrics::count))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            // The id readable by handlers (error answers quote it: rest::error).
            .layer(axum::middleware::from_fn(crate::request::scope))
            .layer(axum::middleware::from_fn(protections))
            .layer(axum::middleware::from_fn(bare_errors))
            .layer(axum::middleware::from_fn(panic_answer))
            .layer(CatchPanicLayer::custom(on_panic))
            .layer(axum::middleware::from_fn(crate::client::client_ip_header))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
    )
}

/// Path segments that are secrets: the USSD/SMS gateway's key (its callbacks are
/// authenticated by their path, `WOLO_SMS_GATEWAY_KEY`).
const SECRET_SEGMENT_AFTER: [&str; 3] = ["/ussd/", "/sms/", "/receipts/gateway/"];

/// The path as request logs show it: the segment after [`SECRET_SEGMENT_AFTER`] masked.
pub fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    for marker in SECRET_SEGMENT_AFTER {
        if let Some(i) = path.find(marker) {
            let start = i + marker.len();
            let end = path[start..].find('/').map_or(path.len(), |j| start + j);
            return format!("{}***{}", &path[..start], &path[end..]).into();
        }
    }
    path.into()
}

/// The service [`app`] and [`app_with`] give `axum::serve`.
pub type App =
    axum::extract::connect_info::IntoMakeServiceWithConnectInfo<NormalizePath<Router>, SocketAddr>;

/// The router as the server runs it: [`edge`] middleware, and a trailing slash trimmed
/// before routing, so `/pots/` (the OpenAPI document clients ask for) reaches `/pots`.
/// Loopback peers are the trusted proxies (as in the tests); [`serve`] uses
/// `WOLO_TRUSTED_PROXIES` through [`app_with`].
pub fn app(router: Router, origins: Option<&[String]>) -> App {
    app_with(router, origins, TrustedProxies::default())
}

/// [`app`] trusting `proxies` (see [`edge_with`]).
pub fn app_with(router: Router, origins: Option<&[String]>, proxies: TrustedProxies) -> App {
    let svc = NormalizePathLayer::trim_trailing_slash().layer(edge_with(router, origins, proxies));
    ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(svc)
}

/// Binds `WOLO_HTTP_ADDR` and serves `router` (wrapped in [`edge`]) until a shutdown signal.
pub async fn serve(config: &crate::Config, router: Router, name: &str) -> anyhow::Result<()> {
    let addr = config.http_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (WOLO_HTTP_ADDR): {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, service = name, "listening");
    println!("{name} listening on http://{local}");
    tracing::info!(trusted_proxies = %config.trusted_proxies, "X-Forwarded-For believed from");
    // One database gate per process: while the database is away, requests get a 503 at once
    // instead of waiting for the pool (crate::gate).
    let options =
        crate::db::connect_options(config.database_url.expose(), config.db_statement_timeout)?;
    let gate = GATE
        .get_or_init(|| crate::gate::Gate::watch(options))
        .clone();
    let router = router.layer(axum::middleware::from_fn_with_state(
        gate,
        crate::gate::Gate::layer,
    ));
    let app = app_with(
        router,
        config.cors_origins.as_deref(),
        config.trusted_proxies.clone(),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!(service = name, "stopped");
    Ok(())
}

static SHUTDOWN: std::sync::OnceLock<tokio::sync::watch::Sender<bool>> = std::sync::OnceLock::new();
static GATE: std::sync::OnceLock<crate::gate::Gate> = std::sync::OnceLock::new();

/// True while this process's gate holds the database for away (`/ready` answers 503 at once).
pub fn gate_closed() -> bool {
    GATE.get().is_some_and(|g| g.is_closed())
}

fn shutdown_flag() -> &'static tokio::sync::watch::Sender<bool> {
    SHUTDOWN.get_or_init(|| tokio::sync::watch::channel(false).0)
}

/// Resolves once the process got its shutdown signal ([`shutdown_signal`]): answers that last
/// (server-sent events) end with it, so draining the connections does not wait on them.
pub async fn shutting_down() {
    let mut rx = shutdown_flag().subscribe();
    let _ = rx.wait_for(|down| *down).await;
}

/// Resolves on Ctrl-C or SIGTERM, and tells [`shutting_down`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received, draining connections");
    shutdown_flag().send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt as _;

    #[test]
    fn the_gateways_key_is_masked_in_logged_paths() {
        assert_eq!(
            logged_path("/donations/ussd/s3cr3t-key"),
            "/donations/ussd/***"
        );
        assert_eq!(logged_path("/donations/sms/k"), "/donations/sms/***");
        assert_eq!(
            logged_path("/notifications/receipts/gateway/k/x"),
            "/notifications/receipts/gateway/***/x"
        );
        assert_eq!(logged_path("/pots/pots"), "/pots/pots");
    }

    /// Answers with the client IP the edge computed, through [`edge_with`] trusting
    /// `proxies`, for a request from `peer`.
    async fn through_edge(
        proxies: &str,
        peer: &str,
        headers: &[(&str, &str)],
    ) -> axum::response::Response {
        let router = Router::new().route(
            "/ip",
            get(|req: Request| async move {
                req.headers()
                    .get(&crate::client::CLIENT_IP)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string()
            }),
        );
        let app = edge_with(router, None, proxies.parse().unwrap());
        let mut req = Request::builder().uri("/ip");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::empty()).unwrap();
        let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        app.oneshot(req).await.unwrap()
    }

    async fn text(res: axum::response::Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// A writer collecting what the fmt layer prints.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_request_logs_inside_a_span_with_its_service_id_and_route_but_no_query() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let router = crate::metrics::label(
            Router::new().route(
                "/pots/{id}",
                get(|| async {
                    tracing::info!("handled");
                    "ok"
                }),
            ),
            "pots",
        );
        let mut req = Request::builder()
            .uri("/pots/42?phone=eq.%2B221771234567")
            .header("x-request-id", "req-7")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(
            "127.0.0.1:40000".parse().unwrap(),
        ));
        let res = edge(router, None).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = text.lines().find(|l| l.contains("handled")).expect(&text);
        for part in [
            "request{",
            "service=pots",
            "request_id=req-7",
            "method=GET",
            "path=/pots/42",
            "route=/pots/{id}",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
        assert!(!text.contains("221771234567"), "{text}");
    }

    #[tokio::test]
    async fn forwarded_headers_count_only_from_the_configured_proxies() {
        let forwarded = [
            ("x-forwarded-for", "41.82.1.2"),
            ("x-forwarded-proto", "https"),
            ("x-wolo-client-ip", "1.1.1.1"),
        ];
        // A listed proxy: its client and its https are believed.
        let res = through_edge("10.0.3.7", "10.0.3.7", &forwarded).await;
        assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], HSTS);
        assert_eq!(text(res).await, "41.82.1.2");
        // A private peer that is not listed: neither (and a client's own x-wolo-client-ip is
        // replaced either way).
        let res = through_edge("10.0.3.7", "10.0.3.8", &forwarded).await;
        assert!(res
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
        assert_eq!(text(res).await, "10.0.3.8");
        // Loopback, when the list does not have it.
        let res = through_edge("none", "127.0.0.1", &forwarded).await;
        assert!(res
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none());
        assert_eq!(text(res).await, "127.0.0.1");
        // The default list is loopback.
        let res = through_edge("127.0.0.0/8,::1", "127.0.0.1", &forwarded).await;
        assert_eq!(res.headers()[header::STRICT_TRANSPORT_SECURITY], HSTS);
        assert_eq!(text(res).await, "41.82.1.2");
    }
}
