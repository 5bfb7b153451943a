//! Sessions that end, end everywhere: every request whose access token carries a
//! `session_id` (identity puts the sign-in's id there, as GoTrue does) is checked against
//! the database before any handler runs, in every service, on every route.
//!
//! The check is `wolo.session_active(session, user, admin)` (migration V104): the sign-in
//! still has a live refresh token, the user exists and is active, and for an admin token
//! its admin session is open and not past its expiry. Like PostgREST's pre-request hook it
//! is one indexed query per request; its answer is kept in a small in-process cache for at
//! most [`CACHE_TTL`], so a session ended by another process is refused everywhere within
//! that time, and one ended through this process (identity's logout and password reset
//! call [`forget_user`]) at once.
//!
//! An ended session answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`:
//! `PGRST303` in the REST shape, `session_not_found` on identity's GoTrue routes (the code
//! `@supabase/auth-js` turns into a signed-out state). A token that does not verify is left
//! to the handler (it answers its usual 401). A token without `session_id` (identity never
//! issues one; only holders of the signing key can) is refused once its account is
//! deactivated or deleted through `DELETE /profiles/me` (`wolo.account_active`, V107); it is
//! bound to no sign-in, so a logout cannot end it.
//!
//! ```ignore
//! Router::new().route(...).merge(rest::router(api.clone())).layer(rest::sessions::layer(&api))
//! ```

use std::{
    convert::Infallible,
    future::Future,
    num::NonZeroUsize,
    pin::Pin,
    sync::{Arc, LazyLock, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    extract::Request,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use auth::{Jwt, Role};
use platform::config::ConfigError;

use crate::{api::Api, error::ApiError};

/// How long one process trusts an answer of `wolo.session_active`.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
/// Answers kept per process (least recently used ones go first).
pub const CACHE_ENTRIES: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    session: Uuid,
    user: Uuid,
    admin: bool,
}

/// The process-wide answers: `(active, when asked)`.
struct Cache {
    entries: lru::LruCache<Key, (bool, Instant)>,
    ttl: Duration,
}

impl Cache {
    fn new(capacity: usize, ttl: Duration) -> Cache {
        Cache {
            entries: lru::LruCache::new(NonZeroUsize::new(capacity.max(1)).expect("non-zero")),
            ttl,
        }
    }

    /// The answer for `key` if it was asked less than the TTL before `now`.
    fn get(&mut self, key: &Key, now: Instant) -> Option<bool> {
        match self.entries.get(key) {
            Some(&(active, at)) if now.saturating_duration_since(at) < self.ttl => Some(active),
            Some(_) => {
                self.entries.pop(key);
                None
            }
            None => None,
        }
    }

    fn put(&mut self, key: Key, active: bool, now: Instant) {
        self.entries.put(key, (active, now));
    }

    fn forget_user(&mut self, user: Uuid) {
        let keys: Vec<Key> = self
            .entries
            .iter()
            .filter(|(k, _)| k.user == user)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.entries.pop(&k);
        }
    }
}

static CACHE: LazyLock<Mutex<Cache>> =
    LazyLock::new(|| Mutex::new(Cache::new(CACHE_ENTRIES, CACHE_TTL)));

fn cache() -> std::sync::MutexGuard<'static, Cache> {
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Drops what this process remembers about `user`'s sessions: the next request of any of
/// them is checked against the database. Identity calls it when it ends sign-ins.
pub fn forget_user(user: Uuid) {
    cache().forget_user(user);
}

/// The answer for `key`, from this process's cache when it is less than [`CACHE_TTL`] old,
/// else from `ask` (then remembered).
async fn cached<F>(key: Key, ask: F) -> Result<bool, sqlx::Error>
where
    F: Future<Output = Result<bool, sqlx::Error>>,
{
    if let Some(active) = cache().get(&key, Instant::now()) {
        return Ok(active);
    }
    let active = ask.await?;
    cache().put(key, active, Instant::now());
    Ok(active)
}

/// Whether sign-in `session` of `user` is live (and, for `admin`, its admin session open),
/// asked of the database unless this process asked less than [`CACHE_TTL`] ago.
pub async fn is_active(
    pool: &PgPool,
    session: Uuid,
    user: Uuid,
    admin: bool,
) -> Result<bool, sqlx::Error> {
    let key = Key {
        session,
        user,
        admin,
    };
    cached(key, is_active_uncached(pool, session, user, admin)).await
}

