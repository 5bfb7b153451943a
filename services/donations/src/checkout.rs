//! `POST /checkout`: a donation `pending`, then where the donor pays: its Wave checkout session,
//! or its PayDunya checkout invoice (`provider: "paydunya"`, [`Provider`]). Below, "Wave" is
//! the provider: PayDunya goes through the same steps, except that it has no search (step 3
//! creates an invoice; one whose answer was lost was never shown, so it is never paid).
//!
//! Sequence (nothing half-done, and nothing held while the provider answers):
//!
//! 1. one transaction validates the pot (`open`, locked `for share`), scores the risk and
//!    inserts the donation `pending` (unique `idempotency_key`), and commits;
//! 2. one short statement claims the donation's Wave call (V115: `wave_claim_id`, a lease
//!    `wave_claim_until` of twice the Wave timeout and 5 s) unless it has a session already
//!    (that session is the answer) or another request holds a live claim (this one then polls
//!    the row, holding no connection between looks, and answers the other's outcome);
//! 3. with no transaction open and no pooled connection held, Wave is asked for an open
//!    session with `client_reference` = the donation id (an earlier attempt whose answer was
//!    lost made one), else creates one (`Idempotency-Key` = the donation id);
//! 4. one short statement stores its id, URL and expiry where no session is stored yet (else
//!    the stored one is the answer); if Wave fails or times out, one statement marks the
//!    donation `failed` with the reason (while the claim is still this request's) and the donor
//!    gets 502/504.
//!
//! A slow Wave therefore costs no database connection and no row lock: the pool serves other
//! requests meanwhile. A retry with the same `Idempotency-Key` answers the same donation (and
//! re-tries Wave if it had failed); concurrent ones make one Wave session between them.
//!
//! Idempotency keys are scoped to their caller ([`idempotency_scope`]: the signed-in donor, else
//! the client's IP) and bound to the request first sent with them (SHA-256 of the canonical
//! request): the same key with another request is a 422 `idempotency_key_reused`.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use rest::{
    extract::{Anyone, Json},
    input::{db, validation},
    ApiError, ApiResult,
};

use crate::{risk, wave::WaveError, AppState};

/// Smallest donation, FCFA, when `donations.min_amount_cfa` (system_config) is not set; and
/// the largest.
pub const MIN_AMOUNT_CFA: i64 = 100;
pub const MAX_AMOUNT_CFA: i64 = 5_000_000;
/// Longest donor message, characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// The `POST /checkout` body. An unknown field (`donation_message` for `message`) is a 400
/// `PGRST102` naming it: a donor's words are never dropped silently.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    #[serde(default)]
    pot_id: Option<String>,
    /// Any JSON value: a non-integer is answered with the amount's own message.
    #[serde(default)]
    amount_cfa: Option<serde_json::Value>,
    #[serde(default)]
    donor_name: Option<String>,
    #[serde(default)]
    donor_phone: Option<String>,
    #[serde(default)]
    donor_email: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    is_anonymous: Option<bool>,
    #[serde(default)]
    show_amount: Option<bool>,
    /// `wave` (default) or `paydunya` (Orange Money, Free Money, cards on PayDunya's page).
    #[serde(default)]
    provider: Option<String>,
}

/// Who takes a donation's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Wave,
    PayDunya,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Wave => "wave",
            Provider::PayDunya => "paydunya",
        }
    }

    /// The provider a request names, if this suite offers it (a provider that is not
    /// configured is not offered).
    pub fn offered(name: Option<&str>, state: &AppState) -> ApiResult<Provider> {
        match name.map(str::trim) {
            None | Some("wave") => Ok(Provider::Wave),
            Some("paydunya") if state.paydunya.is_some() => Ok(Provider::PayDunya),
            Some("paydunya") => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "provider_unavailable",
                "Orange Money, Free Money et la carte ne sont pas proposés pour le moment : utilisez Wave (PayDunya is not configured)",
            )
            .hint("Set WOLO_PAYDUNYA_MASTER_KEY, WOLO_PAYDUNYA_PRIVATE_KEY and WOLO_PAYDUNYA_TOKEN")),
            Some(other) => Err(validation(&format!(
                "provider : wave ou paydunya (unknown provider {:?})",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    /// The admins' switch of this provider (admin.feature_flags).
    fn flag(self) -> &'static str {
        match self {
            Provider::Wave => "wave_payments",
            Provider::PayDunya => "paydunya_payments",
        }
    }
}

fn amount(v: Option<serde_json::Value>) -> ApiResult<i32> {
    let n = match v {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    match n {
        Some(n) if (1..=MAX_AMOUNT_CFA).contains(&n) => Ok(n as i32),
        _ => Err(amount_error(MIN_AMOUNT_CFA)),
    }
}

fn amount_error(min: i64) -> ApiError {
    amount_range_error(min, MAX_AMOUNT_CFA)
}

fn amount_range_error(min: i64, max: i64) -> ApiError {
    validation(&format!(
        "Le montant doit être un nombre entier de FCFA entre {min} et {max} (amount_cfa must be an integer between {min} and {max})"
    ))
}

fn opt_text(v: Option<String>, max: usize, what: &str) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max => Err(validation(&format!(
            "{what} : {max} caractères au plus ({what} is too long)"
        ))),
        other => Ok(other),
    }
}

