//! Settings, read only from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | required | PostgreSQL URL of the WOLO database |
//! | `WOLO_HTTP_ADDR` | `127.0.0.1:<service port>` (`127.0.0.1:8080` for `wolo serve`) | address to listen on |
//! | `WOLO_JWT_SECRET` | required | HS256 key for access tokens, at least 32 bytes |
//! | `WOLO_ENV` | `development` | `development`, `test` or `production` |
//! | `WOLO_DB_MAX_CONNECTIONS` | `10` (`5` per service under `wolo serve` of all ten) | request pool size, per service |
//! | `WOLO_DB_BACKGROUND_CONNECTIONS` | `2` | background pool size, per service: its outbox consumers and periodic jobs, never its requests (a whole number from 1) |
//! | `WOLO_DB_ACQUIRE_TIMEOUT_MS` | `5000` | how long a request waits for a connection |
//! | `WOLO_DB_STATEMENT_TIMEOUT_MS` | `15000` | server-side cap on one statement |
//! | `WOLO_JWT_AUDIENCE` | unset | when set, tokens must carry this `aud` |
//! | `WOLO_CORS_ORIGINS` | `*` | origins allowed by CORS: `*` or a comma-separated list (production requires the list) |
//! | `WOLO_TRUSTED_PROXIES` | `127.0.0.0/8,::1` | the proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed: comma-separated addresses and CIDR networks, or `none` ([`crate::client`]) |
//! | `WOLO_METRICS_TOKEN` | unset | a bearer token (secret, at least 32 bytes in production) that may read `GET /metrics` from anywhere ([`crate::metrics`]) |
//! | `WOLO_METRICS_ALLOW` | loopback outside production, nobody in production | client IPs (addresses and CIDR networks, or `none`) that may read `GET /metrics` without the token; in production with neither setting, `/metrics` answers 404 |
//!
//! A missing or malformed setting is a [`ConfigError`] that names the variable, and the
//! binaries stop with it before binding any port.
//! With `WOLO_ENV=production`, [`crate::production::check`] then refuses development
//! defaults, short secrets, the fake Wave, the development message provider and open CORS.

use std::{collections::HashMap, fmt, net::SocketAddr, str::FromStr, sync::Arc, time::Duration};

use crate::client::TrustedProxies;

pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;
/// Connections of a service's background pool (its consumers and jobs) when
/// `WOLO_DB_BACKGROUND_CONNECTIONS` is unset.
pub const DEFAULT_DB_BACKGROUND_CONNECTIONS: u32 = 2;
pub const DEFAULT_DB_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(5000);
pub const DEFAULT_DB_STATEMENT_TIMEOUT: Duration = Duration::from_millis(15000);
/// HS256 keys shorter than this are refused.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing setting {0}: set it in the environment (see .env.example)")]
    Missing(&'static str),
    #[error("bad setting {name}: {why}")]
    Invalid { name: &'static str, why: String },
    /// A reader's own line, which names the setting(s) itself (two settings that only make
    /// sense together, say).
    #[error("{0}")]
    Line(String),
}

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "development" | "dev" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" | "prod" => Ok(Environment::Production),
            other => Err(format!(
                "{other:?} is not one of development, test, production"
            )),
        }
    }
}

/// What stands between the suite and PostgreSQL (`WOLO_DB_POOLER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pooler {
    /// `DATABASE_URL` is PostgreSQL itself (or a pooler in session mode).
    #[default]
    None,
    /// `DATABASE_URL` is PgBouncer in transaction pooling mode: every statement runs in a
    /// transaction and no prepared statement outlives its transaction ([`crate::db`]).
    Transaction,
}

impl FromStr for Pooler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" | "session" => Ok(Pooler::None),
            "transaction" | "pgbouncer" => Ok(Pooler::Transaction),
            other => Err(format!("{other:?} is not one of none, transaction")),
        }
    }
}

