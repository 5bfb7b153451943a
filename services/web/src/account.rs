//! The account links of e-mails and invitations, as pages: each form is handed to the
//! identity (or referral) service's own endpoint in process ([`crate::call`]), so the rules,
//! rate limits and GoTrue-shaped answers are the API's.
//!
//! - `/reset?token=` (the `password_reset` e-mail): a new password, twice. `POST` verifies the
//!   link (`/verify` type `recovery`, which consumes it and opens a session) then sets the
//!   password (`PUT /user`); a password the policy refuses is asked again with the session
//!   kept in the form, so the link is not lost.
//! - `/auth/confirm?token_hash=&type=` (the sign-up and e-mail change e-mails): a button,
//!   not a `GET` that confirms (mail scanners open links); `POST` is `/verify`.
//! - `/invitation/{code}` (a sponsor's invitation): who invites, a phone number, the SMS code
//!   (`/otp`, `/verify` type `sms`), then `POST /referral/accept` with the new session.

use axum::{
    extract::{Path, State},
    http::{Extensions, HeaderMap, Method, StatusCode},
    response::Response,
    Form,
};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use crate::{
    answer, call, failure, i18n::fill, message_of, message_page, render, Lang, Origin, Page,
    Sources, Visit,
};

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .take(16)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.trim().is_empty() && v.len() <= 512)
}

/// A link that no longer works (used, expired, unknown): `status` and "ask for a new one".
fn expired(lang: Lang, here: &str, status: StatusCode, title: &str) -> Response {
    message_page(lang, here, status, title, lang.words().link_expired)
}