/// `POST /checkout`: see the module docs.
#[tracing::instrument(skip_all, fields(pot_id = tracing::field::Empty))]
pub async fn post_checkout(
    Anyone(caller): Anyone,
    State(state): State<AppState>,
    headers: HeaderMap,
    client: platform::Client,
    Json(req): Json<CheckoutRequest>,
) -> Result<Response, ApiError> {
    let pot_id = req
        .pot_id
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| validation("pot_id manquant ou invalide (pot_id must be a uuid)"))?;
    tracing::Span::current().record("pot_id", tracing::field::display(pot_id));
    let amount_cfa = amount(req.amount_cfa)?;
    let phone = match req.donor_phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(p) => Some(rest::input::phone_e164(p).ok_or_else(|| {
            validation("Numéro de téléphone invalide (donor_phone must be a valid phone number, e.g. +221771234567)")
        })?),
        None => None,
    };
    let donor_name = opt_text(req.donor_name, 255, "donor_name")?;
    let donor_email = opt_text(req.donor_email, 255, "donor_email")?;
    let donor_email = donor_email
        .as_deref()
        .map(rest::input::normalise_email)
        .transpose()?;
    let message = opt_text(req.message, MAX_MESSAGE_CHARS, "message")?;
    let is_anonymous = req.is_anonymous.unwrap_or(false);
    let show_amount = req.show_amount.unwrap_or(true);
    let provider = Provider::offered(req.provider.as_deref(), &state)?;
    let idem = match headers.get("idempotency-key") {
        Some(v) => {
            let v = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= 255)
                .ok_or_else(|| {
                    validation("En-tête Idempotency-Key invalide (1 to 255 visible characters)")
                })?;
            Some(v.to_string())
        }
        None => None,
    };
    let donor_user_id = caller.user_id.filter(|_| caller.role != auth::Role::Anon);
    // A key is the caller's own: scoped to the signed-in donor, else to the client's IP.
    let scope = idempotency_scope(donor_user_id, client.ip.as_deref());
    let mut fields = vec![
        json!(pot_id),
        json!(amount_cfa),
        json!(donor_name),
        json!(phone),
        json!(donor_email),
        json!(message),
        json!(is_anonymous),
        json!(show_amount),
    ];
    // The provider counts only when it is not Wave: a key first used before V119 (Wave only)
    // still answers its donation.
    if provider != Provider::Wave {
        fields.push(json!(provider.name()));
    }
    let request_hash = request_hash(&fields);

    // (1) The donation, pending, committed before Wave is called.
    let mut tx = state.db.begin().await.map_err(db)?;
    let existing = match &idem {
        Some(k) => sqlx::query(
            "select id, idempotency_request_hash from donations.donations
             where idempotency_scope = $1 and idempotency_key = $2",
        )
        .bind(&scope)
        .bind(k)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?,
        None => None,
    };
    let (donation_id, created) = if let Some(row) = existing {
        (same_request(row, &request_hash)?, false)
    } else {
        // The admins' switch and minimum (admin.feature_flags, admin.system_config).
        let (payments_on, min_amount, max_amount): (bool, i32, i32) = sqlx::query_as(
            "select admin.flag_on($3),
                    admin.config_int('donations.min_amount_cfa', $1),
                    admin.config_int('donations.max_amount_cfa', $2)",
        )
        .bind(MIN_AMOUNT_CFA as i32)
        .bind(MAX_AMOUNT_CFA as i32)
        .bind(provider.flag())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if !payments_on {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payments_suspended",
                "Les participations sont momentanément suspendues. Réessayez plus tard (payments are suspended)",
            )
            .hint(format!("Feature flag {} is off", provider.flag())));
        }
        if amount_cfa < min_amount || amount_cfa > max_amount {
            return Err(amount_range_error(min_amount.into(), max_amount.into()));
        }
        // The pot row locked FOR SHARE (as its owner: V102), so its status cannot change
        // before this transaction ends.
        sqlx::query("select donations.lock_pot_for_donation($1)")
            .bind(pot_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let pot = sqlx::query(
            "select status, coalesce(allow_anonymous_donations, true), coalesce(enable_messages, true)
               from pots.pots where id = $1",
        )
        .bind(pot_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| ApiError::not_found("pot_not_found", "Cagnotte introuvable (pot not found)"))?;
        let status: Option<String> = pot.get(0);
        let allow_anon: bool = pot.get(1);
        let messages_on: bool = pot.get(2);
        if status.as_deref() != Some("open") {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "pot_not_open",
                "Cette cagnotte n'accepte pas de participation pour le moment (pot is not open)",
            )
            .details(format!("status: {}", status.unwrap_or_default())));
        }
        if is_anonymous && !allow_anon {
            return Err(validation(
                "Cette cagnotte n'accepte pas les dons anonymes (anonymous donations are not allowed on this pot)",
            ));
        }
        // The owner turned messages off: a message would be stored and shown nowhere.
        if !messages_on && message.as_deref().is_some_and(|m| !m.trim().is_empty()) {
            return Err(validation(
                "Cette cagnotte n'accepte pas de message (messages are disabled on this pot)",
            ));
        }
        let risk = risk::assess(
            &mut tx,
            pot_id,
            phone.as_deref(),
            client.ip.as_deref(),
            amount_cfa,
        )
        .await
        .map_err(db)?;
        let id: Option<Uuid> = sqlx::query_scalar(
            "insert into donations.donations
                 (pot_id, donor_user_id, donor_name, donor_phone, donor_email, amount_cfa, status,
                  donation_message, is_anonymous, show_amount, ip_address, user_agent,
                  risk_score, risk_reasons, idempotency_key, idempotency_scope,
                  idempotency_request_hash, payment_provider)
             values ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10::inet, $11, $12, $13, $14,
                     $15, $16, $17)
             on conflict (idempotency_scope, idempotency_key) do nothing
             returning id",
        )
        .bind(pot_id)
        .bind(donor_user_id)
        .bind(&donor_name)
        .bind(&phone)
        .bind(&donor_email)
        .bind(amount_cfa)
        .bind(&message)
        .bind(is_anonymous)
        .bind(show_amount)
        .bind(&client.ip)
        .bind(&client.user_agent)
        .bind(risk.score)
        .bind(serde_json::Value::Array(risk.reasons))
        .bind(&idem)
        .bind(idem.as_ref().map(|_| &scope))
        .bind(idem.as_ref().map(|_| &request_hash))
        .bind(provider.name())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        match id {
            Some(id) => (id, true),
            None => {
                // Same caller and key inserted concurrently: that donation is the answer,
                // if it was the same request.
                let row = sqlx::query(
                    "select id, idempotency_request_hash from donations.donations
                     where idempotency_scope = $1 and idempotency_key = $2",
                )
                .bind(&scope)
                .bind(&idem)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                (same_request(row, &request_hash)?, false)
            }
        }
    };
    tx.commit().await.map_err(db)?;

    // (2) The payment session (Wave) or invoice (PayDunya), with no connection or row lock
    // held while the provider answers.
    payment_session(&state, donation_id, created).await
}