/// How long a caller's reads stay on the primary after a write of theirs, by default
/// (`WOLO_READ_YOUR_WRITES_MS`, [`crate::reads`]).
pub const DEFAULT_READ_YOUR_WRITES: Duration = Duration::from_millis(2000);

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Secret,
    /// `WOLO_DATABASE_READ_URL`: a streaming standby for read-only requests
    /// ([`crate::reads`]); each service logs in there as on the primary.
    pub database_read_url: Option<Secret>,
    /// `WOLO_READ_YOUR_WRITES_MS`: after a write, the same caller reads from the primary
    /// this long ([`crate::reads`]).
    pub read_your_writes: Duration,
    /// `WOLO_DB_POOLER`: `transaction` when `DATABASE_URL` is PgBouncer in transaction mode.
    pub db_pooler: Pooler,
    pub http_addr: SocketAddr,
    pub jwt_secret: Secret,
    pub environment: Environment,
    /// The request pool's size: the connections the service's handlers share.
    pub db_max_connections: u32,
    /// The background pool's size: the connections the service's outbox consumers and
    /// periodic jobs share, so they never take the ones requests need ([`crate::db`]).
    pub db_background_connections: u32,
    pub db_acquire_timeout: Duration,
    pub db_statement_timeout: Duration,
    pub jwt_audience: Option<String>,
    /// `None` allows any origin.
    pub cors_origins: Option<Vec<String>>,
    /// Where the links people open point (no trailing slash): the web app
    /// (`WOLO_PUBLIC_WEB_URL`), else the suite's own pages at `WOLO_PUBLIC_URL`, else
    /// `http://localhost:<port>` ([`crate::links`]).
    pub public_web_url: String,
    /// True when `WOLO_PUBLIC_WEB_URL` is unset: links point at the suite's own pages.
    pub own_pages: bool,
    /// `WOLO_TRUSTED_PROXIES`: the only peers whose `X-Forwarded-For` gives the client IP,
    /// and whose `X-Forwarded-Proto: https` earns HSTS ([`crate::client`]).
    pub trusted_proxies: TrustedProxies,
    /// `WOLO_METRICS_TOKEN`: the bearer token that may read `/metrics` ([`crate::metrics`]).
    pub metrics_token: Option<Secret>,
    /// `WOLO_METRICS_ALLOW`: the client IPs that may read `/metrics` without the token
    /// (`None`: loopback outside production, nobody in production).
    pub metrics_allow: Option<TrustedProxies>,
}

impl Config {
    /// Reads every setting a server needs; `default_port` is the service's own port.
    pub fn from_env(default_port: u16) -> Result<Config, ConfigError> {
        Config::from_lookup(default_port, |k| std::env::var(k).ok())
    }

