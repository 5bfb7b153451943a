//! The whole suite: the list of services, and the `wolo` commands behind the binary.
//!
//! `wolo serve` builds every service's router from its own [`platform::Context`] (the
//! service's database login, `wolo_svc_<S>`) and nests service `S` under `/S`, so the suite
//! answers `/pots/health`, `/donations/ready`, ...

use std::time::Duration;

use axum::{routing::get, Json, Router};
use platform::{config::Env, Context};

pub mod metrics;

include!(concat!(env!("OUT_DIR"), "/seeds.rs"));

pub use platform::Service;

/// The ten services, in the order of their schemas' migrations. Each is its crate's
/// `SERVICE`, the same value its own binary `wolo-<name>` runs.
pub const SERVICES: [Service; 10] = [
    identity::SERVICE,
    profiles::SERVICE,
    referral::SERVICE,
    pots::SERVICE,
    donations::SERVICE,
    packs::SERVICE,
    qr::SERVICE,
    notifications::SERVICE,
    analytics::SERVICE,
    admin::SERVICE,
];

/// Default port of `wolo serve` (all services).
pub const SUITE_PORT: u16 = 8080;

/// Each service's request pool under `wolo serve` of all ten when `WOLO_DB_MAX_CONNECTIONS` is
/// unset: 10 × (5 + 2 background) = 70 connections at most, well under PostgreSQL's default
/// `max_connections` of 100 (`platform::db`). One service alone keeps the default of 10.
pub const SUITE_DB_MAX_CONNECTIONS: u32 = 5;

pub fn find(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.name == name)
}

/// Every service with its own context: `ctx` logged in as the service's role
/// (`platform::db::service_context`: `WOLO_<S>_DATABASE_URL`, or `DATABASE_URL` as
/// `wolo_svc_<s>` with `WOLO_DB_PASSWORD_<S>`; `WOLO_DB_SERVICE_ROLES=off` keeps the
/// `DATABASE_URL` login for all, outside production).
/// Each context carries its service's own settings, read from `env` ([`Service::settings`]).
pub fn service_contexts(
    ctx: &Context,
    env: &Env,
) -> anyhow::Result<Vec<(&'static Service, Context)>> {
    SERVICES
        .iter()
        .map(|s| service_context(s, ctx, env).map(|c| (s, c)))
        .collect()
}

/// Service `s`'s context: its own database login and its own settings.
pub fn service_context(s: &Service, ctx: &Context, env: &Env) -> anyhow::Result<Context> {
    Ok(platform::db::service_context(ctx, s.name)?.with_settings(s, env)?)
}

/// Starts the jobs and consumers of every service, each as its own role, with the settings
/// of the process environment.
pub fn start_jobs(ctx: &Context) {
    let contexts = service_contexts(ctx, &Env::process()).expect("the services' settings");
    start_jobs_of(&contexts);
}

