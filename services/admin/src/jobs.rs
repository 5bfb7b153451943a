//! The admin service's periodic jobs.

use crate::{health, sessions, AdminSettings, NAME};

/// How often the jobs run.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts the health probes (every minute; a run reports how many services were not
/// healthy) and the admin session expiry (every minute; a run reports how many it ended).
pub fn spawn_jobs(ctx: &platform::Context) {
    let settings = ctx.settings::<AdminSettings>();
    let targets = std::sync::Arc::new(health::targets(&settings.health_base_url));
    let http = reqwest::Client::new();
    let pool = ctx.db.clone();
    platform::jobs::every(&ctx.db, NAME, "health_probes", INTERVAL, move || {
        let (pool, http, targets) = (pool.clone(), http.clone(), targets.clone());
        async move {
            let probes = health::health_once(&pool, &http, &targets, chrono::Utc::now()).await?;
            Ok(probes.iter().filter(|p| p.status != "healthy").count())
        }
    });
    let pool = ctx.db.clone();
    platform::jobs::every(&ctx.db, NAME, "expire_sessions", INTERVAL, move || {
        let pool = pool.clone();
        async move { sessions::expire_sessions_once(&pool, chrono::Utc::now()).await }
    });
}
