//! `wolo`: the one command of the suite.
//!
//! ```text
//! wolo migrate        apply pending migrations (DATABASE_URL)
//! wolo seed           load the demo data (idempotent)
//! wolo serve          all ten services in one process, service S under /S (WOLO_HTTP_ADDR, default 127.0.0.1:8080)
//! wolo serve pots     one service alone, at / (default port: the service's own)
//! wolo fake-wave      a fake Wave Checkout API alone (WOLO_FAKE_WAVE_ADDR, default 127.0.0.1:8099)
//! wolo fake-paydunya  a fake PayDunya API alone (WOLO_FAKE_PAYDUNYA_ADDR, default 127.0.0.1:8098)
//! wolo ussd           dial the USSD menu of a running suite, as the gateway would (simulator)
//! wolo sms TEXT       send one incoming SMS to a running suite, as the gateway would (simulator)
//! ```
//!
//! Outside production, `wolo serve` without `WOLO_WAVE_API_URL` starts the fake Wave in
//! process (on `WOLO_FAKE_WAVE_ADDR`) and points the donations service at it, so a donation
//! can be paid locally with no Wave account. In production `WOLO_WAVE_API_URL` is required.
//!
//! Likewise, outside production, `wolo serve` without any of `WOLO_PAYDUNYA_MASTER_KEY`,
//! `WOLO_PAYDUNYA_PRIVATE_KEY` and `WOLO_PAYDUNYA_TOKEN` starts the fake PayDunya in process
//! (on `WOLO_FAKE_PAYDUNYA_ADDR`) with its dev keys, and the payer "approves on the handset"
//! `WOLO_FAKE_PAYDUNYA_APPROVE_SECS` (default 8; 0: never) after each mobile-money push; and
//! without `WOLO_SMS_GATEWAY_KEY` the USSD and SMS callbacks get the key `dev-gateway-key`.
//! `wolo ussd` and `wolo sms` then play the gateway (`simulator`). In production neither
//! fake nor dev key is ever used: PayDunya is offered only with its three keys set.
//!
//! `GET /metrics` (Prometheus text format) is served once for the process, beside the services:
//! every running service's requests, pool, outbox consumers and jobs, plus webhook,
//! redemption and notification-queue gauges (`suite::metrics`); who may read it is set by
//! `WOLO_METRICS_TOKEN` and `WOLO_METRICS_ALLOW` (`platform::metrics`).
//!
//! With `WOLO_ENV=production`, `wolo serve` refuses development secrets, short secrets, the
//! fake Wave, the development message provider and open CORS: one line naming the setting,
//! exit status 2, before any job or listener starts (`platform::production`).

mod simulator;

use std::{process::ExitCode, sync::Arc};

use platform::{config::Env, Config, Context, Service};

const USAGE: &str = "usage: wolo <command>

