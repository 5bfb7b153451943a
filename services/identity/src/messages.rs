//! The messages identity asks for (`notification.requested`, built with
//! [`NotificationRequested`]): an SMS carrying a sign-in or phone-change code, an e-mail
//! carrying a confirmation code and its link. Each is published in the caller's
//! transaction, so it goes out only if the code was stored.

use platform::events::{self, Channel, NotificationRequested};
use sqlx::PgConnection;
use uuid::Uuid;

use rest::{input::db, ApiResult};

use crate::{crypto, NAME};

/// Lifetime of an SMS code, minutes.
pub const OTP_MINUTES: i32 = 10;
/// How long a sign-up confirmation or an e-mail change code is valid, hours.
pub const EMAIL_CODE_HOURS: i32 = 24;
/// Minimum delay between two codes to one address, seconds.
pub const RESEND_SECONDS: i64 = 60;
/// The locale of identity's messages.
pub const LOCALE: &str = "fr-SN";

/// The stored form of a code sent to `address` (as GoTrue stores its token hashes: the
/// link carries it, a typed code is hashed with the address).
pub fn code_hash(address: &str, code: &str) -> String {
    crypto::sha256_hex(&format!("{address}{code}"))
}

/// The hash a verify request names: `token_hash` (the link), or `token` typed with the
/// address it was sent to.
pub fn requested_hash(
    token_hash_param: Option<&str>,
    address: Option<&str>,
    token: Option<&str>,
) -> Option<String> {
    if let Some(h) = token_hash_param.map(str::trim).filter(|h| !h.is_empty()) {
        return Some(h.to_lowercase());
    }
    match (address, token.map(str::trim).filter(|t| !t.is_empty())) {
        (Some(a), Some(t)) => Some(code_hash(a, t)),
        _ => None,
    }
}

/// Publishes `event`, with identity as its source.
pub(crate) async fn publish(
    conn: &mut PgConnection,
    event: NotificationRequested,
) -> ApiResult<()> {
    events::publish(conn, &event, NAME)
        .await
        .map(|_| ())
        .map_err(db)
}

/// The SMS carrying a six-digit `code` to `phone` (the `otp` template): sign-in codes, and
/// the code that confirms a new phone (`PUT /user {phone}`).
pub(crate) async fn send_sms_code(
    conn: &mut PgConnection,
    user: Option<Uuid>,
    phone: &str,
    code: &str,
) -> ApiResult<()> {
    let mut message = NotificationRequested::to_phone(phone, "otp");
    if let Some(user) = user {
        message = message.user(user);
    }
    let message = message
        .locale(LOCALE)
        .channels(&[Channel::Sms])
        .var("code", code)
        .var("minutes", OTP_MINUTES);
    publish(conn, message).await
}

/// The e-mail `template` carrying `code` and its link (`/auth/confirm?token_hash=…&type=
/// link_type` on the web app at `web_url`) to `email`.
pub(crate) async fn send_email_code(
    conn: &mut PgConnection,
    web_url: &str,
    user: Option<Uuid>,
    email: &str,
    template: &str,
    link_type: &str,
    code: &str,
) -> ApiResult<()> {
    let confirm_url = format!(
        "{web_url}/auth/confirm?token_hash={}&type={link_type}",
        code_hash(email, code)
    );
    let mut message = NotificationRequested::to_email(email, template);
    if let Some(user) = user {
        message = message.user(user);
    }
    let message = message
        .locale(LOCALE)
        .channels(&[Channel::Email])
        .var("code", code)
        .var("confirm_url", confirm_url)
        .var("hours", EMAIL_CODE_HOURS);
    publish(conn, message).await
}
