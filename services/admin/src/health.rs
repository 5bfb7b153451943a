//! `system_health_checks`: the job probes every service's `/ready` and records status
//! and latency. Targets come from `WOLO_HEALTH_BASE_URL` (read once into
//! [`crate::settings::AdminSettings`]): with `{service}` in it, the placeholder is replaced
//! by each service's name (`http://{service}:8080/ready` style deployments, `/ready`
//! appended when the URL has no path after the host); otherwise `<base>/<service>/ready`
//! (the suite `wolo serve` layout). Default `http://<WOLO_HTTP_ADDR>`.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// The services probed: every service schema (`platform::db::SCHEMAS` without `wolo`).
pub const SERVICES: &[&str] = platform::db::SCHEMAS.split_at(1).1;

/// Slower than this is `degraded` (the answer was still 2xx).
pub const DEGRADED_AFTER: Duration = Duration::from_secs(2);
/// A probe gives up after this.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The `/ready` URL of each service under `base`.
pub fn targets(base: &str) -> Vec<(String, String)> {
    let base = base.trim_end_matches('/');
    SERVICES
        .iter()
        .map(|s| {
            let url = if base.contains("{service}") {
                let u = base.replace("{service}", s);
                if u.ends_with("/ready") {
                    u
                } else {
                    format!("{u}/ready")
                }
            } else {
                format!("{base}/{s}/ready")
            };
            (s.to_string(), url)
        })
        .collect()
}

/// The base URL when `WOLO_HEALTH_BASE_URL` is unset: `http://<http_addr>` (an unspecified
/// address read as loopback).
pub fn default_base(http_addr: std::net::SocketAddr) -> String {
    let addr = if http_addr.ip().is_unspecified() {
        std::net::SocketAddr::new([127, 0, 0, 1].into(), http_addr.port())
    } else {
        http_addr
    };
    format!("http://{addr}")
}

/// One probe's outcome.
#[derive(Debug, Clone)]
pub struct Probe {
    pub service: String,
    pub status: &'static str,
    pub response_time_ms: i32,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// Probes `targets` concurrently and records one row each (check_name `ready`, checked
/// at `now`). Returns the probes.
pub async fn health_once(
    pool: &PgPool,
    http: &reqwest::Client,
    targets: &[(String, String)],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Probe>> {
    let probes = futures_join(http, targets).await;
    let mut tx = pool.begin().await?;
    for (p, (_, url)) in probes.iter().zip(targets) {
        sqlx::query(
            "insert into admin.system_health_checks
                 (service_name, check_name, status, response_time_ms, check_data, error_message, checked_at)
             values ($1, 'ready', $2, $3, $4, $5, $6)",
        )
        .bind(&p.service)
        .bind(p.status)
        .bind(p.response_time_ms)
        .bind(json!({"url": url, "http_status": p.http_status}))
        .bind(&p.error)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(probes)
}

async fn futures_join(http: &reqwest::Client, targets: &[(String, String)]) -> Vec<Probe> {
    let handles: Vec<_> = targets
        .iter()
        .map(|(service, url)| {
            let http = http.clone();
            let (service, url) = (service.clone(), url.clone());
            tokio::spawn(async move { probe(&http, service, &url).await })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for (h, (service, _)) in handles.into_iter().zip(targets) {
        out.push(h.await.unwrap_or_else(|e| Probe {
            service: service.clone(),
            status: "unhealthy",
            response_time_ms: 0,
            http_status: None,
            error: Some(format!("probe task failed: {e}")),
        }));
    }
    out
}

async fn probe(http: &reqwest::Client, service: String, url: &str) -> Probe {
    let started = Instant::now();
    let res = http.get(url).timeout(TIMEOUT).send().await;
    let elapsed = started.elapsed();
    let ms = elapsed.as_millis().min(i32::MAX as u128) as i32;
    match res {
        Ok(r) if r.status().is_success() => Probe {
            service,
            status: if elapsed > DEGRADED_AFTER {
                "degraded"
            } else {
                "healthy"
            },
            response_time_ms: ms,
            http_status: Some(r.status().as_u16()),
            error: None,
        },
        Ok(r) => {
            let code = r.status().as_u16();
            let body: String = r
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect();
            Probe {
                service,
                status: "unhealthy",
                response_time_ms: ms,
                http_status: Some(code),
                error: Some(format!("HTTP {code}: {body}")),
            }
        }
        Err(e) => Probe {
            service,
            status: "unhealthy",
            response_time_ms: ms,
            http_status: None,
            error: Some(e.to_string()),
        },
    }
}
