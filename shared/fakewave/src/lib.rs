//! A fake Wave Checkout API on loopback, for tests and `make run` (no Wave account needed).
//!
//! It implements what the donations service uses of Wave (`/work/shared/reference/wave-api.md`):
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/checkout/sessions` | create a session (Bearer key checked, fields validated, unknown fields rejected) |
//! | `GET /v1/checkout/sessions/{id}` | one session, 404 `checkout-session-not-found` |
//! | `GET /v1/checkout/sessions/search?client_reference=X` | `{"result": [...]}` |
//! | `POST /v1/checkout/sessions/{id}/expire` | open → expired/cancelled; 409 when complete |
//! | `POST /v1/checkout/sessions/{id}/refund` | succeeded → 200 empty body (repeatable), else 400 `checkout-refund-failed` |
//! | `GET /c/{id}` | the pay page (French): buttons « Payer » and « Échec du paiement » |
//! | `POST /_fake/sessions/{id}/complete` / `fail` / `expire` | simulate an outcome; complete and fail POST a signed webhook |
//! | `POST /_fake/failures` | `{"target": "create"\|"refund", "mode": "500"\|"hang"}`: the next such call fails |
//!
//! A slow Wave: [`FakeWaveConfig::delay`] (or [`FakeWave::set_delay`]; `WOLO_FAKE_WAVE_DELAY_MS` for
//! `wolo serve` and `wolo fake-wave`) holds every answer of the `/v1` API that long.
//!
//! Webhooks are signed like Wave's: `Wave-Signature: t=<unix>,v1=<hex hmac-sha256(secret, t + body)>`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Json, Router,
};
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::Mac;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::Sha256;

/// The API key `wolo serve` gives the fake (and the donations service) in development.
pub const DEV_API_KEY: &str = "wave_sn_dev_fake_key";
/// The webhook secret `wolo serve` uses with the fake in development.
pub const DEV_WEBHOOK_SECRET: &str = "wave_sn_WHS_dev_fake_secret";
/// Where `wolo serve` starts the fake by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8099";

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakeWaveConfig {
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The Bearer key callers must send.
    pub api_key: String,
    /// Secrets webhooks are signed with: one `v1` per secret (several = a rotation header).
    pub webhook_secrets: Vec<String>,
    /// Where webhooks go (e.g. `http://127.0.0.1:8080/donations/webhooks/wave`); none = not sent.
    pub webhook_url: Option<String>,
    /// Session lifetime (Wave: 30 minutes).
    pub session_ttl: chrono::Duration,
    /// Public base URL of the pay page (default: the fake's own URL).
    pub public_url: Option<String>,
    /// How long every `/v1` API call waits before it answers (a slow Wave); zero by default.
    pub delay: Duration,
}

impl Default for FakeWaveConfig {
    fn default() -> Self {
        FakeWaveConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            api_key: DEV_API_KEY.to_string(),
            webhook_secrets: vec![DEV_WEBHOOK_SECRET.to_string()],
            webhook_url: None,
            session_ttl: chrono::Duration::minutes(30),
            public_url: None,
            delay: Duration::ZERO,
        }
    }
}

/// A programmed failure of the next call of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answer HTTP 500 `internal-server-error`.
    Status500,
    /// Never answer (the caller's timeout fires).
    Hang,
    /// Do the work (create the session), then answer 500: a response lost on the way.
    LostResponse,
}

#[derive(Default)]
struct Failures {
    create: Vec<Failure>,
    refund: Vec<Failure>,
}

struct Inner {
    config: FakeWaveConfig,
    url: String,
    sessions: Mutex<HashMap<String, Value>>,
    failures: Mutex<Failures>,
    refunds: Mutex<HashMap<String, u32>>,
    creates: Mutex<u32>,
    delay: Mutex<Duration>,
    webhook_url: Mutex<Option<String>>,
    http: reqwest::Client,
}

/// A running fake: its base URL and handles to drive it.
#[derive(Clone)]
pub struct FakeWave {
    pub url: String,
    inner: Arc<Inner>,
}