    /// Same as [`Config::from_env`] over any lookup (tests pass a map).
    pub fn from_lookup(
        default_port: u16,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let env = Lookup(&get);
        let jwt_secret = env.required("WOLO_JWT_SECRET")?;
        if jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                name: "WOLO_JWT_SECRET",
                why: format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"),
            });
        }
        let http_addr = env
            .parsed("WOLO_HTTP_ADDR")?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)));
        let web_app = parse_url("WOLO_PUBLIC_WEB_URL", get("WOLO_PUBLIC_WEB_URL"))?;
        let own_pages = web_app.is_none();
        let public_web_url = match web_app {
            Some(url) => url,
            None => parse_url("WOLO_PUBLIC_URL", get("WOLO_PUBLIC_URL"))?
                .unwrap_or_else(|| format!("http://localhost:{}", http_addr.port())),
        };
        let database_read_url = match get("WOLO_DATABASE_READ_URL").filter(|v| !v.trim().is_empty())
        {
            None => None,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(Secret(url.trim().to_string()))
            }
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "WOLO_DATABASE_READ_URL",
                    why: "must be a postgres:// or postgresql:// URL".into(),
                })
            }
        };
        Ok(Config {
            database_url: Secret(database_url_from(&get)?),
            database_read_url,
            read_your_writes: env
                .parsed("WOLO_READ_YOUR_WRITES_MS")?
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_READ_YOUR_WRITES),
            db_pooler: env.parsed("WOLO_DB_POOLER")?.unwrap_or_default(),
            http_addr,
            jwt_secret: Secret(jwt_secret),
            environment: env.parsed("WOLO_ENV")?.unwrap_or(Environment::Development),
            db_max_connections: env
                .parsed("WOLO_DB_MAX_CONNECTIONS")?
                .unwrap_or(DEFAULT_DB_MAX_CONNECTIONS),
            db_background_connections: match env.parsed::<u32>("WOLO_DB_BACKGROUND_CONNECTIONS")? {
                None => DEFAULT_DB_BACKGROUND_CONNECTIONS,
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        name: "WOLO_DB_BACKGROUND_CONNECTIONS",
                        why: "must be at least 1 (consumers and jobs need a connection)".into(),
                    })
                }
                Some(n) => n,
            },
            db_acquire_timeout: env
                .parsed("WOLO_DB_ACQUIRE_TIMEOUT_MS")?
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_DB_ACQUIRE_TIMEOUT),
            db_statement_timeout: env
                .parsed("WOLO_DB_STATEMENT_TIMEOUT_MS")?
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_DB_STATEMENT_TIMEOUT),
            jwt_audience: get("WOLO_JWT_AUDIENCE").filter(|v| !v.trim().is_empty()),
            cors_origins: parse_origins(get("WOLO_CORS_ORIGINS"))?,
            public_web_url,
            own_pages,
            trusted_proxies: env.parsed("WOLO_TRUSTED_PROXIES")?.unwrap_or_default(),
            metrics_token: get("WOLO_METRICS_TOKEN")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(Secret),
            metrics_allow: env.parsed("WOLO_METRICS_ALLOW")?,
        })
    }
}

/// An http(s) URL setting without its trailing slash; unset or blank is `None`.
fn parse_url(name: &'static str, v: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(v) = v.map(|v| v.trim().trim_end_matches('/').to_string()) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Ok(None);
    }
    let ok = ["http://", "https://"].iter().any(|p| {
        v.strip_prefix(p)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '))
    });
    if !ok {
        return Err(ConfigError::Invalid {
            name,
            why: format!("must be an http(s) URL such as https://app.wolo.sn (got {v:?})"),
        });
    }
    Ok(Some(v))
}

fn parse_origins(v: Option<String>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(v) = v.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    if v.trim() == "*" {
        return Ok(None);
    }
    let origins: Vec<String> = v
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .collect();
    for o in &origins {
        if !(o.starts_with("http://") || o.starts_with("https://")) || o.len() < 10 {
            return Err(ConfigError::Invalid {
                name: "WOLO_CORS_ORIGINS",
                why: format!("{o:?} is not an origin like https://app.wolo.sn"),
            });
        }
    }
    Ok(Some(origins))
}

/// `DATABASE_URL` alone, for commands that need nothing else (`wolo migrate`, `wolo seed`).
pub fn database_url() -> Result<String, ConfigError> {
    database_url_from(&|k: &str| std::env::var(k).ok())
}

fn database_url_from(get: &dyn Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let url = Lookup(get).required("DATABASE_URL")?;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError::Invalid {
            name: "DATABASE_URL",
            why: "must be a postgres:// or postgresql:// URL".into(),
        });
    }
    Ok(url)
}

struct Lookup<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Lookup<'_> {
    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConfigError::Missing(name)),
        }
    }

    fn parsed<T>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match (self.0)(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    why: format!("{v:?}: {e}"),
                }),
        }
    }
}

/// Where settings are read from, once, at start-up: a snapshot of the process environment
/// ([`Env::process`]), a map in tests ([`Env::from_pairs`]), with overrides on top
/// ([`Env::with`]: `wolo serve` points the donations service at the fake Wave it started).
///
/// Services read their own typed section from it ([`crate::Settings`]); nothing reads
/// `std::env` after start-up.
#[derive(Clone)]
pub struct Env(Arc<LookupFn>);

/// What an [`Env`] looks a setting up with.
type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env(..)")
    }
}

