//! The platform every WOLO service stands on.
//!
//! - [`config`]: settings read from the environment, with errors that name the variable;
//! - [`telemetry`]: one tracing set-up (`RUST_LOG`, `RUST_LOG_FORMAT=json`);
//! - [`db`]: the pool builder, with acquire and statement timeouts;
//! - [`migrate`]: the embedded refinery migrations and their runner;
//! - [`jobs`]: periodic jobs, each run in its span;
//! - [`names`]: a profile's first name, as messages address people;
//! - [`health`]: `GET /health` and `GET /ready`;
//! - [`metrics`]: Prometheus metrics (requests, pools, outbox, jobs) and `GET /metrics`;
//! - [`outbox`]: events published with a change, consumed at most once per consumer;
//! - [`events`]: every outbox topic with its payload type;
//! - [`production`]: what `WOLO_ENV=production` refuses at start-up;
//! - [`signature`]: signed webhooks (`t=..,v1=..` HMAC-SHA256), checked one way;
//! - [`serve`]: the HTTP middleware stack, response protections, binding, graceful shutdown.
//!
//! A service describes itself once as a [`Service`], and its `main.rs` is one call:
//!
//! ```no_run
//! use platform::config::{ConfigError, Env};
//!
//! /// The service's own settings, read once at start-up.
//! struct PotsSettings {
//!     greeting: String,
//! }
//!
//! impl platform::Settings for PotsSettings {
//!     fn read(env: &Env, _: &platform::Config) -> Result<Self, ConfigError> {
//!         Ok(PotsSettings { greeting: env.get("WOLO_POTS_GREETING").unwrap_or("Bonjour".into()) })
//!     }
//! }
//!
//! fn router(ctx: platform::Context) -> axum::Router {
//!     let settings = ctx.settings::<PotsSettings>();
//!     let _greeting = settings.greeting.clone();
//!     axum::Router::new().merge(platform::health::router("pots")).with_state(ctx.db.clone())
//! }
//! const SERVICE: platform::Service = platform::Service {
//!     name: "pots",
//!     default_port: 8084,
//!     router,
//!     jobs: |_ctx| {},
//!     settings: platform::section::<PotsSettings>,
//! };
//! # async fn f() -> anyhow::Result<()> {
//! platform::run(&SERVICE).await
//! # }
//! ```

pub mod amounts;
pub mod calendar;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod events;
pub mod gate;
pub mod health;
pub mod jobs;
pub mod links;
pub mod metrics;
pub mod migrate;
pub mod names;
pub mod outbox;
pub mod production;
pub mod reads;
pub mod request;
pub mod serve;
pub mod signature;
pub mod telemetry;

use std::{any::Any, sync::Arc};

pub use client::Client;
pub use clock::Clock;
pub use config::Config;
use config::{ConfigError, Env};

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
    /// The request pool: what the service's HTTP handlers use (`WOLO_DB_MAX_CONNECTIONS`).
    pub db: sqlx::PgPool,
    /// The background pool: what the service's outbox consumers and periodic jobs use
    /// (`WOLO_DB_BACKGROUND_CONNECTIONS`), through [`Context::background`]; see [`db`].
    pub background_db: sqlx::PgPool,
    /// The request pool on the standby (`WOLO_DATABASE_READ_URL`), for the reads that may
    /// go there ([`reads`]); `None` without a standby or for a service that reads the primary.
    pub read_db: Option<sqlx::PgPool>,
    pub config: Arc<Config>,
    /// Where calendar rules read the time: the system clock, or one a test sets.
    pub clock: Clock,
    /// The service's own settings, read at start-up ([`Service::settings`]).
    pub section: Section,
    /// What the services of one process share (the REST layer's schema cache): made once by
    /// whoever builds the first context, carried by its clones.
    pub shared: Shared,
}

/// Resources the services of one process share, one value per type, made on first use
/// ([`Shared::get_or_init`]). It is an explicit value carried by [`Context`], not a global:
/// two contexts built apart (two test databases) share nothing.
#[derive(Clone, Default)]
pub struct Shared(Arc<std::sync::Mutex<Vec<Arc<dyn Any + Send + Sync>>>>);

impl Shared {
    /// The shared `T`, made by `init` the first time it is asked for.
    pub fn get_or_init<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let mut values = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = values.iter().find_map(|v| v.clone().downcast::<T>().ok()) {
            return found;
        }
        let value = Arc::new(init());
        values.push(value.clone());
        value
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared(..)")
    }
}

impl Context {
    /// The service's own settings, of the type its [`Service::settings`] reads.
    ///
    /// # Panics
    /// When the context was built without them (a programming error: [`run`], `wolo serve`
    /// and the test kit's `context_of` read them before any router is built).
    pub fn settings<T: Settings>(&self) -> Arc<T> {
        self.section.get::<T>().unwrap_or_else(|| {
            panic!(
                "{} was not read at start-up: build the context with Context::with_settings",
                std::any::type_name::<T>()
            )
        })
    }

    /// This context with `service`'s settings read from `env`.
    pub fn with_settings(mut self, service: &Service, env: &Env) -> Result<Context, ConfigError> {
        self.section = (service.settings)(env, &self.config)?;
        Ok(self)
    }

