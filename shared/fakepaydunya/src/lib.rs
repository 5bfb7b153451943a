//! A fake PayDunya API on loopback, for tests and `make run` (no PayDunya account needed).
//!
//! It implements what the donations service uses of PayDunya (`/work/shared/reference/paydunya-api.md`).
//! The v1 routes are served under both `/api/v1` (live host layout) and `/sandbox-api/v1`:
//!
//! | route | what |
//! |---|---|
//! | `POST /api/v1/checkout-invoice/create` | create an invoice (`invoice.total_amount` + `store.name` required; `custom_data` and `actions` at the root or in `invoice`) → `test_...` token and pay page URL |
//! | `GET /api/v1/checkout-invoice/confirm/{token}` | the invoice: `status` `pending` / `completed` / `cancelled` / `failed`, custom_data, customer, amount |
//! | `POST /api/v1/softpay/orange-money-senegal` | Orange Money with `authorization_code` (4 to 8 digits; `0000...` = bad code, 422) |
//! | `POST /api/v1/softpay/new-orange-money-senegal` | Orange Money QR / app: `url`, `other_url.om_url`, `other_url.maxit_url` (`api_type` `OTPCODE` or `CODE_OTP` + `authorization_code` = the code flow) |
//! | `POST /api/v1/softpay/free-money-senegal` | Free Money (`payment_token`): « tapez #150# », `data.status` `PENDING` |
//! | `POST /api/v1/softpay/expresso-senegal` | Expresso (`expresso_sn_*`, `payment_token`) |
//! | `POST /api/v1/softpay/wave-senegal` | Wave (`wave_senegal_*`) → `url` |
//! | `POST /api/v2/disburse/get-invoice` | payout preparation (`account_alias` 9 digits, `amount` ≥ 200, `withdraw_mode`, `callback_url`) → `disburse_token`; status `created` |
//! | `POST /api/v2/disburse/submit-invoice` | `created` → `pending` with a `transaction_id`; repeating it answers the same, never a second payout |
//! | `POST /api/v2/disburse/check-status` | the payout's `status` (`created`, `pending`, `success`, `failed`) |
//! | `GET /sandbox-checkout/invoice/{token}` | the pay page (French; also at `/checkout/invoice/{token}`) |
//! | `GET /sandbox-checkout/receipt/{token}` | the receipt of a completed invoice (`receipt_url`) |
//! | `POST /_fake/invoices/{token}/complete?method=orange_money_senegal` / `cancel` / `fail` | settle a pending invoice and send the IPN (`&redirect=1`: then redirect like the pay page) |
//! | `POST /_fake/invoices/{token}/ipn?forged=1&times=2` | send the invoice's IPN again as it stands (forged: wrong hash; times: how many) |
//! | `GET /_fake/invoices/{token}` | the invoice as confirm answers it |
//! | `GET /_fake/payouts`, `POST /_fake/payouts/settle` `{"status": "success"\|"failed"}` | payouts; settle every pending one |
//! | `POST /_fake/failures` | `{"target": "create"\|"confirm"\|"softpay"\|"disburse"\|"disburse-get-invoice", "mode": "500"\|"hang"\|"lost"}`: the next such call fails |
//!
//! Answers of the `/api` routes:
//!
//! | case | HTTP | body |
//! |---|---|---|
//! | success | 200 | `response_code` `"00"` (SOFTPAY: `success: true`) |
//! | `PAYDUNYA-MASTER-KEY` missing or wrong | 200 | `{"response_code": "1001", "response_text": "Invalid Masterkey Specified"}` |
//! | `PAYDUNYA-PRIVATE-KEY` missing or wrong | 200 | `1002` `Invalid Private Key Specified` (code invented) |
//! | `PAYDUNYA-TOKEN` missing or wrong | 200 | `1003` `Invalid Token Specified` (code invented) |
//! | invalid body (create, disburse) | 422 | `4000` + what is wrong (code invented) |
//! | unknown invoice or disburse token | 404 | `{"response_code": "4004", "response_text": "Invoice not found"}` (code invented) |
//! | SOFTPAY refusal (bad code, phone, field, unknown or settled invoice) | 422 | `{"success": false, "message": "..."}` |
//! | programmed failure ([`FakePayDunya::fail_next`]) | 500 | `response_code` `"500"` (SOFTPAY: `success: false`) |
//!
//! PayDunya answers refused keys with a structured error rather than an HTTP failure, so a client
//! must require HTTP 2xx **and** `response_code == "00"`. Header values are compared exactly (a
//! trailing space is a wrong key, as at PayDunya). SOFTPAY answers a refused key with HTTP 200,
//! `success: false` and the same `response_code`.
//!
//! IPNs are `application/x-www-form-urlencoded` with PHP-style keys (`data[status]`,
//! `data[invoice][token]`, `data[custom_data][k]`, ...) and `data[hash]` = lowercase hex
//! SHA-512 of the master key ([`ipn_hash`]). A SOFTPAY `success: true` is not a payment: the
//! invoice stays `pending` until a hook (or [`FakePayDunyaConfig::auto_approve`]) settles it.
//! Settled invoices stay settled: completing a cancelled invoice changes nothing (the hook still
//! sends the IPN as the invoice stands, which makes a duplicate IPN).
//!
//! A slow PayDunya: [`FakePayDunyaConfig::delay`] (or [`FakePayDunya::set_delay`]) holds every
//! answer of the `/api` routes that long. Payouts send no callback: poll `check-status`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
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
use chrono::{DateTime, Utc};
use rand::{distributions::Alphanumeric, Rng};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

/// The master key `wolo serve` gives the fake (and the donations service) in development.
pub const DEV_MASTER_KEY: &str = "paydunya_dev_master_key";
/// The private key `wolo serve` uses with the fake in development.
pub const DEV_PRIVATE_KEY: &str = "test_private_paydunya_dev";
/// The token `wolo serve` uses with the fake in development.
pub const DEV_TOKEN: &str = "paydunya_dev_token";
/// Where `wolo serve` starts the fake by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8098";

