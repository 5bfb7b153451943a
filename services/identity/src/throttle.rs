//! Throttling, as GoTrue does it: password sign-in, `/verify`, `/recover` and `/otp` are
//! limited per account and per client IP, and a request over a limit is answered 429
//! `over_request_rate_limit` (`over_sms_send_rate_limit` for SMS codes,
//! `over_email_send_rate_limit` for reset e-mails) before any work: no password hashed, no
//! code checked or sent, nothing written.
//!
//! | setting | default | what is counted |
//! |---|---|---|
//! | `WOLO_RATE_LIMIT_PASSWORD_ACCOUNT` | `10/15m` | failed password sign-ins of one e-mail or phone; over it every try is refused, the right password too, until the oldest failures leave the window |
//! | `WOLO_RATE_LIMIT_PASSWORD_IP` | `30/5m` | password sign-in attempts from one client IP |
//! | `WOLO_RATE_LIMIT_VERIFY_ACCOUNT` | `10/1h` | failed `/verify` (wrong or dead code or link) for one phone or e-mail |
//! | `WOLO_RATE_LIMIT_VERIFY_IP` | `30/5m` | `/verify` requests from one client IP |
//! | `WOLO_RATE_LIMIT_RECOVER_EMAIL` | `5/1h` | `/recover` requests for one address, registered or not (`over_email_send_rate_limit`) |
//! | `WOLO_RATE_LIMIT_RECOVER_IP` | `30/1h` | `/recover` requests from one client IP |
//! | `WOLO_RATE_LIMIT_OTP_INTERVAL` | `60s` | time between two SMS codes to one phone (`over_sms_send_rate_limit`) |
//! | `WOLO_RATE_LIMIT_OTP_PHONE` | `5/1h` | SMS codes sent to one phone (`over_sms_send_rate_limit`) |
//! | `WOLO_RATE_LIMIT_OTP_IP` | `20/1h` | SMS codes asked from one client IP |
//!
//! A limit is `<count>/<window>`, the window `<n>s`, `<n>m` or `<n>h` (at most 24 hours:
//! older rows are purged), or `off`. The client IP is [`platform::Client`]'s
//! (`WOLO_TRUSTED_PROXIES`).
//!
//! Counting is in the database, so every process of the service shares it: `/otp` counts
//! `identity.otp_codes` (one row per code sent); the others count `identity.auth_attempts`
//! (V111), one row per admitted request, written before the work starts: the limits are
//! checked and the row inserted in one short transaction holding an advisory lock per
//! account and per IP, so that concurrent requests cannot all slip under a limit. A row
//! starts `pending` (which counts as a failure) and ends `succeeded`, `failed` or
//! `refused` (an answer that is neither, such as a deactivated account's right code).
//! Refused requests are not recorded, so a limit lifts as its window slides past the
//! admitted ones. [`crate::purge`] deletes rows older than a day.
//!
//! Failed password sign-ins and throttled requests are logged at `warn` with the account
//! (a phone number masked, [`shown`]), the client IP and the reason, never the password or
//! a code.

use std::{fmt, str::FromStr};

use axum::{http::StatusCode, response::Response};
use platform::config::{ConfigError, Env};
use rest::{input::db, ApiError, ApiResult};
use sqlx::{PgConnection, PgPool, Row};

use platform::Client;

use crate::{session::lock, AppState};

/// No window may be longer: attempts and codes are purged after a day.
pub const MAX_WINDOW_SECS: i64 = 24 * 3600;

/// At most `max` events per sliding `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_secs: i64,
}

impl Limit {
    pub const fn new(max: u32, window_secs: i64) -> Limit {
        Limit { max, window_secs }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, duration_text(self.window_secs))
    }
}