/// A claim on a donation's Wave call lapses after twice the Wave timeout (a search and a
/// create) and this margin: by then its holder has stored its outcome, or died.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);
/// How often a request waiting on another one's Wave call for the same donation looks at the
/// row: first after this long, then twice as long each time up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(25);
const POLL_MAX: Duration = Duration::from_millis(500);

/// What a provider opened for a donation: where the donor pays.
struct Opened {
    /// Wave's session id or PayDunya's invoice token.
    reference: String,
    url: String,
    expires: Option<DateTime<Utc>>,
}

/// A failed provider call, with the donor-facing error it becomes.
enum ProviderError {
    Wave(WaveError),
    PayDunya(crate::paydunya::PayDunyaError),
}

impl ProviderError {
    fn api_error(&self) -> ApiError {
        match self {
            ProviderError::Wave(e) => wave_error(e),
            ProviderError::PayDunya(e) => paydunya_error(e),
        }
    }

    fn failure_reason(&self) -> String {
        match self {
            ProviderError::Wave(e) => format!("{FAILURE_PREFIX}{e}"),
            ProviderError::PayDunya(e) => format!("{PAYDUNYA_FAILURE_PREFIX}{e}"),
        }
    }
}

/// Asks `provider` for a place to pay donation `donation_id`. Wave: an open session an
/// earlier attempt made (its answer lost) is found by client_reference and reused, else one is
/// created. PayDunya: a checkout invoice (PayDunya has no search; an invoice whose answer was
/// lost was never shown to anyone, so it can never be paid).
async fn open_payment(
    state: &AppState,
    provider: Provider,
    donation_id: Uuid,
    amount_cfa: i32,
) -> Result<Opened, ProviderError> {
    match provider {
        Provider::Wave => {
            let found = state
                .wave
                .search(&donation_id.to_string())
                .await
                .map_err(ProviderError::Wave)?;
            let s = match found
                .into_iter()
                .find(|s| s.checkout_status.as_deref() == Some("open"))
            {
                Some(s) => s,
                None => state
                    .wave
                    .create_session(donation_id, amount_cfa)
                    .await
                    .map_err(ProviderError::Wave)?,
            };
            Ok(Opened {
                reference: s.id,
                url: s.wave_launch_url.unwrap_or_default(),
                expires: s.when_expires,
            })
        }
        Provider::PayDunya => {
            let paydunya = state.paydunya.as_ref().ok_or_else(|| {
                ProviderError::PayDunya(crate::paydunya::PayDunyaError::Unreachable(
                    "PayDunya is not configured".into(),
                ))
            })?;
            let invoice = paydunya
                .create_invoice(
                    donation_id,
                    amount_cfa,
                    "Participation à une cagnotte WOLO",
                    &state.config.links,
                )
                .await
                .map_err(ProviderError::PayDunya)?;
            Ok(Opened {
                reference: invoice.token,
                url: invoice.url,
                expires: None,
            })
        }
    }
}