/// The phone a customer gets when an invoice is completed without a SOFTPAY call.
const DEFAULT_PHONE: &str = "770000000";
/// Payout minimum (XOF).
const MIN_PAYOUT: u64 = 200;
/// `withdraw_mode` values the payout API accepts.
const WITHDRAW_MODES: [&str; 5] = [
    "orange-money-senegal",
    "free-money-senegal",
    "expresso-senegal",
    "wave-senegal",
    "wizall-senegal",
];

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakePayDunyaConfig {
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The `PAYDUNYA-MASTER-KEY` callers must send (and whose SHA-512 signs IPNs).
    pub master_key: String,
    /// The `PAYDUNYA-PRIVATE-KEY` callers must send.
    pub private_key: String,
    /// The `PAYDUNYA-TOKEN` callers must send.
    pub token: String,
    /// Public base URL of the pay pages (default: the fake's own URL).
    pub public_url: Option<String>,
    /// How long every `/api` call waits before it answers (a slow PayDunya); zero by default.
    pub delay: Duration,
    /// After a successful SOFTPAY call the payer "approves on the handset" after this long:
    /// the invoice becomes completed and the IPN is sent. None (default) = only by hooks.
    pub auto_approve: Option<Duration>,
}

impl Default for FakePayDunyaConfig {
    fn default() -> Self {
        FakePayDunyaConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            master_key: DEV_MASTER_KEY.to_string(),
            private_key: DEV_PRIVATE_KEY.to_string(),
            token: DEV_TOKEN.to_string(),
            public_url: None,
            delay: Duration::ZERO,
            auto_approve: None,
        }
    }
}

/// Which call a programmed failure hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `checkout-invoice/create`.
    Create,
    /// `checkout-invoice/confirm/{token}`.
    Confirm,
    /// Any `softpay/...` endpoint.
    Softpay,
    /// `disburse/submit-invoice` (the call that moves money).
    Disburse,
    /// `disburse/get-invoice` (prepares a payout, moves nothing).
    DisburseGetInvoice,
}

/// A programmed failure of the next call of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Answer HTTP 500.
    Status500,
    /// Never answer (the caller's timeout fires).
    Hang,
    /// Do the work (create the invoice, accept the push, submit the payout), then answer 500:
    /// a response lost on the way.
    LostResponse,
}

#[derive(Debug, Clone, Default)]
struct Customer {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    payment_method: Option<String>,
}

#[derive(Debug, Clone)]
struct Invoice {
    token: String,
    total_amount: u64,
    description: String,
    items: Value,
    taxes: Value,
    store_name: String,
    custom_data: Map<String, Value>,
    callback_url: Option<String>,
    return_url: Option<String>,
    cancel_url: Option<String>,
    status: String,
    customer: Customer,
    expire_date: DateTime<Utc>,
    fail_reason: Option<String>,
}

#[derive(Debug, Clone)]
struct Payout {
    token: String,
    account_alias: String,
    amount: u64,
    withdraw_mode: String,
    callback_url: String,
    disburse_id: Option<String>,
    status: String,
    transaction_id: Option<String>,
    submit_calls: u32,
    created: DateTime<Utc>,
}

impl Payout {
    fn to_json(&self) -> Value {
        json!({
            "disburse_token": self.token,
            "account_alias": self.account_alias,
            "amount": self.amount,
            "withdraw_mode": self.withdraw_mode,
            "callback_url": self.callback_url,
            "disburse_id": self.disburse_id,
            "status": self.status,
            "transaction_id": self.transaction_id,
            "submit_calls": self.submit_calls,
            "created_at": php_ts(self.created),
        })
    }
}

#[derive(Default)]
struct St {
    invoices: HashMap<String, Invoice>,
    creates: u32,
    softpay_calls: Vec<Value>,
    confirms: HashMap<String, u32>,
    payouts: Vec<Payout>,
    failures: HashMap<Target, Vec<Failure>>,
    delay: Duration,
}

struct Inner {
    config: FakePayDunyaConfig,
    /// Public base URL of the pay pages.
    public: String,
    st: Mutex<St>,
    http: reqwest::Client,
}

/// A running fake: its base URL and handles to drive it.
#[derive(Clone)]
pub struct FakePayDunya {
    pub url: String,
    inner: Arc<Inner>,
}

/// Starts the fake on `config.addr` in the current runtime.
pub async fn spawn(config: FakePayDunyaConfig) -> anyhow::Result<FakePayDunya> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| url.clone())
        .trim_end_matches('/')
        .to_string();
    let inner = Arc::new(Inner {
        public,
        st: Mutex::new(St {
            delay: config.delay,
            ..St::default()
        }),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        config,
    });
    let fake = FakePayDunya {
        url,
        inner: inner.clone(),
    };
    let app = router(fake.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "fake PayDunya stopped");
        }
    });
    Ok(fake)
}

/// Lowercase hex SHA-512 of the master key: PayDunya's IPN hash (test vector in the reference §4).
pub fn ipn_hash(master_key: &str) -> String {
    hex::encode(Sha512::digest(master_key.as_bytes()))
}

/// PayDunya's date format (`2024-05-01 12:00:00`).
fn php_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn random_id(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn nine_digits(s: &str) -> bool {
    s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A positive whole amount: a JSON integer (or a float without fraction) or a string of digits.
fn positive_int(v: &Value) -> Option<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15)
                .map(|f| f as u64)
        }),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    n.filter(|a| *a > 0)
}

/// A non-empty text field (numbers are taken as their text).
fn field(req: &Map<String, Value>, k: &str) -> Option<String> {
    match req.get(k)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://")) && s.len() > "https://".len()
}