/// Whether `user`'s account is usable, for a token without `session_id`: false once the
/// account exists and is deactivated (`wolo.account_active`, V107). Cached as [`is_active`]
/// is (under the nil session), and forgotten with the user's sessions.
pub async fn account_active(pool: &PgPool, user: Uuid) -> Result<bool, sqlx::Error> {
    let key = Key {
        session: Uuid::nil(),
        user,
        admin: false,
    };
    cached(
        key,
        sqlx::query_scalar("select wolo.account_active($1)")
            .bind(user)
            .fetch_one(pool),
    )
    .await
}

/// [`is_active`] asked of the database now (identity's writes use it inside their
/// transaction).
pub async fn is_active_uncached<'e, E>(
    executor: E,
    session: Uuid,
    user: Uuid,
    admin: bool,
) -> Result<bool, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query_scalar("select wolo.session_active($1, $2, $3)")
        .bind(session)
        .bind(user)
        .bind(admin)
        .fetch_one(executor)
        .await
}

/// The sign-in a verified token belongs to: `(session, user, admin)`, or `None` when the
/// token carries no `session_id`.
pub fn session_of(
    claims: &Value,
    user: Option<Uuid>,
    role: Role,
) -> Option<(Uuid, Option<Uuid>, bool)> {
    let session = claims
        .get("session_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())?;
    Some((session, user, role == Role::Admin))
}

/// How an ended session is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `PGRST303`, as the REST layer answers refused JWT claims.
    PostgRest,
    /// `session_not_found`, GoTrue's code (identity's routes).
    GoTrue,
}

/// The 401 for a token whose session has ended.
pub fn ended(shape: Shape) -> ApiError {
    let code = match shape {
        Shape::PostgRest => "PGRST303",
        Shape::GoTrue => "session_not_found",
    };
    let mut e = ApiError::unauthorized(
        code,
        "Session terminée : reconnectez-vous (session ended: sign in again)",
    );
    // Header values stay ASCII.
    e.www_authenticate =
        Some("Bearer error=\"invalid_token\", error_description=\"session ended\"".into());
    e
}

/// Default length of an admin session, hours.
pub const ADMIN_SESSION_HOURS: i32 = 8;
/// The setting that changes it (1..720 hours).
pub const ADMIN_SESSION_HOURS_SETTING: &str = "WOLO_ADMIN_SESSION_HOURS";

/// `WOLO_ADMIN_SESSION_HOURS` in `env` (1..720, default [`ADMIN_SESSION_HOURS`]): how long an
/// admin session lasts from sign-in. Identity opens admin sessions with it and the admin
/// service reports it; each reads it once, in its own settings (`platform::Settings::read`),
/// and keeps the value. The session check itself ([`layer`]) needs no length: the database
/// keeps each admin session's expiry (`wolo.session_active`).
pub fn admin_session_hours(env: &platform::config::Env) -> Result<i32, ConfigError> {
    match env.raw(ADMIN_SESSION_HOURS_SETTING) {
        Some(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|h| (1..=720).contains(h))
            .ok_or_else(|| {
                ConfigError::invalid(
                    ADMIN_SESSION_HOURS_SETTING,
                    format!("must be 1..720 hours, got {v:?}"),
                )
            }),
        _ => Ok(ADMIN_SESSION_HOURS),
    }
}

/// What the layer needs: the pool to ask, the key to verify tokens with, the error shape.
#[derive(Clone)]
struct Guard {
    pool: PgPool,
    jwt: Jwt,
    shape: Shape,
}

impl Guard {
    async fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
        else {
            return Ok(());
        };
        // A token that does not verify is the handler's to refuse, with its usual error.
        let Ok(caller) = self.jwt.verify(token.trim()) else {
            return Ok(());
        };
        let Some((session, user, admin)) = session_of(&caller.claims, caller.user_id, caller.role)
        else {
            // No session id: nothing identity issued. Such a token is still refused once its
            // account is deactivated (identity's own routes answer that with user_banned).
            return match (caller.role, caller.user_id, self.shape) {
                (Role::Anon, _, _) | (_, None, _) | (_, _, Shape::GoTrue) => Ok(()),
                (_, Some(user), Shape::PostgRest) => match account_active(&self.pool, user).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ended(self.shape)),
                    Err(e) => Err(ApiError::from_sqlx(e, false)),
                },
            };
        };
        // A session id without a user is nothing identity issues.
        let Some(user) = user else {
            return Err(ended(self.shape));
        };
        match is_active(&self.pool, session, user, admin).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ended(self.shape)),
            Err(e) => Err(ApiError::from_sqlx(e, false)),
        }
    }
}

