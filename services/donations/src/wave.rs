//! A small client of Wave's Checkout API (create, search, refund), with a timeout per call.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::DonationsConfig;

#[derive(Debug, Clone)]
pub enum WaveError {
    /// No answer within the timeout.
    Timeout,
    /// Not reachable (connection refused, DNS...).
    Unreachable(String),
    /// An HTTP error answer: status, Wave's code and message.
    Status(u16, String, String),
    /// A 2xx answer we could not read.
    BadResponse(String),
}

impl std::fmt::Display for WaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaveError::Timeout => write!(f, "timeout"),
            WaveError::Unreachable(e) => write!(f, "unreachable: {e}"),
            WaveError::Status(s, c, m) => write!(f, "http {s} {c}: {m}"),
            WaveError::BadResponse(e) => write!(f, "bad response: {e}"),
        }
    }
}

/// The parts of a checkout session the service uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub checkout_status: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub wave_launch_url: Option<String>,
    #[serde(default)]
    pub when_expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub client_reference: Option<String>,
}

#[derive(Clone)]
pub struct Wave {
    cfg: DonationsConfig,
    http: reqwest::Client,
}

fn map_err(e: reqwest::Error) -> WaveError {
    if e.is_timeout() {
        WaveError::Timeout
    } else {
        WaveError::Unreachable(e.to_string())
    }
}

async fn check(res: reqwest::Response) -> Result<reqwest::Response, WaveError> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    Err(WaveError::Status(
        status.as_u16(),
        body["code"].as_str().unwrap_or("").to_string(),
        body["message"].as_str().unwrap_or("").to_string(),
    ))
}

impl Wave {
    pub fn new(cfg: DonationsConfig) -> Wave {
        let http = reqwest::Client::builder()
            .timeout(cfg.wave_timeout)
            .build()
            .expect("reqwest client");
        Wave { cfg, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cfg.wave_api_url)
    }

    /// `POST /v1/checkout/sessions` for a donation (client_reference = its id).
    pub async fn create_session(
        &self,
        donation_id: uuid::Uuid,
        amount_cfa: i32,
    ) -> Result<Session, WaveError> {
        let links = &self.cfg.links;
        let body = json!({
            "amount": amount_cfa.to_string(),
            "currency": "XOF",
            "client_reference": donation_id.to_string(),
            "success_url": links.donation_thanks(donation_id),
            "error_url": links.donation_failed(donation_id),
        });
        let res = self
            .http
            .post(self.url("/v1/checkout/sessions"))
            .bearer_auth(self.cfg.wave_api_key.expose())
            .header("idempotency-key", donation_id.to_string())
            .json(&body)
            .send()
            .await
            .map_err(map_err)?;
        check(res).await?.json::<Session>().await.map_err(|e| {
            if e.is_timeout() {
                WaveError::Timeout
            } else {
                WaveError::BadResponse(e.to_string())
            }
        })
    }

    /// `GET /v1/checkout/sessions/search?client_reference=`.
    pub async fn search(&self, client_reference: &str) -> Result<Vec<Session>, WaveError> {
        #[derive(Deserialize)]
        struct R {
            result: Vec<Session>,
        }
        let res = self
            .http
            .get(self.url("/v1/checkout/sessions/search"))
            .query(&[("client_reference", client_reference)])
            .bearer_auth(self.cfg.wave_api_key.expose())
            .send()
            .await
            .map_err(map_err)?;
        Ok(check(res)
            .await?
            .json::<R>()
            .await
            .map_err(|e| WaveError::BadResponse(e.to_string()))?
            .result)
    }

    /// `POST /v1/checkout/sessions/{id}/refund` (full refund; repeatable at Wave).
    pub async fn refund(&self, session_id: &str) -> Result<(), WaveError> {
        let res = self
            .http
            .post(self.url(&format!("/v1/checkout/sessions/{session_id}/refund")))
            .bearer_auth(self.cfg.wave_api_key.expose())
            .send()
            .await
            .map_err(map_err)?;
        check(res).await.map(|_| ())
    }
}
