//! The pot page, `/p/{pot}`: title, whose birthday and when, days left, progress, the gift
//! pack, the donor wall (names, amounts and messages only as donors and the owner allowed:
//! the masking is `pots::public::load`'s, the API's own), and the « Participer » form while
//! the pot is open. A private pot shows nothing without its owner's share link (`?k=`) or an
//! invitation (`?i=`): the same rule as `GET /pots/{id}/public`.
//!
//! The form posts to the same address. The handler hands it, as JSON, to the donations
//! service's `POST /checkout` (in process, with the donor's address and a key the page drew,
//! so a double tap starts one checkout): every rule of the API holds, and its refusal is shown
//! on the page, in the donor's words kept.

use axum::{
    extract::{Path, State},
    http::{Extensions, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use maud::{html, Markup};
use pots::public::{link_opens, load, LinkProof, PublicView};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{
    answer, call, failure, i18n::fill, message_of, not_found, render, Lang, Origin, Page, Sources,
    Visit,
};

/// What the donor typed, sent back into the form when the checkout refuses it.
#[derive(Debug, Default, Deserialize)]
pub struct GiveForm {
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    donor_name: Option<String>,
    #[serde(default)]
    donor_phone: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    anonymous: Option<String>,
    #[serde(default)]
    show_amount: Option<String>,
    /// `paydunya` for Orange Money, Free Money or a card; else Wave.
    #[serde(default)]
    provider: Option<String>,
    /// The page's idempotency key: one per page shown.
    #[serde(default)]
    key: Option<String>,
}

/// A field's text, trimmed; blank is none.
fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn proof_of(query: Option<&str>) -> LinkProof {
    let mut proof = LinkProof::default();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()).take(16) {
        match k.as_ref() {
            "k" => proof.k = Some(v.into_owned()),
            "i" => proof.i = Some(v.into_owned()),
            _ => {}
        }
    }
    proof
}

/// The pot, when the link opens it; else the answer to give.
pub(crate) async fn open(
    src: &Sources,
    id: &str,
    query: Option<&str>,
    lang: Lang,
    here: &str,
) -> Result<PublicView, Response> {
    // `/p/<uuid>`, or `/p/<short code>`: the digits a pot's owner reads out (V119).
    let pot_id = match Uuid::parse_str(id) {
        Ok(id) => id,
        Err(_) if (6..=8).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) => {
            match sqlx::query_scalar::<_, Uuid>("select id from pots.pots where short_code = $1")
                .bind(id)
                .fetch_optional(&src.pots)
                .await
            {
                Ok(Some(id)) => id,
                Ok(None) => return Err(not_found(lang, here)),
                Err(e) => return Err(failure(lang, here, &format!("{e:?}"))),
            }
        }
        Err(_) => return Err(not_found(lang, here)),
    };
    let view = match load(&src.pots, pot_id).await {
        Ok(Some(v)) => v,
        Ok(None) => return Err(not_found(lang, here)),
        Err(e) => return Err(failure(lang, here, &format!("{e:?}"))),
    };
    match link_opens(
        &src.pots,
        &src.links,
        pot_id,
        &view.visibility,
        &proof_of(query),
    )
    .await
    {
        Ok(true) => Ok(view),
        Ok(false) => {
            let w = lang.words();
            Err(crate::answer(
                StatusCode::FORBIDDEN,
                render(Page {
                    lang,
                    title: w.private_title.to_string(),
                    path: here,
                    head: crate::preview::tags(src.links.base(), &pot_id.to_string(), None),
                    body: html! {
                        h1 { (w.private_title) }
                        p.card { (w.private_text) }
                    },
                }),
            ))
        }
        Err(e) => Err(failure(lang, here, &format!("{e:?}"))),
    }
}

/// `GET /p/{pot}`.
pub async fn get_page(
    State(src): State<Sources>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Visit { lang, here, query }: Visit,
) -> Response {
    let src = src.reading(&headers);
    match open(&src, &id, query.as_deref(), lang, &here).await {
        Ok(view) => page(&src, &view.json, lang, &here, &GiveForm::default(), None),
        Err(r) => r,
    }
}