/// `url` with `token=<token>` added to its query (PayDunya appends the token to return and
/// cancel URLs).
fn with_token(url: &str, token: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    format!("{url}{sep}{q}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Invoice {
    fn receipt_url(&self, public: &str) -> Option<String> {
        (self.status == "completed")
            .then(|| format!("{public}/sandbox-checkout/receipt/{}", self.token))
    }

    fn confirm_json(&self, public: &str, hash: &str) -> Value {
        json!({
            "response_code": "00",
            "response_text": "Transaction Found",
            "hash": hash,
            "invoice": {
                "token": self.token,
                "total_amount": self.total_amount,
                "description": self.description,
                "items": self.items,
                "taxes": self.taxes,
                "expire_date": php_ts(self.expire_date),
            },
            "store": {"name": self.store_name},
            "custom_data": self.custom_data,
            "actions": {
                "callback_url": self.callback_url,
                "return_url": self.return_url,
                "cancel_url": self.cancel_url,
            },
            "mode": "test",
            "status": self.status,
            "fail_reason": self.fail_reason,
            "customer": {
                "name": self.customer.name,
                "phone": self.customer.phone,
                "email": self.customer.email,
                "payment_method": self.customer.payment_method,
            },
            "receipt_url": self.receipt_url(public),
        })
    }

    fn ipn_form(&self, public: &str, hash: &str) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: &str| f.push((format!("data[{k}]"), v.to_string()));
        push("response_code", "00");
        push("response_text", "Transaction Found");
        push("hash", hash);
        push("invoice][token", &self.token);
        push("invoice][total_amount", &self.total_amount.to_string());
        push("invoice][description", &self.description);
        push("invoice][expire_date", &php_ts(self.expire_date));
        for (k, v) in &self.custom_data {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            push(&format!("custom_data][{k}"), &v);
        }
        for (k, v) in [
            ("callback_url", &self.callback_url),
            ("return_url", &self.return_url),
            ("cancel_url", &self.cancel_url),
        ] {
            if let Some(v) = v {
                push(&format!("actions][{k}"), v);
            }
        }
        push("mode", "test");
        push("status", &self.status);
        if let Some(r) = &self.fail_reason {
            push("fail_reason", r);
        }
        let c = &self.customer;
        push("customer][name", c.name.as_deref().unwrap_or(""));
        push("customer][phone", c.phone.as_deref().unwrap_or(""));
        push("customer][email", c.email.as_deref().unwrap_or(""));
        push(
            "customer][payment_method",
            c.payment_method.as_deref().unwrap_or(""),
        );
        push(
            "receipt_url",
            self.receipt_url(public).as_deref().unwrap_or(""),
        );
        f
    }
}

impl FakePayDunya {
    fn st(&self) -> MutexGuard<'_, St> {
        self.inner.st.lock().unwrap()
    }

    fn hash(&self) -> String {
        ipn_hash(&self.inner.config.master_key)
    }

    fn pay_url(&self, token: &str) -> String {
        format!("{}/sandbox-checkout/invoice/{token}", self.inner.public)
    }

    pub fn config(&self) -> &FakePayDunyaConfig {
        &self.inner.config
    }

    /// Base URL a client uses for the v1 API: `{url}/api/v1` (the same routes are served under
    /// `/sandbox-api/v1` too; payouts are under `{url}/api/v2`).
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.url)
    }

    /// The stored invoice as confirm would answer it.
    pub fn invoice(&self, token: &str) -> Option<Value> {
        let hash = self.hash();
        self.st()
            .invoices
            .get(token)
            .map(|i| i.confirm_json(&self.inner.public, &hash))
    }

    /// Invoices created so far (create calls that stored one, lost responses included).
    pub fn invoices_created(&self) -> u32 {
        self.st().creates
    }

    /// Every SOFTPAY request body received (form bodies as strings), with `"endpoint"` added
    /// (e.g. `"free-money-senegal"`); refused and failed calls included.
    pub fn softpay_calls(&self) -> Vec<Value> {
        self.st().softpay_calls.clone()
    }

    /// Confirm calls for this token that passed the key check.
    pub fn confirm_calls(&self, token: &str) -> u32 {
        self.st().confirms.get(token).copied().unwrap_or(0)
    }

    /// Settles a pending invoice; returns whether it changed and its IPN form as it stands.
    fn settle(
        &self,
        token: &str,
        status: &str,
        method: Option<&str>,
    ) -> Option<(bool, Vec<(String, String)>)> {
        let hash = self.hash();
        let mut st = self.st();
        let inv = st.invoices.get_mut(token)?;
        let changed = inv.status == "pending";
        if changed {
            inv.status = status.to_string();
            match status {
                "completed" => {
                    let c = &mut inv.customer;
                    c.payment_method = method.map(str::to_string);
                    c.name.get_or_insert_with(|| "Client Fictif".to_string());
                    c.phone.get_or_insert_with(|| DEFAULT_PHONE.to_string());
                    c.email
                        .get_or_insert_with(|| "client.fictif@paydunya.test".to_string());
                }
                "failed" => {
                    inv.fail_reason = Some("Paiement refusé (simulation)".to_string());
                }
                _ => {}
            }
        }
        Some((changed, inv.ipn_form(&self.inner.public, &hash)))
    }

    /// Marks a pending invoice completed (`payment_method` e.g. `"orange_money_senegal"`; the
    /// customer keeps the phone of a SOFTPAY call, else gets a default one, 9 digits) and returns
    /// the IPN form fields, not sent. A settled invoice is left as it is (its form is returned).
    pub fn complete(&self, token: &str, payment_method: &str) -> Option<Vec<(String, String)>> {
        self.settle(token, "completed", Some(payment_method))
            .map(|(_, f)| f)
    }

    /// Marks a pending invoice cancelled and returns the IPN form fields, not sent.
    pub fn cancel(&self, token: &str) -> Option<Vec<(String, String)>> {
        self.settle(token, "cancelled", None).map(|(_, f)| f)
    }

    /// Marks a pending invoice failed (with a `fail_reason`) and returns the IPN form, not sent.
    pub fn fail(&self, token: &str) -> Option<Vec<(String, String)>> {
        self.settle(token, "failed", None).map(|(_, f)| f)
    }

    /// The IPN form of the invoice as it stands now (any status), hash = sha512(master key).
    pub fn ipn_form(&self, token: &str) -> Option<Vec<(String, String)>> {
        let hash = self.hash();
        self.st()
            .invoices
            .get(token)
            .map(|i| i.ipn_form(&self.inner.public, &hash))
    }

    /// POSTs form fields (`application/x-www-form-urlencoded`) to the invoice's
    /// `actions.callback_url`; returns the HTTP status answered (None if the invoice is unknown,
    /// has no callback URL, or the URL is unreachable).
    pub async fn send_ipn(&self, token: &str, form: &[(String, String)]) -> Option<u16> {
        let url = self.st().invoices.get(token)?.callback_url.clone()?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (k, v)))
            .finish();
        match self
            .inner
            .http
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
        {
            Ok(r) => Some(r.status().as_u16()),
            Err(e) => {
                tracing::warn!(error = %e, url, "fake PayDunya: IPN delivery failed");
                None
            }
        }
    }

    /// The same form with `data[hash]` replaced by a wrong value (a forged IPN).
    pub fn forge(form: &[(String, String)]) -> Vec<(String, String)> {
        let wrong = ipn_hash("not-the-master-key");
        let mut out = form.to_vec();
        match out.iter_mut().find(|(k, _)| k == "data[hash]") {
            Some((_, v)) => *v = wrong,
            None => out.push(("data[hash]".to_string(), wrong)),
        }
        out
    }

    /// From now on every `/api` call answers after `d` (zero: at once).
    pub fn set_delay(&self, d: Duration) {
        self.st().delay = d;
    }

    /// The next call of this kind fails this way (failures queue up).
    pub fn fail_next(&self, target: Target, f: Failure) {
        self.st().failures.entry(target).or_default().push(f);
    }

    /// Payouts (disburse invoices) in creation order, with their status, `transaction_id` and
    /// `submit_calls`.
    pub fn payouts(&self) -> Vec<Value> {
        self.st().payouts.iter().map(Payout::to_json).collect()
    }

    /// Every pending payout becomes `status` (`"success"` or `"failed"`).
    pub fn settle_payouts(&self, status: &str) {
        for p in self.st().payouts.iter_mut() {
            if p.status == "pending" {
                p.status = status.to_string();
            }
        }
    }

    fn take_failure(&self, target: Target) -> Option<Failure> {
        let mut st = self.st();
        let q = st.failures.get_mut(&target)?;
        (!q.is_empty()).then(|| q.remove(0))
    }

    async fn wait_delay(&self) {
        let delay = self.st().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// The three headers; `Err((response_code, response_text))` when one is missing or wrong.
    fn check_keys(&self, headers: &HeaderMap) -> Result<(), (&'static str, &'static str)> {
        let c = &self.inner.config;
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        if h("paydunya-master-key") != Some(c.master_key.as_str()) {
            return Err(("1001", "Invalid Masterkey Specified"));
        }
        if h("paydunya-private-key") != Some(c.private_key.as_str()) {
            return Err(("1002", "Invalid Private Key Specified"));
        }
        if h("paydunya-token") != Some(c.token.as_str()) {
            return Err(("1003", "Invalid Token Specified"));
        }
        Ok(())
    }

    /// The configured delay, then the key check.
    async fn gate(&self, headers: &HeaderMap) -> Result<(), Response> {
        self.wait_delay().await;
        self.check_keys(headers)
            .map_err(|(code, text)| api_err(StatusCode::OK, code, text))
    }

    /// After `after`, the payer approves: a still pending invoice is completed and its IPN sent.
    fn schedule_approval(&self, token: String, method: &'static str, after: Duration) {
        let fake = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some((true, form)) = fake.settle(&token, "completed", Some(method)) {
                fake.send_ipn(&token, &form).await;
            }
        });
    }
}

