//! Reading what custom endpoints receive: JSON bodies, phone numbers and e-mail addresses,
//! with errors in the PostgREST shape (French first, English in parentheses).

use axum::{body::Bytes, http::StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// The request body as `T`, with the errors of [`crate::extract::Json`] (handlers take that
/// extractor; this is for a body read raw first, such as a signed webhook's).
pub fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    crate::extract::parse(bytes)
}

/// A database error of a signed-in request, mapped as the REST layer maps it.
pub fn db(e: sqlx::Error) -> ApiError {
    ApiError::from_sqlx(e, false)
}

/// 400 `validation_failed` with `message`.
pub fn validation(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", message)
}

/// A path or body identifier as a UUID; else 400 `validation_failed` naming `what`.
pub fn uuid(input: &str, what: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(input.trim())
        .map_err(|_| validation(&format!("Identifiant invalide ({what} must be a uuid)")))
}

/// `input` as an E.164 number (`+221771234567`) when it is a valid number; national
/// numbers are read as Senegalese.
pub fn phone_e164(input: &str) -> Option<String> {
    let n = phonenumber::parse(Some(phonenumber::country::Id::SN), input.trim()).ok()?;
    phonenumber::is_valid(&n).then(|| n.format().mode(phonenumber::Mode::E164).to_string())
}

/// [`phone_e164`], or 400 `validation_failed` with the expected format as hint.
pub fn normalise_phone(input: &str) -> ApiResult<String> {
    phone_e164(input).ok_or_else(|| {
        validation("Numéro de téléphone invalide (invalid phone number)")
            .hint("Format attendu : +221 77 123 45 67 ou 77 123 45 67")
    })
}

/// A plausible e-mail address (one `@`, a dotted domain, no spaces, at most 255
/// characters), lower-cased; else 400 `validation_failed`.
pub fn normalise_email(input: &str) -> ApiResult<String> {
    let e = input.trim().to_lowercase();
    let ok = e.len() <= 255
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !e.chars().any(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err(validation(
            "Adresse e-mail invalide (invalid e-mail address)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_become_e164_and_bad_ones_are_refused() {
        assert_eq!(phone_e164("77 123 45 67").as_deref(), Some("+221771234567"));
        assert_eq!(
            phone_e164("+221 78 123 45 68").as_deref(),
            Some("+221781234568")
        );
        assert_eq!(phone_e164("12"), None);
        assert_eq!(
            normalise_phone("abc").unwrap_err().code,
            "validation_failed"
        );
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            normalise_email(" Awa@Example.SN ").unwrap(),
            "awa@example.sn"
        );
        for bad in [
            "awa", "awa@", "@x.sn", "awa@sn", "a b@x.sn", "a@x.sn.", "a@@x.sn",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
