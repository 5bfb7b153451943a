//! Prometheus metrics: what the platform counts, and `GET /metrics` for operators.
//!
//! The series (`docs/logging.md` lists them with their labels):
//!
//! - requests: `wolo_http_requests_total{service, method, route, status}` and
//!   `wolo_http_request_duration_seconds{service, method, route}`, counted by the edge
//!   ([`crate::serve::edge`]); `route` is axum's matched route template (`/pots/{id}`), never the
//!   raw URL, and `unmatched` when no route matched; `status` is the class (`2xx`, `4xx`...);
//!   `service` comes from [`label`] (`-` for a router nobody labelled);
//!   and `wolo_http_requests_in_flight{service}` (routed, not yet answered);
//! - the pools, read at each scrape ([`pool`]): `wolo_db_pool_connections{service, state}`
//!   (`in_use`, `idle`) and `wolo_db_pool_max_connections{service}`. sqlx 0.8 does not expose
//!   how many acquires are waiting: when `in_use` equals the maximum, new requests queue (for
//!   at most `WOLO_DB_ACQUIRE_TIMEOUT_MS`, then 503 `PGRST003`), and
//!   `wolo_http_requests_in_flight - in_use` bounds how many wait;
//! - the outbox ([`crate::outbox`]): `wolo_outbox_applied_total{consumer}`,
//!   `wolo_outbox_failed_total{consumer}`, `wolo_outbox_parked_total{consumer}` (this
//!   process), `wolo_outbox_lag_seconds{consumer}` (from an event's `created_at` to when the
//!   consumer applied it) and, read at each scrape, `wolo_outbox_parked_events{consumer}` (the
//!   parked rows of `wolo.outbox_failures`, every process together: [`outbox_parked`]);
//! - jobs ([`crate::jobs`]): `wolo_job_runs_total{service, job, outcome}` (`ok`, `failed`) and
//!   `wolo_job_duration_seconds{service, job}`;
//! - per scrape: `wolo_metrics_collector_up{collector}` (0 when a collector failed or took
//!   longer than [`COLLECT_TIMEOUT`]), and whatever the collectors the binary registered read
//!   (`wolo serve` adds webhook outcomes, redemption outcomes and the notification queue:
//!   `suite::metrics`).
//!
//! Who may read `/metrics` ([`router`], settings `WOLO_METRICS_TOKEN` and
//! `WOLO_METRICS_ALLOW` of [`crate::Config`]): a request carrying
//! `Authorization: Bearer <WOLO_METRICS_TOKEN>`, or one whose client IP (as
//! [`crate::client`] computes it, through the trusted proxies) is in `WOLO_METRICS_ALLOW`.
//! Unset, `WOLO_METRICS_ALLOW` is loopback outside production and nobody in production. Else
//! 401 (a token is configured: `WWW-Authenticate: Bearer`), 403 (no token configured, the peer
//! is not allowed), or 404 in production when neither setting is set (metrics are off).

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sqlx::PgPool;

use crate::{
    client::TrustedProxies,
    config::{Environment, Secret},
    Config,
};