// ---------------------------------------------------------------- HTTP

fn v1_routes() -> Router<FakePayDunya> {
    let mut r = Router::new()
        .route("/checkout-invoice/create", post(create))
        .route("/checkout-invoice/confirm/{token}", get(confirm));
    for m in &METHODS {
        r = r.route(
            &format!("/softpay/{}", m.endpoint),
            post(
                move |State(fake): State<FakePayDunya>, headers: HeaderMap, body: Bytes| {
                    softpay(fake, headers, body, m)
                },
            ),
        );
    }
    r
}

fn router(fake: FakePayDunya) -> Router {
    Router::new()
        .nest("/api/v1", v1_routes())
        .nest("/sandbox-api/v1", v1_routes())
        .route("/api/v2/disburse/get-invoice", post(disburse_get_invoice))
        .route("/api/v2/disburse/submit-invoice", post(disburse_submit))
        .route("/api/v2/disburse/check-status", post(disburse_check))
        .route("/sandbox-checkout/invoice/{token}", get(pay_page))
        .route("/checkout/invoice/{token}", get(pay_page))
        .route("/sandbox-checkout/receipt/{token}", get(receipt_page))
        .route("/_fake/invoices/{token}", get(fake_invoice))
        .route("/_fake/invoices/{token}/complete", post(fake_complete))
        .route("/_fake/invoices/{token}/cancel", post(fake_cancel))
        .route("/_fake/invoices/{token}/fail", post(fake_fail))
        .route("/_fake/invoices/{token}/ipn", post(fake_ipn))
        .route("/_fake/payouts", get(fake_payouts))
        .route("/_fake/payouts/settle", post(fake_settle_payouts))
        .route("/_fake/failures", post(fake_failures))
        .with_state(fake)
}

fn api_err(status: StatusCode, code: &str, text: &str) -> Response {
    (
        status,
        Json(json!({"response_code": code, "response_text": text})),
    )
        .into_response()
}

fn invalid(text: &str) -> Response {
    api_err(StatusCode::UNPROCESSABLE_ENTITY, "4000", text)
}

fn not_found(text: &str) -> Response {
    api_err(StatusCode::NOT_FOUND, "4004", text)
}

fn sp_err(message: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"success": false, "message": message})),
    )
        .into_response()
}