fn page(lang: Lang, here: &str, status: StatusCode, title: &str, body: Markup) -> Response {
    answer(
        status,
        render(Page {
            lang,
            title: title.to_string(),
            path: here,
            head: html! {},
            body,
        }),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: Option<String>,
    /// A session opened by the link when the first password was refused.
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_again: Option<String>,
}

fn reset_form(
    lang: Lang,
    here: &str,
    status: StatusCode,
    form: &ResetForm,
    error: Option<&str>,
) -> Response {
    let w = lang.words();
    page(
        lang,
        here,
        status,
        w.reset_title,
        html! {
            h1 { (w.reset_title) }
            form.card method="post" action=(here) {
                @if let Some(e) = error { p.error role="alert" { (e) } }
                @if let Some(t) = &form.token { input type="hidden" name="token" value=(t); }
                @if let Some(s) = &form.session { input type="hidden" name="session" value=(s); }
                label for="password" { (w.reset_title) }
                input id="password" type="password" name="password" autocomplete="new-password" minlength="6" required;
                label for="password_again" { (w.reset_again) }
                input id="password_again" type="password" name="password_again" autocomplete="new-password" minlength="6" required;
                button type="submit" { (w.reset_button) }
            }
        },
    )
}

/// `GET /reset?token=`.
pub async fn get_reset(Visit { lang, here, query }: Visit) -> Response {
    let w = lang.words();
    match query_value(query.as_deref(), "token") {
        Some(token) => reset_form(
            lang,
            &here,
            StatusCode::OK,
            &ResetForm {
                token: Some(token),
                ..Default::default()
            },
            None,
        ),
        None => expired(lang, &here, StatusCode::NOT_FOUND, w.reset_title),
    }
}

/// `POST /reset`.
pub async fn post_reset(
    State(src): State<Sources>,
    Visit { lang, here, .. }: Visit,
    headers: HeaderMap,
    extensions: Extensions,
    Form(mut form): Form<ResetForm>,
) -> Response {
    let w = lang.words();
    let password = form.password.take().unwrap_or_default();
    if password != form.password_again.take().unwrap_or_default() {
        return reset_form(
            lang,
            &here,
            StatusCode::BAD_REQUEST,
            &form,
            Some(w.reset_mismatch),
        );
    }
    let from = Origin {
        headers,
        extensions,
    };
    // The link, once: it opens a session.
    let session = match (&form.session, &form.token) {
        (Some(s), _) => s.clone(),
        (None, Some(token)) => {
            let verified = call(
                &src.identity_router,
                Method::POST,
                "/verify",
                &json!({"type": "recovery", "token_hash": token}),
                None,
                None,
                &from,
            )
            .await;
            match verified {
                Ok((status, a)) if status.is_success() => match a["access_token"].as_str() {
                    Some(t) => t.to_string(),
                    None => return failure(lang, &here, &"verify gave no session"),
                },
                Ok(_) => return expired(lang, &here, StatusCode::BAD_REQUEST, w.reset_title),
                Err(e) => return failure(lang, &here, &e),
            }
        }
        (None, None) => return expired(lang, &here, StatusCode::BAD_REQUEST, w.reset_title),
    };
    match call(
        &src.identity_router,
        Method::PUT,
        "/user",
        &json!({"password": password}),
        Some(&session),
        None,
        &from,
    )
    .await
    {
        Ok((status, _)) if status.is_success() => page(
            lang,
            &here,
            StatusCode::OK,
            w.reset_title,
            html! { h1 { (w.reset_title) } p.state { (w.reset_done) } },
        ),
        // Refused (too short, too common): asked again, the session kept.
        Ok((status, a)) if status.is_client_error() && status != StatusCode::UNAUTHORIZED => {
            let form = ResetForm {
                token: None,
                session: Some(session),
                ..Default::default()
            };
            reset_form(lang, &here, status, &form, Some(&message_of(&a, lang)))
        }
        Ok(_) => expired(lang, &here, StatusCode::BAD_REQUEST, w.reset_title),
        Err(e) => failure(lang, &here, &e),
    }
}

/// The link types the confirmation e-mails carry.
const CONFIRM_TYPES: [&str; 3] = ["signup", "email_change", "email"];

fn confirm_parts(query: Option<&str>) -> Option<(String, String)> {
    let hash = query_value(query, "token_hash")?;
    let kind = query_value(query, "type")?;
    CONFIRM_TYPES
        .contains(&kind.as_str())
        .then_some((hash, kind))
}

/// `GET /auth/confirm?token_hash=&type=`: a button, nothing confirmed yet.
pub async fn get_confirm(Visit { lang, here, query }: Visit) -> Response {
    let w = lang.words();
    if confirm_parts(query.as_deref()).is_none() {
        return expired(lang, &here, StatusCode::NOT_FOUND, w.confirm_title);
    }
    page(
        lang,
        &here,
        StatusCode::OK,
        w.confirm_title,
        html! {
            h1 { (w.confirm_title) }
            form.card method="post" action=(here) {
                p { (w.confirm_text) }
                button type="submit" { (w.confirm_button) }
            }
        },
    )
}

/// `POST /auth/confirm?token_hash=&type=`.
pub async fn post_confirm(
    State(src): State<Sources>,
    Visit { lang, here, query }: Visit,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let w = lang.words();
    let Some((hash, kind)) = confirm_parts(query.as_deref()) else {
        return expired(lang, &here, StatusCode::NOT_FOUND, w.confirm_title);
    };
    let from = Origin {
        headers,
        extensions,
    };
    match call(
        &src.identity_router,
        Method::POST,
        "/verify",
        &json!({"type": kind, "token_hash": hash}),
        None,
        None,
        &from,
    )
    .await
    {
        Ok((status, _)) if status.is_success() => {
            message_page(lang, &here, StatusCode::OK, w.confirm_title, w.confirm_done)
        }
        Ok(_) => expired(lang, &here, StatusCode::BAD_REQUEST, w.confirm_title),
        Err(e) => failure(lang, &here, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// The sponsor's first name of an invitation code (`None`: no such pending invitation).
async fn sponsor_of(src: &Sources, code: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<Option<String>> = sqlx::query_scalar(
        "select nullif(split_part(btrim(p.full_name), ' ', 1), '')
         from referral.referrals r
         left join profiles.profiles p on p.user_id = r.sponsor_user_id
         where r.referral_code = $1",
    )
    .bind(code.trim().to_uppercase())
    .fetch_optional(&src.referral)
    .await?;
    Ok(row.map(|n| n.unwrap_or_default()))
}

fn invite_page(
    lang: Lang,
    here: &str,
    status: StatusCode,
    sponsor: &str,
    form: &InviteForm,
    error: Option<&str>,
) -> Response {
    let w = lang.words();
    let asked = form.phone.is_some();
    page(
        lang,
        here,
        status,
        w.invite_title,
        html! {
            h1 { (w.invite_title) }
            @if !sponsor.is_empty() { p.big { (fill(w.invite_by, &[sponsor])) } }
            p { (w.invite_text) }
            form.card method="post" action=(here) {
                @if let Some(e) = error { p.error role="alert" { (e) } }
                @if asked {
                    input type="hidden" name="phone" value=(form.phone.clone().unwrap_or_default());
                    label for="code" { (w.invite_code) }
                    input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="10" required;
                    button type="submit" { (w.invite_join) }
                } @else {
                    label for="phone" { (w.invite_phone) }
                    input id="phone" type="tel" name="phone" autocomplete="tel" placeholder="77 123 45 67" maxlength="32" required;
                    button type="submit" { (w.invite_send) }
                }
            }
        },
    )
}

/// `GET /invitation/{code}`.
pub async fn get_invitation(
    State(src): State<Sources>,
    Path(code): Path<String>,
    Visit { lang, here, .. }: Visit,
) -> Response {
    let w = lang.words();
    match sponsor_of(&src, &code).await {
        Ok(Some(sponsor)) => invite_page(
            lang,
            &here,
            StatusCode::OK,
            &sponsor,
            &InviteForm::default(),
            None,
        ),
        Ok(None) => expired(lang, &here, StatusCode::NOT_FOUND, w.invite_title),
        Err(e) => failure(lang, &here, &e),
    }
}

/// `POST /invitation/{code}`: the phone number (an SMS code is sent), then the code (signed
/// in, the invitation accepted).
pub async fn post_invitation(
    State(src): State<Sources>,
    Path(code): Path<String>,
    Visit { lang, here, .. }: Visit,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<InviteForm>,
) -> Response {
    let w = lang.words();
    let sponsor = match sponsor_of(&src, &code).await {
        Ok(Some(s)) => s,
        Ok(None) => return expired(lang, &here, StatusCode::NOT_FOUND, w.invite_title),
        Err(e) => return failure(lang, &here, &e),
    };
    let from = Origin {
        headers,
        extensions,
    };
    let Some(phone) = form.phone.clone().filter(|p| !p.trim().is_empty()) else {
        return invite_page(
            lang,
            &here,
            StatusCode::BAD_REQUEST,
            &sponsor,
            &InviteForm::default(),
            Some(w.invite_phone),
        );
    };
    let Some(otp) = form.code.clone().filter(|c| !c.trim().is_empty()) else {
        // Step 1: the SMS code.
        return match call(
            &src.identity_router,
            Method::POST,
            "/otp",
            &json!({"phone": phone}),
            None,
            None,
            &from,
        )
        .await
        {
            Ok((status, _)) if status.is_success() => {
                invite_page(lang, &here, StatusCode::OK, &sponsor, &form, None)
            }
            Ok((status, a)) => invite_page(
                lang,
                &here,
                status,
                &sponsor,
                &InviteForm::default(),
                Some(&message_of(&a, lang)),
            ),
            Err(e) => failure(lang, &here, &e),
        };
    };
    // Step 2: signed in by the code, then the invitation accepted.
    let session = match call(
        &src.identity_router,
        Method::POST,
        "/verify",
        &json!({"type": "sms", "phone": phone, "token": otp.trim()}),
        None,
        None,
        &from,
    )
    .await
    {
        Ok((status, a)) if status.is_success() => match a["access_token"].as_str() {
            Some(t) => t.to_string(),
            None => return failure(lang, &here, &"verify gave no session"),
        },
        Ok((status, a)) => {
            let keep = InviteForm {
                phone: Some(phone),
                code: None,
            };
            return invite_page(
                lang,
                &here,
                status,
                &sponsor,
                &keep,
                Some(&message_of(&a, lang)),
            );
        }
        Err(e) => return failure(lang, &here, &e),
    };
    match call(
        &src.referral_router,
        Method::POST,
        "/accept",
        &json!({"code": code}),
        Some(&session),
        None,
        &from,
    )
    .await
    {
        Ok((status, _)) if status.is_success() => {
            message_page(lang, &here, StatusCode::OK, w.invite_title, w.invite_done)
        }
        Ok((status, a)) => message_page(lang, &here, status, w.invite_title, &message_of(&a, lang)),
        Err(e) => failure(lang, &here, &e),
    }
}