/// How long one collector may take at a scrape.
pub const COLLECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The process's metrics: everything counted as it happens.
struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    in_flight: IntGaugeVec,
    outbox_applied: IntCounterVec,
    outbox_failed: IntCounterVec,
    outbox_parked: IntCounterVec,
    outbox_lag: HistogramVec,
    job_runs: IntCounterVec,
    job_seconds: HistogramVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new();
    fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid counter");
        r.register(Box::new(c.clone())).expect("registered once");
        c
    }
    fn histogram(
        r: &Registry,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> HistogramVec {
        let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
            .expect("a valid histogram");
        r.register(Box::new(h.clone())).expect("registered once");
        h
    }
    let latency = vec![
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let lag = vec![
        0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
    ];
    Metrics {
        requests: counter(
            &registry,
            "wolo_http_requests_total",
            "HTTP requests answered, by service, method, route template and status class.",
            &["service", "method", "route", "status"],
        ),
        request_seconds: histogram(
            &registry,
            "wolo_http_request_duration_seconds",
            "Time to answer an HTTP request, by service, method and route template.",
            &["service", "method", "route"],
            latency.clone(),
        ),
        in_flight: {
            let g = IntGaugeVec::new(
                Opts::new(
                    "wolo_http_requests_in_flight",
                    "Requests a service is handling now (routed, not yet answered).",
                ),
                &["service"],
            )
            .expect("a valid gauge");
            registry
                .register(Box::new(g.clone()))
                .expect("registered once");
            g
        },
        outbox_applied: counter(
            &registry,
            "wolo_outbox_applied_total",
            "Outbox events a consumer applied (this process).",
            &["consumer"],
        ),
        outbox_failed: counter(
            &registry,
            "wolo_outbox_failed_total",
            "Failed attempts of a consumer at an outbox event (this process).",
            &["consumer"],
        ),
        outbox_parked: counter(
            &registry,
            "wolo_outbox_parked_total",
            "Outbox events a consumer gave up on (this process).",
            &["consumer"],
        ),
        outbox_lag: histogram(
            &registry,
            "wolo_outbox_lag_seconds",
            "Seconds from an outbox event's creation to its application by the consumer.",
            &["consumer"],
            lag,
        ),
        job_runs: counter(
            &registry,
            "wolo_job_runs_total",
            "Runs of a periodic job, by outcome (ok, failed).",
            &["service", "job", "outcome"],
        ),
        job_seconds: histogram(
            &registry,
            "wolo_job_duration_seconds",
            "Duration of a periodic job's runs.",
            &["service", "job"],
            latency,
        ),
        registry,
    }
});

/// The status class of `status`: `2xx`, `4xx`...
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Counts one answered request.
pub fn observe_request(
    service: &str,
    method: &str,
    route: &str,
    status: StatusCode,
    elapsed: Duration,
) {
    let m = &*METRICS;
    m.requests
        .with_label_values(&[service, method, route, status_class(status)])
        .inc();
    m.request_seconds
        .with_label_values(&[service, method, route])
        .observe(elapsed.as_secs_f64());
}

/// Counts an event `consumer` applied, `lag` after it was published.
pub fn outbox_applied(consumer: &str, lag: Duration) {
    METRICS.outbox_applied.with_label_values(&[consumer]).inc();
    METRICS
        .outbox_lag
        .with_label_values(&[consumer])
        .observe(lag.as_secs_f64());
}

/// Counts a failed attempt of `consumer`, `parked` when it gave the event up.
pub fn outbox_failed(consumer: &str, parked: bool) {
    METRICS.outbox_failed.with_label_values(&[consumer]).inc();
    if parked {
        METRICS.outbox_parked.with_label_values(&[consumer]).inc();
    }
}

/// Counts one run of a periodic job.
pub fn job_run(service: &str, job: &str, ok: bool, elapsed: Duration) {
    let outcome = if ok { "ok" } else { "failed" };
    METRICS
        .job_runs
        .with_label_values(&[service, job, outcome])
        .inc();
    METRICS
        .job_seconds
        .with_label_values(&[service, job])
        .observe(elapsed.as_secs_f64());
}

/// A tick of job `job` that another process's lease covered: counted `outcome="skipped"`.
pub fn job_skipped(service: &str, job: &str) {
    METRICS
        .job_runs
        .with_label_values(&[service, job, "skipped"])
        .inc();
}

// ------------------------------------------------------------------ request labels

/// What the routed part of a request tells the edge: the service and the route template.
/// [`label`]'s layer puts it into the response; the edge's counter ([`count`]) reads it there.
#[derive(Clone, Debug)]
pub struct RouteLabel {
    pub service: &'static str,
    pub route: Option<String>,
}