fn duration_text(secs: i64) -> String {
    if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// `<n>s`, `<n>m` or `<n>h` (a bare number is seconds), 1 s to 24 h.
pub fn parse_duration(v: &str) -> Result<i64, String> {
    let v = v.trim();
    let (n, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    const NOT: &str = "not a duration like 60s, 15m or 1h";
    let n: i64 = n.parse().map_err(|_| NOT.to_string())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(NOT.to_string()),
    };
    if !(1..=MAX_WINDOW_SECS).contains(&secs) {
        return Err("the window must be from 1s to 24h".to_string());
    }
    Ok(secs)
}

impl FromStr for Limit {
    type Err = String;

    /// `<count>/<window>`, e.g. `10/15m`.
    fn from_str(s: &str) -> Result<Limit, String> {
        let (max, window) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| "not a limit like 10/15m (or off)".to_string())?;
        let max: u32 = max
            .trim()
            .parse()
            .ok()
            .filter(|m| *m >= 1)
            .ok_or_else(|| "the count must be a whole number of at least 1".to_string())?;
        Ok(Limit::new(max, parse_duration(window)?))
    }
}

/// Every limit (see the module docs); `None` is `off`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub password_account: Option<Limit>,
    pub password_ip: Option<Limit>,
    pub verify_account: Option<Limit>,
    pub verify_ip: Option<Limit>,
    pub recover_email: Option<Limit>,
    pub recover_ip: Option<Limit>,
    /// Seconds between two codes to one phone (0: no wait).
    pub otp_interval_secs: i64,
    pub otp_phone: Option<Limit>,
    pub otp_ip: Option<Limit>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            password_account: Some(Limit::new(10, 15 * 60)),
            password_ip: Some(Limit::new(30, 5 * 60)),
            verify_account: Some(Limit::new(10, 3600)),
            verify_ip: Some(Limit::new(30, 5 * 60)),
            recover_email: Some(Limit::new(5, 3600)),
            recover_ip: Some(Limit::new(30, 3600)),
            otp_interval_secs: 60,
            otp_phone: Some(Limit::new(5, 3600)),
            otp_ip: Some(Limit::new(20, 3600)),
        }
    }
}

impl Limits {
    /// The limits from `env` (read once at start-up, `crate::settings`); an error names the
    /// setting and its value.
    pub fn from_env(env: &Env) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        let limit =
            |name: &'static str, default: Option<Limit>| -> Result<Option<Limit>, ConfigError> {
                match env.get(name) {
                    None => Ok(default),
                    Some(v) if v.eq_ignore_ascii_case("off") => Ok(None),
                    Some(v) => v
                        .parse::<Limit>()
                        .map(Some)
                        .map_err(|e| ConfigError::invalid(name, format!("{v:?}: {e}"))),
                }
            };
        const OTP_INTERVAL: &str = "WOLO_RATE_LIMIT_OTP_INTERVAL";
        let otp_interval_secs = match env.get(OTP_INTERVAL) {
            None => d.otp_interval_secs,
            Some(v) if v == "0" || v.eq_ignore_ascii_case("off") => 0,
            Some(v) => parse_duration(&v)
                .map_err(|e| ConfigError::invalid(OTP_INTERVAL, format!("{v:?}: {e}")))?,
        };
        Ok(Limits {
            password_account: limit("WOLO_RATE_LIMIT_PASSWORD_ACCOUNT", d.password_account)?,
            password_ip: limit("WOLO_RATE_LIMIT_PASSWORD_IP", d.password_ip)?,
            verify_account: limit("WOLO_RATE_LIMIT_VERIFY_ACCOUNT", d.verify_account)?,
            verify_ip: limit("WOLO_RATE_LIMIT_VERIFY_IP", d.verify_ip)?,
            recover_email: limit("WOLO_RATE_LIMIT_RECOVER_EMAIL", d.recover_email)?,
            recover_ip: limit("WOLO_RATE_LIMIT_RECOVER_IP", d.recover_ip)?,
            otp_interval_secs,
            otp_phone: limit("WOLO_RATE_LIMIT_OTP_PHONE", d.otp_phone)?,
            otp_ip: limit("WOLO_RATE_LIMIT_OTP_IP", d.otp_ip)?,
        })
    }
}

// ---------------------------------------------------------------- answers

pub(crate) fn too_many(code: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
}

fn over_request_rate_limit() -> ApiError {
    too_many(
        "over_request_rate_limit",
        "Trop de tentatives, réessayez plus tard (request rate limit reached)",
    )
}

fn over_email_send_rate_limit() -> ApiError {
    too_many(
        "over_email_send_rate_limit",
        "Trop d'e-mails demandés pour cette adresse, réessayez plus tard (email rate limit exceeded)",
    )
}

// ---------------------------------------------------------------- attempts (V111)

