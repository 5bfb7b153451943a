//! A small client of PayDunya's API (`/work/shared/reference/paydunya-api.md`): checkout
//! invoices, the confirm call, the SOFTPAY operator flows (Orange Money with the payer's code,
//! Free Money approved on the handset) and payouts (PayDunya's only way to give money back).
//!
//! Every call sends the three keys as headers and has a timeout. A reply counts as a success
//! only with an HTTP 2xx and `response_code` `"00"` (SOFTPAY: `success: true`, which means
//! "accepted", never "paid": only a later confirm says `completed`).
//!
//! The parts that the reference marks UNCONFIRMED are each one setting or one function here:
//! the API's base URL (live or sandbox), the payout URL, and the Orange Money arm of
//! [`PayDunya::softpay`] (the code flow's endpoint and field names).

use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::PayDunyaConfig;

#[derive(Debug, Clone)]
pub enum PayDunyaError {
    /// No answer within the timeout.
    Timeout,
    /// Not reachable.
    Unreachable(String),
    /// PayDunya refused: HTTP status, `response_code` (or `success:false`), message.
    Refused(u16, String, String),
    /// A 2xx answer we could not read.
    BadResponse(String),
}

impl std::fmt::Display for PayDunyaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayDunyaError::Timeout => write!(f, "timeout"),
            PayDunyaError::Unreachable(e) => write!(f, "unreachable: {e}"),
            PayDunyaError::Refused(s, c, m) => write!(f, "http {s} {c}: {m}"),
            PayDunyaError::BadResponse(e) => write!(f, "bad response: {e}"),
        }
    }
}

/// A checkout invoice PayDunya created.
#[derive(Debug, Clone)]
pub struct Invoice {
    pub token: String,
    /// The hosted payment page (web donors).
    pub url: String,
}

/// How a phone donor pays through SOFTPAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Orange Money Sénégal: the payer first dials `#144#391#` for a code, and gives it.
    OrangeMoney,
    /// Free Money Sénégal: the payer approves on the handset (`#150#`).
    FreeMoney,
}

impl Operator {
    /// The value of `donations.payment_method`.
    pub fn method(self) -> &'static str {
        match self {
            Operator::OrangeMoney => "orange_money",
            Operator::FreeMoney => "free_money",
        }
    }

    pub fn from_method(m: &str) -> Option<Operator> {
        match m {
            "orange_money" => Some(Operator::OrangeMoney),
            "free_money" => Some(Operator::FreeMoney),
            _ => None,
        }
    }

    /// PayDunya's `withdraw_mode` for a payout to this operator's wallet.
    pub fn withdraw_mode(self) -> &'static str {
        match self {
            Operator::OrangeMoney => "orange-money-senegal",
            Operator::FreeMoney => "free-money-senegal",
        }
    }
}

/// A payout's state at PayDunya.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutStatus {
    Success,
    Failed,
    /// Submitted, not final: ask again later.
    Pending,
    /// Not submitted yet (a submit that never reached PayDunya): submit it (same token).
    Created,
}

impl PayDunyaError {
    /// Whether PayDunya may have done what was asked (no answer, or an unreadable one): the
    /// outcome is unknown, and only a later look tells.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            PayDunyaError::Timeout | PayDunyaError::BadResponse(_) => true,
            PayDunyaError::Unreachable(_) => false,
            PayDunyaError::Refused(status, _, _) => *status >= 500,
        }
    }
}

#[derive(Clone)]
pub struct PayDunya {
    cfg: PayDunyaConfig,
    http: reqwest::Client,
}

fn map_err(e: reqwest::Error) -> PayDunyaError {
    if e.is_timeout() {
        PayDunyaError::Timeout
    } else if e.is_decode() {
        PayDunyaError::BadResponse(e.to_string())
    } else {
        PayDunyaError::Unreachable(e.to_string())
    }
}

