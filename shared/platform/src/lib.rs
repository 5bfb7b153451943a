//! The platform every WOLO service stands on.
//!
//! - [`config`]: settings read from the environment, with errors that name the variable;
//! - [`telemetry`]: one tracing set-up (`RUST_LOG`, `RUST_LOG_FORMAT=json`);
//! - [`db`]: the pool builder, with acquire and statement timeouts;
//! - [`migrate`]: the embedded refinery migrations and their runner;
//! - [`health`]: `GET /health` and `GET /ready`;
//! - [`outbox`]: events published with a change, consumed at most once per consumer;
//! - [`production`]: what `WOLO_ENV=production` refuses at start-up;
//! - [`serve`]: the HTTP middleware stack, response protections, binding, graceful shutdown.
//!
//! A service describes itself once as a [`Service`], and its `main.rs` is one call:
//!
//! ```no_run
//! fn router(ctx: platform::Context) -> axum::Router {
//!     axum::Router::new().merge(platform::health::router("pots")).with_state(ctx.db.clone())
//! }
//! const SERVICE: platform::Service = platform::Service {
//!     name: "pots",
//!     default_port: 8084,
//!     router,
//!     jobs: |_ctx| {},
//!     check: platform::no_settings,
//! };
//! # async fn f() -> anyhow::Result<()> {
//! platform::run(&SERVICE).await
//! # }
//! ```

pub mod calendar;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod health;
pub mod migrate;
pub mod outbox;
pub mod production;
pub mod request;
pub mod serve;
pub mod telemetry;

use std::sync::Arc;

pub use client::Client;
pub use clock::Clock;
pub use config::Config;

impl Context {
    /// The token verifier/issuer of this configuration.
    pub fn jwt(&self) -> auth::Jwt {
        auth::Jwt::new(
            self.config.jwt_secret.expose().as_bytes(),
            self.config.jwt_audience.clone(),
        )
    }
}

/// What a service needs to build its router: the database and the settings.
/// Each service turns it into its own small `AppState`.
#[derive(Clone)]
pub struct Context {
    pub db: sqlx::PgPool,
    pub config: Arc<Config>,
    /// Where calendar rules read the time: the system clock, or one a test sets.
    pub clock: Clock,
}

/// One service, as everything that runs it sees it: `wolo serve` (all ten), `wolo serve S`
/// and the service's own binary `wolo-S` ([`run`]) build its router and start its jobs from
/// this one value, so no way of running a service leaves its jobs and consumers behind.
#[derive(Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub default_port: u16,
    pub router: fn(Context) -> axum::Router,
    /// Starts the service's background jobs and outbox consumers.
    pub jobs: fn(&Context),
    /// Reads the service's own settings, as its router will: an error names the setting and
    /// stops start-up (one line, status 2) before anything listens, never a panic.
    pub check: fn(&Config) -> Result<(), String>,
}

/// [`Service::check`] of a service with no settings of its own.
pub fn no_settings(_: &Config) -> Result<(), String> {
    Ok(())
}

/// Runs `service` alone (`wolo-<name>`): reads the environment (the service's own settings
/// too, [`Service::check`]), connects as the service's role, starts its jobs and consumers,
/// and serves its router on `WOLO_HTTP_ADDR` (default `127.0.0.1:<default_port>`) until
/// SIGTERM or Ctrl-C. A refused setting is one line and exit status 2.
pub async fn run(service: &Service) -> anyhow::Result<()> {
    let name = service.name;
    let default_port = service.default_port;
    telemetry::init(name);
    let config = match Config::from_env(default_port) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    if let Err(refused) = production::check(config.environment, &[name], |k| std::env::var(k).ok())
    {
        eprintln!("{}", refused.line(name));
        std::process::exit(2);
    }
    if let Err(e) = (service.check)(&config) {
        eprintln!("{name}: {e}");
        std::process::exit(2);
    }
    let db = db::connect(&config)?;
    let ctx = Context {
        db,
        config: Arc::new(config),
        clock: Clock::system(),
    };
    // The service's own login role (wolo_svc_<name>); never a superuser or owner in production.
    let ctx = db::service_context(&ctx, name)?;
    if ctx.config.environment == config::Environment::Production {
        if let Err(line) = db::refuse_privileged_login(&ctx.config, name).await {
            eprintln!("{name}: {line}");
            std::process::exit(2);
        }
    }
    (service.jobs)(&ctx);
    let app = (service.router)(ctx.clone());
    serve::serve(&ctx.config, app, name).await
}