    /// This context for background work: `db` is the background pool, so consumers and jobs
    /// written over `ctx.db` never take the connections requests need. [`start_jobs`] gives
    /// it to [`Service::jobs`].
    pub fn background(&self) -> Context {
        let mut ctx = self.clone();
        ctx.db = self.background_db.clone();
        // Consumers and jobs read what they then write: the primary.
        ctx.read_db = None;
        ctx
    }

    /// This context with the given settings (tests).
    pub fn with_section<T: Settings>(mut self, settings: T) -> Context {
        self.section = Section::new(settings);
        self
    }
}

/// A service's own settings: read once at start-up from the environment, into a typed value
/// whose secrets are wrapped ([`config::Secret`]). A missing or malformed setting is a
/// [`ConfigError`] naming it: one line, exit status 2.
pub trait Settings: Send + Sync + Sized + 'static {
    fn read(env: &Env, config: &Config) -> Result<Self, ConfigError>;
}

impl Settings for () {
    fn read(_: &Env, _: &Config) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// One service's settings, of whatever type it declares.
#[derive(Clone)]
pub struct Section(Arc<dyn Any + Send + Sync>);

impl Section {
    pub fn new<T: Settings>(settings: T) -> Section {
        Section(Arc::new(Arc::new(settings)))
    }

    /// The settings, when they are of type `T`.
    pub fn get<T: Settings>(&self) -> Option<Arc<T>> {
        self.0.downcast_ref::<Arc<T>>().cloned()
    }
}

impl Default for Section {
    fn default() -> Self {
        Section::new(())
    }
}

impl std::fmt::Debug for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Section(..)")
    }
}

/// [`Service::settings`] of a service whose settings are `T`.
pub fn section<T: Settings>(env: &Env, config: &Config) -> Result<Section, ConfigError> {
    T::read(env, config).map(Section::new)
}

/// One service, as everything that runs it sees it: `wolo serve` (all ten), `wolo serve S`
/// and the service's own binary `wolo-S` ([`run`]) build its router and start its jobs from
/// this one value, so no way of running a service leaves its jobs and consumers behind.
#[derive(Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub default_port: u16,
    pub router: fn(Context) -> axum::Router,
    /// Starts the service's background jobs and outbox consumers; called through
    /// [`start_jobs`], on the background context (`ctx.db` is the background pool).
    pub jobs: fn(&Context),
    /// Reads the service's own settings ([`section`]`::<T>`), once, at start-up: an error
    /// names the setting and stops start-up (one line, status 2) before anything listens,
    /// never a panic. The router and jobs find them in [`Context::settings`].
    pub settings: fn(&Env, &Config) -> Result<Section, ConfigError>,
}

/// Starts `service`'s jobs and consumers on its background pool ([`Context::background`]):
/// every way of running a service (`wolo serve`, `wolo serve S`, `wolo-S`) goes through here.
pub fn start_jobs(service: &Service, ctx: &Context) {
    (service.jobs)(&ctx.background());
}

/// [`Service::settings`] of a service with no settings of its own.
pub fn no_settings(env: &Env, config: &Config) -> Result<Section, ConfigError> {
    section::<()>(env, config)
}

/// Runs `service` alone (`wolo-<name>`): reads the environment (the service's own settings
/// too, [`Service::settings`]), connects as the service's role, starts its jobs and consumers,
/// and serves its router on `WOLO_HTTP_ADDR` (default `127.0.0.1:<default_port>`) until
/// SIGTERM or Ctrl-C. A refused setting is one line and exit status 2.
pub async fn run(service: &Service) -> anyhow::Result<()> {
    let name = service.name;
    let default_port = service.default_port;
    telemetry::init(name);
    let env = Env::process();
    let config = match Config::from_settings(default_port, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    if let Err(refused) = production::check(config.environment, &[name], env.lookup()) {
        eprintln!("{}", refused.line(name));
        std::process::exit(2);
    }
    let section = match (service.settings)(&env, &config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    let ctx = Context {
        db: db::connect(&config)?,
        background_db: db::connect_background(&config)?,
        read_db: None,
        config: Arc::new(config),
        clock: Clock::system(),
        section,
        shared: Shared::default(),
    };
    // The service's own login role (wolo_svc_<name>); never a superuser or owner in production.
    let ctx = db::service_context(&ctx, name)?;
    if ctx.config.environment == config::Environment::Production {
        if let Err(line) = db::refuse_privileged_login(&ctx.config, name).await {
            eprintln!("{name}: {line}");
            std::process::exit(2);
        }
    }
    start_jobs(service, &ctx);
    // GET /metrics: this process's requests, pool, outbox and jobs (config: who may read).
    let metrics = metrics::router(
        metrics::Access::of(&ctx.config),
        vec![
            metrics::pool(name, ctx.db.clone()),
            metrics::outbox_parked(ctx.db.clone()),
        ],
    );
    let app = metrics::label((service.router)(ctx.clone()), name).merge(metrics);
    serve::serve(&ctx.config, app, name).await
}