/// The layer that refuses ended sessions, for the whole router of a service (its custom
/// endpoints and its REST routes alike): every service adds it over everything it serves.
pub fn layer(api: &Arc<Api>) -> SessionLayer {
    SessionLayer(Arc::new(Guard {
        pool: api.pool.clone(),
        jwt: api.jwt.clone(),
        shape: Shape::PostgRest,
    }))
}

/// Tower layer of [`layer`].
#[derive(Clone)]
pub struct SessionLayer(Arc<Guard>);

impl SessionLayer {
    /// Answers with GoTrue's `session_not_found` (identity).
    pub fn gotrue(self) -> SessionLayer {
        let mut g = (*self.0).clone();
        g.shape = Shape::GoTrue;
        SessionLayer(Arc::new(g))
    }
}

impl<S> tower::Layer<S> for SessionLayer {
    type Service = SessionService<S>;
    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            guard: self.0.clone(),
            inner,
        }
    }
}

/// Tower service of [`layer`].
#[derive(Clone)]
pub struct SessionService<S> {
    guard: Arc<Guard>,
    inner: S,
}

impl<S> tower::Service<Request> for SessionService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let guard = self.guard.clone();
        // The clone is the one that is ready (the usual tower dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Err(e) = guard.check(req.headers()).await {
                return Ok(e.into_response());
            }
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> Key {
        Key {
            session: Uuid::from_u128(n),
            user: Uuid::from_u128(n + 1000),
            admin: false,
        }
    }

    #[test]
    fn an_answer_is_trusted_for_less_than_the_ttl_only() {
        let mut c = Cache::new(10, Duration::from_secs(5));
        let t0 = Instant::now();
        c.put(key(1), true, t0);
        assert_eq!(
            c.get(&key(1), t0 + Duration::from_millis(4_999)),
            Some(true)
        );
        assert_eq!(c.get(&key(1), t0 + Duration::from_secs(5)), None);
        // Gone once stale: the next request asks the database.
        assert_eq!(c.get(&key(1), t0), None);
    }

    #[test]
    fn the_cache_is_bounded_and_forgets_a_user_on_demand() {
        let mut c = Cache::new(3, Duration::from_secs(5));
        let t0 = Instant::now();
        for n in 0..5 {
            c.put(key(n), true, t0);
        }
        assert_eq!(c.entries.len(), 3);
        assert_eq!(c.get(&key(0), t0), None);
        assert_eq!(c.get(&key(4), t0), Some(true));
        let mut admin = key(4);
        admin.admin = true;
        c.put(admin, false, t0);
        c.forget_user(key(4).user);
        assert_eq!(c.get(&key(4), t0), None);
        assert_eq!(c.get(&admin, t0), None);
        assert_eq!(c.get(&key(3), t0), Some(true));
    }

    #[test]
    fn a_token_without_session_id_belongs_to_no_sign_in() {
        let u = Uuid::new_v4();
        let s = Uuid::new_v4();
        let claims = serde_json::json!({"sub": u.to_string(), "session_id": s.to_string()});
        assert_eq!(
            session_of(&claims, Some(u), Role::Admin),
            Some((s, Some(u), true))
        );
        assert_eq!(
            session_of(
                &serde_json::json!({"sub": u.to_string()}),
                Some(u),
                Role::User
            ),
            None
        );
        assert_eq!(ended(Shape::GoTrue).status, 401);
        assert_eq!(ended(Shape::PostgRest).code, "PGRST303");
    }

    #[test]
    fn the_admin_session_length_is_read_from_the_settings_given() {
        use platform::config::Env;
        let hours =
            |v: &str| admin_session_hours(&Env::from_pairs(&[("WOLO_ADMIN_SESSION_HOURS", v)]));
        assert_eq!(
            admin_session_hours(&Env::from_pairs::<&str, &str>(&[])),
            Ok(8)
        );
        assert_eq!(hours("  "), Ok(ADMIN_SESSION_HOURS));
        assert_eq!(hours(" 24 "), Ok(24));
        assert_eq!(hours("1"), Ok(1));
        assert_eq!(hours("720"), Ok(720));
        for bad in ["0", "721", "-3", "eight", "8h"] {
            let e = hours(bad).unwrap_err();
            assert_eq!(
                e,
                ConfigError::invalid(
                    "WOLO_ADMIN_SESSION_HOURS",
                    format!("must be 1..720 hours, got {bad:?}")
                )
            );
        }
    }
}