/// Starts the fake on `config.addr` in the current runtime.
pub async fn spawn(config: FakeWaveConfig) -> anyhow::Result<FakeWave> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let inner = Arc::new(Inner {
        url: config.public_url.clone().unwrap_or_else(|| url.clone()),
        sessions: Mutex::new(HashMap::new()),
        failures: Mutex::new(Failures::default()),
        refunds: Mutex::new(HashMap::new()),
        creates: Mutex::new(0),
        delay: Mutex::new(config.delay),
        webhook_url: Mutex::new(config.webhook_url.clone()),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        config,
    });
    let fake = FakeWave {
        url,
        inner: inner.clone(),
    };
    let app = router(fake.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "fake Wave stopped");
        }
    });
    Ok(fake)
}

/// `Wave-Signature` header value for `body` at unix time `t`, one `v1` per secret.
pub fn signature_header(secrets: &[String], t: i64, body: &[u8]) -> String {
    let mut out = format!("t={t}");
    for s in secrets {
        out.push_str(",v1=");
        out.push_str(&sign(s, t, body));
    }
    out
}

/// Lowercase hex HMAC-SHA256(secret, t + body): Wave's webhook signature.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("hmac takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn base36(n: usize) -> String {
    const A: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| A[rng.gen_range(0..A.len())] as char)
        .collect()
}

/// A webhook delivery's outcome.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event: Value,
    /// HTTP status the webhook URL answered (None: no URL configured or not reachable).
    pub status: Option<u16>,
}

impl FakeWave {
    pub fn config(&self) -> &FakeWaveConfig {
        &self.inner.config
    }

    /// Where webhooks go from now on.
    pub fn set_webhook_url(&self, url: Option<String>) {
        *self.inner.webhook_url.lock().unwrap() = url;
    }

    pub fn webhook_url(&self) -> Option<String> {
        self.inner.webhook_url.lock().unwrap().clone()
    }

    /// The next create call fails this way (calls queue up).
    pub fn fail_next_create(&self, f: Failure) {
        self.inner.failures.lock().unwrap().create.push(f);
    }

    /// The next refund call fails this way.
    pub fn fail_next_refund(&self, f: Failure) {
        self.inner.failures.lock().unwrap().refund.push(f);
    }

    /// From now on every `/v1` API call answers after `delay` (zero: at once).
    pub fn set_delay(&self, delay: Duration) {
        *self.inner.delay.lock().unwrap() = delay;
    }

    /// Sessions created so far (successful create calls).
    pub fn created_count(&self) -> u32 {
        *self.inner.creates.lock().unwrap()
    }