/// Step (2) of the module docs: the donation's payment session (Wave) or invoice (PayDunya),
/// claimed, asked for and stored in short statements of their own, none of them open while
/// the provider is called.
async fn payment_session(
    state: &AppState,
    donation_id: Uuid,
    created: bool,
) -> Result<Response, ApiError> {
    let claim = Uuid::new_v4();
    let lease = 2 * state.config.wave_timeout.max(state.paydunya_timeout()) + CLAIM_MARGIN;
    // Waiting for another request's claim ends when it lapses (then this request claims);
    // this bound only guards against a clock gone wrong.
    let give_up = tokio::time::Instant::now() + 2 * lease;
    let mut pause = POLL_FIRST;
    let mut waited = false;
    let (amount_cfa, provider) = loop {
        let row = sqlx::query(
            "select status, coalesce(wave_payment_url, provider_payment_url),
                    wave_session_expires_at, failure_reason,
                    wave_claim_until is not null, wave_claim_until >= now(), payment_provider
             from donations.donations where id = $1",
        )
        .bind(donation_id)
        .fetch_one(&state.db)
        .await
        .map_err(db)?;
        let status: String = row.get::<Option<String>, _>(0).unwrap_or_default();
        let url: Option<String> = row.get(1);
        let expires: Option<DateTime<Utc>> = row.get(2);
        let reason: Option<String> = row.get(3);
        let claimed: bool = row.get(4);
        let claim_live: bool = row.get::<Option<bool>, _>(5).unwrap_or(false);
        let provider_name: String = row.get(6);
        if url.is_some() || !matches!(status.as_str(), "pending" | "failed") {
            // Its session (stored by this key's earlier or concurrent request), or an outcome.
            return Ok(answer(
                donation_id,
                &provider_name,
                &status,
                url,
                expires,
                created,
            ));
        }
        if waited && !claimed && status == "failed" {
            // The concurrent request this one waited on failed at the provider: the same answer.
            return Err(failed_attempt_error(reason.as_deref())
                .details(format!("donation_id: {donation_id}")));
        }
        if !claim_live {
            // Nobody is calling the provider for it (or a claim lapsed, its holder gone):
            // claim the call, unless another request just did.
            let mine: Option<(i32, String)> = sqlx::query_as(
                "update donations.donations
                 set wave_claim_id = $2, wave_claim_until = now() + make_interval(secs => $3)
                 where id = $1 and wave_payment_url is null and provider_payment_url is null
                   and status in ('pending', 'failed')
                   and (wave_claim_until is null or wave_claim_until < now())
                 returning amount_cfa, payment_provider",
            )
            .bind(donation_id)
            .bind(claim)
            .bind(lease.as_secs_f64())
            .fetch_optional(&state.db)
            .await
            .map_err(db)?;
            match mine {
                Some((amount, name)) => {
                    let provider = if name == "paydunya" {
                        Provider::PayDunya
                    } else {
                        Provider::Wave
                    };
                    break (amount, provider);
                }
                None => continue,
            }
        }
        if tokio::time::Instant::now() >= give_up {
            return Err(
                wave_error(&WaveError::Timeout).details(format!("donation_id: {donation_id}"))
            );
        }
        waited = true;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(POLL_MAX);
    };

    // No connection is held from here until the provider has answered.
    match open_payment(state, provider, donation_id, amount_cfa).await {
        Ok(s) => {
            // Stored unless a session already was (a request whose claim lapsed got there
            // first): then that one is the answer.
            let sql = match provider {
                Provider::Wave => {
                    "update donations.donations
                     set status = 'pending', wave_session_id = $2, wave_payment_url = $3,
                         wave_session_expires_at = $4, failure_reason = null, failed_at = null,
                         wave_claim_id = null, wave_claim_until = null
                     where id = $1 and wave_payment_url is null and provider_payment_url is null
                       and status in ('pending', 'failed')"
                }
                Provider::PayDunya => {
                    "update donations.donations
                     set status = 'pending', provider_token = $2, provider_payment_url = $3,
                         provider_status = 'pending', failure_reason = null, failed_at = null,
                         wave_claim_id = null, wave_claim_until = null
                     where id = $1 and wave_payment_url is null and provider_payment_url is null
                       and status in ('pending', 'failed')"
                }
            };
            let mut query = sqlx::query(sql)
                .bind(donation_id)
                .bind(&s.reference)
                .bind(&s.url);
            if provider == Provider::Wave {
                query = query.bind(s.expires);
            }
            let stored = query.execute(&state.db).await.map_err(db)?.rows_affected();
            if stored == 1 {
                return Ok(answer(
                    donation_id,
                    provider.name(),
                    "pending",
                    Some(s.url),
                    s.expires,
                    created,
                ));
            }
            let (status, url, expires): (Option<String>, Option<String>, Option<DateTime<Utc>>) =
                sqlx::query_as(
                    "select status, coalesce(wave_payment_url, provider_payment_url),
                            wave_session_expires_at
                     from donations.donations where id = $1",
                )
                .bind(donation_id)
                .fetch_one(&state.db)
                .await
                .map_err(db)?;
            Ok(answer(
                donation_id,
                provider.name(),
                &status.unwrap_or_default(),
                url,
                expires,
                created,
            ))
        }
        Err(e) => {
            tracing::warn!(donation = %donation_id, provider = provider.name(), error = %e.failure_reason(), "checkout: the provider failed");
            // Only while this request's claim stands: a lapsed claim is someone else's now.
            sqlx::query(
                "update donations.donations
                 set status = 'failed', failed_at = now(), failure_reason = $2,
                     wave_claim_id = null, wave_claim_until = null
                 where id = $1 and wave_claim_id = $3 and wave_payment_url is null
                   and provider_payment_url is null and status in ('pending', 'failed')",
            )
            .bind(donation_id)
            .bind(e.failure_reason())
            .bind(claim)
            .execute(&state.db)
            .await
            .map_err(db)?;
            Err(e.api_error().details(format!("donation_id: {donation_id}")))
        }
    }
}

