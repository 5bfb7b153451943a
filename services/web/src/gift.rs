//! The gift page, `/cadeau/{qr code id}`: the link of the `qr_ready` message to the birthday
//! person. The QR code itself (inline SVG, the value partner staff scan), the counter code
//! to type when a scanner cannot read the screen (`ABCDE-FGHJK`, accepted by
//! `POST /qr/redeem`), the pack, the partner's venues with their hours, and from when and
//! until when it is valid in Dakar; or that it was used, has expired or was cancelled.
//!
//! The code's row id in the link is what opens the page (a random UUID sent to the owner
//! alone), as the QR code is what opens the gift at the counter.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use chrono::{DateTime, Utc};
use chrono_tz::Africa::Dakar;
use maud::{html, PreEscaped};
use serde_json::Value;
use uuid::Uuid;

use crate::{answer, failure, i18n::fill, not_found, render, Page, Sources, Visit};

#[derive(sqlx::FromRow)]
struct Gift {
    code: String,
    short_code: String,
    status: String,
    redeemable_from: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    pack_name: String,
    pack_description: Option<String>,
    redemption_instructions: Option<String>,
    partner_name: Option<String>,
    venues: Option<Value>,
    pot_title: String,
}

/// `GET /cadeau/{id}`.
pub async fn get_page(
    State(src): State<Sources>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Visit { lang, here, .. }: Visit,
) -> Response {
    let src = src.reading(&headers);
    let Ok(qr_id) = Uuid::parse_str(&id) else {
        return not_found(lang, &here);
    };
    let gift: Option<Gift> = match sqlx::query_as(
        "select c.code, c.short_code, coalesce(c.status, 'issued') as status, c.redeemable_from,
                c.expires_at, p.name as pack_name, p.description as pack_description,
                p.redemption_instructions, pa.name as partner_name, pa.venues,
                pot.title as pot_title
         from qr.qr_codes c
         join packs.packs p on p.id = c.pack_id
         join pots.pots pot on pot.id = c.pot_id
         left join packs.partners pa on pa.id = p.partner_id
         where c.id = $1",
    )
    .bind(qr_id)
    .fetch_optional(&src.qr)
    .await
    {
        Ok(g) => g,
        Err(e) => return failure(lang, &here, &e),
    };
    let Some(g) = gift else {
        return not_found(lang, &here);
    };
    let w = lang.words();
    let svg = match qr::render::svg(&qr::code::grouped(&g.code)) {
        Ok(s) => s,
        Err(e) => return failure(lang, &here, &format!("{e:?}")),
    };
    let from = g.redeemable_from.with_timezone(&Dakar).date_naive();
    // expires_at is the first instant no longer valid: the last valid day is the one before.
    let until = (g.expires_at - chrono::Duration::seconds(1))
        .with_timezone(&Dakar)
        .date_naive();
    let now = Utc::now();
    let usable = g.status == "issued" && now >= g.redeemable_from && now < g.expires_at;
    let state = match g.status.as_str() {
        "redeemed" => Some(w.gift_redeemed.to_string()),
        "cancelled" => Some(w.gift_cancelled.to_string()),
        "expired" => Some(w.gift_expired.to_string()),
        _ if now >= g.expires_at => Some(w.gift_expired.to_string()),
        _ if now < g.redeemable_from => Some(fill(w.gift_not_yet, &[&lang.date(from)])),
        _ => None,
    };
    let venues: Vec<Value> = g
        .venues
        .as_ref()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = html! {
        h1 { (w.gift_title) " : " (g.pack_name) }
        p.muted { (g.pot_title) }
        @if let Some(s) = &state { p.state.warn { (s) } }
        @if g.status == "issued" {
            section.card {
                @if usable { p { strong { (w.gift_show) } } }
                div.qr { (PreEscaped(svg)) }
                p.muted style="text-align:center;margin-bottom:0" { (w.gift_code) }
                p.code id="short-code" { (qr::code::short_grouped(&g.short_code)) }
            }
        }
        p { (fill(w.gift_valid, &[&lang.date(from), &lang.date(until)])) }
        @if let Some(d) = &g.pack_description { p { (d) } }
        @if let Some(i) = &g.redemption_instructions { p.muted { (i) } }
        @if !venues.is_empty() {
            h2 { (w.venues) }
            ul.wall.card {
                @for v in &venues {
                    li {
                        strong { (v["name"].as_str().unwrap_or("")) }
                        @if let Some(p) = &g.partner_name { " — " (p) }
                        br;
                        span.muted {
                            (v["address"].as_str().unwrap_or(""))
                            @if let Some(c) = v["city"].as_str() { ", " (c) }
                        }
                        @if let Some(h) = v["hours"].as_str().or(v["opening_hours"].as_str()) {
                            br; span { (w.hours) " : " (h) }
                        }
                    }
                }
            }
        }
    };
    answer(
        StatusCode::OK,
        render(Page {
            lang,
            title: format!("{} — {}", w.gift_title, g.pack_name),
            path: &here,
            head: html! {},
            body,
        }),
    )
}