    /// Successful refund calls for a session.
    pub fn refund_calls(&self, id: &str) -> u32 {
        self.inner
            .refunds
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    pub fn session(&self, id: &str) -> Option<Value> {
        self.inner.sessions.lock().unwrap().get(id).cloned()
    }

    /// The sessions created with this client_reference.
    pub fn sessions_for(&self, client_reference: &str) -> Vec<Value> {
        let mut v: Vec<Value> = self
            .inner
            .sessions
            .lock()
            .unwrap()
            .values()
            .filter(|s| s["client_reference"] == client_reference)
            .cloned()
            .collect();
        v.sort_by(|a, b| a["when_created"].as_str().cmp(&b["when_created"].as_str()));
        v
    }

    /// Marks the session paid and returns the `checkout.session.completed` event, not sent.
    pub fn complete_event(&self, id: &str) -> Option<Value> {
        let mut sessions = self.inner.sessions.lock().unwrap();
        let s = sessions.get_mut(id)?;
        if s["checkout_status"] == "open" {
            s["checkout_status"] = json!("complete");
            s["payment_status"] = json!("succeeded");
            s["transaction_id"] = json!(format!("T{}", base36(12).to_uppercase()));
            s["when_completed"] = json!(ts(Utc::now()));
            s["last_payment_error"] = Value::Null;
        }
        Some(json!({
            "id": format!("AE_sn_{}", base36(12)),
            "type": "checkout.session.completed",
            "data": s.clone(),
        }))
    }

    /// Records a failed attempt on the session and returns the `payment_failed` event, not sent.
    pub fn fail_event(&self, id: &str, code: &str) -> Option<Value> {
        let mut sessions = self.inner.sessions.lock().unwrap();
        let s = sessions.get_mut(id)?;
        let mut data = s.clone();
        if s["checkout_status"] == "open" {
            s["last_payment_error"] =
                json!({"code": code, "message": "Le paiement a échoué (simulation)"});
            data = s.clone();
        } else {
            data["last_payment_error"] =
                json!({"code": code, "message": "Le paiement a échoué (simulation)"});
        }
        if let Some(o) = data.as_object_mut() {
            o.remove("transaction_id");
        }
        Some(json!({
            "id": format!("AE_sn_{}", base36(12)),
            "type": "checkout.session.payment_failed",
            "data": data,
        }))
    }

    /// Expires an open session (no webhook: Wave sends none).
    pub fn expire(&self, id: &str) -> Result<(), u16> {
        let mut sessions = self.inner.sessions.lock().unwrap();
        let s = sessions.get_mut(id).ok_or(404u16)?;
        match s["checkout_status"].as_str() {
            Some("open") => {
                s["checkout_status"] = json!("expired");
                s["payment_status"] = json!("cancelled");
                s["when_completed"] = json!(ts(Utc::now()));
                Ok(())
            }
            Some("expired") => Ok(()),
            _ => Err(409),
        }
    }

    /// POSTs `event` to the webhook URL, signed now with every configured secret.
    pub async fn deliver(&self, event: &Value) -> Delivery {
        let Some(url) = self.webhook_url() else {
            return Delivery {
                event: event.clone(),
                status: None,
            };
        };
        let body = serde_json::to_vec(event).unwrap();
        let header = signature_header(
            &self.inner.config.webhook_secrets,
            Utc::now().timestamp(),
            &body,
        );
        let status = match self
            .inner
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("wave-signature", header)
            .body(body)
            .send()
            .await
        {
            Ok(r) => Some(r.status().as_u16()),
            Err(e) => {
                tracing::warn!(error = %e, url, "fake Wave: webhook delivery failed");
                None
            }
        };
        Delivery {
            event: event.clone(),
            status,
        }
    }

    /// Pays the session and delivers `checkout.session.completed`.
    pub async fn complete(&self, id: &str) -> Option<Delivery> {
        let event = self.complete_event(id)?;
        Some(self.deliver(&event).await)
    }

    /// Records a failed attempt and delivers `checkout.session.payment_failed`.
    pub async fn fail(&self, id: &str, code: &str) -> Option<Delivery> {
        let event = self.fail_event(id, code)?;
        Some(self.deliver(&event).await)
    }
}

// ---------------------------------------------------------------- HTTP

fn router(fake: FakeWave) -> Router {
    Router::new()
        .route("/v1/checkout/sessions", post(create).get(by_transaction))
        .route("/v1/checkout/sessions/search", get(search))
        .route("/v1/checkout/sessions/{id}", get(retrieve))
        .route("/v1/checkout/sessions/{id}/expire", post(expire))
        .route("/v1/checkout/sessions/{id}/refund", post(refund))
        .route("/c/{id}", get(pay_page))
        .route("/c/{id}/pay", post(pay_button))
        .route("/c/{id}/fail", post(fail_button))
        .route("/_fake/sessions/{id}/complete", post(fake_complete))
        .route("/_fake/sessions/{id}/fail", post(fake_fail))
        .route("/_fake/sessions/{id}/expire", post(fake_expire))
        .route("/_fake/failures", post(fake_failures))
        .with_state(fake)
}

fn err(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// Checks the Bearer key, after the configured delay (a slow Wave answers nothing sooner).
async fn check_key(fake: &FakeWave, headers: &HeaderMap) -> Result<(), Response> {
    let delay = *fake.inner.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "missing-auth-header",
            "Missing Authorization header",
        ));
    };
    let v = v.to_str().unwrap_or("");
    let Some(key) = v.strip_prefix("Bearer ") else {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "invalid-auth",
            "Authorization must be a Bearer key",
        ));
    };
    if key != fake.inner.config.api_key {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "no-matching-api-key",
            "No API key matches",
        ));
    }
    Ok(())
}

async fn apply_failure(f: Option<Failure>) -> Option<Response> {
    match f? {
        Failure::LostResponse => None,
        Failure::Status500 => Some(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-server-error",
            "Simulated failure",
        )),
        Failure::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
    }
}

fn validation(loc: &str, msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "code": "request-validation-error",
            "message": "Request invalid",
            "details": [{"loc": [loc], "msg": msg, "type": "value_error"}],
        })),
    )
        .into_response()
}