impl Env {
    /// The process environment as it is now (a snapshot: later changes are not seen).
    pub fn process() -> Env {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Env(Arc::new(move |k| vars.get(k).cloned()))
    }

    /// Exactly these variables (tests).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Env {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        Env(Arc::new(move |k| vars.get(k).cloned()))
    }

    /// This environment with `name` set to `value`.
    pub fn with(&self, name: &str, value: &str) -> Env {
        let inner = self.0.clone();
        let (name, value) = (name.to_string(), value.to_string());
        Env(Arc::new(move |k| {
            if k == name {
                Some(value.clone())
            } else {
                inner(k)
            }
        }))
    }

    /// The raw value of `name`, as set (not trimmed; may be empty).
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    /// The value of `name`, trimmed; unset and blank are both `None`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A secret setting, wrapped so that it never prints.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret)
    }

    /// `name`, which must be set.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// `name` parsed as `T`, when set; a value that does not parse is an error naming
    /// the setting and its value.
    pub fn parsed<T>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        Lookup(&|k| self.raw(k)).parsed(name)
    }

    /// A lookup function over this environment (for readers written over one).
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |k| self.raw(k)
    }
}

impl ConfigError {
    /// `name` is set but wrong: `why` says how.
    pub fn invalid(name: &'static str, why: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            name,
            why: why.into(),
        }
    }
}

impl Config {
    /// [`Config::from_lookup`] over an [`Env`].
    pub fn from_settings(default_port: u16, env: &Env) -> Result<Config, ConfigError> {
        Config::from_lookup(default_port, env.lookup())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_missing_database_url_is_named() {
        let err = Config::from_lookup(8080, lookup(&[("WOLO_JWT_SECRET", SECRET)])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DATABASE_URL"));
        assert!(err.to_string().contains("DATABASE_URL"));
    }

    #[test]
    fn a_short_jwt_secret_is_refused() {
        let err = Config::from_lookup(
            8080,
            lookup(&[
                ("DATABASE_URL", "postgres://x/y"),
                ("WOLO_JWT_SECRET", "short"),
            ]),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "WOLO_JWT_SECRET",
                ..
            }
        ));
    }