/// Starts the jobs and consumers of every service on its own context's background pool
/// (`platform::start_jobs`).
pub fn start_jobs_of(contexts: &[(&'static Service, Context)]) {
    for (s, ctx) in contexts {
        platform::start_jobs(s, ctx);
    }
}

/// All ten services in one router, service `S` under `/S`, the pages people open from a link
/// at the root (`/p/...`, `/dons/...`, `/cadeau/...`: `web`), plus a small index at `/`; each
/// service connects as its own role ([`service_contexts`]), and its requests are counted and
/// logged under its name (`platform::metrics::label`). `GET /metrics` is merged by the caller
/// ([`metrics::router`]), once per process.
pub fn suite_router(ctx: Context) -> Router {
    let contexts = service_contexts(&ctx, &Env::process()).expect("the services' settings");
    suite_router_of(&contexts)
}

/// [`suite_router`] over contexts made by the caller.
pub fn suite_router_of(contexts: &[(&'static Service, Context)]) -> Router {
    let names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
    let index = Router::new().route(
        "/",
        get(move || async move {
            Json(serde_json::json!({
                "name": "WOLO Senegal",
                "services": names.iter().map(|n| serde_json::json!({
                    "name": n,
                    "base_url": format!("/{n}"),
                    "health": format!("/{n}/health"),
                    "ready": format!("/{n}/ready"),
                })).collect::<Vec<_>>(),
            }))
        }),
    );
    // Each service's requests are counted and logged under its name (platform::metrics).
    let mut router = platform::metrics::label_routes(index, "wolo");
    if let Some(pages) = pages(contexts) {
        router = router.merge(platform::metrics::label_routes(pages, "web"));
    }
    for (s, ctx) in contexts {
        router = router.nest(
            &format!("/{}", s.name),
            platform::metrics::label((s.router)(ctx.clone()), s.name),
        );
    }
    router
}

/// The pages people open from a link (`web`), at the root, when the services they read are
/// all there (pots, donations, qr, identity, referral): each page reads as the service owning
/// its data, and hands its forms to that service's own router.
fn pages(contexts: &[(&'static Service, Context)]) -> Option<Router> {
    let ctx = |name: &str| {
        contexts
            .iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, c)| c)
    };
    let (pots, donations, qr) = (ctx("pots")?, ctx("donations")?, ctx("qr")?);
    let (identity, referral) = (ctx("identity")?, ctx("referral")?);
    Some(web::router(web::Sources {
        pots: pots.db.clone(),
        donations: donations.db.clone(),
        qr: qr.db.clone(),
        referral: referral.db.clone(),
        donations_router: (donations::SERVICE.router)(donations.clone()),
        identity_router: (identity::SERVICE.router)(identity.clone()),
        referral_router: (referral::SERVICE.router)(referral.clone()),
        links: platform::links::Links::from_config(&pots.config),
        mobile_money: donations
            .settings::<donations::DonationsConfig>()
            .paydunya
            .is_some(),
        live: web::live::Live::start(pots.db.clone(), platform::outbox::watcher(pots)),
        pots_read: pots.read_db.clone(),
        qr_read: qr.read_db.clone(),
    }))
}

/// What `wolo seed` did.
#[derive(Debug)]
pub struct Seeded {
    /// Seed files run.
    pub files: usize,
    /// The sign-in password of the demo accounts that have one ([`DEMO_PASSWORD_USERS`]):
    /// derived from `WOLO_JWT_SECRET`, so every run on one configuration
    /// prints the same one and changes nothing.
    pub demo_password: String,
}

/// The demo accounts that sign in with an e-mail and a password (the admin console, the
/// partners' scanning page): Abdoulaye Mbaye (admin), Pape Seck (CinéTeranga staff) and
/// Rokhaya Thiam (Keur Bien-Être Spa, where Fatou's gift is redeemable today).
pub const DEMO_PASSWORD_USERS: [&str; 3] = [
    "00000000-0000-4000-a000-010100000011",
    "00000000-0000-4000-a000-010100000013",
    "00000000-0000-4000-a000-010100000014",
];

/// The demo password of the configuration whose JWT secret is `jwt_secret`: twelve letters and
/// digits in three groups, from an HMAC of the secret (not a value written anywhere).
pub fn demo_password(jwt_secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(jwt_secret.as_bytes()).expect("any length");
    mac.update(b"wolo demo password v1");
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let tag = mac.finalize().into_bytes();
    let chars: Vec<char> = tag
        .iter()
        .take(12)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Loads the demo data (`seeds/*.sql`) in one transaction, then makes it usable by the
/// running configuration: the seeded QR codes signed with `WOLO_QR_SECRET` (the development
/// secret when unset), and the demo accounts' password ([`demo_password`] of
/// `WOLO_JWT_SECRET`) with their e-mail confirmed. Every step is idempotent, so a second run
/// changes nothing. Refuses an unmigrated database.
pub async fn seed(database_url: &str) -> anyhow::Result<Seeded> {
    let env = Env::process();
    let qr_secret = qr::settings::qr_secret(&env, platform::config::Environment::Development)?;
    let jwt_secret = env
        .get("WOLO_JWT_SECRET")
        .unwrap_or_else(|| "wolo demo without a jwt secret".into());
    let pool = platform::db::connect_url(
        database_url,
        1,
        Duration::from_secs(10),
        Duration::from_secs(120),
    )
    .await?;
    let expected = platform::migrate::latest_version();
    match platform::migrate::applied_version(&pool).await? {
        Some(v) if v >= expected => {}
        _ => anyhow::bail!(
            "the database is not migrated to version {expected}: run `wolo migrate` first"
        ),
    }
    let mut tx = pool.begin().await?;
    for (file, sql) in SEEDS {
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| anyhow::anyhow!("seed {file} failed: {e}"))?;
    }
    // The seeded codes, signed by this configuration's secret (a code it cannot verify gets
    // a new value; one it can is left alone).
    let codes: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "select id, code from qr.qr_codes where id::text like '00000000-0000-4000-a000-0701%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, code) in codes {
        if qr_secret.verify(&code).is_ok() {
            continue;
        }
        let signed = qr_secret.generate();
        sqlx::query("update qr.qr_codes set code = $2, qr_image_url = $3 where id = $1")
            .bind(id)
            .bind(&signed)
            .bind(format!("/qr/codes/{}.png", qr::code::grouped(&signed)))
            .execute(&mut *tx)
            .await?;
    }
    // The demo accounts' password and confirmed e-mail.
    let password = demo_password(&jwt_secret);
    for user in DEMO_PASSWORD_USERS {
        let id: uuid::Uuid = user.parse()?;
        let phc: Option<Option<String>> =
            sqlx::query_scalar("select password_hash from identity.users where id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(phc) = phc else { continue };
        if !identity::crypto::verify_password(&password, phc.as_deref()) {
            sqlx::query("update identity.users set password_hash = $2 where id = $1")
                .bind(id)
                .bind(identity::crypto::hash_password(&password))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "update identity.users set email_confirmed_at = coalesce(created_at, now())
             where id = $1 and email_confirmed_at is null",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(Seeded {
        files: SEEDS.len(),
        demo_password: password,
    })
}
