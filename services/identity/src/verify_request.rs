//! The body of `POST /verify`, shared by the flows `crate::verify` hands it to (SMS
//! sign-in, sign-up confirmation, address change, password recovery).

use serde::Deserialize;
use serde_json::Value;

use rest::input::normalise_phone;

/// GoTrue's `VerifyParams`, and what auth-js adds to them (`gotrue_meta_security`, and
/// `options` when the caller passed some); `redirect_to`, `gotrue_meta_security` and
/// `options` are accepted and unused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub token: Option<String>,
    pub token_hash: Option<String>,
    pub redirect_to: Option<String>,
    pub gotrue_meta_security: Option<Value>,
    pub options: Option<Value>,
}

impl VerifyRequest {
    /// The account the request is about, for its throttling: the E.164 phone of an `sms`
    /// or `phone_change` code, else the lower-cased `email` when given.
    pub fn account(&self) -> Option<String> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match self.kind.as_deref() {
            Some("sms") | Some("phone_change") => {
                text(&self.phone).and_then(|p| normalise_phone(&p).ok())
            }
            _ => text(&self.email).map(|e| e.to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(body: &str) -> Option<String> {
        rest::extract::parse::<VerifyRequest>(body.as_bytes())
            .unwrap()
            .account()
    }

    #[test]
    fn the_verify_account_is_the_phone_or_the_email() {
        assert_eq!(
            account(r#"{"type":"sms","phone":"77 123 45 67","token":"1"}"#).as_deref(),
            Some("+221771234567")
        );
        assert_eq!(
            account(r#"{"type":"recovery","email":" Awa@Example.SN ","token_hash":"x"}"#)
                .as_deref(),
            Some("awa@example.sn")
        );
        assert_eq!(account(r#"{"type":"recovery","token_hash":"x"}"#), None);
        assert_eq!(account(r#"{"type":"sms","phone":"12"}"#), None);
    }

    #[test]
    fn what_auth_js_sends_is_accepted_and_nothing_else() {
        assert!(rest::extract::parse::<VerifyRequest>(
            br#"{"email":"a@b.sn","token":"123456","type":"signup","options":{"redirectTo":"x"},"gotrue_meta_security":{}}"#
        )
        .is_ok());
        let e = rest::extract::parse::<VerifyRequest>(br#"{"type":"sms","code":"1"}"#).unwrap_err();
        assert_eq!(e.code, "PGRST102");
        assert!(e.message.contains("code"), "{}", e.message);
    }
}