/// What an attempt is for (`identity.auth_attempts.action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Password,
    Verify,
    Recover,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Password => "password",
            Action::Verify => "verify",
            Action::Recover => "recover",
        }
    }
}

/// One limit to check before admitting a request.
struct Check<'a> {
    /// `account` or `ip`.
    column: &'static str,
    value: &'a str,
    limit: Limit,
    /// Count only failures (and pending attempts), not every attempt.
    failures_only: bool,
    /// The answer when over it.
    refuse: fn() -> ApiError,
}

/// An admitted request's row; [`Attempt::settle`] records how it ended.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    id: i64,
    action: Action,
    account: Option<String>,
    ip: Option<String>,
}

/// How an attempt ended (`identity.auth_attempts.outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Neither a success nor a guess: a malformed request, a deactivated account's right
    /// code or password, an unconfirmed e-mail's right password.
    Refused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
        }
    }
}

impl Attempt {
    /// Records the outcome (a failure to record is logged, never the caller's problem).
    pub async fn settle(&self, pool: &PgPool, outcome: Outcome) {
        let res = sqlx::query("update identity.auth_attempts set outcome = $2 where id = $1")
            .bind(self.id)
            .bind(outcome.as_str())
            .execute(pool)
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, action = self.action.as_str(), "auth attempt outcome not recorded");
        }
    }

    /// A failed password sign-in: logged (account, IP, reason; never the password) and
    /// recorded as a failure. Takes a pooled connection: the caller must not hold one (a
    /// burst of failures would otherwise empty the pool).
    pub async fn failed(&self, state: &AppState, reason: &str) {
        tracing::warn!(
            action = self.action.as_str(),
            account = %shown(self.account.as_deref()),
            ip = self.ip.as_deref().unwrap_or("-"),
            reason,
            "failed sign-in"
        );
        self.settle(&state.db, Outcome::Failed).await;
    }

    /// A sign-in refused with the right password (deactivated account, e-mail not
    /// confirmed): logged like a failure but not counted as a guess.
    pub async fn refused(&self, state: &AppState, reason: &str) {
        tracing::warn!(
            action = self.action.as_str(),
            account = %shown(self.account.as_deref()),
            ip = self.ip.as_deref().unwrap_or("-"),
            reason,
            "failed sign-in"
        );
        self.settle(&state.db, Outcome::Refused).await;
    }

    /// A successful one.
    pub async fn succeeded(&self, state: &AppState) {
        self.settle(&state.db, Outcome::Succeeded).await;
    }
}

/// Checks `checks` (all or nothing) and, under every limit, inserts the attempt's row with
/// `outcome`. The checks and the insert are one transaction holding an advisory lock per
/// key (accounts before IPs, so two requests never wait on each other in a cycle).
async fn admit(
    pool: &PgPool,
    action: Action,
    account: Option<&str>,
    ip: Option<&str>,
    checks: &[Check<'_>],
    outcome: &str,
) -> ApiResult<Attempt> {
    let mut tx = pool.begin().await.map_err(db)?;
    for c in checks {
        lock(
            &mut tx,
            &format!("throttle:{}:{}:{}", action.as_str(), c.column, c.value),
        )
        .await?;
    }
    for c in checks {
        let column = match c.column {
            "ip" => "ip = $2::inet",
            _ => "account = $2",
        };
        let failures = if c.failures_only {
            "and outcome in ('pending', 'failed')"
        } else {
            ""
        };
        let n: i64 = sqlx::query_scalar(&format!(
            "select count(*) from identity.auth_attempts
             where action = $1 and {column} and created_at > now() - make_interval(secs => $3)
             {failures}"
        ))
        .bind(action.as_str())
        .bind(c.value)
        .bind(c.limit.window_secs as f64)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if n >= i64::from(c.limit.max) {
            drop(tx);
            tracing::warn!(
                action = action.as_str(),
                account = %shown(account),
                ip = ip.unwrap_or("-"),
                reason = %format!("over the per-{} limit {}", c.column, c.limit),
                "throttled"
            );
            return Err((c.refuse)());
        }
    }
    let id: i64 = sqlx::query_scalar(
        "insert into identity.auth_attempts (action, account, ip, outcome)
         values ($1, $2, $3::inet, $4) returning id",
    )
    .bind(action.as_str())
    .bind(account)
    .bind(ip)
    .bind(outcome)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Attempt {
        id,
        action,
        account: account.map(str::to_string),
        ip: ip.map(str::to_string),
    })
}

