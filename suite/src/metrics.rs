//! What `wolo serve` adds to `GET /metrics` (`platform::metrics`): each running service's
//! pool, the parked outbox events, and three gauges read from the services' tables at each
//! scrape (one cheap query each, within `platform::metrics::COLLECT_TIMEOUT`), so the
//! services themselves count nothing:
//!
//! - `wolo_webhook_events{provider, outcome}`: Wave webhook deliveries recorded in
//!   `donations.wave_webhook_events`, by outcome: `processed`, `error` (`processing_error` set:
//!   the delivery changed nothing, and why is in the row), `pending` (not processed yet);
//! - `wolo_redemption_attempts{result}`: scans recorded in `qr.qr_redemption_logs` by
//!   `validation_result` (`success`, `expired`, `already_used`, `invalid`, ...), and those of
//!   unknown codes (`qr.unmatched_scan_logs`) as `unmatched`;
//! - `wolo_notification_queue_depth{channel, state}`: pending messages of
//!   `notifications.notifications`, `due` (scheduled now or earlier), `scheduled` (later) or
//!   `held` (for a digest).
//!
//! The first two are totals over the tables' lifetime: graph them with `increase()`, as
//! counters.

use std::sync::Arc;

use axum::Router;
use platform::{
    metrics::{self, Collector, SqlGauge},
    Config, Context, Service,
};

/// The collectors of `contexts` (the services this process runs; see the module docs).
pub fn collectors(contexts: &[(&'static Service, Context)]) -> Vec<Arc<dyn Collector>> {
    let mut out: Vec<Arc<dyn Collector>> = contexts
        .iter()
        .map(|(s, ctx)| metrics::pool(s.name, ctx.db.clone()))
        .collect();
    if let Some((_, ctx)) = contexts.first() {
        out.push(metrics::outbox_parked(ctx.db.clone()));
    }
    let pool_of = |name: &str| {
        contexts
            .iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, c)| c.db.clone())
    };
    if let Some(pool) = pool_of("donations") {
        out.push(Arc::new(SqlGauge {
            collector: "webhooks".into(),
            metric: "wolo_webhook_events",
            help:
                "Webhook deliveries recorded, by provider and outcome (processed, error, pending).",
            labels: &["provider", "outcome"],
            sql: "select 'wave',
                         case when processing_error is not null then 'error'
                              when processed_at is not null then 'processed'
                              else 'pending' end,
                         count(*)::bigint
                    from donations.wave_webhook_events group by 1, 2",
            pool,
        }));
    }
    if let Some(pool) = pool_of("qr") {
        out.push(Arc::new(SqlGauge {
            collector: "redemptions".into(),
            metric: "wolo_redemption_attempts",
            help: "QR redemption attempts recorded, by result (unmatched: unknown codes).",
            labels: &["result"],
            sql: "select validation_result::text, count(*)::bigint
                    from qr.qr_redemption_logs group by 1
                  union all
                  select 'unmatched', count(*)::bigint from qr.unmatched_scan_logs",
            pool,
        }));
    }
    if let Some(pool) = pool_of("notifications") {
        out.push(Arc::new(SqlGauge {
            collector: "notification_queue".into(),
            metric: "wolo_notification_queue_depth",
            help: "Pending notifications by channel and state (due, scheduled, held for a digest).",
            labels: &["channel", "state"],
            sql: "select channel::text,
                         case when held_for_digest then 'held'
                              when scheduled_at is null or scheduled_at <= now() then 'due'
                              else 'scheduled' end,
                         count(*)::bigint
                    from notifications.notifications where status = 'pending' group by 1, 2",
            pool,
        }));
    }
    out
}

/// `GET /metrics` of a process running `contexts`, guarded as `config` says
/// (`WOLO_METRICS_TOKEN`, `WOLO_METRICS_ALLOW`).
pub fn router(config: &Config, contexts: &[(&'static Service, Context)]) -> Router {
    metrics::router(metrics::Access::of(config), collectors(contexts))
}