commands:
  migrate        apply pending migrations to DATABASE_URL
  seed           load the demo data (safe to run twice)
  serve          serve all ten services in one process, service S under /S
  serve <S>      serve one service alone (identity, profiles, referral, pots, donations,
                 packs, qr, notifications, analytics, admin)
  fake-wave      run the fake Wave Checkout API alone (WOLO_FAKE_WAVE_ADDR, default
                 127.0.0.1:8099; webhooks to WOLO_FAKE_WAVE_WEBHOOK_URL)
  fake-paydunya  run the fake PayDunya API alone (WOLO_FAKE_PAYDUNYA_ADDR, default
                 127.0.0.1:8098; notifications to each invoice's callback URL)
  ussd [--phone +221770000001] [--url http://127.0.0.1:8080]
                 dial the USSD menu of a running suite as the gateway would: each screen
                 is printed, each input read from stdin (key: WOLO_SMS_GATEWAY_KEY, else
                 dev-gateway-key; url: default http://WOLO_HTTP_ADDR)
  sms [--from +221770000001] [--url http://127.0.0.1:8080] TEXT
                 send one incoming SMS (e.g. \"482913 5000 FREE\") and print the answer
  help           this text

settings come from the environment; see .env.example";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    platform::telemetry::init("wolo");
    let outcome = match args.as_slice() {
        ["migrate"] => migrate().await,
        ["seed"] => seed().await,
        ["serve"] => serve(None).await,
        ["serve", name] => serve(Some(name)).await,
        ["fake-wave"] => fake_wave().await,
        ["fake-paydunya"] => fake_paydunya().await,
        ["ussd", rest @ ..] => simulator::ussd(rest).await,
        ["sms", rest @ ..] => simulator::sms(rest).await,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // A refused or malformed setting (a short JWT secret, a bad CORS list...) is one line
        // and status 2, in every environment, as the single-service binaries answer.
        Err(e)
            if e.is::<platform::production::Refused>()
                || e.is::<platform::config::ConfigError>() =>
        {
            eprintln!("wolo: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("wolo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate() -> anyhow::Result<()> {
    let url = platform::config::database_url()?;
    let applied = platform::migrate::run(&url).await?;
    // WOLO_DB_PASSWORD_<S>: the password of each service's login role (V102).
    let pool = platform::db::connect_url(
        &url,
        1,
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(30),
    )
    .await?;
    for role in
        platform::db::apply_service_passwords(&pool, &names(), |k| std::env::var(k).ok()).await?
    {
        println!("password of {role} set");
    }
    pool.close().await;
    if applied.is_empty() {
        println!(
            "database already at version {}: nothing to do",
            platform::migrate::latest_version()
        );
    }
    for m in &applied {
        println!("applied V{}__{}", m.version, m.name);
    }
    Ok(())
}

async fn seed() -> anyhow::Result<()> {
    if std::env::var("WOLO_ENV").is_ok_and(|v| matches!(v.trim(), "production" | "prod")) {
        anyhow::bail!(
            "`wolo seed` loads fictional demo data: never in production (WOLO_ENV=production)"
        );
    }
    let url = platform::config::database_url()?;
    let seeded = suite::seed(&url).await?;
    println!("seeded demo data ({} files)", seeded.files);
    println!(
        "demo password of abdoulaye.mbaye@example.org (admin console, /admin/console), \
         pape.seck@example.com (CinéTeranga) and rokhaya.thiam@example.com (Keur Bien-Être Spa; \
         scanning page /qr/scan): {}",
        seeded.demo_password
    );
    Ok(())
}

async fn serve(only: Option<&str>) -> anyhow::Result<()> {
    let service = match only {
        None => None,
        Some(name) => Some(suite::find(name).ok_or_else(|| {
            anyhow::anyhow!("unknown service {name:?}; one of: {}", names().join(", "))
        })?),
    };
    let port = service.map_or(suite::SUITE_PORT, |s| s.default_port);
    // Every setting is read from this one snapshot of the environment, now.
    let env = Env::process();
    let mut config = Config::from_settings(port, &env)?;
    // Ten services in one process: ten request pools and ten background pools
    // (suite::SUITE_DB_MAX_CONNECTIONS, platform::db).
    if service.is_none() && env.get("WOLO_DB_MAX_CONNECTIONS").is_none() {
        config.db_max_connections = suite::SUITE_DB_MAX_CONNECTIONS;
    }
    // Production refuses development secrets, the fake Wave, open CORS... (exit 2), before
    // any job, fake or listener starts.
    let running: Vec<&str> = service.map_or_else(names, |s| vec![s.name]);
    platform::production::check(config.environment, &running, env.lookup())?;
    // Outside production, without WOLO_WAVE_API_URL, the donations service talks to a fake
    // Wave started here: its address goes into the settings the service reads. Likewise a
    // fake PayDunya without PayDunya's keys, and a dev key for the USSD/SMS gateway.
    let env = if running.contains(&donations::NAME) {
        // Where the donations service's routes are: under /donations in the suite.
        let prefix = if service.is_some() { "" } else { "/donations" };
        let env = wave_for_donations(&env, &config, &format!("{prefix}/webhooks/wave")).await?;
        let env = paydunya_for_donations(&env, &config, prefix).await?;
        gateway_for_donations(&env, &config, prefix)
    } else {
        env
    };
    let ctx = Context {
        db: platform::db::connect(&config)?,
        background_db: platform::db::connect_background(&config)?,
        read_db: None,
        config: Arc::new(config),
        clock: platform::Clock::system(),
        section: platform::Section::default(),
        shared: platform::Shared::default(),
    };
    let addr = ctx.config.http_addr;
    let config = ctx.config.clone();
    // Each service logs in as its own role (wolo_svc_<S>) and reads its own settings: a bad
    // one is one line naming it and status 2, never a panic.
    let contexts: Vec<(&Service, Context)> = match suite::SERVICES
        .iter()
        .filter(|s| running.contains(&s.name))
        .map(|s| suite::service_context(s, &ctx, &env).map(|c| (s, c)))
        .collect::<anyhow::Result<_>>()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wolo: {e}");
            std::process::exit(2);
        }
    };
    // Production refuses a superuser or table-owner login (exit 2), before any job or
    // listener starts.
    if config.environment == platform::config::Environment::Production {
        for (s, c) in &contexts {
            if let Err(line) = platform::db::refuse_privileged_login(&c.config, s.name).await {
                eprintln!("wolo: {line}");
                std::process::exit(2);
            }
        }
    }
    match service {
        Some(s) => {
            let ctx = contexts[0].1.clone();
            platform::start_jobs(s, &ctx);
            let router = platform::metrics::label((s.router)(ctx), s.name)
                .merge(suite::metrics::router(&config, &contexts));
            // The service's own configuration: its database gate logs in as the service.
            platform::serve::serve(&contexts[0].1.config, router, s.name).await
        }
        None => {
            suite::start_jobs_of(&contexts);
            let router =
                suite::suite_router_of(&contexts).merge(suite::metrics::router(&config, &contexts));
            println!("WOLO suite on http://{addr}: services under /<name>, e.g.");
            println!("  http://{addr}/");
            println!("  http://{addr}/pots/health");
            println!("  http://{addr}/donations/ready");
            // A service's configuration (the process's own but for its database login): the
            // database gate logs in as a service role, never as the URL's superuser.
            platform::serve::serve(&contexts[0].1.config, router, "wolo").await
        }
    }
}

/// The settings the donations service will read: with `WOLO_WAVE_API_URL` set, `env` as it
/// is; else, outside production, `env` pointing at a fake Wave started in process on
/// `WOLO_FAKE_WAVE_ADDR`, with the configured (or dev) key and webhook secret.
async fn wave_for_donations(env: &Env, config: &Config, webhook_path: &str) -> anyhow::Result<Env> {
    if env.get("WOLO_WAVE_API_URL").is_some() {
        return Ok(env.clone());
    }
    if config.environment == platform::config::Environment::Production {
        anyhow::bail!(
            "WOLO_WAVE_API_URL is required in production (Wave's API, https://api.wave.com), with WOLO_WAVE_API_KEY and WOLO_WAVE_WEBHOOK_SECRET"
        );
    }
    let addr = fake_addr(env, "WOLO_FAKE_WAVE_ADDR", fakewave::DEFAULT_ADDR)?;
    let http = local_http(config);
    // The configured key and webhook secret when set (the dev ones otherwise): the fake signs
    // with the very secret the donations service honours.
    let (api_key, secrets) = donations::config::fake_wave_credentials(env.lookup());
    let fake_config = |addr| fakewave::FakeWaveConfig {
        addr,
        api_key: api_key.clone(),
        webhook_secrets: secrets.clone(),
        webhook_url: Some(format!("http://{http}{webhook_path}")),
        ..Default::default()
    };
    let explicit = env.get("WOLO_FAKE_WAVE_ADDR").is_some();
    let delay = fake_wave_delay(env)?;
    let fake_config = |addr| fakewave::FakeWaveConfig {
        delay,
        ..fake_config(addr)
    };
    let fake = match fakewave::spawn(fake_config(addr)).await {
        Ok(f) => f,
        // The default port is taken (another `wolo serve`?): any free port will do.
        Err(e) if !explicit => {
            eprintln!("wolo: fake Wave: {addr} is not available ({e}); using a free port");
            fakewave::spawn(fake_config("127.0.0.1:0".parse()?))
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the fake Wave: {e}"))?
        }
        Err(e) => anyhow::bail!("cannot start the fake Wave on {addr} (WOLO_FAKE_WAVE_ADDR): {e}"),
    };
    println!(
        "fake Wave on {} (WOLO_WAVE_API_URL unset): pay page {}/c/<session id>, webhooks to http://{http}{webhook_path}",
        fake.url, fake.url
    );
    Ok(env
        .with("WOLO_WAVE_API_URL", &fake.url)
        .with("WOLO_WAVE_API_KEY", &api_key)
        .with("WOLO_WAVE_WEBHOOK_SECRET", &secrets.join(",")))
}

/// `WOLO_FAKE_WAVE_DELAY_MS`: how long the fake holds every API answer (a slow Wave, for
/// benchmarks); zero when unset.
fn fake_wave_delay(env: &Env) -> anyhow::Result<std::time::Duration> {
    match env.get("WOLO_FAKE_WAVE_DELAY_MS") {
        None => Ok(std::time::Duration::ZERO),
        Some(raw) => raw
            .parse::<u64>()
            .map(std::time::Duration::from_millis)
            .map_err(|_| {
                anyhow::anyhow!("WOLO_FAKE_WAVE_DELAY_MS must be milliseconds (got {raw:?})")
            }),
    }
}

/// A fake's address: setting `name` (host:port, read by [`Env::parsed`]), else `default`.
fn fake_addr(env: &Env, name: &'static str, default: &str) -> anyhow::Result<std::net::SocketAddr> {
    Ok(match env.parsed(name)? {
        Some(addr) => addr,
        None => default.parse()?,
    })
}

/// `wolo fake-wave`: the fake alone, until interrupted.
async fn fake_wave() -> anyhow::Result<()> {
    let vars = Env::process();
    let env = |k: &str, d: &str| vars.get(k).unwrap_or_else(|| d.to_string());
    let addr = fake_addr(&vars, "WOLO_FAKE_WAVE_ADDR", fakewave::DEFAULT_ADDR)?;
    let secrets = env("WOLO_WAVE_WEBHOOK_SECRET", fakewave::DEV_WEBHOOK_SECRET);
    let fake = fakewave::spawn(fakewave::FakeWaveConfig {
        addr,
        delay: fake_wave_delay(&vars)?,
        api_key: env("WOLO_WAVE_API_KEY", fakewave::DEV_API_KEY),
        webhook_secrets: secrets
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        webhook_url: Some(env(
            "WOLO_FAKE_WAVE_WEBHOOK_URL",
            "http://127.0.0.1:8080/donations/webhooks/wave",
        )),
        ..Default::default()
    })
    .await?;
    println!(
        "fake Wave on {}: webhooks to {}",
        fake.url,
        fake.webhook_url().unwrap_or_default()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The suite's address as a client reaches it (an unspecified IP becomes loopback).
fn local_http(config: &Config) -> std::net::SocketAddr {
    let mut http = config.http_addr;
    if http.ip().is_unspecified() {
        http.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    http
}

/// The settings the donations service will read: with any of PayDunya's three keys set, `env`
/// as it is (PayDunya itself, or a misconfiguration the donations service names); in
/// production, `env` as it is too (PayDunya is then simply not offered). Else a fake PayDunya
/// started in process on `WOLO_FAKE_PAYDUNYA_ADDR`, with its dev keys, the service pointed at
/// it, and its notifications sent to this process (`prefix` + `/webhooks/paydunya`).
async fn paydunya_for_donations(env: &Env, config: &Config, prefix: &str) -> anyhow::Result<Env> {
    const KEYS: [&str; 3] = [
        "WOLO_PAYDUNYA_MASTER_KEY",
        "WOLO_PAYDUNYA_PRIVATE_KEY",
        "WOLO_PAYDUNYA_TOKEN",
    ];
    if config.environment == platform::config::Environment::Production
        || KEYS.iter().any(|k| env.get(k).is_some())
    {
        return Ok(env.clone());
    }
    let addr = fake_addr(env, "WOLO_FAKE_PAYDUNYA_ADDR", fakepaydunya::DEFAULT_ADDR)?;
    let explicit = env.get("WOLO_FAKE_PAYDUNYA_ADDR").is_some();
    let auto_approve = fake_paydunya_approval(env)?;
    let fake_config = |addr| fakepaydunya::FakePayDunyaConfig {
        addr,
        auto_approve,
        ..Default::default()
    };
    let fake = match fakepaydunya::spawn(fake_config(addr)).await {
        Ok(f) => f,
        // The default port is taken (another `wolo serve`?): any free port will do.
        Err(e) if !explicit => {
            eprintln!("wolo: fake PayDunya: {addr} is not available ({e}); using a free port");
            fakepaydunya::spawn(fake_config("127.0.0.1:0".parse()?))
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the fake PayDunya: {e}"))?
        }
        Err(e) => {
            anyhow::bail!("cannot start the fake PayDunya on {addr} (WOLO_FAKE_PAYDUNYA_ADDR): {e}")
        }
    };
    // Its notifications come straight back to this process (WOLO_PUBLIC_URL may be a tunnel
    // or another host), unless a callback URL is configured.
    let callback = env
        .get("WOLO_PAYDUNYA_CALLBACK_URL")
        .unwrap_or_else(|| format!("http://{}{prefix}/webhooks/paydunya", local_http(config)));
    let approval = approval_text(auto_approve);
    println!(
        "fake PayDunya on {} (WOLO_PAYDUNYA_* keys unset): pay page {}/sandbox-checkout/invoice/<token>, {approval}, notifications to {callback}",
        fake.url, fake.url
    );
    Ok(env
        .with("WOLO_PAYDUNYA_MASTER_KEY", fakepaydunya::DEV_MASTER_KEY)
        .with("WOLO_PAYDUNYA_PRIVATE_KEY", fakepaydunya::DEV_PRIVATE_KEY)
        .with("WOLO_PAYDUNYA_TOKEN", fakepaydunya::DEV_TOKEN)
        .with("WOLO_PAYDUNYA_API_URL", &fake.api_url())
        .with("WOLO_PAYDUNYA_PAYOUT_URL", &format!("{}/api/v2", fake.url))
        .with("WOLO_PAYDUNYA_CALLBACK_URL", &callback))
}

/// Outside production, without `WOLO_SMS_GATEWAY_KEY`: the dev key
/// ([`simulator::DEV_GATEWAY_KEY`]), so the USSD menu and incoming SMS are served (and
/// `wolo ussd` / `wolo sms` reach them). Production keeps `env` as it is.
fn gateway_for_donations(env: &Env, config: &Config, prefix: &str) -> Env {
    if config.environment == platform::config::Environment::Production
        || env.get("WOLO_SMS_GATEWAY_KEY").is_some()
    {
        return env.clone();
    }
    let key = simulator::DEV_GATEWAY_KEY;
    let http = local_http(config);
    // `wolo ussd` and `wolo sms` speak to the suite (the service under /donations).
    let hint = if prefix.is_empty() {
        ""
    } else {
        " (try `wolo ussd`, `wolo sms`)"
    };
    println!(
        "USSD/SMS gateway (WOLO_SMS_GATEWAY_KEY unset: {key}): USSD http://{http}{prefix}/ussd/{key}, SMS http://{http}{prefix}/sms/{key}{hint}"
    );
    env.with("WOLO_SMS_GATEWAY_KEY", key)
}

/// `WOLO_FAKE_PAYDUNYA_APPROVE_SECS`: how long after a mobile-money push the fake's payer
/// approves (completes the invoice and sends the notification); default 8 s, 0 = never (then
/// only the pay page or the `/_fake` hooks settle an invoice).
fn fake_paydunya_approval(env: &Env) -> anyhow::Result<Option<std::time::Duration>> {
    let secs = match env.get("WOLO_FAKE_PAYDUNYA_APPROVE_SECS") {
        None => 8,
        Some(raw) => raw.parse::<u64>().map_err(|_| {
            anyhow::anyhow!("WOLO_FAKE_PAYDUNYA_APPROVE_SECS must be whole seconds (got {raw:?})")
        })?,
    };
    Ok((secs > 0).then(|| std::time::Duration::from_secs(secs)))
}

/// What the start-up line says of the fake's payer.
fn approval_text(auto_approve: Option<std::time::Duration>) -> String {
    match auto_approve {
        Some(d) => format!("the payer approves {} s after each push", d.as_secs()),
        None => "approval on the pay page only".to_string(),
    }
}

/// `wolo fake-paydunya`: the fake alone, until interrupted. It takes the configured
/// `WOLO_PAYDUNYA_*` keys (the dev ones otherwise) and sends each notification to the
/// callback URL of its invoice.
async fn fake_paydunya() -> anyhow::Result<()> {
    let vars = Env::process();
    let env = |k: &str, d: &str| vars.get(k).unwrap_or_else(|| d.to_string());
    let auto_approve = fake_paydunya_approval(&vars)?;
    let fake = fakepaydunya::spawn(fakepaydunya::FakePayDunyaConfig {
        addr: fake_addr(&vars, "WOLO_FAKE_PAYDUNYA_ADDR", fakepaydunya::DEFAULT_ADDR)?,
        master_key: env("WOLO_PAYDUNYA_MASTER_KEY", fakepaydunya::DEV_MASTER_KEY),
        private_key: env("WOLO_PAYDUNYA_PRIVATE_KEY", fakepaydunya::DEV_PRIVATE_KEY),
        token: env("WOLO_PAYDUNYA_TOKEN", fakepaydunya::DEV_TOKEN),
        auto_approve,
        ..Default::default()
    })
    .await?;
    let approval = approval_text(auto_approve);
    println!(
        "fake PayDunya on {}: WOLO_PAYDUNYA_API_URL={} WOLO_PAYDUNYA_PAYOUT_URL={}/api/v2, pay page {}/sandbox-checkout/invoice/<token>, {approval}",
        fake.url,
        fake.api_url(),
        fake.url,
        fake.url
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn names() -> Vec<&'static str> {
    suite::SERVICES.iter().map(|s| s.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &[(&str, &str)]) -> (Env, Config) {
        let mut pairs = vec![
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wolo"),
            ("WOLO_JWT_SECRET", "0123456789abcdef0123456789abcdef-test"),
            ("WOLO_HTTP_ADDR", "0.0.0.0:18999"),
            ("WOLO_FAKE_PAYDUNYA_ADDR", "127.0.0.1:0"),
        ];
        pairs.extend_from_slice(extra);
        let env = Env::from_pairs(&pairs);
        let config = Config::from_settings(suite::SUITE_PORT, &env).unwrap();
        (env, config)
    }

    #[tokio::test]
    async fn outside_production_the_fake_paydunya_and_the_dev_gateway_key_stand_in() {
        let (env, config) = settings(&[]);
        let env = paydunya_for_donations(&env, &config, "/donations")
            .await
            .unwrap();
        let env = gateway_for_donations(&env, &config, "/donations");
        assert_eq!(
            env.get("WOLO_PAYDUNYA_MASTER_KEY").as_deref(),
            Some(fakepaydunya::DEV_MASTER_KEY)
        );
        let api = env.get("WOLO_PAYDUNYA_API_URL").unwrap();
        assert!(
            api.starts_with("http://127.0.0.1:") && api.ends_with("/api/v1"),
            "{api}"
        );
        let payout = env.get("WOLO_PAYDUNYA_PAYOUT_URL").unwrap();
        assert_eq!(payout, api.replace("/api/v1", "/api/v2"));
        assert_eq!(
            env.get("WOLO_PAYDUNYA_CALLBACK_URL").as_deref(),
            Some("http://127.0.0.1:18999/donations/webhooks/paydunya")
        );
        assert_eq!(
            env.get("WOLO_SMS_GATEWAY_KEY").as_deref(),
            Some(simulator::DEV_GATEWAY_KEY)
        );
        // The donations service accepts what it is given.
        let dev = platform::config::Environment::Development;
        let pd = donations::config::paydunya_from_env(&env, dev, "http://x").unwrap();
        assert_eq!(pd.map(|p| p.api_url), Some(api.clone()));
        assert!(donations::config::gateway_key_from_env(&env, dev)
            .unwrap()
            .is_some());
        // The fake answers with those keys.
        let answer = reqwest::Client::new()
            .get(format!("{api}/checkout-invoice/confirm/nope"))
            .header("PAYDUNYA-MASTER-KEY", fakepaydunya::DEV_MASTER_KEY)
            .header("PAYDUNYA-PRIVATE-KEY", fakepaydunya::DEV_PRIVATE_KEY)
            .header("PAYDUNYA-TOKEN", fakepaydunya::DEV_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404);
    }

    #[tokio::test]
    async fn configured_keys_or_production_start_no_fake() {
        let keys = [
            ("WOLO_PAYDUNYA_MASTER_KEY", "live_master"),
            ("WOLO_PAYDUNYA_PRIVATE_KEY", "live_private"),
            ("WOLO_PAYDUNYA_TOKEN", "live_token"),
            ("WOLO_SMS_GATEWAY_KEY", "a-configured-gateway-key"),
        ];
        // All three keys; one key only (the donations service then names the missing ones);
        // production without any.
        let one = [keys[0], keys[3]];
        for extra in [&keys[..], &one[..], &[("WOLO_ENV", "production")][..]] {
            let (env, config) = settings(extra);
            let out = paydunya_for_donations(&env, &config, "/donations")
                .await
                .unwrap();
            let out = gateway_for_donations(&out, &config, "/donations");
            for k in [
                "WOLO_PAYDUNYA_MASTER_KEY",
                "WOLO_PAYDUNYA_API_URL",
                "WOLO_PAYDUNYA_CALLBACK_URL",
                "WOLO_SMS_GATEWAY_KEY",
            ] {
                assert_eq!(out.get(k), env.get(k), "{k} with {extra:?}");
            }
        }
    }

    #[test]
    fn the_approval_delay_is_read() {
        let (env, _) = settings(&[]);
        assert_eq!(
            fake_paydunya_approval(&env).unwrap(),
            Some(std::time::Duration::from_secs(8))
        );
        let env = env.with("WOLO_FAKE_PAYDUNYA_APPROVE_SECS", "0");
        assert_eq!(fake_paydunya_approval(&env).unwrap(), None);
        let env = env.with("WOLO_FAKE_PAYDUNYA_APPROVE_SECS", "soon");
        assert!(fake_paydunya_approval(&env).is_err());
    }
}