/// A 9-digit Senegalese number for PayDunya (no `+221`), from an E.164 one.
pub fn local_phone(e164: &str) -> Option<String> {
    let digits = e164.strip_prefix("+221")?;
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_string())
}

impl PayDunya {
    pub fn new(cfg: PayDunyaConfig) -> PayDunya {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .expect("reqwest client");
        PayDunya { cfg, http }
    }

    pub fn config(&self) -> &PayDunyaConfig {
        &self.cfg
    }

    fn request(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("PAYDUNYA-MASTER-KEY", self.cfg.master_key.expose())
            .header("PAYDUNYA-PRIVATE-KEY", self.cfg.private_key.expose())
            .header("PAYDUNYA-TOKEN", self.cfg.token.expose())
    }

    /// Sends, reads JSON; refuses a non-2xx answer or a `response_code` other than `00`.
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, PayDunyaError> {
        let res = req.send().await.map_err(map_err)?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|e| {
            if status.is_success() {
                map_err(e)
            } else {
                PayDunyaError::Refused(status.as_u16(), String::new(), e.to_string())
            }
        })?;
        let code = body["response_code"].as_str().unwrap_or_default();
        if !status.is_success() || code != "00" {
            return Err(PayDunyaError::Refused(
                status.as_u16(),
                code.to_string(),
                body["response_text"]
                    .as_str()
                    .or(body["message"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
        Ok(body)
    }

    /// `POST /checkout-invoice/create` for a donation: the amount, the donation's id in
    /// `custom_data`, the notification URL and the donor's way back.
    pub async fn create_invoice(
        &self,
        donation_id: Uuid,
        amount_cfa: i32,
        description: &str,
        links: &platform::links::Links,
    ) -> Result<Invoice, PayDunyaError> {
        let body = json!({
            "invoice": {"total_amount": amount_cfa, "description": description},
            "store": {"name": self.cfg.store_name},
            "custom_data": {"donation_id": donation_id.to_string()},
            "actions": {
                "callback_url": self.cfg.callback_url,
                "return_url": links.donation_thanks(donation_id),
                "cancel_url": links.donation_failed(donation_id),
            },
        });
        let res = self
            .call(
                self.request(
                    reqwest::Method::POST,
                    format!("{}/checkout-invoice/create", self.cfg.api_url),
                )
                .json(&body),
            )
            .await?;
        let token = res["token"].as_str().unwrap_or_default();
        let url = res["response_text"].as_str().unwrap_or_default();
        if token.is_empty() || token.len() > 100 || !url.starts_with("http") {
            return Err(PayDunyaError::BadResponse(
                "create: no token or no checkout URL".into(),
            ));
        }
        Ok(Invoice {
            token: token.to_string(),
            url: url.to_string(),
        })
    }

    /// `GET /checkout-invoice/confirm/{token}`: the invoice as PayDunya knows it (safe to
    /// repeat). The answer goes as it is to `donations.apply_paydunya_confirmation`.
    pub async fn confirm(&self, token: &str) -> Result<Value, PayDunyaError> {
        if token.is_empty()
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(PayDunyaError::BadResponse("malformed invoice token".into()));
        }
        self.call(self.request(
            reqwest::Method::GET,
            format!("{}/checkout-invoice/confirm/{token}", self.cfg.api_url),
        ))
        .await
    }

    /// Asks the payer's operator for the payment of invoice `token` (SOFTPAY). `Ok` means
    /// PayDunya accepted the request: the payment itself is confirmed later. Never retried
    /// blindly (a second call would prompt the payer again).
    pub async fn softpay(
        &self,
        operator: Operator,
        token: &str,
        phone_e164: &str,
        customer_name: &str,
        authorization_code: Option<&str>,
    ) -> Result<Value, PayDunyaError> {
        let phone = local_phone(phone_e164).ok_or_else(|| {
            PayDunyaError::Refused(422, String::new(), "not a Senegalese number".into())
        })?;
        // PayDunya wants an e-mail address; a phone donor has none.
        let email = format!("{phone}@donateurs.wolo.sn");
        let (endpoint, body) = match operator {
            Operator::OrangeMoney => (
                "orange-money-senegal",
                json!({
                    "customer_name": customer_name,
                    "customer_email": email,
                    "phone_number": phone,
                    "authorization_code": authorization_code.unwrap_or_default(),
                    "invoice_token": token,
                }),
            ),
            Operator::FreeMoney => (
                "free-money-senegal",
                json!({
                    "customer_name": customer_name,
                    "customer_email": email,
                    "phone_number": phone,
                    "payment_token": token,
                }),
            ),
        };
        let res = self
            .request(
                reqwest::Method::POST,
                format!("{}/softpay/{endpoint}", self.cfg.api_url),
            )
            .json(&body)
            .send()
            .await
            .map_err(map_err)?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() && body["success"] == json!(true) {
            Ok(body)
        } else {
            Err(PayDunyaError::Refused(
                status.as_u16(),
                "success:false".into(),
                body["message"].as_str().unwrap_or_default().to_string(),
            ))
        }
    }

    /// The first step of a payout of `amount_cfa` to `phone_e164`'s wallet
    /// (`get-invoice`): the disburse token, which moves no money. The caller stores it, then
    /// submits it ([`PayDunya::submit_payout`]); PayDunya pays once per token, so a submit
    /// whose answer was lost is followed with `check-status` and submitted again, never with
    /// a new token.
    pub async fn payout_token(
        &self,
        phone_e164: &str,
        amount_cfa: i32,
        operator: Operator,
    ) -> Result<String, PayDunyaError> {
        let phone = local_phone(phone_e164).ok_or_else(|| {
            PayDunyaError::Refused(422, String::new(), "not a Senegalese number".into())
        })?;
        let res = self
            .call(
                self.request(
                    reqwest::Method::POST,
                    format!("{}/disburse/get-invoice", self.cfg.payout_url),
                )
                .json(&json!({
                    "account_alias": phone,
                    "amount": amount_cfa,
                    "withdraw_mode": operator.withdraw_mode(),
                    "callback_url": self.cfg.callback_url,
                })),
            )
            .await?;
        res["disburse_token"]
            .as_str()
            .filter(|t| !t.is_empty() && t.len() <= 100)
            .map(str::to_string)
            .ok_or_else(|| PayDunyaError::BadResponse("no disburse_token".into()))
    }

    /// `submit-invoice` of a payout token (PayDunya pays once per token).
    pub async fn submit_payout(
        &self,
        token: &str,
        disburse_id: Uuid,
    ) -> Result<PayoutStatus, PayDunyaError> {
        let res = self
            .call(
                self.request(
                    reqwest::Method::POST,
                    format!("{}/disburse/submit-invoice", self.cfg.payout_url),
                )
                .json(&json!({"disburse_invoice": token, "disburse_id": disburse_id.to_string()})),
            )
            .await?;
        Ok(payout_status(&res))
    }

    /// `check-status` of a payout.
    pub async fn payout_status(&self, token: &str) -> Result<PayoutStatus, PayDunyaError> {
        let res = self
            .call(
                self.request(
                    reqwest::Method::POST,
                    format!("{}/disburse/check-status", self.cfg.payout_url),
                )
                .json(&json!({"disburse_invoice": token})),
            )
            .await?;
        Ok(payout_status(&res))
    }
}

fn payout_status(v: &Value) -> PayoutStatus {
    match v["status"].as_str().unwrap_or_default() {
        "success" => PayoutStatus::Success,
        "failed" => PayoutStatus::Failed,
        "created" => PayoutStatus::Created,
        _ => PayoutStatus::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_nine_digits_for_paydunya() {
        assert_eq!(local_phone("+221771234567").as_deref(), Some("771234567"));
        assert_eq!(local_phone("+33612345678"), None);
        assert_eq!(local_phone("+22177123456"), None);
    }
}