async fn create(State(fake): State<FakeWave>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_key(&fake, &headers).await {
        return r;
    }
    let next = {
        let mut f = fake.inner.failures.lock().unwrap();
        if f.create.is_empty() {
            None
        } else {
            Some(f.create.remove(0))
        }
    };
    if let Some(r) = apply_failure(next).await {
        return r;
    }
    let lost = next == Some(Failure::LostResponse);
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return validation("body", "a JSON object is required");
    };
    const ALLOWED: [&str; 7] = [
        "amount",
        "currency",
        "success_url",
        "error_url",
        "client_reference",
        "restrict_payer_mobile",
        "aggregated_merchant_id",
    ];
    if let Some(k) = req.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return validation(k, "extra fields not permitted");
    }
    let amount = match req.get("amount") {
        Some(Value::String(a))
            if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) && !a.starts_with('0') =>
        {
            a.clone()
        }
        _ => return validation("amount", "amount must be a positive integer string for XOF"),
    };
    if req.get("currency") != Some(&json!("XOF")) {
        return validation("currency", "currency must be XOF");
    }
    for f in ["success_url", "error_url"] {
        if !req.get(f).is_some_and(|v| v.is_string()) {
            return validation(f, "field required");
        }
    }
    let now = Utc::now();
    let id = format!("cos-{}", base36(13));
    let mut s = Map::new();
    s.insert("id".into(), json!(id));
    s.insert("amount".into(), json!(amount));
    s.insert("currency".into(), json!("XOF"));
    s.insert("checkout_status".into(), json!("open"));
    s.insert("payment_status".into(), json!("processing"));
    s.insert(
        "client_reference".into(),
        req.get("client_reference").cloned().unwrap_or(Value::Null),
    );
    s.insert("business_name".into(), json!("WOLO Sénégal (fake)"));
    s.insert("success_url".into(), req["success_url"].clone());
    s.insert("error_url".into(), req["error_url"].clone());
    s.insert("last_payment_error".into(), Value::Null);
    s.insert(
        "wave_launch_url".into(),
        json!(format!("{}/c/{id}", fake.inner.url)),
    );
    s.insert("when_created".into(), json!(ts(now)));
    s.insert(
        "when_expires".into(),
        json!(ts(now + fake.inner.config.session_ttl)),
    );
    if let Some(m) = req.get("restrict_payer_mobile") {
        s.insert("restrict_payer_mobile".into(), m.clone());
    }
    let s = Value::Object(s);
    fake.inner
        .sessions
        .lock()
        .unwrap()
        .insert(id.clone(), s.clone());
    *fake.inner.creates.lock().unwrap() += 1;
    if lost {
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-server-error",
            "Simulated lost response",
        );
    }
    Json(s).into_response()
}

fn not_found() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "checkout-session-not-found",
        "Checkout session not found",
    )
}

async fn retrieve(
    State(fake): State<FakeWave>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_key(&fake, &headers).await {
        return r;
    }
    match fake.session(&id) {
        Some(s) => Json(s).into_response(),
        None => not_found(),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    client_reference: Option<String>,
    transaction_id: Option<String>,
}

async fn search(
    State(fake): State<FakeWave>,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_key(&fake, &headers).await {
        return r;
    }
    let Some(r) = q.client_reference else {
        return validation("client_reference", "field required");
    };
    Json(json!({"result": fake.sessions_for(&r)})).into_response()
}

async fn by_transaction(
    State(fake): State<FakeWave>,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_key(&fake, &headers).await {
        return r;
    }
    let Some(t) = q.transaction_id else {
        return validation("transaction_id", "field required");
    };
    let found = fake
        .inner
        .sessions
        .lock()
        .unwrap()
        .values()
        .find(|s| s["transaction_id"] == t)
        .cloned();
    match found {
        Some(s) => Json(s).into_response(),
        None => not_found(),
    }
}

async fn expire(
    State(fake): State<FakeWave>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_key(&fake, &headers).await {
        return r;
    }
    match fake.expire(&id) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(404) => not_found(),
        Err(_) => err(
            StatusCode::CONFLICT,
            "checkout-session-not-open",
            "The session is complete",
        ),
    }
}