/// The answer of a programmed failure (None: no failure, or a lost response to send after the
/// work is done).
async fn failure_response(f: Option<Failure>, softpay: bool) -> Option<Response> {
    match f? {
        Failure::LostResponse => None,
        Failure::Status500 => Some(simulated_500(softpay, "Simulated failure")),
        Failure::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Some(simulated_500(softpay, "Simulated failure"))
        }
    }
}

fn simulated_500(softpay: bool, text: &str) -> Response {
    let body = if softpay {
        json!({"success": false, "message": text})
    } else {
        json!({"response_code": "500", "response_text": text})
    };
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// A body of flat fields: a JSON object, or a form (`application/x-www-form-urlencoded`).
fn parse_flat(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("x-www-form-urlencoded"));
    if !is_form {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) {
            return Some(m);
        }
    }
    if is_form || body.contains(&b'=') {
        let m: Map<String, Value> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return (!m.is_empty()).then_some(m);
    }
    None
}

/// An object field (absent, null or an empty PHP array = empty).
fn object_field(v: Option<&Value>, name: &str) -> Result<Map<String, Value>, Response> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(Value::Array(a)) if a.is_empty() => Ok(Map::new()),
        Some(_) => Err(invalid(&format!("{name} must be an object"))),
    }
}

async fn create(State(fake): State<FakePayDunya>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let next = fake.take_failure(Target::Create);
    if let Some(r) = failure_response(next, false).await {
        return r;
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("The body must be a JSON object");
    };
    let Some(inv) = req.get("invoice").and_then(Value::as_object) else {
        return invalid("invoice.total_amount is required");
    };
    let Some(total_amount) = inv.get("total_amount").and_then(positive_int) else {
        return invalid("invoice.total_amount must be a positive integer");
    };
    let Some(store_name) = req
        .get("store")
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return invalid("store.name is required");
    };
    let description = match inv.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return invalid("invoice.description must be a string"),
    };
    // custom_data and actions belong at the root; one doc sample nests them in invoice.
    let custom_data = match object_field(
        req.get("custom_data").or_else(|| inv.get("custom_data")),
        "custom_data",
    ) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let actions = match object_field(req.get("actions").or_else(|| inv.get("actions")), "actions") {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut urls = [None, None, None];
    for (i, k) in ["callback_url", "return_url", "cancel_url"]
        .into_iter()
        .enumerate()
    {
        match actions.get(k) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if is_http_url(s) => urls[i] = Some(s.clone()),
            Some(_) => return invalid(&format!("actions.{k} must be an http(s) URL")),
        }
    }
    let [callback_url, return_url, cancel_url] = urls;
    let token = format!("test_{}", random_id(10));
    let invoice = Invoice {
        token: token.clone(),
        total_amount,
        description,
        items: inv.get("items").cloned().unwrap_or_else(|| json!({})),
        taxes: inv.get("taxes").cloned().unwrap_or_else(|| json!({})),
        store_name: store_name.to_string(),
        custom_data,
        callback_url,
        return_url,
        cancel_url,
        status: "pending".to_string(),
        customer: Customer::default(),
        expire_date: Utc::now() + chrono::Duration::days(1),
        fail_reason: None,
    };
    {
        let mut st = fake.st();
        st.invoices.insert(token.clone(), invoice);
        st.creates += 1;
    }
    if next == Some(Failure::LostResponse) {
        return simulated_500(false, "Simulated lost response");
    }
    Json(json!({
        "response_code": "00",
        "response_text": fake.pay_url(&token),
        "description": "Checkout Invoice Created",
        "token": token,
    }))
    .into_response()
}

async fn confirm(
    State(fake): State<FakePayDunya>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    *fake.st().confirms.entry(token.clone()).or_insert(0) += 1;
    let next = fake.take_failure(Target::Confirm);
    if let Some(r) = failure_response(next, false).await {
        return r;
    }
    match fake.invoice(&token) {
        Some(_) if next == Some(Failure::LostResponse) => {
            simulated_500(false, "Simulated lost response")
        }
        Some(v) => Json(v).into_response(),
        None => not_found("Invoice not found"),
    }
}

// ---------------------------------------------------------------- SOFTPAY

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Orange Money with an authorization code (`#144#391#`).
    OmCode,
    /// Orange Money QR code / app links (or the code when `api_type` asks for it).
    OmQr,
    Free,
    Expresso,
    Wave,
}

/// One SOFTPAY endpoint: its path, the `payment_method` it completes with and its field names.
struct Method {
    endpoint: &'static str,
    slug: &'static str,
    name: &'static str,
    email: &'static str,
    phone: &'static str,
    token: &'static str,
    flow: Flow,
}

static METHODS: [Method; 5] = [
    Method {
        endpoint: "orange-money-senegal",
        slug: "orange_money_senegal",
        name: "customer_name",
        email: "customer_email",
        phone: "phone_number",
        token: "invoice_token",
        flow: Flow::OmCode,
    },
    Method {
        endpoint: "new-orange-money-senegal",
        slug: "orange_money_senegal",
        name: "customer_name",
        email: "customer_email",
        phone: "phone_number",
        token: "invoice_token",
        flow: Flow::OmQr,
    },
    Method {
        endpoint: "free-money-senegal",
        slug: "free_money_senegal",
        name: "customer_name",
        email: "customer_email",
        phone: "phone_number",
        token: "payment_token",
        flow: Flow::Free,
    },
    Method {
        endpoint: "expresso-senegal",
        slug: "expresso_senegal",
        name: "expresso_sn_fullName",
        email: "expresso_sn_email",
        phone: "expresso_sn_phone",
        token: "payment_token",
        flow: Flow::Expresso,
    },
    Method {
        endpoint: "wave-senegal",
        slug: "wave_senegal",
        name: "wave_senegal_fullName",
        email: "wave_senegal_email",
        phone: "wave_senegal_phone",
        token: "wave_senegal_payment_token",
        flow: Flow::Wave,
    },
];

/// A valid Orange Money authorization code: 4 to 8 digits, not starting with `0000`.
fn valid_code(code: &str) -> bool {
    (4..=8).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && !code.starts_with("0000")
}