/// `failure_reason` of a donation whose Wave call failed: this, then the error.
const FAILURE_PREFIX: &str = "wave_checkout_error: ";
/// The same for PayDunya.
const PAYDUNYA_FAILURE_PREFIX: &str = "paydunya_checkout_error: ";

/// The answer to a request that waited on a concurrent one (same donation) whose Wave call
/// failed with `reason`: 504 when it timed out, else 502.
fn failed_attempt_error(reason: Option<&str>) -> ApiError {
    let reason = reason.unwrap_or_default();
    if let Some(what) = reason.strip_prefix(PAYDUNYA_FAILURE_PREFIX) {
        return if what == crate::paydunya::PayDunyaError::Timeout.to_string() {
            paydunya_error(&crate::paydunya::PayDunyaError::Timeout)
        } else {
            paydunya_error(&crate::paydunya::PayDunyaError::Unreachable(
                what.to_string(),
            ))
        };
    }
    let what = reason.strip_prefix(FAILURE_PREFIX).unwrap_or_default();
    if what == WaveError::Timeout.to_string() {
        wave_error(&WaveError::Timeout)
    } else {
        wave_unavailable(what.to_string())
    }
}

/// Whose idempotency key this is: `user:<uuid>` for a signed-in donor, `anon:<client ip>`
/// for an anonymous one (`anon:` when the IP is unknown). Two callers using the same key get
/// two independent donations.
pub fn idempotency_scope(donor_user_id: Option<Uuid>, ip: Option<&str>) -> String {
    match donor_user_id {
        Some(u) => format!("user:{u}"),
        None => format!("anon:{}", ip.unwrap_or_default()),
    }
}

