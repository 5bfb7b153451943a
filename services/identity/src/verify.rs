//! `POST /verify`: exchanges a code or a link for a session, throttled
//! (`crate::throttle::admit_verify`: per client IP, and per phone or e-mail for failures),
//! then handed to the flow its `type` names:
//!
//! | type | flow |
//! |---|---|
//! | `sms` | `crate::otp::verify_sms` (sign-in with an SMS code) |
//! | `signup`, `email` | `crate::signup::verify_signup` (confirms a sign-up) |
//! | `email_change`, `phone_change` | `crate::user::verify_change` |
//! | `recovery` | `crate::recover::verify_recovery` (the password reset link) |
//!
//! The answer settles the attempt: a 403 `otp_expired` is a failure.

use axum::{extract::State, response::Response};

use rest::{extract, input::validation, ApiError, ApiResult};

use crate::{
    otp, recover, session::Client, signup, throttle, user, verify_request::VerifyRequest, AppState,
};

/// `POST /verify {type, …}` (see the module docs).
#[tracing::instrument(skip_all, fields(kind = req.kind.as_deref().unwrap_or("-")))]
pub async fn post_verify(
    State(state): State<AppState>,
    client: Client,
    extract::Json(req): extract::Json<VerifyRequest>,
) -> Result<Response, ApiError> {
    let account = req.account();
    let attempt = throttle::admit_verify(&state, account.as_deref(), &client).await?;
    let pool = state.db.clone();
    let answer = dispatch(state, client, req).await;
    attempt
        .settle_verify(&pool, throttle::verify_outcome(&answer))
        .await;
    answer
}

async fn dispatch(state: AppState, client: Client, req: VerifyRequest) -> ApiResult<Response> {
    match req.kind.as_deref() {
        Some("sms") => otp::verify_sms(state, client, req).await,
        Some("recovery") => recover::verify_recovery(state, client, req).await,
        Some("signup" | "email") => signup::verify_signup(state, client, req).await,
        Some("email_change") => user::verify_change(state, client, req, false).await,
        Some("phone_change") => user::verify_change(state, client, req, true).await,
        _ => Err(validation(
            "type doit valoir sms, signup, email, email_change, phone_change ou recovery (unsupported type)",
        )),
    }
}
