//! Who is calling: the client's IP and user agent, for rate limits, risk scores and the
//! audit trail.
//!
//! The IP is the TCP peer's address, unless the peer is one of our proxies: a member of
//! [`TrustedProxies`] (`WOLO_TRUSTED_PROXIES`, default loopback only: `127.0.0.0/8` and
//! `::1`). Only then is `X-Forwarded-For` believed, read from the right: each hop that is
//! itself a trusted proxy is skipped, and the first one that is not is the client (when
//! every hop is trusted, the leftmost). A private address is not trusted for being private:
//! a deployment whose proxy reaches the services from another address lists it.
//!
//! [`crate::serve::edge`] puts the list into every request's extensions (the [`Client`]
//! extractor and the HSTS rule of [`crate::serve::protections`] read it there; a router
//! served without the edge uses the default), and [`client_ip_header`] writes the client IP
//! into the request as `x-wolo-client-ip` (any value the client sent is dropped), so it
//! reaches SQL through `request.headers` for `wolo.audit()`.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

/// The header carrying the client IP computed at the edge.
pub static CLIENT_IP: HeaderName = HeaderName::from_static("x-wolo-client-ip");

/// The caller's IP and user agent.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: addresses and
/// networks (`WOLO_TRUSTED_PROXIES`, comma-separated, e.g. `127.0.0.1,10.0.3.7,10.8.0.0/16`).
/// The default is loopback only.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `127.0.0.0/8` and `::1`: a proxy on the same machine (and the tests' clients).
    pub fn loopback() -> TrustedProxies {
        TrustedProxies(vec![
            "127.0.0.0/8".parse().expect("a network"),
            "::1/128".parse().expect("a network"),
        ])
    }

    /// No proxy at all: the client IP is always the TCP peer.
    pub fn none() -> TrustedProxies {
        TrustedProxies(Vec::new())
    }

    /// The networks of the list.
    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether `ip` is one of our proxies. IPv4 addresses written as IPv6 (`::ffff:a.b.c.d`,
    /// what a dual-stack listener sees) count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// [`TrustedProxies::contains`] for an optional peer (none: not trusted).
    pub fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|p| self.contains(p))
    }
}

impl Default for TrustedProxies {
    fn default() -> Self {
        TrustedProxies::loopback()
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let list: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&list.join(","))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of IP addresses (`10.0.3.7`, `::1`) and networks in CIDR
    /// notation (`10.8.0.0/16`); `none` (or an empty list) trusts no proxy.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("none") {
            return Ok(TrustedProxies::none());
        }
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        return Err(format!(
                            "{item:?} is neither an IP address nor a network like 10.0.0.0/8"
                        ))
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }
}

/// The client IP from the peer address and the headers (see the module docs).
pub fn client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    proxies: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = peer.map(|p| p.to_canonical());
    if !proxies.trusts(peer) {
        return peer;
    }
    // Several X-Forwarded-For lines are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop that is not an address (garbage a client put in front) ends the walk: the
        // last address reached is the best we know.
        let Ok(ip) = hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) else {
            break;
        };
        client = Some(ip);
        if !proxies.contains(ip) {
            break;
        }
    }
    client
}

fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The list the edge put into the request, else the default (loopback).
pub fn proxies_of(extensions: &axum::http::Extensions) -> TrustedProxies {
    extensions
        .get::<TrustedProxies>()
        .cloned()
        .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let proxies = proxies_of(&parts.extensions);
        let ip = client_ip(peer_of(&parts.extensions), &parts.headers, &proxies);
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
    let proxies = proxies_of(req.extensions());
    let ip = client_ip(peer_of(req.extensions()), req.headers(), &proxies);
    req.headers_mut().remove(&CLIENT_IP);
    if let Some(v) = ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        req.headers_mut().insert(CLIENT_IP.clone(), v);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_list_parses_addresses_and_networks_and_refuses_anything_else() {
        let p: TrustedProxies = " 10.0.3.7, 10.8.0.0/16 ,::1, fd00::/8".parse().unwrap();
        assert_eq!(p.to_string(), "10.0.3.7/32,10.8.0.0/16,::1/128,fd00::/8");
        assert!(p.contains(ip("10.0.3.7")));
        assert!(!p.contains(ip("10.0.3.8")));
        assert!(p.contains(ip("10.8.200.1")));
        assert!(p.contains(ip("fd12::1")));
        assert!(!p.contains(ip("127.0.0.1")));
        // Host bits are dropped: 10.8.1.1/16 is 10.8.0.0/16.
        let p: TrustedProxies = "10.8.1.1/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.8.0.0/16");
        assert_eq!(
            "none".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::none()
        );
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::none()
        );
        for bad in ["10.0.0", "localhost", "10.0.0.0/33", "10.0.0.1;10.0.0.2"] {
            let err = bad.parse::<TrustedProxies>().unwrap_err();
            assert!(err.contains(bad.split(';').next().unwrap()), "{err}");
        }
    }

    #[test]
    fn the_default_trusts_loopback_only_not_private_addresses() {
        let p = TrustedProxies::default();
        assert!(p.contains(ip("127.0.0.1")));
        assert!(p.contains(ip("127.8.9.10")));
        assert!(p.contains(ip("::1")));
        assert!(p.contains(ip("::ffff:127.0.0.1")));
        for private in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "fd00::1",
            "41.82.1.1",
        ] {
            assert!(!p.contains(ip(private)), "{private}");
        }
        assert!(!p.trusts(None));
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_a_trusted_peer() {
        let loopback = TrustedProxies::default();
        let h = xff(&["41.82.1.2"]);
        // From loopback (a proxy of ours): the forwarded address.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &loopback),
            Some(ip("41.82.1.2"))
        );
        // From a private address that is not in the list: the peer itself.
        assert_eq!(
            client_ip(Some(ip("10.0.0.5")), &h, &loopback),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            client_ip(Some(ip("192.168.1.9")), &h, &loopback),
            Some(ip("192.168.1.9"))
        );
        // From a public address: the peer.
        assert_eq!(
            client_ip(Some(ip("196.1.2.3")), &h, &loopback),
            Some(ip("196.1.2.3"))
        );
        // With nothing trusted, not even loopback.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &TrustedProxies::none()),
            Some(ip("127.0.0.1"))
        );
        // A listed private proxy is believed.
        let listed: TrustedProxies = "10.0.0.0/24".parse().unwrap();
        assert_eq!(
            client_ip(Some(ip("10.0.0.5")), &h, &listed),
            Some(ip("41.82.1.2"))
        );
        // No header, or no peer.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &HeaderMap::new(), &loopback),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(client_ip(None, &h, &loopback), None);
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let p: TrustedProxies = "127.0.0.1,10.0.0.0/8".parse().unwrap();
        // A client-written first value is not believed: nginx appended the real peer.
        let h = xff(&["1.2.3.4, 41.82.1.2"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &p),
            Some(ip("41.82.1.2"))
        );
        // CDN (trusted) then nginx: the trusted hops are skipped.
        let h = xff(&["1.2.3.4, 41.82.1.2, 10.1.1.1"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &p),
            Some(ip("41.82.1.2"))
        );
        // Two header lines are one list.
        let h = xff(&["1.2.3.4", "41.82.1.2"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &p),
            Some(ip("41.82.1.2"))
        );
        // Every hop trusted: the leftmost.
        let h = xff(&["10.2.2.2, 10.1.1.1"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &p),
            Some(ip("10.2.2.2"))
        );
        // Garbage ends the walk at the last address reached.
        let h = xff(&["not-an-ip, 10.1.1.1"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &p),
            Some(ip("10.1.1.1"))
        );
        let h = xff(&["garbage"]);
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &h, &p),
            Some(ip("127.0.0.1"))
        );
        // IPv4-mapped IPv6 forms are IPv4.
        let h = xff(&["::ffff:41.82.1.2"]);
        assert_eq!(
            client_ip(Some(ip("::ffff:127.0.0.1")), &h, &p),
            Some(ip("41.82.1.2"))
        );
    }
}
