//! Where Wave sends the donor back: `/dons/{donation}/merci` (`success_url`) and
//! `/dons/{donation}/echec` (`error_url`).
//!
//! The thank-you page shows the donation's state as the database has it: while Wave's
//! webhook has not landed (`pending`, `processing`) it says so and reloads itself every few
//! seconds (a `Refresh`, no script); once `succeeded` it is a receipt the donor can keep
//! (reference, date in Dakar, amount, pot). The donation's id in the link is what opens it;
//! the page shows nothing of the donor (no phone, no name).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use chrono_tz::Africa::Dakar;
use maud::html;
use uuid::Uuid;

use crate::{answer, failure, i18n::fill, not_found, render, Lang, Page, Sources, Visit};

/// Seconds between two reloads of a thank-you page waiting for Wave's webhook.
pub const REFRESH_SECS: u32 = 3;

#[derive(sqlx::FromRow)]
struct Donation {
    id: Uuid,
    status: String,
    amount_cfa: i32,
    pot_id: Uuid,
    title: String,
    wave_transaction_id: Option<String>,
    confirmed_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
}

/// The donation `id` names, or the page to answer instead (404, 500).
async fn donation(src: &Sources, id: &str, lang: Lang, here: &str) -> Result<Donation, Response> {
    match fetch(src, id).await {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(not_found(lang, here)),
        Err(e) => Err(failure(lang, here, &e)),
    }
}

async fn fetch(src: &Sources, id: &str) -> Result<Option<Donation>, sqlx::Error> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    sqlx::query_as(
        "select d.id, coalesce(d.status, 'pending') as status, d.amount_cfa, d.pot_id, p.title,
                d.wave_transaction_id, d.confirmed_at, d.created_at
         from donations.donations d join pots.pots p on p.id = d.pot_id
         where d.id = $1",
    )
    .bind(id)
    .fetch_optional(&src.donations)
    .await
}

/// `GET /dons/{donation}/merci`.
pub async fn get_thanks(
    State(src): State<Sources>,
    Path(id): Path<String>,
    Visit { lang, here, .. }: Visit,
) -> Response {
    let d = match donation(&src, &id, lang, &here).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let w = lang.words();
    let amount = lang.cfa(d.amount_cfa.into());
    let pot_url = src.links.pot(d.pot_id);
    let waiting = matches!(d.status.as_str(), "pending" | "processing");
    let (title, body) = match d.status.as_str() {
        "succeeded" => {
            let when = d.confirmed_at.or(d.created_at).unwrap_or_else(Utc::now);
            let local = when.with_timezone(&Dakar);
            (
                w.thanks_title,
                html! {
                    h1 { (w.thanks_title) }
                    p.state { (fill(w.thanks_text, &[&amount, &d.title])) }
                    section.card id="receipt" {
                        h2 { (w.receipt) }
                        dl {
                            dt { (w.receipt_ref) } dd { (d.id.to_string().to_uppercase()) }
                            @if let Some(t) = &d.wave_transaction_id { dt { "Wave" } dd { (t) } }
                            dt { (w.receipt_date) } dd { (lang.date(local.date_naive())) " " (local.format("%H:%M")) }
                            dt { (w.receipt_amount) } dd { (amount) }
                            dt { (w.receipt_pot) } dd { (d.title) }
                        }
                        p.muted { (w.receipt_keep) }
                    }
                    a.button href=(pot_url) { (w.back_to_pot) }
                },
            )
        }
        "refunded" => (
            w.refunded_title,
            html! {
                h1 { (w.refunded_title) }
                p.card { (fill(w.refunded_text, &[&amount])) }
                a.button href=(pot_url) { (w.back_to_pot) }
            },
        ),
        "failed" => (
            w.failed_title,
            html! {
                h1 { (w.failed_title) }
                p.card { (w.failed_text) }
                a.button href=(format!("{pot_url}#participer")) { (w.retry) }
            },
        ),
        _ => (
            w.pending_title,
            html! {
                h1 { (w.pending_title) }
                p.state.warn { (w.pending_text) }
                p.muted { (amount) " — " (d.title) }
            },
        ),
    };
    let head = if waiting {
        html! { meta http-equiv="refresh" content=(REFRESH_SECS); }
    } else {
        html! {}
    };
    answer(
        StatusCode::OK,
        render(Page {
            lang,
            title: title.to_string(),
            path: &here,
            head,
            body,
        }),
    )
}

/// `GET /dons/{donation}/echec`: the payment failed or was cancelled at Wave; nothing was
/// taken. The button goes back to the pot's form.
pub async fn get_failed(
    State(src): State<Sources>,
    Path(id): Path<String>,
    Visit { lang, here, .. }: Visit,
) -> Response {
    let d = match donation(&src, &id, lang, &here).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if matches!(d.status.as_str(), "succeeded" | "refunded") {
        // Paid after all (a second try went through): the receipt, not a failure.
        return Redirect::to(&format!("/dons/{}/merci?lang={}", d.id, lang.code())).into_response();
    }
    let w = lang.words();
    let pot_url = src.links.pot(d.pot_id);
    answer(
        StatusCode::OK,
        render(Page {
            lang,
            title: w.failed_title.to_string(),
            path: &here,
            head: html! {},
            body: html! {
                h1 { (w.failed_title) }
                p.card { (w.failed_text) }
                p.muted { (lang.cfa(d.amount_cfa.into())) " — " (d.title) }
                a.button href=(format!("{pot_url}#participer")) { (w.retry) }
            },
        }),
    )
}