async fn softpay(
    fake: FakePayDunya,
    headers: HeaderMap,
    body: Bytes,
    m: &'static Method,
) -> Response {
    fake.wait_delay().await;
    let req = parse_flat(&headers, &body);
    let mut record = req.clone().unwrap_or_else(|| {
        let mut r = Map::new();
        r.insert(
            "raw".into(),
            json!(String::from_utf8_lossy(&body).into_owned()),
        );
        r
    });
    record.insert("endpoint".into(), json!(m.endpoint));
    fake.st().softpay_calls.push(Value::Object(record));
    if let Err((code, text)) = fake.check_keys(&headers) {
        return Json(json!({
            "success": false,
            "message": text,
            "response_code": code,
            "response_text": text,
        }))
        .into_response();
    }
    let next = fake.take_failure(Target::Softpay);
    if let Some(r) = failure_response(next, true).await {
        return r;
    }
    let Some(req) = req else {
        return sp_err("Données invalides : un objet JSON ou un formulaire est attendu");
    };
    let required = |k: &str| field(&req, k).ok_or_else(|| format!("Le champ {k} est obligatoire"));
    let (name, email, phone, token) = match (
        required(m.name),
        required(m.email),
        required(m.phone),
        required(m.token),
    ) {
        (Ok(n), Ok(e), Ok(p), Ok(t)) => (n, e, p, t),
        (n, e, p, t) => {
            let msg = [n.err(), e.err(), p.err(), t.err()]
                .into_iter()
                .flatten()
                .next()
                .unwrap_or_default();
            return sp_err(&msg);
        }
    };
    if !email.contains('@') {
        return sp_err(&format!(
            "Le champ {} doit être une adresse e-mail",
            m.email
        ));
    }
    if !nine_digits(&phone) {
        return sp_err("Le numéro de téléphone doit comporter 9 chiffres, sans l'indicatif 221");
    }
    let api_type = field(&req, "api_type").unwrap_or_default();
    let code_flow = m.flow == Flow::OmCode
        || (m.flow == Flow::OmQr && matches!(api_type.as_str(), "OTPCODE" | "CODE_OTP"));
    if code_flow {
        let code = field(&req, "authorization_code").unwrap_or_default();
        if !valid_code(&code) {
            return sp_err("Invalid or expired OTP code!");
        }
    }
    let amount = {
        let mut st = fake.st();
        let Some(inv) = st.invoices.get_mut(&token) else {
            return sp_err("Facture introuvable");
        };
        if inv.status != "pending" {
            return sp_err("Cette facture n'est plus en attente de paiement");
        }
        inv.customer.name = Some(name);
        inv.customer.email = Some(email);
        inv.customer.phone = Some(phone.clone());
        inv.total_amount
    };
    if let Some(after) = fake.inner.config.auto_approve {
        fake.schedule_approval(token.clone(), m.slug, after);
    }
    if next == Some(Failure::LostResponse) {
        return simulated_500(true, "Simulated lost response");
    }
    // Arbitrary fees (1 %, rounded up): the fake only shows where they are.
    let fees = amount.div_ceil(100);
    let pay = fake.pay_url(&token);
    let code_answer = || {
        json!({
            "success": true,
            "message": "Paiement Orange Money en cours de validation (simulation).",
            "fees": fees,
            "currency": "XOF",
        })
    };
    let body = match m.flow {
        Flow::OmCode => code_answer(),
        Flow::OmQr if code_flow => code_answer(),
        Flow::OmQr => json!({
            "success": true,
            "message": "Scannez le QR code ou ouvrez Orange Money / Max it pour valider le paiement (simulation).",
            "url": format!("{pay}?via=qr"),
            "other_url": {
                "om_url": format!("{pay}?via=om"),
                "maxit_url": format!("{pay}?via=maxit"),
            },
            "fees": fees,
            "currency": "XOF",
        }),
        Flow::Free => json!({
            "success": true,
            "message": "Veuillez taper #150# sur votre téléphone Free Money pour valider le paiement (simulation).",
            "fees": fees,
            "currency": "XOF",
            "data": {"status": "PENDING", "phone_number": phone, "amount": amount},
        }),
        Flow::Expresso => json!({
            "success": true,
            "message": "Un SMS vous a été envoyé pour valider le paiement Expresso (simulation).",
            "fees": fees,
            "currency": "XOF",
        }),
        Flow::Wave => json!({
            "success": true,
            "message": "Ouvrez le lien pour payer avec Wave (simulation).",
            "url": format!("{pay}?via=wave"),
            "fees": fees,
            "currency": "XOF",
        }),
    };
    Json(body).into_response()
}

// ---------------------------------------------------------------- payouts (v2)

async fn disburse_get_invoice(
    State(fake): State<FakePayDunya>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let next = fake.take_failure(Target::DisburseGetInvoice);
    if let Some(r) = failure_response(next, false).await {
        return r;
    }
    let Some(req) = parse_flat(&headers, &body) else {
        return invalid("The body must be a JSON object");
    };
    let Some(alias) = field(&req, "account_alias").filter(|a| nine_digits(a)) else {
        return invalid("account_alias must be 9 digits, without 221");
    };
    let Some(amount) = req.get("amount").and_then(positive_int) else {
        return invalid("amount must be a positive integer");
    };
    if amount < MIN_PAYOUT {
        return invalid(&format!("amount must be at least {MIN_PAYOUT} XOF"));
    }
    let Some(mode) = field(&req, "withdraw_mode").filter(|m| WITHDRAW_MODES.contains(&m.as_str()))
    else {
        return invalid("withdraw_mode is unknown");
    };
    let Some(callback_url) = field(&req, "callback_url").filter(|u| is_http_url(u)) else {
        return invalid("callback_url must be a valid URL");
    };
    let token = random_id(20);
    fake.st().payouts.push(Payout {
        token: token.clone(),
        account_alias: alias,
        amount,
        withdraw_mode: mode,
        callback_url,
        disburse_id: field(&req, "disburse_id"),
        status: "created".to_string(),
        transaction_id: None,
        submit_calls: 0,
        created: Utc::now(),
    });
    if next == Some(Failure::LostResponse) {
        return simulated_500(false, "Simulated lost response");
    }
    Json(json!({
        "response_code": "00",
        "response_text": "Disburse invoice created",
        "disburse_token": token,
    }))
    .into_response()
}