/// `router` labelled as `service`'s: every request it routes is counted under
/// `service` and its matched route template, and the request span records both
/// (`service`, `route`). `wolo serve` labels each service's router (and its own index as
/// `wolo`); [`crate::run`] labels the service it runs.
///
/// Its fallback (an unknown path under the service) is counted under `service` too, with the
/// route `unmatched`: in `wolo serve` a service's router is nested, so its fallback only sees
/// paths under its prefix; [`label_routes`] labels the routes alone.
pub fn label<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    service: &'static str,
) -> Router<S> {
    router.layer(axum::middleware::from_fn(labeller(service)))
}

/// [`label`] for the routes of `router` only, not its fallback: for a router merged at the
/// root beside others (`/metrics`, the suite's index), whose fallback would answer for
/// every unknown path of the process.
pub fn label_routes<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    service: &'static str,
) -> Router<S> {
    router.route_layer(axum::middleware::from_fn(labeller(service)))
}

type Labelling = Pin<Box<dyn Future<Output = Response> + Send>>;

fn labeller(service: &'static str) -> impl Fn(Request, Next) -> Labelling + Clone + Send + Sync {
    move |req: Request, next: Next| -> Labelling {
        Box::pin(async move {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_string());
            let span = tracing::Span::current();
            span.record("service", tracing::field::display(service));
            if let Some(r) = &route {
                span.record("route", tracing::field::display(r));
            }
            let in_flight = METRICS.in_flight.with_label_values(&[service]);
            in_flight.inc();
            // Decremented when the handler ends, answered or dropped (client gone).
            let _done = Done(in_flight);
            let mut res = next.run(req).await;
            res.extensions_mut().insert(RouteLabel { service, route });
            res
        })
    }
}

/// Decrements a request's in-flight gauge when dropped.
struct Done(prometheus::IntGauge);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware of the edge: counts every answer (see [`observe_request`]).
pub async fn count(req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let (service, route) = match res.extensions().get::<RouteLabel>() {
        Some(l) => (l.service, l.route.as_deref().unwrap_or(UNMATCHED)),
        None => ("-", UNMATCHED),
    };
    observe_request(service, &method, route, res.status(), started.elapsed());
    res
}

// ------------------------------------------------------------------ scrape-time collectors

/// The gauges of one scrape: collectors set them, the answer carries them, and the next scrape
/// starts afresh (a series that no longer exists disappears).
#[derive(Default)]
pub struct Sample {
    registry: Registry,
    gauges: Mutex<HashMap<String, GaugeVec>>,
}

impl Sample {
    /// Sets gauge `name{labels} = value` (`labels`: names and values; the same names for
    /// every value of one gauge).
    pub fn set(&self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        let mut gauges = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        let gauge = gauges.entry(name.to_string()).or_insert_with(|| {
            let names: Vec<&str> = labels.iter().map(|(k, _)| *k).collect();
            let g = GaugeVec::new(Opts::new(name, help), &names).expect("a valid gauge");
            let _ = self.registry.register(Box::new(g.clone()));
            g
        });
        let values: Vec<&str> = labels.iter().map(|(_, v)| *v).collect();
        match gauge.get_metric_with_label_values(&values) {
            Ok(g) => g.set(value),
            Err(e) => tracing::warn!(metric = name, error = %e, "metric not set"),
        }
    }
}

/// The future a [`Collector`] returns.
pub type Collecting<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Something read at each scrape (a pool's state, counts in the database) into gauges.
pub trait Collector: Send + Sync + 'static {
    /// Its name, for `wolo_metrics_collector_up{collector}` and the logs.
    fn name(&self) -> &str;
    fn collect<'a>(&'a self, out: &'a Sample) -> Collecting<'a>;
}

/// The state of `service`'s pool: connections in use and idle, and the maximum.
pub fn pool(service: &'static str, pool: PgPool) -> Arc<dyn Collector> {
    Arc::new(PoolState {
        name: format!("pool:{service}"),
        service,
        pool,
    })
}

struct PoolState {
    name: String,
    service: &'static str,
    pool: PgPool,
}

impl Collector for PoolState {
    fn name(&self) -> &str {
        &self.name
    }