async fn refund(
    State(fake): State<FakeWave>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_key(&fake, &headers).await {
        return r;
    }
    let next = {
        let mut f = fake.inner.failures.lock().unwrap();
        if f.refund.is_empty() {
            None
        } else {
            Some(f.refund.remove(0))
        }
    };
    if let Some(r) = apply_failure(next).await {
        return r;
    }
    let Some(s) = fake.session(&id) else {
        return not_found();
    };
    if s["payment_status"] != "succeeded" {
        return err(
            StatusCode::BAD_REQUEST,
            "checkout-refund-failed",
            "The payment did not succeed",
        );
    }
    *fake.inner.refunds.lock().unwrap().entry(id).or_insert(0) += 1;
    StatusCode::OK.into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn pay_page(State(fake): State<FakeWave>, Path(id): Path<String>) -> Response {
    let Some(s) = fake.session(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>Session introuvable</h1>".to_string()),
        )
            .into_response();
    };
    let id = escape(&id);
    let amount = escape(s["amount"].as_str().unwrap_or("?"));
    let status = escape(s["checkout_status"].as_str().unwrap_or("?"));
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Wave (simulation)</title></head>\
<body style=\"font-family: sans-serif; max-width: 28rem; margin: 2rem auto\">\
<h1>Wave — paiement simulé</h1>\
<p>Montant : <strong>{amount} FCFA</strong></p>\
<p>Session <code>{id}</code> — statut : {status}</p>\
<form method=\"post\" action=\"/c/{id}/pay\"><button type=\"submit\">Payer</button></form>\
<form method=\"post\" action=\"/c/{id}/fail\"><button type=\"submit\">Échec du paiement</button></form>\
<p><small>Serveur Wave factice : aucun argent ne circule.</small></p>\
</body></html>"
    ))
    .into_response()
}

async fn pay_button(State(fake): State<FakeWave>, Path(id): Path<String>) -> Response {
    let Some(d) = fake.complete(&id).await else {
        return not_found();
    };
    let to = d.event["data"]["success_url"]
        .as_str()
        .unwrap_or("/")
        .to_string();
    Redirect::to(&to).into_response()
}

async fn fail_button(State(fake): State<FakeWave>, Path(id): Path<String>) -> Response {
    let Some(d) = fake.fail(&id, "insufficient-funds").await else {
        return not_found();
    };
    let to = d.event["data"]["error_url"]
        .as_str()
        .unwrap_or("/")
        .to_string();
    Redirect::to(&to).into_response()
}

fn delivery_json(d: Delivery) -> Response {
    Json(json!({"event": d.event, "webhook_status": d.status})).into_response()
}

async fn fake_complete(State(fake): State<FakeWave>, Path(id): Path<String>) -> Response {
    match fake.complete(&id).await {
        Some(d) => delivery_json(d),
        None => not_found(),
    }
}

#[derive(Deserialize, Default)]
struct FailBody {
    code: Option<String>,
}

async fn fake_fail(State(fake): State<FakeWave>, Path(id): Path<String>, body: Bytes) -> Response {
    let b: FailBody = serde_json::from_slice(&body).unwrap_or_default();
    let code = b.code.unwrap_or_else(|| "insufficient-funds".to_string());
    match fake.fail(&id, &code).await {
        Some(d) => delivery_json(d),
        None => not_found(),
    }
}

async fn fake_expire(State(fake): State<FakeWave>, Path(id): Path<String>) -> Response {
    match fake.expire(&id) {
        Ok(()) => Json(fake.session(&id)).into_response(),
        Err(404) => not_found(),
        Err(_) => err(
            StatusCode::CONFLICT,
            "checkout-session-not-open",
            "The session is complete",
        ),
    }
}

#[derive(Deserialize)]
struct FailureBody {
    target: String,
    mode: String,
}

async fn fake_failures(State(fake): State<FakeWave>, Json(b): Json<FailureBody>) -> Response {
    let f = match b.mode.as_str() {
        "500" => Failure::Status500,
        "hang" => Failure::Hang,
        "lost" => Failure::LostResponse,
        _ => return validation("mode", "mode is \"500\", \"hang\" or \"lost\""),
    };
    match b.target.as_str() {
        "create" => fake.fail_next_create(f),
        "refund" => fake.fail_next_refund(f),
        _ => return validation("target", "target is \"create\" or \"refund\""),
    }
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_reference_vectors() {
        assert_eq!(
            sign("secret", 1_700_000_000, br#"{"a":1}"#),
            "f3a15680551495e7d27302c4d19e4cbedc650f19fa5b40373c00cbea52a64406"
        );
    }
}
