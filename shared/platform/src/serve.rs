//! The HTTP edge shared by every binary: request ids, request spans, a body size limit,
//! binding, and graceful shutdown on SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use axum::ServiceExt;
use axum::{
    http::{HeaderName, HeaderValue, Method},
    Router,
};
use tower::{Layer, ServiceBuilder};
use tower_http::{
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

/// Wraps a router with the edge middleware: CORS, `x-request-id` set (or kept) and echoed,
/// one span per request carrying it, `x-wolo-client-ip` computed, and the body size limit.
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