fn payout_answer(p: &Payout, text: &str) -> Value {
    json!({
        "response_code": "00",
        "response_text": text,
        "description": text,
        "disburse_invoice": p.token,
        "status": p.status,
        "transaction_id": p.transaction_id,
        "amount": p.amount,
        "account_alias": p.account_alias,
        "withdraw_mode": p.withdraw_mode,
        "disburse_id": p.disburse_id,
    })
}

async fn disburse_submit(
    State(fake): State<FakePayDunya>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let next = fake.take_failure(Target::Disburse);
    if let Some(r) = failure_response(next, false).await {
        return r;
    }
    let Some(req) = parse_flat(&headers, &body) else {
        return invalid("The body must be a JSON object");
    };
    let Some(token) = field(&req, "disburse_invoice") else {
        return invalid("disburse_invoice is required");
    };
    let answer = {
        let mut st = fake.st();
        let Some(p) = st.payouts.iter_mut().find(|p| p.token == token) else {
            return not_found("Disburse invoice not found");
        };
        p.submit_calls += 1;
        if p.status == "created" {
            p.status = "pending".to_string();
            p.transaction_id = Some(format!("TXN{}", random_id(12).to_uppercase()));
            if let Some(id) = field(&req, "disburse_id") {
                p.disburse_id = Some(id);
            }
        }
        payout_answer(p, "Disburse invoice submitted")
    };
    if next == Some(Failure::LostResponse) {
        return simulated_500(false, "Simulated lost response");
    }
    Json(answer).into_response()
}

async fn disburse_check(
    State(fake): State<FakePayDunya>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = fake.gate(&headers).await {
        return r;
    }
    let Some(req) = parse_flat(&headers, &body) else {
        return invalid("The body must be a JSON object");
    };
    let Some(token) = field(&req, "disburse_invoice") else {
        return invalid("disburse_invoice is required");
    };
    let st = fake.st();
    match st.payouts.iter().find(|p| p.token == token) {
        Some(p) => Json(payout_answer(p, "Disburse invoice found")).into_response(),
        None => not_found("Disburse invoice not found"),
    }
}

// ---------------------------------------------------------------- pages

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title></head>\
<body style=\"font-family: sans-serif; max-width: 28rem; margin: 2rem auto\">{body}\
<p><small>Serveur PayDunya factice : aucun argent ne circule.</small></p></body></html>"
    )
}

fn page_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page("Facture introuvable", "<h1>Facture introuvable</h1>")),
    )
        .into_response()
}

fn status_fr(s: &str) -> &'static str {
    match s {
        "pending" => "en attente",
        "completed" => "payée",
        "cancelled" => "annulée",
        "failed" => "échouée",
        _ => "inconnu",
    }
}

async fn pay_page(State(fake): State<FakePayDunya>, Path(token): Path<String>) -> Response {
    let Some(inv) = fake.st().invoices.get(&token).cloned() else {
        return page_not_found();
    };
    let t = escape(&token);
    let mut body = format!(
        "<h1>PayDunya — paiement simulé</h1>\
<p>{store}</p>\
<p>{description}</p>\
<p>Montant : <strong>{amount} FCFA</strong></p>\
<p>Facture <code>{t}</code> — statut : {status}</p>",
        store = escape(&inv.store_name),
        description = escape(&inv.description),
        amount = inv.total_amount,
        status = status_fr(&inv.status),
    );
    if inv.status == "pending" {
        for (method, label) in [
            ("orange_money_senegal", "Payer avec Orange Money"),
            ("free_money_senegal", "Payer avec Free Money"),
            ("wave_senegal", "Payer avec Wave"),
            ("card", "Payer par carte"),
        ] {
            body.push_str(&format!(
                "<form method=\"post\" action=\"/_fake/invoices/{t}/complete?method={method}&amp;redirect=1\">\
<button type=\"submit\">{label}</button></form>"
            ));
        }
        body.push_str(&format!(
            "<form method=\"post\" action=\"/_fake/invoices/{t}/fail?redirect=1\">\
<button type=\"submit\">Simuler un échec</button></form>\
<form method=\"post\" action=\"/_fake/invoices/{t}/cancel?redirect=1\">\
<button type=\"submit\">Annuler</button></form>"
        ));
    }
    Html(page("PayDunya (simulation)", &body)).into_response()
}

async fn receipt_page(State(fake): State<FakePayDunya>, Path(token): Path<String>) -> Response {
    let Some(inv) = fake
        .st()
        .invoices
        .get(&token)
        .filter(|i| i.status == "completed")
        .cloned()
    else {
        return page_not_found();
    };
    Html(page(
        "Reçu PayDunya (simulation)",
        &format!(
            "<h1>Reçu de paiement</h1><p>Facture <code>{}</code></p>\
<p>Montant : <strong>{} FCFA</strong></p><p>Moyen : {}</p>",
            escape(&inv.token),
            inv.total_amount,
            escape(inv.customer.payment_method.as_deref().unwrap_or("")),
        ),
    ))
    .into_response()
}

// ---------------------------------------------------------------- test hooks

#[derive(Deserialize, Default)]
struct HookQuery {
    method: Option<String>,
    redirect: Option<String>,
}

