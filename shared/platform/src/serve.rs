//! The HTTP edge shared by every binary: request ids, request spans, a body size limit,
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
//!   `X-Forwarded-Proto: https` from a proxy of ours (same trust rule as `X-Forwarded-For`,
//!   see [`crate::client`]): the services speak plain http behind a TLS-terminating proxy.
//!
//! A panic in a handler is caught ([`CatchPanicLayer`]): logged once with the request id (by
//! the panic hook of [`crate::telemetry`]),
//! answered 500 `{"code":"XX000","message":"internal error","details":"request id <id>",
//! "hint":null}`, and the process keeps serving.

use std::net::SocketAddr;

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

/// Whether a proxy of ours says the request reached it over https.
fn came_over_https(req: &Request) -> bool {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    crate::client::is_trusted_proxy(peer)
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
/// one span per request carrying it, the response protections, panics caught,
/// `x-wolo-client-ip` computed, and the body size limit.
pub fn edge(router: Router, origins: Option<&[String]>) -> Router {
    router.layer(cors(origins)).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
            }))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            // The id readable by handlers (error answers quote it: rest::error).
            .layer(axum::middleware::from_fn(crate::request::scope))
            .layer(axum::middleware::from_fn(protections))
            .layer(axum::middleware::from_fn(panic_answer))
            .layer(CatchPanicLayer::custom(on_panic))
            .layer(axum::middleware::from_fn(crate::client::client_ip_header))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
    )
}

/// The router as the server runs it: [`edge`] middleware, and a trailing slash trimmed
/// before routing, so `/pots/` (the OpenAPI document clients ask for) reaches `/pots`.
pub fn app(
    router: Router,
    origins: Option<&[String]>,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<NormalizePath<Router>, SocketAddr>
{
    let svc = NormalizePathLayer::trim_trailing_slash().layer(edge(router, origins));
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
    axum::serve(listener, app(router, config.cors_origins.as_deref()))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!(service = name, "stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
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
}
