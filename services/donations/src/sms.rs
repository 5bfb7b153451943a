//! `POST /sms/{key}`: a donor texts a pot's short code and an amount to WOLO's number.
//!
//! The gateway POSTs each incoming SMS as a form (`id`, `from`, `to`, `text`, `date`,
//! `networkCode`; Africa's Talking's shape); `{key}` is the gateway's secret
//! (`WOLO_SMS_GATEWAY_KEY`). The text is read as `CODE MONTANT OPERATEUR [CODE-ORANGE]`:
//!
//! - `482913 5000 FREE`: Free Money; the donor approves on the handset (`#150#`);
//! - `482913 5000 OM 123456`: Orange Money with the code the donor got from `#144#391#`;
//! - anything else gets the help, or says what is wrong (unknown code, amount out of range,
//!   an Orange Money payment without its code).
//!
//! A message is handled once per gateway id (`donations.sms_messages`: a gateway retry is
//! answered 200 and does nothing more). A valid one creates the donation (`channel = sms`)
//! as the USSD menu does ([`crate::ussd::create_phone_donation`]) and the payment is asked of
//! PayDunya in the background; the donor then gets the payment instructions by SMS, and the
//! receipt when the payment lands. Every reply goes out through the notifications service
//! (template `sms_reply`). A phone sending more than [`MAX_MESSAGES_PER_HOUR`] messages an
//! hour, or too many unknown codes, gets no more replies for the hour.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    paydunya::Operator,
    ussd::{create_phone_donation, gateway_key_matches, not_found, Created, PhoneDonation},
    AppState,
};

/// Messages from one phone answered per hour; the rest are recorded, unanswered.
pub const MAX_MESSAGES_PER_HOUR: i64 = 20;
/// Longest message read, characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// What a donor's text asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Give {
        code: String,
        amount: i64,
        operator: Operator,
        orange_code: Option<String>,
    },
    /// An Orange Money payment without its code.
    OrangeNeedsCode {
        code: String,
        amount: i64,
    },
    /// Code and amount, no operator.
    NeedsOperator {
        code: String,
        amount: i64,
    },
    Help,
}

/// Reads `CODE MONTANT OPERATEUR [CODE-ORANGE]` (case and spacing free; `5.000` and
/// `5 000 F` are not amounts: digits only).
pub fn parse(text: &str) -> Ask {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| c == ',' || c == ';')
                .to_uppercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let digits = |w: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit())
    };
    let (Some(code), Some(amount)) = (words.first(), words.get(1)) else {
        return Ask::Help;
    };
    if !digits(code, 6, 8) || !digits(amount, 1, 9) {
        return Ask::Help;
    }
    let amount: i64 = amount.parse().unwrap_or(0);
    let code = code.clone();
    match words.get(2).map(String::as_str) {
        None => Ask::NeedsOperator { code, amount },
        Some("FREE" | "FM" | "FREEMONEY") => Ask::Give {
            code,
            amount,
            operator: Operator::FreeMoney,
            orange_code: None,
        },
        Some("OM" | "ORANGE" | "ORANGEMONEY") => match words.get(3) {
            Some(c) if digits(c, 4, 8) => Ask::Give {
                code,
                amount,
                operator: Operator::OrangeMoney,
                orange_code: Some(c.clone()),
            },
            _ => Ask::OrangeNeedsCode { code, amount },
        },
        Some(_) => Ask::NeedsOperator { code, amount },
    }
}

/// The help text.
pub fn help() -> String {
    // One SMS with the template's "WOLO : " (160 characters at most, tested); no example
    // code, which could be a real pot's.
    "Envoyez CODE MONTANT FREE (Free Money) ou CODE MONTANT OM CODE-ORANGE (Orange Money, code du #144#391#).".into()
}

#[derive(Debug, Default)]
struct Incoming {
    id: String,
    from: String,
    to: Option<String>,
    text: String,
}

fn parse_form(body: &[u8]) -> Option<Incoming> {
    let mut m = Incoming::default();
    for (k, v) in form_urlencoded::parse(body).take(20) {
        match k.as_ref() {
            "id" => m.id = v.into_owned(),
            "from" => m.from = v.into_owned(),
            "to" => m.to = Some(v.chars().take(20).collect()),
            "text" => m.text = v.into_owned(),
            _ => {}
        }
    }
    let ok = !m.id.is_empty()
        && m.id.len() <= 100
        && !m.from.is_empty()
        && m.text.chars().count() <= MAX_TEXT_CHARS;
    ok.then_some(m)
}