    #[test]
    fn the_background_pool_size_is_read_and_a_bad_one_named() {
        let with = |v: Option<&str>| {
            let mut all = vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("WOLO_JWT_SECRET", SECRET),
            ];
            all.extend(v.map(|v| ("WOLO_DB_BACKGROUND_CONNECTIONS", v)));
            Config::from_lookup(8080, lookup(&all))
        };
        assert_eq!(
            with(None).unwrap().db_background_connections,
            DEFAULT_DB_BACKGROUND_CONNECTIONS
        );
        assert_eq!(with(Some(" 3 ")).unwrap().db_background_connections, 3);
        for bad in ["0", "-1", "deux", "2.5"] {
            let text = with(Some(bad)).unwrap_err().to_string();
            assert!(
                text.starts_with("bad setting WOLO_DB_BACKGROUND_CONNECTIONS")
                    && !text.contains('\n'),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn a_bad_address_is_named_with_its_value() {
        let err = Config::from_lookup(
            8080,
            lookup(&[
                ("DATABASE_URL", "postgres://x/y"),
                ("WOLO_JWT_SECRET", SECRET),
                ("WOLO_HTTP_ADDR", "localhost:http"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("WOLO_HTTP_ADDR") && text.contains("localhost:http"),
            "{text}"
        );
    }

    #[test]
    fn metrics_settings_are_read_the_token_hidden_and_a_bad_network_named() {
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("WOLO_JWT_SECRET", SECRET),
            ];
            all.extend_from_slice(pairs);
            Config::from_lookup(8080, lookup(&all))
        };
        let c = with(&[]).unwrap();
        assert!(c.metrics_token.is_none() && c.metrics_allow.is_none());
        let c = with(&[
            (
                "WOLO_METRICS_TOKEN",
                " scrape-me-0123456789abcdef0123456789 ",
            ),
            ("WOLO_METRICS_ALLOW", "10.0.9.0/24, 127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(
            c.metrics_token.as_ref().unwrap().expose(),
            "scrape-me-0123456789abcdef0123456789"
        );
        assert_eq!(
            c.metrics_allow.as_ref().unwrap().to_string(),
            "10.0.9.0/24,127.0.0.1/32"
        );
        assert!(!format!("{c:?}").contains("scrape-me"));
        let err = with(&[("WOLO_METRICS_ALLOW", "prometheus.internal")]).unwrap_err();
        assert!(err.to_string().contains("WOLO_METRICS_ALLOW"), "{err}");
    }

    #[test]
    fn defaults_use_the_service_port_and_hide_secrets() {
        let c = Config::from_lookup(
            8084,
            lookup(&[
                ("DATABASE_URL", "postgres://u:pw@h/db"),
                ("WOLO_JWT_SECRET", SECRET),
            ]),
        )
        .unwrap();
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8084");
        assert_eq!(c.environment, Environment::Development);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(SECRET) && !dbg.contains("pw@"), "{dbg}");
    }

    #[test]
    fn trusted_proxies_default_to_loopback_and_a_bad_entry_is_named() {
        let with = |v: &str| {
            Config::from_lookup(
                8080,
                lookup(&[
                    ("DATABASE_URL", "postgres://x/y"),
                    ("WOLO_JWT_SECRET", SECRET),
                    ("WOLO_TRUSTED_PROXIES", v),
                ]),
            )
        };
        assert_eq!(
            with("").unwrap().trusted_proxies,
            TrustedProxies::loopback()
        );
        let c = with("10.0.3.7, 10.8.0.0/16").unwrap();
        assert_eq!(c.trusted_proxies.to_string(), "10.0.3.7/32,10.8.0.0/16");
        assert!(!c.trusted_proxies.contains("127.0.0.1".parse().unwrap()));
        assert_eq!(
            with("none").unwrap().trusted_proxies,
            TrustedProxies::none()
        );
        let err = with("10.0.0.0/8,proxy.internal").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("WOLO_TRUSTED_PROXIES") && text.contains("proxy.internal"),
            "{text}"
        );
    }

    #[test]
    fn links_point_at_the_web_app_when_set_else_at_the_suite_itself() {
        let with = |vars: &[(&str, &str)]| {
            let mut all = vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("WOLO_JWT_SECRET", SECRET),
            ];
            all.extend_from_slice(vars);
            Config::from_lookup(8080, lookup(&all))
        };
        // Unset or blank: the suite's own pages, on its own port.
        let c = with(&[("WOLO_PUBLIC_WEB_URL", "")]).unwrap();
        assert_eq!(c.public_web_url, "http://localhost:8080");
        assert!(c.own_pages);
        let c = with(&[("WOLO_HTTP_ADDR", "0.0.0.0:9000")]).unwrap();
        assert_eq!(c.public_web_url, "http://localhost:9000");
        let c = with(&[("WOLO_PUBLIC_URL", "https://wolo.sn/")]).unwrap();
        assert_eq!(
            (c.public_web_url.as_str(), c.own_pages),
            ("https://wolo.sn", true)
        );
        // Set: the web app, trimmed, whatever WOLO_PUBLIC_URL says.
        let c = with(&[
            ("WOLO_PUBLIC_WEB_URL", " https://app.wolo.sn/ "),
            ("WOLO_PUBLIC_URL", "https://wolo.sn"),
        ])
        .unwrap();
        assert_eq!(
            (c.public_web_url.as_str(), c.own_pages),
            ("https://app.wolo.sn", false)
        );
        let err = with(&[("WOLO_PUBLIC_WEB_URL", "app.wolo.sn")]).unwrap_err();
        assert!(err.to_string().contains("WOLO_PUBLIC_WEB_URL"), "{err}");
        let err = with(&[("WOLO_PUBLIC_URL", "wolo.sn")]).unwrap_err();
        assert!(err.to_string().contains("WOLO_PUBLIC_URL"), "{err}");
    }
}