/// Settles the invoice, sends the IPN, then answers JSON or (from the pay page) redirects.
async fn outcome(
    fake: FakePayDunya,
    token: String,
    status: &str,
    method: Option<&str>,
    redirect: bool,
) -> Response {
    let Some((_, form)) = fake.settle(&token, status, method) else {
        return if redirect {
            page_not_found()
        } else {
            not_found("Invoice not found")
        };
    };
    let ipn_status = fake.send_ipn(&token, &form).await;
    let Some(inv) = fake.st().invoices.get(&token).cloned() else {
        return not_found("Invoice not found");
    };
    if !redirect {
        return Json(json!({
            "invoice": fake.invoice(&token),
            "ipn_status": ipn_status,
        }))
        .into_response();
    }
    let to = match inv.status.as_str() {
        "completed" => inv.return_url.as_deref(),
        _ => inv.cancel_url.as_deref(),
    };
    match to {
        Some(u) => Redirect::to(&with_token(u, &token)).into_response(),
        None => {
            let title = match inv.status.as_str() {
                "completed" => "Paiement effectué",
                "cancelled" => "Paiement annulé",
                "failed" => "Paiement échoué",
                _ => "Paiement en attente",
            };
            Html(page(title, &format!("<h1>{title}</h1>"))).into_response()
        }
    }
}

async fn fake_complete(
    State(fake): State<FakePayDunya>,
    Path(token): Path<String>,
    Query(q): Query<HookQuery>,
) -> Response {
    let method = q
        .method
        .unwrap_or_else(|| "orange_money_senegal".to_string());
    let redirect = q.redirect.is_some_and(|r| r == "1");
    outcome(fake, token, "completed", Some(&method), redirect).await
}

async fn fake_cancel(
    State(fake): State<FakePayDunya>,
    Path(token): Path<String>,
    Query(q): Query<HookQuery>,
) -> Response {
    let redirect = q.redirect.is_some_and(|r| r == "1");
    outcome(fake, token, "cancelled", None, redirect).await
}

async fn fake_fail(
    State(fake): State<FakePayDunya>,
    Path(token): Path<String>,
    Query(q): Query<HookQuery>,
) -> Response {
    let redirect = q.redirect.is_some_and(|r| r == "1");
    outcome(fake, token, "failed", None, redirect).await
}

#[derive(Deserialize, Default)]
struct IpnQuery {
    forged: Option<String>,
    times: Option<u32>,
}

async fn fake_ipn(
    State(fake): State<FakePayDunya>,
    Path(token): Path<String>,
    Query(q): Query<IpnQuery>,
) -> Response {
    let Some(mut form) = fake.ipn_form(&token) else {
        return not_found("Invoice not found");
    };
    if q.forged.is_some_and(|f| f == "1" || f == "true") {
        form = FakePayDunya::forge(&form);
    }
    let mut statuses = Vec::new();
    for _ in 0..q.times.unwrap_or(1).clamp(1, 10) {
        statuses.push(fake.send_ipn(&token, &form).await);
    }
    Json(json!({"ipn_status": statuses})).into_response()
}

async fn fake_invoice(State(fake): State<FakePayDunya>, Path(token): Path<String>) -> Response {
    match fake.invoice(&token) {
        Some(v) => Json(v).into_response(),
        None => not_found("Invoice not found"),
    }
}

async fn fake_payouts(State(fake): State<FakePayDunya>) -> Response {
    Json(fake.payouts()).into_response()
}

#[derive(Deserialize)]
struct SettleBody {
    status: String,
}

async fn fake_settle_payouts(
    State(fake): State<FakePayDunya>,
    Json(b): Json<SettleBody>,
) -> Response {
    if !matches!(b.status.as_str(), "success" | "failed") {
        return invalid("status is \"success\" or \"failed\"");
    }
    fake.settle_payouts(&b.status);
    Json(fake.payouts()).into_response()
}

#[derive(Deserialize)]
struct FailureBody {
    target: String,
    mode: String,
}

async fn fake_failures(State(fake): State<FakePayDunya>, Json(b): Json<FailureBody>) -> Response {
    let f = match b.mode.as_str() {
        "500" => Failure::Status500,
        "hang" => Failure::Hang,
        "lost" => Failure::LostResponse,
        _ => return invalid("mode is \"500\", \"hang\" or \"lost\""),
    };
    let t = match b.target.as_str() {
        "create" => Target::Create,
        "confirm" => Target::Confirm,
        "softpay" => Target::Softpay,
        "disburse" => Target::Disburse,
        "disburse-get-invoice" => Target::DisburseGetInvoice,
        _ => {
            return invalid(
                "target is \"create\", \"confirm\", \"softpay\", \"disburse\" or \"disburse-get-invoice\"",
            )
        }
    };
    fake.fail_next(t, f);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_the_reference_vector() {
        assert_eq!(
            ipn_hash("wQzk9ZwR-Qq9m-0hD0-zpud-je5coGC3FHKW"),
            "e3662754c63cb8f248468591fab6b52e0553f7b1c07358e8b584cdd537bbd8d78f2bf368892297fb818153adb3384e0a01d22e5c4b83a35a44aba9872461a700"
        );
    }

    #[test]
    fn amounts_and_codes() {
        assert_eq!(positive_int(&json!(5000)), Some(5000));
        assert_eq!(positive_int(&json!("5000")), Some(5000));
        assert_eq!(positive_int(&json!(5000.0)), Some(5000));
        assert_eq!(positive_int(&json!(0)), None);
        assert_eq!(positive_int(&json!(-5)), None);
        assert_eq!(positive_int(&json!(12.5)), None);
        assert_eq!(positive_int(&json!("12a")), None);
        assert!(valid_code("1234") && valid_code("12345678") && valid_code("000123"));
        assert!(!valid_code("123") && !valid_code("123456789") && !valid_code("000000"));
        assert!(!valid_code("00001") && !valid_code("12a4"));
        assert_eq!(with_token("http://x/r", "t_1"), "http://x/r?token=t_1");
        assert_eq!(with_token("http://x/r?a=1", "t"), "http://x/r?a=1&token=t");
    }

    #[test]
    fn forge_replaces_the_hash() {
        let form = vec![
            ("data[hash]".to_string(), ipn_hash("k")),
            ("data[status]".to_string(), "completed".to_string()),
        ];
        let forged = FakePayDunya::forge(&form);
        assert_eq!(forged.len(), 2);
        assert_ne!(forged[0].1, form[0].1);
        assert_eq!(forged[1], form[1]);
    }
}