/// `POST /sms/{key}`: see the module docs. 200 `{"outcome": ...}` once handled (or already
/// handled: the first outcome); 400 for an unreadable form; 404 without the gateway's key.
#[tracing::instrument(skip_all)]
pub async fn post_sms(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    if !gateway_key_matches(&state, &key) {
        return not_found();
    }
    let Some(m) = parse_form(&body) else {
        return rest::ApiError::bad_request(
            "PGRST102",
            "SMS illisible : id, from et text sont requis (unreadable incoming SMS)",
        )
        .into_response();
    };
    match handle(&state, &m).await {
        Ok(outcome) => (StatusCode::OK, axum::Json(json!({"outcome": outcome}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "incoming SMS failed");
            // 5xx: the gateway delivers it again later.
            rest::input::db(e).into_response()
        }
    }
}

async fn handle(state: &AppState, m: &Incoming) -> Result<String, sqlx::Error> {
    let phone = rest::input::phone_e164(&m.from);
    // Recorded first, once per gateway id: a retry is answered with the first outcome.
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into donations.sms_messages (gateway_message_id, from_phone, to_number, body, outcome)
         values ($1, $2, $3, $4, 'received')
         on conflict (gateway_message_id) do nothing
         returning id",
    )
    .bind(&m.id)
    .bind(phone.as_deref().unwrap_or(&m.from).chars().take(20).collect::<String>())
    .bind(&m.to)
    .bind(&m.text)
    .fetch_optional(&state.db)
    .await?;
    let row =
        match inserted {
            Some(row) => row,
            None => {
                // Delivered again. Handled already: the first outcome. Left `received` (the
                // process died while handling it) for 30 s or more: handled now, by whoever
                // takes it first.
                let stuck: Option<Uuid> = sqlx::query_scalar(
                    "update donations.sms_messages set received_at = now()
                  where gateway_message_id = $1 and outcome = 'received'
                    and received_at < now() - interval '30 seconds'
                 returning id",
                )
                .bind(&m.id)
                .fetch_optional(&state.db)
                .await?;
                match stuck {
                    Some(row) => row,
                    None => return sqlx::query_scalar(
                        "select outcome from donations.sms_messages where gateway_message_id = $1",
                    )
                    .bind(&m.id)
                    .fetch_one(&state.db)
                    .await,
                }
            }
        };
    let (outcome, donation, reply) = decide(state, phone.as_deref(), &m.text, &m.id).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query("update donations.sms_messages set outcome = $2, donation_id = $3 where id = $1")
        .bind(row)
        .bind(&outcome)
        .bind(donation)
        .execute(&mut *tx)
        .await?;
    if let (Some(text), Some(phone)) = (reply, phone.as_deref()) {
        let request = platform::events::NotificationRequested::to_phone(phone, "sms_reply")
            .locale("fr-SN")
            .channels(&[platform::events::Channel::Sms])
            .var("text", text);
        platform::events::publish(&mut tx, &request, crate::NAME).await?;
    }
    tx.commit().await?;
    if let Some(d) = donation.filter(|_| outcome == "donation_created") {
        crate::ussd::kick(state, d);
    }
    Ok(outcome)
}