/// `POST /p/{pot}`: the « Participer » form.
pub async fn post_give(
    State(src): State<Sources>,
    Path(id): Path<String>,
    Visit { lang, here, query }: Visit,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<GiveForm>,
) -> Response {
    let view = match open(&src, &id, query.as_deref(), lang, &here).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let amount = match text(&form.amount) {
        Some(a) => match a
            .replace([' ', '\u{a0}', '\u{202f}', '.'], "")
            .parse::<i64>()
        {
            Ok(n) => json!(n),
            Err(_) => json!(a),
        },
        None => Value::Null,
    };
    let body = json!({
        "pot_id": view.json["id"],
        "amount_cfa": amount,
        "donor_name": text(&form.donor_name),
        "donor_phone": text(&form.donor_phone),
        "message": text(&form.message),
        "is_anonymous": form.anonymous.is_some(),
        "show_amount": form.show_amount.is_some(),
        "provider": if form.provider.as_deref() == Some("paydunya") { "paydunya" } else { "wave" },
    });
    let from = Origin {
        headers,
        extensions,
    };
    let (status, answer) = match call(
        &src.donations_router,
        Method::POST,
        "/checkout",
        &body,
        None,
        text(&form.key),
        &from,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return failure(lang, &here, &e),
    };
    if status.is_success() {
        if let Some(url) = answer["payment_url"]
            .as_str()
            .or(answer["wave_payment_url"].as_str())
            .filter(|u| !u.is_empty())
        {
            return Redirect::to(url).into_response();
        }
        // Already paid under this key: the thank-you page says so.
        if let Some(d) = answer["donation_id"].as_str() {
            return Redirect::to(&format!("/dons/{d}/merci?lang={}", lang.code())).into_response();
        }
    }
    let message = message_of(&answer, lang);
    let shown = if status.is_server_error() || status.is_success() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        status
    };
    let mut r = page(&src, &view.json, lang, &here, &form, Some(&message));
    *r.status_mut() = shown;
    r
}