    fn collect<'a>(&'a self, out: &'a Sample) -> Collecting<'a> {
        Box::pin(async move {
            let size = self.pool.size() as f64;
            let idle = self.pool.num_idle() as f64;
            let help = "Connections of the service's pool, in use or idle.";
            for (state, value) in [("in_use", (size - idle).max(0.0)), ("idle", idle)] {
                out.set(
                    "wolo_db_pool_connections",
                    help,
                    &[("service", self.service), ("state", state)],
                    value,
                );
            }
            out.set(
                "wolo_db_pool_max_connections",
                "The most connections the service's pool opens (WOLO_DB_MAX_CONNECTIONS).",
                &[("service", self.service)],
                f64::from(self.pool.options().get_max_connections()),
            );
            Ok(())
        })
    }
}

/// A gauge read from the database at each scrape: `sql` returns one row per series, its
/// label values as text in the order of `labels`, then the value as `bigint` (`count(*)`).
/// The query should be cheap (an index, a small table): it runs at every scrape.
pub struct SqlGauge {
    pub collector: String,
    pub metric: &'static str,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub sql: &'static str,
    pub pool: PgPool,
}

impl Collector for SqlGauge {
    fn name(&self) -> &str {
        &self.collector
    }

    fn collect<'a>(&'a self, out: &'a Sample) -> Collecting<'a> {
        Box::pin(async move {
            use sqlx::Row;
            let rows = sqlx::query(self.sql).fetch_all(&self.pool).await?;
            for row in rows {
                let mut values = Vec::with_capacity(self.labels.len());
                for i in 0..self.labels.len() {
                    values.push(row.try_get::<Option<String>, _>(i)?.unwrap_or_default());
                }
                let value: i64 = row.try_get(self.labels.len())?;
                let labels: Vec<(&str, &str)> = self
                    .labels
                    .iter()
                    .copied()
                    .zip(values.iter().map(String::as_str))
                    .collect();
                out.set(self.metric, self.help, &labels, value as f64);
            }
            Ok(())
        })
    }
}

/// `wolo_outbox_parked_events{consumer}`: the events each consumer gave up on, from
/// `wolo.outbox_failures` (partial index on parked rows), read through `pool` (any
/// service's: every service role reads the outbox tables).
pub fn outbox_parked(pool: PgPool) -> Arc<dyn Collector> {
    Arc::new(SqlGauge {
        collector: "outbox_parked".into(),
        metric: "wolo_outbox_parked_events",
        help: "Outbox events parked (given up on) per consumer, awaiting an operator.",
        labels: &["consumer"],
        sql: "select consumer::text, count(*)::bigint from wolo.outbox_failures
               where parked_at is not null group by consumer",
        pool,
    })
}

