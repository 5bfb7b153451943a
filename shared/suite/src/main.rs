//! `wolo`: the one command of the suite.
//!
//! ```text
//! wolo migrate        apply pending migrations (DATABASE_URL)
//! wolo seed           load the demo data (idempotent)
//! wolo serve          all ten services in one process, service S under /S (WOLO_HTTP_ADDR, default 127.0.0.1:8080)
//! wolo serve pots     one service alone, at / (default port: the service's own)
//! ```

use std::{process::ExitCode, sync::Arc};

use platform::{Config, Context};

const USAGE: &str = "usage: wolo <command>

commands:
  migrate        apply pending migrations to DATABASE_URL
  seed           load the demo data (safe to run twice)
  serve          serve all ten services in one process, service S under /S
  serve <S>      serve one service alone (identity, profiles, referral, pots, donations,
                 packs, qr, notifications, analytics, admin)
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
        Err(e) => {
            eprintln!("wolo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate() -> anyhow::Result<()> {
    let url = platform::config::database_url()?;
    let applied = platform::migrate::run(&url).await?;
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
    let url = platform::config::database_url()?;
    let files = suite::seed(&url).await?;
    println!("seeded demo data ({files} files)");
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
    let config = Config::from_env(port)?;
    let db = platform::db::connect(&config)?;
    let ctx = Context {
        db,
        config: Arc::new(config),
    };
    let addr = ctx.config.http_addr;
    let config = ctx.config.clone();
    match service {
        Some(s) => {
            (s.jobs)(&ctx);
            platform::serve::serve(&config, (s.router)(ctx), s.name).await
        }
        None => {
            suite::start_jobs(&ctx);
            let router = suite::suite_router(ctx);
            println!("WOLO suite on http://{addr}: services under /<name>, e.g.");
            println!("  http://{addr}/");
            println!("  http://{addr}/pots/health");
            println!("  http://{addr}/donations/ready");
            platform::serve::serve(&config, router, "wolo").await
        }
    }
}

fn names() -> Vec<&'static str> {
    suite::SERVICES.iter().map(|s| s.name).collect()
}