fn page(
    src: &Sources,
    pot: &Value,
    lang: Lang,
    here: &str,
    form: &GiveForm,
    error: Option<&str>,
) -> Response {
    let w = lang.words();
    let title = pot["title"].as_str().unwrap_or("").to_string();
    let first_name = pot["owner_first_name"].as_str().filter(|s| !s.is_empty());
    let birthday = pot["birthday_date"]
        .as_str()
        .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
    let raised = pot["raised_amount_cfa"].as_i64().unwrap_or(0);
    let target = pot["target_amount_cfa"].as_i64().unwrap_or(0);
    let progress = pot["progress_percent"].as_f64().unwrap_or(0.0);
    let status = pot["status"].as_str().unwrap_or("scheduled");
    let days_left = pot["days_left"].as_i64().unwrap_or(0);
    let description = format!(
        "{} — {}",
        fill(w.raised_of, &[&lang.cfa(raised), &lang.cfa(target)]),
        fill(
            w.donors,
            &[&pot["donor_count"].as_i64().unwrap_or(0).to_string()]
        ),
    );
    let private = pot["visibility"] == "private";
    let id = pot["id"].as_str().unwrap_or("");
    let head = html! {
        meta name="description" content=(description);
        @if private {
            (crate::preview::tags(src.links.base(), id, None))
        } @else {
            meta property="og:url" content=(format!("{}/p/{id}", src.links.base()));
            (crate::preview::tags(src.links.base(), id, Some((&title, &description))))
        }
    };
    let state_line = match status {
        "open" => w.state_open.to_string(),
        "funded" => w.state_funded.to_string(),
        "closed" => w.state_closed.to_string(),
        "expired" => w.state_expired.to_string(),
        _ => {
            let opens = pot["scheduled_open_at"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .map(|t| lang.date(t.with_timezone(&chrono_tz::Africa::Dakar).date_naive()))
                .unwrap_or_default();
            fill(w.state_scheduled, &[&opens])
        }
    };
    let key = form
        .key
        .clone()
        .filter(|k| !k.trim().is_empty() && k.len() <= 64)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let body = html! {
        h1 { (title) }
        p.muted {
            @if let Some(name) = first_name { (fill(w.birthday_of, &[name])) " " }
            @if let Some(d) = birthday { (fill(w.birthday_on, &[&lang.date(d)])) }
        }
        div.card {
            p.big id="raised" { (lang.cfa(raised)) }
            div.bar id="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(format!("{progress:.0}")) {
                span style=(format!("width:{progress:.1}%")) {}
            }
            p.muted id="summary" data-raised-of=(w.raised_of) data-donors=(w.donors) { (description) }
            @if status == "open" {
                p { strong { @if days_left > 0 { (fill(w.days_left, &[&days_left.to_string()])) } @else { (w.last_day) } } }
            }
            p.state.warn[status != "open"] { (state_line) }
            @if let Some(code) = pot["short_code"].as_str().filter(|_| status == "open") {
                p.muted id="short-code" { (fill(w.short_code, &[code])) }
            }
        }
        @if let Some(d) = pot["description"].as_str().filter(|d| !d.trim().is_empty()) {
            p { (d) }
        }
        @if let Some(pack) = pot["preferred_pack"].as_object() {
            h2 { (w.gift) }
            div.card {
                p.big { (pack.get("name").and_then(Value::as_str).unwrap_or("")) }
                @if let Some(d) = pack.get("description").and_then(Value::as_str) { p { (d) } }
            }
        }
        @if pot["accepts_donations"] == true {
            h2 id="participer" { (w.give_title) }
            form.card method="post" action=(here) {
                @if let Some(e) = error { p.error role="alert" { (e) } }
                input type="hidden" name="key" value=(key);
                label for="amount" { (w.amount) }
                input id="amount" type="number" name="amount" inputmode="numeric" min="1" step="1" required
                    value=(form.amount.clone().unwrap_or_default());
                label for="donor_name" { (w.your_name) " " span.muted { "(" (w.optional) ")" } }
                input id="donor_name" type="text" name="donor_name" maxlength="255" autocomplete="name"
                    value=(form.donor_name.clone().unwrap_or_default());
                label for="donor_phone" { (w.your_phone) " " span.muted { "(" (w.optional) ")" } }
                input id="donor_phone" type="tel" name="donor_phone" maxlength="32" autocomplete="tel"
                    placeholder="77 123 45 67" value=(form.donor_phone.clone().unwrap_or_default());
                @if pot["enable_messages"] == true {
                    label for="message" { (w.message) " " span.muted { "(" (w.optional) ")" } }
                    textarea id="message" name="message" rows="3" maxlength="500" { (form.message.clone().unwrap_or_default()) }
                }
                @if pot["allow_anonymous_donations"] == true {
                    label.check { input type="checkbox" name="anonymous" checked[form.anonymous.is_some()]; (w.hide_name) }
                }
                label.check { input type="checkbox" name="show_amount" checked[form.show_amount.is_some() || error.is_none()]; (w.show_amount) }
                @if src.mobile_money {
                    fieldset.pay {
                        legend { (w.pay_with) }
                        label.check { input type="radio" name="provider" value="wave" checked[form.provider.as_deref() != Some("paydunya")]; "Wave" }
                        label.check { input type="radio" name="provider" value="paydunya" checked[form.provider.as_deref() == Some("paydunya")]; (w.mobile_money) }
                    }
                }
                button type="submit" { (w.give_button) }
                @if !src.mobile_money { p.muted { (w.pay_with_wave) } }
            }
        }
        h2 { (w.wall) }
        (wall(pot, lang))
        @if matches!(status, "open" | "scheduled") {
            (live_script(&live_url(here), lang, status))
        }
    };
    answer(
        StatusCode::OK,
        render(Page {
            lang,
            title,
            path: here,
            head,
            body,
        }),
    )
}

/// `/p/{pot}/live` with the page's own query (its link's proof).
fn live_url(here: &str) -> String {
    match here.split_once('?') {
        Some((path, q)) => format!("{path}/live?{q}"),
        None => format!("{here}/live"),
    }
}

/// Progress without a reload: the page listens to `/p/{pot}/live` (server-sent events,
/// `crate::live`) and rewrites the total, the bar and the summary; a status change reloads
/// the page. Without `EventSource` nothing happens: the page is whole without it.
fn live_script(url: &str, lang: Lang, status: &str) -> Markup {
    let locale = if lang == Lang::En { "en-US" } else { "fr-FR" };
    html! {
        script data-url=(url) data-locale=(locale) data-status=(status) {
            (maud::PreEscaped(crate::LIVE_JS))
        }
    }
}

fn wall(pot: &Value, lang: Lang) -> Markup {
    let w = lang.words();
    let donors = pot["donors"].as_array().cloned().unwrap_or_default();
    html! {
        @if donors.is_empty() {
            p.muted { (w.wall_empty) }
        } @else {
            ul.wall.card {
                @for d in &donors {
                    li {
                        strong { (d["name"].as_str().unwrap_or(w.anonymous)) }
                        @if let Some(a) = d["amount_cfa"].as_i64() { " — " (lang.cfa(a)) }
                        @if let Some(m) = d["message"].as_str() { br; span { "« " (m) " »" } }
                    }
                }
            }
        }
    }
}