/// The per-account check: failures only (sign-in, verify) or every request (recover).
fn per_account<'a>(
    account: Option<&'a str>,
    limit: Option<Limit>,
    failures_only: bool,
    refuse: fn() -> ApiError,
) -> Option<Check<'a>> {
    Some(Check {
        column: "account",
        value: account?,
        limit: limit?,
        failures_only,
        refuse,
    })
}

/// The per-IP check: every request.
fn per_ip(ip: Option<&str>, limit: Option<Limit>) -> Option<Check<'_>> {
    Some(Check {
        column: "ip",
        value: ip?,
        limit: limit?,
        failures_only: false,
        refuse: over_request_rate_limit,
    })
}

/// An account as logs show it, never in full (docs/logging.md): an e-mail address with
/// `platform::telemetry::mask_email` (`a***@example.sn`), a phone number with `mask_phone`
/// (`+221*******67`), nothing as `-`.
pub fn shown(account: Option<&str>) -> String {
    match account {
        None => "-".to_string(),
        Some(a) if a.contains('@') => platform::telemetry::mask_email(a),
        Some(a) => platform::telemetry::mask_phone(a),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------- password sign-in

/// Before a password sign-in of `account` (the e-mail, lower-cased, or the E.164 phone;
/// empty when the phone did not parse): at most `WOLO_RATE_LIMIT_PASSWORD_ACCOUNT`
/// failures for the account and `WOLO_RATE_LIMIT_PASSWORD_IP` attempts from the IP. The
/// caller settles the attempt with [`Attempt::failed`] or [`Attempt::succeeded`].
pub async fn admit_password(
    state: &AppState,
    account: &str,
    client: &Client,
) -> ApiResult<Attempt> {
    let l = &state.limits;
    let (per_account, per_ip) = (l.password_account, l.password_ip);
    admit_guess(
        state,
        Action::Password,
        non_empty(account),
        client,
        per_account,
        per_ip,
    )
    .await
}

/// Admits a guess (a password, a code) about `account` from the client: at most
/// `account_limit` failures for the account (429 `over_request_rate_limit`, the right
/// answer too) and `ip_limit` attempts from the IP. The row starts `pending`.
async fn admit_guess(
    state: &AppState,
    action: Action,
    account: Option<&str>,
    client: &Client,
    account_limit: Option<Limit>,
    ip_limit: Option<Limit>,
) -> ApiResult<Attempt> {
    let ip = client.ip.as_deref();
    let checks: Vec<Check> = [
        per_account(account, account_limit, true, over_request_rate_limit),
        per_ip(ip, ip_limit),
    ]
    .into_iter()
    .flatten()
    .collect();
    admit(&state.db, action, account, ip, &checks, "pending").await
}

// ---------------------------------------------------------------- POST /verify

/// Before `POST /verify` (`crate::verify`): at most `WOLO_RATE_LIMIT_VERIFY_IP` requests from
/// the client IP and `WOLO_RATE_LIMIT_VERIFY_ACCOUNT` failures for the phone or e-mail
/// `account`. The caller settles the attempt from its answer ([`Attempt::settle_verify`]).
pub async fn admit_verify(
    state: &AppState,
    account: Option<&str>,
    client: &Client,
) -> ApiResult<Attempt> {
    let l = &state.limits;
    admit_guess(
        state,
        Action::Verify,
        account,
        client,
        l.verify_account,
        l.verify_ip,
    )
    .await
}

/// How a `/verify` answer settles its attempt: a 403 `otp_expired` is a failure, a success
/// a success, anything else refused.
pub fn verify_outcome(answer: &ApiResult<Response>) -> Outcome {
    match answer {
        Ok(r) if r.status().is_success() => Outcome::Succeeded,
        Err(e) if e.code == "otp_expired" => Outcome::Failed,
        _ => Outcome::Refused,
    }
}

impl Attempt {
    /// Settles a `/verify` attempt ([`verify_outcome`]); a failure is logged with the
    /// account and IP, never the code.
    pub async fn settle_verify(&self, pool: &PgPool, outcome: Outcome) {
        self.settle(pool, outcome).await;
        if outcome == Outcome::Failed {
            tracing::warn!(
                account = %shown(self.account.as_deref()),
                ip = self.ip.as_deref().unwrap_or("-"),
                reason = "wrong, expired or used code or link",
                "failed verification"
            );
        }
    }
}

// ---------------------------------------------------------------- POST /recover

/// Before `/recover` for `email` (normalised): at most `WOLO_RATE_LIMIT_RECOVER_EMAIL`
/// requests for the address (429 `over_email_send_rate_limit`; counted whether or not it
/// is registered, so the answer says nothing about it) and `WOLO_RATE_LIMIT_RECOVER_IP`
/// from the client IP.
pub async fn admit_recover(state: &AppState, email: &str, client: &Client) -> ApiResult<()> {
    let ip = client.ip.as_deref();
    let l = &state.limits;
    let checks: Vec<Check> = [
        per_account(
            Some(email),
            l.recover_email,
            false,
            over_email_send_rate_limit,
        ),
        per_ip(ip, l.recover_ip),
    ]
    .into_iter()
    .flatten()
    .collect();
    admit(
        &state.db,
        Action::Recover,
        Some(email),
        ip,
        &checks,
        "succeeded",
    )
    .await
    .map(|_| ())
}

// ---------------------------------------------------------------- POST /otp

/// The limits of `/otp`, on the codes of `identity.otp_codes`, inside the caller's
/// transaction (which holds the phone's lock): no new code within
/// `WOLO_RATE_LIMIT_OTP_INTERVAL` of the last one and at most `WOLO_RATE_LIMIT_OTP_PHONE`
/// to the phone (429 `over_sms_send_rate_limit`), at most `WOLO_RATE_LIMIT_OTP_IP` asked
/// from the client IP (429 `over_request_rate_limit`).
pub async fn check_otp(
    conn: &mut PgConnection,
    limits: &Limits,
    phone: &str,
    client: &Client,
) -> ApiResult<()> {
    let window = limits
        .otp_phone
        .map_or(0, |l| l.window_secs)
        .max(limits.otp_interval_secs);
    let row = sqlx::query(
        "select count(*) filter (where created_at > now() - make_interval(secs => $3)) as in_window,
                coalesce(extract(epoch from now() - max(created_at)), 1e9)::float8 as since_last
         from identity.otp_codes where phone = $1 and created_at > now() - make_interval(secs => $2)",
    )
    .bind(phone)
    .bind(window as f64)
    .bind(limits.otp_phone.map_or(0, |l| l.window_secs) as f64)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let in_window: i64 = row.get("in_window");
    let since_last: f64 = row.get("since_last");
    let interval = limits.otp_interval_secs as f64;
    if since_last < interval {
        let wait = (interval - since_last).ceil() as i64;
        tracing::warn!(
            phone = %shown(Some(phone)),
            ip = client.ip.as_deref().unwrap_or("-"),
            reason = "asked again too soon",
            "throttled"
        );
        return Err(too_many(
            "over_sms_send_rate_limit",
            &format!("Veuillez patienter {wait} s avant de demander un nouveau code (wait {wait} s before asking for a new code)"),
        ));
    }
    if let Some(l) = limits.otp_phone {
        if in_window >= i64::from(l.max) {
            tracing::warn!(phone = %shown(Some(phone)), ip = client.ip.as_deref().unwrap_or("-"), reason = %format!("over the per-phone limit {l}"), "throttled");
            return Err(too_many(
                "over_sms_send_rate_limit",
                "Trop de codes demandés pour ce numéro, réessayez plus tard (too many codes for this number)",
            ));
        }
    }
    if let (Some(ip), Some(l)) = (&client.ip, limits.otp_ip) {
        let per_ip: i64 = sqlx::query_scalar(
            "select count(*) from identity.otp_codes
             where ip = $1::inet and created_at > now() - make_interval(secs => $2)",
        )
        .bind(ip)
        .bind(l.window_secs as f64)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        if per_ip >= i64::from(l.max) {
            tracing::warn!(phone = %shown(Some(phone)), ip = %ip, reason = %format!("over the per-ip limit {l}"), "throttled");
            return Err(too_many(
                "over_request_rate_limit",
                "Trop de demandes, réessayez plus tard (too many requests)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(pairs: &[(&str, &str)]) -> Result<Limits, String> {
        Limits::from_env(&Env::from_pairs(pairs)).map_err(|e| e.to_string())
    }

    #[test]
    fn logs_mask_e_mails_and_phone_numbers() {
        assert_eq!(shown(Some("+221771234567")), "+221*******67");
        assert_eq!(shown(Some("+33612345678")), "+336******78");
        assert_eq!(shown(Some("awa@example.sn")), "a***@example.sn");
        // Not byte-sliced: text that is neither never panics.
        assert_eq!(shown(Some("+éééé")), "***éé");
        assert_eq!(shown(None), "-");
    }

    #[test]
    fn limits_read_count_and_window() {
        assert_eq!("10/15m".parse::<Limit>().unwrap(), Limit::new(10, 900));
        assert_eq!(" 30 / 5m ".parse::<Limit>().unwrap(), Limit::new(30, 300));
        assert_eq!("5/1h".parse::<Limit>().unwrap(), Limit::new(5, 3600));
        assert_eq!("1/90".parse::<Limit>().unwrap(), Limit::new(1, 90));
        assert_eq!("3/24h".parse::<Limit>().unwrap(), Limit::new(3, 86400));
        for bad in [
            "10", "0/1h", "-1/1h", "x/1h", "10/", "10/1d", "10/25h", "10/0s", "10/m",
        ] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
        assert_eq!(Limit::new(10, 900).to_string(), "10/15m");
        assert_eq!(Limit::new(5, 3600).to_string(), "5/1h");
        assert_eq!(Limit::new(2, 90).to_string(), "2/90s");
    }

    #[test]
    fn the_defaults_are_documented_and_settings_override_them() {
        let d = limits(&[]).unwrap();
        assert_eq!(d, Limits::default());
        assert_eq!(d.password_account, Some(Limit::new(10, 900)));
        assert_eq!(d.password_ip, Some(Limit::new(30, 300)));
        assert_eq!(d.verify_account, Some(Limit::new(10, 3600)));
        assert_eq!(d.verify_ip, Some(Limit::new(30, 300)));
        assert_eq!(d.recover_email, Some(Limit::new(5, 3600)));
        assert_eq!(d.recover_ip, Some(Limit::new(30, 3600)));
        assert_eq!(d.otp_interval_secs, 60);
        assert_eq!(d.otp_phone, Some(Limit::new(5, 3600)));
        assert_eq!(d.otp_ip, Some(Limit::new(20, 3600)));
        let l = limits(&[
            ("WOLO_RATE_LIMIT_PASSWORD_ACCOUNT", "3/1m"),
            ("WOLO_RATE_LIMIT_PASSWORD_IP", "off"),
            ("WOLO_RATE_LIMIT_OTP_INTERVAL", "0"),
            ("WOLO_RATE_LIMIT_VERIFY_IP", ""),
        ])
        .unwrap();
        assert_eq!(l.password_account, Some(Limit::new(3, 60)));
        assert_eq!(l.password_ip, None);
        assert_eq!(l.otp_interval_secs, 0);
        assert_eq!(l.verify_ip, d.verify_ip);
    }

    #[test]
    fn a_bad_setting_is_named_with_its_value() {
        for (name, v) in [
            ("WOLO_RATE_LIMIT_PASSWORD_ACCOUNT", "ten/15m"),
            ("WOLO_RATE_LIMIT_PASSWORD_IP", "0/5m"),
            ("WOLO_RATE_LIMIT_VERIFY_ACCOUNT", "10"),
            ("WOLO_RATE_LIMIT_VERIFY_IP", "30/1d"),
            ("WOLO_RATE_LIMIT_RECOVER_EMAIL", "5/25h"),
            ("WOLO_RATE_LIMIT_RECOVER_IP", "30 per hour"),
            ("WOLO_RATE_LIMIT_OTP_INTERVAL", "1 minute"),
            ("WOLO_RATE_LIMIT_OTP_PHONE", "5/2d"),
            ("WOLO_RATE_LIMIT_OTP_IP", "-1/1h"),
        ] {
            let err = limits(&[(name, v)]).unwrap_err();
            assert!(err.contains(name) && err.contains(v), "{err}");
        }
    }
}