/// SHA-256 (hex) of the canonical request: its validated, normalised fields in a fixed order
/// (so spacing, key order or `771234567` vs `+221771234567` do not make another request).
fn request_hash(fields: &[serde_json::Value]) -> String {
    let canonical = serde_json::Value::Array(fields.to_vec()).to_string();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The donation a key already answered, when `row` was created by the same request; else 422
/// (as Stripe answers a key reused with other parameters). Rows keyed before V105 carry no
/// hash: a replay of such a key answers its donation.
fn same_request(row: sqlx::postgres::PgRow, request_hash: &str) -> ApiResult<Uuid> {
    let id: Uuid = row.get(0);
    let stored: Option<String> = row.get(1);
    match stored {
        Some(h) if h != request_hash => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "Cette clé d'idempotence a déjà servi pour une autre demande de don (Idempotency-Key already used with different parameters)",
        )
        .hint("Send a new Idempotency-Key for a new request")),
        _ => Ok(id),
    }
}

/// The donor-facing error for a failed Wave call.
pub fn wave_error(e: &WaveError) -> ApiError {
    match e {
        WaveError::Timeout => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "wave_timeout",
            "Wave ne répond pas. Aucun paiement n'a été demandé : réessayez dans un instant (Wave timed out)",
        ),
        _ => wave_unavailable(e.to_string()),
    }
}

/// 502 `wave_unavailable`, Wave's error in the hint.
fn wave_unavailable(hint: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "wave_unavailable",
        "Le paiement Wave est momentanément indisponible. Aucun paiement n'a été demandé : réessayez dans un instant (Wave error)",
    )
    .hint(hint)
}

/// The donor-facing error for a failed PayDunya call.
pub fn paydunya_error(e: &crate::paydunya::PayDunyaError) -> ApiError {
    match e {
        crate::paydunya::PayDunyaError::Timeout => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "paydunya_timeout",
            "PayDunya ne répond pas. Aucun paiement n'a été demandé : réessayez dans un instant (PayDunya timed out)",
        ),
        _ => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "paydunya_unavailable",
            "Le paiement Orange Money / Free Money est momentanément indisponible. Aucun paiement n'a été demandé : réessayez dans un instant (PayDunya error)",
        )
        .hint(e.to_string()),
    }
}

fn answer(
    id: Uuid,
    provider: &str,
    status: &str,
    url: Option<String>,
    expires: Option<DateTime<Utc>>,
    created: bool,
) -> Response {
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        code,
        axum::Json(json!({
            "donation_id": id,
            "status": status,
            "provider": provider,
            // Where the donor pays, whoever takes the money; `wave_payment_url` as before for
            // Wave (null for another provider).
            "payment_url": url.clone(),
            "wave_payment_url": if provider == "wave" { url } else { None },
            "expires_at": expires,
        })),
    )
        .into_response()
}
