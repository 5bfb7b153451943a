//! Who is calling: the client's IP and user agent, for rate limits, risk scores and the
//! audit trail.
//!
//! The IP is the peer address, or the last `X-Forwarded-For` hop when the peer is a
//! loopback or private address (a proxy of ours). [`client_ip_header`] also writes it into
//! the request as `x-wolo-client-ip` (any value the client sent is dropped), so it reaches
//! SQL through `request.headers` for `wolo.audit()`.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};

/// The header carrying the client IP computed at the edge.
pub static CLIENT_IP: HeaderName = HeaderName::from_static("x-wolo-client-ip");

/// The caller's IP and user agent.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Whether the peer is a proxy of ours (a loopback or private address), whose
/// `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
pub fn is_trusted_proxy(peer: Option<IpAddr>) -> bool {
    match peer {
        Some(IpAddr::V4(v4)) => v4.is_loopback() || v4.is_private(),
        Some(IpAddr::V6(v6)) => v6.is_loopback(),
        None => false,
    }
}

/// The client IP from the peer address and the headers (see the module docs).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let trusted_proxy = is_trusted_proxy(peer);
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    match (trusted_proxy, forwarded) {
        (true, Some(f)) => Some(f),
        _ => peer,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = client_ip(peer, &parts.headers);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(500).collect());
        Ok(Client {
            ip: ip.map(|i| i.to_string()),
            user_agent,
        })
    }
}

/// Middleware: replaces any client-sent `x-wolo-client-ip` with the computed client IP.
pub async fn client_ip_header(mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers());
    req.headers_mut().remove(&CLIENT_IP);
    if let Some(v) = ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        req.headers_mut().insert(CLIENT_IP.clone(), v);
    }
    next.run(req).await
}