/// Runs every collector (at once, each within [`COLLECT_TIMEOUT`]) and encodes the process's
/// metrics and theirs in Prometheus' text format.
pub async fn render(collectors: &[Arc<dyn Collector>]) -> String {
    let sample = Arc::new(Sample::default());
    let tasks: Vec<_> = collectors
        .iter()
        .map(|c| {
            let (c, sample) = (c.clone(), sample.clone());
            tokio::spawn(async move {
                let ok = match tokio::time::timeout(COLLECT_TIMEOUT, c.collect(&sample)).await {
                    Ok(Ok(())) => true,
                    Ok(Err(e)) => {
                        tracing::warn!(collector = c.name(), error = %e, "metrics collector failed");
                        false
                    }
                    Err(_) => {
                        tracing::warn!(collector = c.name(), "metrics collector timed out");
                        false
                    }
                };
                (c, ok)
            })
        })
        .collect();
    for task in tasks {
        if let Ok((c, ok)) = task.await {
            sample.set(
                "wolo_metrics_collector_up",
                "1 when the collector read its metrics at this scrape, 0 when it failed.",
                &[("collector", c.name())],
                if ok { 1.0 } else { 0.0 },
            );
        }
    }
    let mut families = METRICS.registry.gather();
    families.extend(sample.registry.gather());
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
        tracing::warn!(error = %e, "cannot encode the metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

// ------------------------------------------------------------------ GET /metrics

/// Who may read `/metrics` (see the module docs).
#[derive(Clone, Debug)]
pub struct Access {
    pub token: Option<Secret>,
    /// `None`: the default (loopback outside production, nobody in production).
    pub allow: Option<TrustedProxies>,
    pub environment: Environment,
}

impl Access {
    pub fn of(config: &Config) -> Access {
        Access {
            token: config.metrics_token.clone(),
            allow: config.metrics_allow.clone(),
            environment: config.environment,
        }
    }

    /// The networks allowed without the token.
    pub fn allowed(&self) -> TrustedProxies {
        match (&self.allow, self.environment) {
            (Some(list), _) => list.clone(),
            (None, Environment::Production) => TrustedProxies::none(),
            (None, _) => TrustedProxies::loopback(),
        }
    }

    /// Whether `/metrics` is served at all: not in production with neither setting.
    pub fn enabled(&self) -> bool {
        !(self.environment == Environment::Production
            && self.token.is_none()
            && self.allow.is_none())
    }

    /// `Ok` when the request may read; else the refusal.
    fn check(&self, req: &Request) -> Result<(), Response> {
        if !self.enabled() {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                "PGRST125",
                "Chemin inconnu (invalid path specified in request URL)",
            ));
        }
        if let Some(token) = &self.token {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if given.is_some_and(|g| same(g.as_bytes(), token.expose().as_bytes())) {
                return Ok(());
            }
        }
        let peer: Option<IpAddr> = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let proxies = crate::client::proxies_of(req.extensions());
        let client = crate::client::client_ip(peer, req.headers(), &proxies);
        if client.is_some_and(|ip| self.allowed().contains(ip)) {
            return Ok(());
        }
        Err(if self.token.is_some() {
            let mut res = refusal(
                StatusCode::UNAUTHORIZED,
                "PGRST302",
                "Jeton requis pour lire les métriques (a bearer token is required to read the metrics)",
            );
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            res
        } else {
            refusal(
                StatusCode::FORBIDDEN,
                "42501",
                "Métriques non accessibles depuis cette adresse (metrics are not readable from this address)",
            )
        })
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"code": code, "message": message, "details": null, "hint": null});
    (status, axum::Json(body)).into_response()
}

struct Endpoint {
    access: Access,
    collectors: Vec<Arc<dyn Collector>>,
}

/// `GET /metrics` guarded by `access`, answering the process's metrics and what `collectors`
/// read (merge it into the router served, once per process).
pub fn router(access: Access, collectors: Vec<Arc<dyn Collector>>) -> Router {
    let endpoint = Arc::new(Endpoint { access, collectors });
    label_routes(
        Router::new()
            .route("/metrics", get(scrape))
            .with_state(endpoint),
        "metrics",
    )
}

async fn scrape(State(endpoint): State<Arc<Endpoint>>, req: Request) -> Response {
    if let Err(refused) = endpoint.access.check(&req) {
        return refused;
    }
    let text = render(&endpoint.collectors).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allow_list_depends_on_the_environment() {
        let access = |environment, token: Option<&str>, allow: Option<&str>| Access {
            token: token.map(Secret::new),
            allow: allow.map(|a| a.parse().unwrap()),
            environment,
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(access(Environment::Development, None, None)
            .allowed()
            .contains(lo));
        assert!(!access(Environment::Production, Some("t"), None)
            .allowed()
            .contains(lo));
        assert!(!access(Environment::Production, None, None).enabled());
        assert!(access(Environment::Production, None, Some("10.0.0.0/8")).enabled());
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }

    #[tokio::test]
    async fn counted_requests_show_in_the_text_format() {
        observe_request(
            "unit",
            "GET",
            "/x/{id}",
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = render(&[]).await;
        assert!(
            text.contains(r#"wolo_http_requests_total{method="GET",route="/x/{id}",service="unit",status="2xx"}"#),
            "{text}"
        );
        assert!(
            text.contains("wolo_http_request_duration_seconds_bucket{"),
            "{text}"
        );
    }
}