/// (outcome, donation, reply text) for a message.
async fn decide(
    state: &AppState,
    phone: Option<&str>,
    text: &str,
    id: &str,
) -> Result<(String, Option<Uuid>, Option<String>), sqlx::Error> {
    let Some(phone) = phone.filter(|p| p.starts_with("+221")) else {
        return Ok(("not_senegal".into(), None, None));
    };
    let (min, max, on, unpaid_limit, miss_limit, recent, misses): (
        i32,
        i32,
        bool,
        i32,
        i32,
        i64,
        i64,
    ) = sqlx::query_as(
        "select admin.config_int('donations.min_amount_cfa', $1),
                admin.config_int('donations.max_amount_cfa', $2),
                admin.flag_on('paydunya_payments'),
                admin.config_int('donations.phone_unpaid_per_hour', 3),
                admin.config_int('donations.phone_code_misses_per_hour', 10),
                (select count(*) from donations.sms_messages
                  where from_phone = $3 and received_at > now() - interval '1 hour'),
                (select count(*) from donations.sms_messages
                  where from_phone = $3 and outcome = 'unknown_code'
                    and received_at > now() - interval '1 hour')",
    )
    .bind(crate::checkout::MIN_AMOUNT_CFA as i32)
    .bind(crate::checkout::MAX_AMOUNT_CFA as i32)
    .bind(phone)
    .fetch_one(&state.db)
    .await?;
    if recent > MAX_MESSAGES_PER_HOUR || misses >= i64::from(miss_limit) {
        return Ok(("throttled".into(), None, None));
    }
    if state.paydunya.is_none() || !on {
        return Ok((
            "unavailable".into(),
            None,
            Some(
                "Le paiement mobile n'est pas disponible pour le moment. Réessayez plus tard."
                    .into(),
            ),
        ));
    }
    let ask = parse(text);
    let (code, amount) = match &ask {
        Ask::Help => return Ok(("help".into(), None, Some(help()))),
        Ask::Give { code, amount, .. }
        | Ask::OrangeNeedsCode { code, amount }
        | Ask::NeedsOperator { code, amount } => (code.clone(), *amount),
    };
    let Some(pot) = crate::ussd::pot_by_code(&state.db, &code).await? else {
        return Ok((
            "unknown_code".into(),
            None,
            Some(format!("Code {code} inconnu. {}", help())),
        ));
    };
    if !pot.open {
        return Ok((
            "not_open".into(),
            None,
            Some("Cette cagnotte n'accepte pas de participation en ce moment.".into()),
        ));
    }
    if amount < i64::from(min) || amount > i64::from(max) {
        return Ok((
            "invalid_amount".into(),
            None,
            Some(format!("Montant invalide : entre {min} et {max} FCFA.")),
        ));
    }
    let (operator, orange_code) = match ask {
        Ask::Give {
            operator,
            orange_code,
            ..
        } => (operator, orange_code),
        Ask::OrangeNeedsCode { .. } => {
            return Ok((
                "needs_orange_code".into(),
                None,
                Some(format!(
                    "Pour Orange Money, composez #144#391# pour obtenir un code de paiement, puis envoyez : {code} {amount} OM VOTRE-CODE"
                )),
            ))
        }
        _ => {
            return Ok((
                "needs_operator".into(),
                None,
                Some(format!(
                    "Précisez le paiement : {code} {amount} FREE (Free Money) ou {code} {amount} OM CODE-ORANGE (Orange Money, code du #144#391#)."
                )),
            ))
        }
    };
    let created = create_phone_donation(
        &state.db,
        PhoneDonation {
            pot: pot.id,
            amount,
            phone,
            operator,
            locale: "fr-SN",
            channel: "sms",
            idempotency: ("sms", id),
            unpaid_limit: i64::from(unpaid_limit),
            session: &format!("sms:{id}"),
            orange_code: orange_code.as_deref(),
        },
    )
    .await?;
    Ok(match created {
        Created::Donation(d) => ("donation_created".into(), Some(d), None),
        Created::NotOpen => (
            "not_open".into(),
            None,
            Some("Cette cagnotte n'accepte pas de participation en ce moment.".into()),
        ),
        Created::TooManyUnpaid => (
            "too_many_unpaid".into(),
            None,
            Some(
                "Vous avez déjà des participations en attente de paiement. Réessayez plus tard."
                    .into(),
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_read_as_code_amount_operator() {
        assert_eq!(
            parse(" 482913  5000 free "),
            Ask::Give {
                code: "482913".into(),
                amount: 5000,
                operator: Operator::FreeMoney,
                orange_code: None
            }
        );
        assert_eq!(
            parse("482913 5000 OM 123456"),
            Ask::Give {
                code: "482913".into(),
                amount: 5000,
                operator: Operator::OrangeMoney,
                orange_code: Some("123456".into())
            }
        );
        assert_eq!(
            parse("482913 5000 orange"),
            Ask::OrangeNeedsCode {
                code: "482913".into(),
                amount: 5000
            }
        );
        assert_eq!(
            parse("482913 5000"),
            Ask::NeedsOperator {
                code: "482913".into(),
                amount: 5000
            }
        );
        assert_eq!(parse("bonjour"), Ask::Help);
        assert_eq!(parse("482913 5.000 FREE"), Ask::Help);
        assert_eq!(parse(""), Ask::Help);
        // A reply fits one SMS with the template's prefix, even with an 8-digit code.
        let unknown = format!("WOLO : Code 12345678 inconnu. {}", help());
        assert!(
            unknown.chars().count() <= 160,
            "{}",
            unknown.chars().count()
        );
    }
}
