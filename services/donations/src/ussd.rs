//! `POST /ussd/{key}`: the USSD donation menu, for relatives on feature phones.
//!
//! The gateway (Africa's Talking's protocol, copied by most: `/work/shared/reference/ussd-gateway.md`)
//! POSTs a form `sessionId`, `phoneNumber`, `networkCode`, `serviceCode`, `text` on every hop,
//! `text` holding every input of the session so far joined by `*`; the answer is plain text,
//! `CON <screen>` (wait for input) or `END <screen>` (close). `{key}` is the gateway's secret
//! (`WOLO_SMS_GATEWAY_KEY`): the caller's number is trusted only on that path.
//!
//! The menu is rebuilt from the inputs on every hop ([`walk`]): the same inputs give the same
//! screen, and nothing is kept between hops but what `donations.ussd_sessions` stores under the
//! session id (the caller, the unknown codes typed, the donation once confirmed). Screens:
//!
//! 1. the pot's short code (`0` switches French / Wolof);
//! 2. whose pot and how far it is (the owner's first name, never a minor's, and a percentage;
//!    neither for a private pot: `donations.pot_public_name`),
//!    then the amount (the admins' minimum and maximum);
//! 3. the operator: Orange Money or Free Money;
//! 4. Orange Money: the payment code the donor got from `#144#391#` (or `0`: how to get one);
//! 5. the recap: confirm or cancel;
//! 6. `END`: what happens next. The donation is created there, once per session (a gateway
//!    retry of the last hop answers the same screen and creates nothing); the payment is asked
//!    of PayDunya afterwards, never inside a hop ([`start_phone_payments_once`]), and the donor
//!    gets an SMS when it lands.
//!
//! Every screen is at most [`MAX_SCREEN_CHARS`] characters of the GSM 7-bit default alphabet
//! (names are transliterated, [`gsm_safe`]); a test renders every one.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::{
    paydunya::{Operator, PayDunya},
    AppState,
};

/// Longest screen, GSM-7 characters, `CON `/`END ` included.
pub const MAX_SCREEN_CHARS: usize = 160;
/// Longest `text` read (every input of a session), characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest first name shown.
pub const MAX_NAME_CHARS: usize = 16;

/// French or Wolof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    Wo,
}

impl Lang {
    pub fn locale(self) -> &'static str {
        match self {
            Lang::Fr => "fr-SN",
            Lang::Wo => "wo-SN",
        }
    }
}

/// A pot as the menu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuPot {
    pub id: Uuid,
    pub code: String,
    /// The owner's first name (GSM-safe, short), or `None` (a minor's pot, no profile).
    pub name: Option<String>,
    pub open: bool,
    /// Raised / target, percent (0 when no target); `None` for a private pot.
    pub percent: Option<i64>,
}

/// What the next screen is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Type the pot's code (after an unknown or malformed one: `error`).
    Code {
        error: Option<Error>,
    },
    Amount {
        pot: MenuPot,
        min: i64,
        max: i64,
        error: bool,
    },
    Operator {
        pot: MenuPot,
        amount: i64,
        error: bool,
    },
    OrangeCode {
        pot: MenuPot,
        amount: i64,
        error: bool,
    },
    Confirm {
        pot: MenuPot,
        amount: i64,
        operator: Operator,
        error: bool,
    },
    /// END screens.
    NotOpen,
    HowToGetOrangeCode,
    Cancelled,
    Done {
        operator: Operator,
    },
    TooManyCodes,
    TooManyUnpaid,
    Unavailable,
    NotSenegal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Unknown,
    Invalid,
}

/// `5000` → `5 000` (a plain space: GSM 7-bit).
fn cfa(n: i64) -> String {
    platform::amounts::group_thousands(n, ' ')
}

fn pot_name(pot: &MenuPot, lang: Lang) -> String {
    match (&pot.name, lang) {
        (Some(n), Lang::Fr) => format!("de {n}"),
        (Some(n), Lang::Wo) => n.clone(),
        (None, _) => pot.code.clone(),
    }
}

fn operator_name(o: Operator) -> &'static str {
    match o {
        Operator::OrangeMoney => "Orange Money",
        Operator::FreeMoney => "Free Money",
    }
}

/// The screen's text, `CON ` or `END ` first.
pub fn render(screen: &Screen, lang: Lang) -> String {
    use Lang::{Fr, Wo};
    let invalid = |e: bool| match (e, lang) {
        (false, _) => "",
        (true, Fr) => "Saisie invalide.\n",
        (true, Wo) => "Bindal lu baax.\n",
    };
    match (screen, lang) {
        (Screen::Code { error }, _) => {
            let e = match (error, lang) {
                (None, _) => "",
                (Some(Error::Unknown), Fr) => "Code inconnu.\n",
                (Some(Error::Unknown), Wo) => "Code bii xamunu ko.\n",
                (Some(Error::Invalid), _) => invalid(true),
            };
            match lang {
                Fr => format!("CON {e}Bienvenue sur WOLO\nCode de la cagnotte :\n0 Wolof"),
                Wo => format!("CON {e}Dalal ak jamm ci WOLO\nBindal code cagnotte bi:\n0 Francais"),
            }
        }
        (Screen::Amount { pot, min, max, error }, Fr) => format!(
            "CON {}Cagnotte {}{}\nMontant en FCFA ({} à {}) :",
            invalid(*error),
            pot_name(pot, lang),
            pot.percent
                .map(|p| format!(" : {p} % atteint"))
                .unwrap_or_default(),
            cfa(*min),
            cfa(*max)
        ),
        (Screen::Amount { pot, min, max, error }, Wo) => format!(
            "CON {}Cagnotte {}{}\nNaata FCFA ngay joxe ({} ba {})?",
            invalid(*error),
            pot_name(pot, lang),
            pot.percent
                .map(|p| format!(": {p} % la jot"))
                .unwrap_or_default(),
            cfa(*min),
            cfa(*max)
        ),
        (Screen::Operator { error, .. }, Fr) => format!(
            "CON {}Payer avec :\n1 Orange Money\n2 Free Money",
            invalid(*error)
        ),
        (Screen::Operator { error, .. }, Wo) => format!(
            "CON {}Ban xaalis nga koy fey?\n1 Orange Money\n2 Free Money",
            invalid(*error)
        ),
        (Screen::OrangeCode { error, .. }, Fr) => format!(
            "CON {}Code de paiement Orange Money (obtenu au #144#391#) :\n0 Je n'ai pas de code",
            invalid(*error)
        ),
        (Screen::OrangeCode { error, .. }, Wo) => format!(
            "CON {}Bindal sa code fey Orange Money (#144#391#):\n0 Amuma code",
            invalid(*error)
        ),
        (
            Screen::Confirm {
                pot,
                amount,
                operator,
                error,
            },
            Fr,
        ) => format!(
            "CON {}Donner {} FCFA à la cagnotte {} avec {} ?\n1 Confirmer\n2 Annuler",
            invalid(*error),
            cfa(*amount),
            pot_name(pot, lang),
            operator_name(*operator)
        ),
        (
            Screen::Confirm {
                pot,
                amount,
                operator,
                error,
            },
            Wo,
        ) => format!(
            "CON {}Joxe {} FCFA cagnotte {} ak {}?\n1 Waaw\n2 Deedet",
            invalid(*error),
            cfa(*amount),
            pot_name(pot, lang),
            operator_name(*operator)
        ),
        (Screen::NotOpen, Fr) => {
            "END Cette cagnotte n'accepte pas de participation en ce moment.".into()
        }
        (Screen::NotOpen, Wo) => "END Cagnotte bii ubbiwul leegi.".into(),
        (Screen::HowToGetOrangeCode, Fr) => {
            "END Composez #144#391# pour obtenir un code de paiement Orange Money, puis rappelez WOLO et saisissez-le.".into()
        }
        (Screen::HowToGetOrangeCode, Wo) => {
            "END Wootal #144#391# ngir am code fey Orange Money, te nga wootaat WOLO bind ko.".into()
        }
        (Screen::Cancelled, Fr) => "END Participation annulée. Merci d'avoir utilisé WOLO.".into(),
        (Screen::Cancelled, Wo) => "END Bayyi nanu ko. Jerejef ci WOLO.".into(),
        (Screen::Done { operator }, Fr) => match operator {
            Operator::FreeMoney => "END Merci ! Validez le paiement sur votre téléphone (#150#). Vous recevrez un SMS de confirmation.".into(),
            Operator::OrangeMoney => "END Merci ! Votre paiement Orange Money est en cours. Vous recevrez un SMS de confirmation.".into(),
        },
        (Screen::Done { operator }, Wo) => match operator {
            Operator::FreeMoney => "END Jerejef! Dogalal fey bi ci sa telefon (#150#). Dinga jot SMS bu fey bi agsee.".into(),
            Operator::OrangeMoney => "END Jerejef! Sa fey Orange Money mu ngi dox. Dinga jot SMS bu fey bi agsee.".into(),
        },
        (Screen::TooManyCodes, Fr) => {
            "END Trop de codes inconnus depuis ce numéro. Réessayez dans une heure.".into()
        }
        (Screen::TooManyCodes, Wo) => "END Code yu baaxul bari nanu. Jeemaatal ci benn waxtu.".into(),
        (Screen::TooManyUnpaid, Fr) => {
            "END Vous avez déjà des participations en attente de paiement. Réessayez plus tard.".into()
        }
        (Screen::TooManyUnpaid, Wo) => {
            "END Am nga ay ndimbal yu feyagul. Jeemaatal ci kanam.".into()
        }
        (Screen::Unavailable, Fr) => {
            "END Le paiement mobile n'est pas disponible pour le moment. Réessayez plus tard.".into()
        }
        (Screen::Unavailable, Wo) => "END Fey bi jaarul leegi. Jeemaatal ci kanam.".into(),
        (Screen::NotSenegal, Fr) => {
            "END Ce service est réservé aux numéros du Sénégal.".into()
        }
        (Screen::NotSenegal, Wo) => "END Liggeey bii numero Senegaal rekk la.".into(),
    }
}

/// The GSM 03.38 default alphabet (basic set, one septet each).
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Whether every character of `s` is in the GSM 7-bit default alphabet.
pub fn is_gsm7(s: &str) -> bool {
    s.chars().all(|c| GSM7.contains(c))
}

/// `s` with every character outside the GSM 7-bit alphabet replaced by its plain letter
/// (`ï` → `i`, `ç` → `c`, `ô` → `o`...) or dropped: what a name becomes on a screen.
pub fn gsm_safe(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if GSM7.contains(c) && c != '\n' && c != '\r' {
                return Some(c);
            }
            let plain = match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
                'À' | 'Á' | 'Â' | 'Ã' => 'A',
                'ç' => 'c',
                'è' | 'ê' | 'ë' => 'e',
                'È' | 'Ê' | 'Ë' => 'E',
                'ì' | 'í' | 'î' | 'ï' => 'i',
                'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
                'ñ' => 'n',
                'ò' | 'ó' | 'ô' | 'õ' => 'o',
                'Ò' | 'Ó' | 'Ô' | 'Õ' => 'O',
                'ù' | 'ú' | 'û' => 'u',
                'Ù' | 'Ú' | 'Û' => 'U',
                'ŋ' => 'n',
                'Ŋ' => 'N',
                '’' | '‘' => '\'',
                _ => return None,
            };
            Some(plain)
        })
        .collect()
}

/// Where the inputs lead: the state after each input, from the first screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub screen: Screen,
    pub lang: Lang,
    /// Unknown pot codes typed in this session.
    pub misses: i32,
    /// Set when the last input confirmed: the donation to create.
    pub confirmed: Option<Confirmed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub pot: MenuPot,
    pub amount: i64,
    pub operator: Operator,
    pub orange_code: Option<String>,
}

/// What the walk needs from the database.
pub trait Lookup {
    /// The pot with this short code.
    fn pot(
        &mut self,
        code: &str,
    ) -> impl std::future::Future<Output = Result<Option<MenuPot>, sqlx::Error>> + Send;
}

/// Replays `inputs` from the first screen (see the module docs). `limits` are the admins'
/// minimum and maximum amount.
pub async fn walk<L: Lookup>(
    inputs: &[&str],
    limits: (i64, i64),
    lookup: &mut L,
) -> Result<Walk, sqlx::Error> {
    let mut w = Walk {
        screen: Screen::Code { error: None },
        lang: Lang::Fr,
        misses: 0,
        confirmed: None,
    };
    let mut orange_code: Option<String> = None;
    for (i, raw) in inputs.iter().enumerate() {
        let input = raw.trim();
        let last = i + 1 == inputs.len();
        let next = match std::mem::replace(&mut w.screen, Screen::Unavailable) {
            Screen::Code { .. } => {
                if input == "0" {
                    w.lang = if w.lang == Lang::Fr {
                        Lang::Wo
                    } else {
                        Lang::Fr
                    };
                    Screen::Code { error: None }
                } else if (6..=8).contains(&input.len())
                    && input.bytes().all(|b| b.is_ascii_digit())
                {
                    match lookup.pot(input).await? {
                        Some(pot) if pot.open => Screen::Amount {
                            pot,
                            min: limits.0,
                            max: limits.1,
                            error: false,
                        },
                        Some(_) => Screen::NotOpen,
                        None => {
                            w.misses += 1;
                            Screen::Code {
                                error: Some(Error::Unknown),
                            }
                        }
                    }
                } else {
                    Screen::Code {
                        error: Some(Error::Invalid),
                    }
                }
            }
            Screen::Amount { pot, min, max, .. } => match input.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) && input.len() <= 9 => Screen::Operator {
                    pot,
                    amount: n,
                    error: false,
                },
                _ => Screen::Amount {
                    pot,
                    min,
                    max,
                    error: true,
                },
            },
            Screen::Operator { pot, amount, .. } => match input {
                "1" => Screen::OrangeCode {
                    pot,
                    amount,
                    error: false,
                },
                "2" => Screen::Confirm {
                    pot,
                    amount,
                    operator: Operator::FreeMoney,
                    error: false,
                },
                _ => Screen::Operator {
                    pot,
                    amount,
                    error: true,
                },
            },
            Screen::OrangeCode { pot, amount, .. } => {
                if input == "0" {
                    Screen::HowToGetOrangeCode
                } else if (4..=8).contains(&input.len())
                    && input.bytes().all(|b| b.is_ascii_digit())
                {
                    orange_code = Some(input.to_string());
                    Screen::Confirm {
                        pot,
                        amount,
                        operator: Operator::OrangeMoney,
                        error: false,
                    }
                } else {
                    Screen::OrangeCode {
                        pot,
                        amount,
                        error: true,
                    }
                }
            }
            Screen::Confirm {
                pot,
                amount,
                operator,
                ..
            } => match input {
                "1" => {
                    if last {
                        w.confirmed = Some(Confirmed {
                            pot,
                            amount,
                            operator,
                            orange_code: orange_code.clone(),
                        });
                    }
                    Screen::Done { operator }
                }
                "2" => Screen::Cancelled,
                _ => Screen::Confirm {
                    pot,
                    amount,
                    operator,
                    error: true,
                },
            },
            // An END screen ends the session: any input after it is a new session's.
            end => end,
        };
        w.screen = next;
        if !last && is_end(&w.screen) {
            break;
        }
    }
    Ok(w)
}

fn is_end(s: &Screen) -> bool {
    !matches!(
        s,
        Screen::Code { .. }
            | Screen::Amount { .. }
            | Screen::Operator { .. }
            | Screen::OrangeCode { .. }
            | Screen::Confirm { .. }
    )
}

/// Pots looked up by short code in the database.
pub struct DbLookup<'a> {
    pub pool: &'a PgPool,
}

/// The pot with short code `code`, as the menu shows it.
pub async fn pot_by_code(pool: &PgPool, code: &str) -> Result<Option<MenuPot>, sqlx::Error> {
    let row = sqlx::query(
        "select p.id, p.short_code, coalesce(p.status, '') = 'open',
                -- A private pot's progress is its owner's to show.
                case when coalesce(p.visibility, 'private') = 'private' then null
                     when coalesce(p.target_amount_cfa, 0) > 0
                     then least(100, floor(100.0 * coalesce(p.raised_amount_cfa, 0) / p.target_amount_cfa))::bigint
                     else 0 end,
                donations.pot_public_name(p.id)
         from pots.pots p where p.short_code = $1",
    )
    .bind(code)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| MenuPot {
        id: r.get(0),
        code: r.get(1),
        open: r.get(2),
        percent: r.get(3),
        name: r
            .get::<Option<String>, _>(4)
            .map(|n| {
                gsm_safe(&n)
                    .chars()
                    .take(MAX_NAME_CHARS)
                    .collect::<String>()
            })
            .filter(|n| !n.trim().is_empty()),
    }))
}

impl Lookup for DbLookup<'_> {
    async fn pot(&mut self, code: &str) -> Result<Option<MenuPot>, sqlx::Error> {
        pot_by_code(self.pool, code).await
    }
}

/// The gateway's form.
#[derive(Debug, Default)]
struct Hop {
    session_id: String,
    phone: String,
    network_code: Option<String>,
    text: String,
}

fn parse_hop(body: &[u8]) -> Option<Hop> {
    let mut hop = Hop::default();
    for (k, v) in form_urlencoded::parse(body).take(20) {
        match k.as_ref() {
            "sessionId" => hop.session_id = v.into_owned(),
            "phoneNumber" => hop.phone = v.into_owned(),
            "networkCode" => hop.network_code = Some(v.chars().take(10).collect()),
            "text" => hop.text = v.into_owned(),
            _ => {}
        }
    }
    let ok = !hop.session_id.is_empty()
        && hop.session_id.len() <= 100
        && !hop.phone.is_empty()
        && hop.text.chars().count() <= MAX_TEXT_CHARS;
    ok.then_some(hop)
}

fn text(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Whether `given` is the configured gateway key (constant time).
pub fn gateway_key_matches(state: &AppState, given: &str) -> bool {
    state.config.gateway_key.as_ref().is_some_and(|key| {
        platform::signature::same_secret(key.expose().as_bytes(), given.as_bytes())
    })
}

/// 404 for a path without the gateway's key (or no gateway configured): nothing says the
/// menu exists.
pub fn not_found() -> Response {
    rest::ApiError::not_found("not_found", "Introuvable (not found)").into_response()
}

/// `POST /ussd/{key}`: one hop of the menu (see the module docs).
#[tracing::instrument(skip_all)]
pub async fn post_ussd(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    if !gateway_key_matches(&state, &key) {
        return not_found();
    }
    let Some(hop) = parse_hop(&body) else {
        // The gateway ends the session on a 4xx.
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "END Requete USSD illisible.",
        )
            .into_response();
    };
    match answer(&state, &hop).await {
        Ok(s) => text(s),
        Err(e) => {
            tracing::error!(error = %e, "USSD hop failed");
            text(render(&Screen::Unavailable, Lang::Fr))
        }
    }
}

async fn answer(state: &AppState, hop: &Hop) -> Result<String, sqlx::Error> {
    let Some(phone) = rest::input::phone_e164(&hop.phone).filter(|p| p.starts_with("+221")) else {
        return Ok(render(&Screen::NotSenegal, Lang::Fr));
    };
    let inputs: Vec<&str> = if hop.text.is_empty() {
        Vec::new()
    } else {
        hop.text.split('*').collect()
    };
    let (min, max, on, unpaid_limit, miss_limit): (i32, i32, bool, i32, i32) = sqlx::query_as(
        "select admin.config_int('donations.min_amount_cfa', $1),
                admin.config_int('donations.max_amount_cfa', $2),
                admin.flag_on('paydunya_payments'),
                admin.config_int('donations.phone_unpaid_per_hour', 3),
                admin.config_int('donations.phone_code_misses_per_hour', 10)",
    )
    .bind(crate::checkout::MIN_AMOUNT_CFA as i32)
    .bind(crate::checkout::MAX_AMOUNT_CFA as i32)
    .fetch_one(&state.db)
    .await?;
    if state.paydunya.is_none() || !on {
        return Ok(render(&Screen::Unavailable, Lang::Fr));
    }
    // The session's row: its caller is fixed by its first hop.
    let (stored_phone, donation): (String, Option<Uuid>) = sqlx::query_as(
        "insert into donations.ussd_sessions (session_id, phone, network_code, hops)
         values ($1, $2, $3, 1)
         on conflict (session_id) do update
             set hops = donations.ussd_sessions.hops + 1, updated_at = now()
         returning phone, donation_id",
    )
    .bind(&hop.session_id)
    .bind(&phone)
    .bind(&hop.network_code)
    .fetch_one(&state.db)
    .await?;
    if stored_phone != phone {
        return Ok(render(&Screen::Unavailable, Lang::Fr));
    }
    let mut lookup = DbLookup { pool: &state.db };
    let w = walk(&inputs, (i64::from(min), i64::from(max)), &mut lookup).await?;
    if w.misses > 0 {
        sqlx::query(
            "update donations.ussd_sessions set code_misses = greatest(code_misses, $2)
              where session_id = $1",
        )
        .bind(&hop.session_id)
        .bind(w.misses)
        .execute(&state.db)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "select coalesce(sum(code_misses), 0)::bigint from donations.ussd_sessions
              where phone = $1 and created_at > now() - interval '1 hour'",
        )
        .bind(&phone)
        .fetch_one(&state.db)
        .await?;
        if total > i64::from(miss_limit) {
            return Ok(render(&Screen::TooManyCodes, w.lang));
        }
    }
    let Some(c) = w.confirmed.clone() else {
        return Ok(render(&w.screen, w.lang));
    };
    // The last hop confirmed: the donation, once per session.
    if donation.is_some() {
        return Ok(render(&w.screen, w.lang));
    }
    let created = create_phone_donation(
        &state.db,
        PhoneDonation {
            pot: c.pot.id,
            amount: c.amount,
            phone: &phone,
            operator: c.operator,
            locale: w.lang.locale(),
            channel: "ussd",
            idempotency: ("ussd", &hop.session_id),
            unpaid_limit: i64::from(unpaid_limit),
            session: &hop.session_id,
            orange_code: c.orange_code.as_deref(),
        },
    )
    .await?;
    let screen = match created {
        Created::Donation(id) => {
            kick(state, id);
            w.screen
        }
        Created::NotOpen => Screen::NotOpen,
        Created::TooManyUnpaid => Screen::TooManyUnpaid,
    };
    Ok(render(&screen, w.lang))
}

/// Asks for the payment of a donation just created, in the background (the hop or the SMS
/// is answered without waiting); [`start_phone_payments_once`] does it anyway if this fails.
pub fn kick(state: &AppState, donation: Uuid) {
    let Some(paydunya) = state.paydunya.clone() else {
        return;
    };
    let db = state.db.clone();
    let links = state.config.links.clone();
    tokio::spawn(async move {
        if let Err(e) = start_payment(&db, &paydunya, &links, donation).await {
            tracing::warn!(%donation, error = %e, "starting a phone payment failed; the job retries");
        }
    });
}

/// A donation by phone (USSD or SMS) to create.
pub struct PhoneDonation<'a> {
    pub pot: Uuid,
    pub amount: i64,
    pub phone: &'a str,
    pub operator: Operator,
    pub locale: &'a str,
    pub channel: &'a str,
    /// (scope prefix, key): one donation per USSD session or per SMS.
    pub idempotency: (&'a str, &'a str),
    pub unpaid_limit: i64,
    /// The session row (`donations.ussd_sessions`) that keeps the donation and the Orange
    /// Money code until the payment is asked for: written in the donation's transaction, so
    /// the payment's start never sees the donation without its code.
    pub session: &'a str,
    pub orange_code: Option<&'a str>,
}

pub enum Created {
    Donation(Uuid),
    NotOpen,
    TooManyUnpaid,
}

/// Creates a phone donation `pending` (one per idempotency key: a retry finds the first),
/// after the pot (locked for share: open) and the phone's unpaid donations of the last hour.
pub async fn create_phone_donation(
    pool: &PgPool,
    d: PhoneDonation<'_>,
) -> Result<Created, sqlx::Error> {
    let scope = format!("{}:{}", d.idempotency.0, d.idempotency.1);
    let mut tx = pool.begin().await?;
    let existing: Option<Uuid> = sqlx::query_scalar(
        "select id from donations.donations where idempotency_scope = $1 and idempotency_key = 'phone'",
    )
    .bind(&scope)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = existing {
        return Ok(Created::Donation(id));
    }
    // One phone at a time (a burst of sessions from one phone cannot all pass the count).
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('wolo phone donation ' || $1, 0))")
        .bind(d.phone)
        .execute(&mut *tx)
        .await?;
    let unpaid: i64 = sqlx::query_scalar(
        "select count(*) from donations.donations
          where donor_phone = $1 and channel <> 'web' and status in ('pending', 'failed')
            and initiated_at > now() - interval '1 hour'",
    )
    .bind(d.phone)
    .fetch_one(&mut *tx)
    .await?;
    if unpaid >= d.unpaid_limit {
        return Ok(Created::TooManyUnpaid);
    }
    sqlx::query("select donations.lock_pot_for_donation($1)")
        .bind(d.pot)
        .execute(&mut *tx)
        .await?;
    let open: Option<bool> =
        sqlx::query_scalar("select coalesce(status, '') = 'open' from pots.pots where id = $1")
            .bind(d.pot)
            .fetch_optional(&mut *tx)
            .await?;
    if open != Some(true) {
        return Ok(Created::NotOpen);
    }
    let risk = crate::risk::assess(&mut tx, d.pot, Some(d.phone), None, d.amount as i32).await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "insert into donations.donations
             (pot_id, donor_phone, amount_cfa, status, is_anonymous, show_amount, risk_score,
              risk_reasons, idempotency_key, idempotency_scope, payment_provider, payment_method,
              channel, donor_locale)
         values ($1, $2, $3, 'pending', false, true, $4, $5, 'phone', $6, 'paydunya', $7, $8, $9)
         on conflict (idempotency_scope, idempotency_key) do nothing
         returning id",
    )
    .bind(d.pot)
    .bind(d.phone)
    .bind(d.amount as i32)
    .bind(risk.score)
    .bind(serde_json::Value::Array(risk.reasons))
    .bind(&scope)
    .bind(d.operator.method())
    .bind(d.channel)
    .bind(d.locale)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match id {
        Some(id) => id,
        None => {
            sqlx::query_scalar(
                "select id from donations.donations where idempotency_scope = $1 and idempotency_key = 'phone'",
            )
            .bind(&scope)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    sqlx::query(
        "insert into donations.ussd_sessions (session_id, phone, authorization_code, donation_id)
         values ($1, $2, $3, $4)
         on conflict (session_id) do update
             set donation_id = excluded.donation_id,
                 authorization_code = excluded.authorization_code, updated_at = now()",
    )
    .bind(d.session)
    .bind(d.phone)
    .bind(d.orange_code)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Created::Donation(id))
}

/// How long a claim on a phone payment's start lasts (its holder died otherwise).
const START_LEASE_SECS: f64 = 60.0;

/// Asks PayDunya for the payment of phone donation `donation` (no transaction open while
/// PayDunya answers): an invoice (stored at once), then the operator's SOFTPAY request with
/// the donor's number (and the Orange Money code, erased once used); then the donor's
/// instructions by SMS. A refusal fails the donation (the donor gets an SMS). Claimed first,
/// so two starters never ask twice (a second SOFTPAY would prompt the payer again).
pub async fn start_payment(
    pool: &PgPool,
    paydunya: &PayDunya,
    links: &platform::links::Links,
    donation: Uuid,
) -> anyhow::Result<bool> {
    let claim = Uuid::new_v4();
    let row = sqlx::query(
        "update donations.donations
            set wave_claim_id = $2, wave_claim_until = now() + make_interval(secs => $3)
          where id = $1 and status = 'pending' and payment_provider = 'paydunya'
            and channel <> 'web' and provider_token is null
            and (wave_claim_until is null or wave_claim_until < now())
         returning amount_cfa, donor_phone, payment_method, donor_locale, pot_id,
                   (select authorization_code from donations.ussd_sessions s
                     where s.donation_id = donations.donations.id)",
    )
    .bind(donation)
    .bind(claim)
    .bind(START_LEASE_SECS)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let amount: i32 = row.get(0);
    let phone: String = row.get::<Option<String>, _>(1).unwrap_or_default();
    let operator = Operator::from_method(&row.get::<Option<String>, _>(2).unwrap_or_default())
        .unwrap_or(Operator::FreeMoney);
    let locale: String = row
        .get::<Option<String>, _>(3)
        .unwrap_or_else(|| "fr-SN".into());
    let pot: Uuid = row.get(4);
    let code: Option<String> = row.get(5);

    let invoice = paydunya
        .create_invoice(donation, amount, "Participation à une cagnotte WOLO", links)
        .await;
    let invoice = match invoice {
        Ok(i) => i,
        Err(e) => {
            // Nothing asked of the payer yet: the claim lapses and the job tries again.
            anyhow::bail!("PayDunya invoice: {e}");
        }
    };
    sqlx::query(
        "update donations.donations
            set provider_token = $2, provider_payment_url = $3, provider_status = 'pending'
          where id = $1 and wave_claim_id = $4",
    )
    .bind(donation)
    .bind(&invoice.token)
    .bind(&invoice.url)
    .bind(claim)
    .execute(pool)
    .await?;
    let asked = paydunya
        .softpay(
            operator,
            &invoice.token,
            &phone,
            "Donateur WOLO",
            code.as_deref(),
        )
        .await;
    // The code is used (or refused): it is not kept.
    sqlx::query(
        "update donations.ussd_sessions set authorization_code = null where donation_id = $1",
    )
    .bind(donation)
    .execute(pool)
    .await?;
    let mut tx = pool.begin().await?;
    match asked {
        Ok(_) => {
            let name = pot_first_name(&mut tx, pot).await?;
            let instructions = instructions(operator, &locale);
            let request =
                platform::events::NotificationRequested::to_phone(&phone, "donation_instructions")
                    .locale(&locale)
                    .channels(&[platform::events::Channel::Sms])
                    .var("amount_cfa", amount)
                    .var("pot_name", name)
                    .var("instructions", instructions);
            platform::events::publish(&mut tx, &request, crate::NAME).await?;
        }
        Err(e) if e.outcome_unknown() => {
            // PayDunya may have prompted the payer: never asked again, and not failed either
            // (the payer may approve); the reconciliation job confirms it, or abandons it.
            tracing::warn!(%donation, error = %e, "SOFTPAY outcome unknown; left to the reconciliation job");
        }
        Err(e) => {
            tracing::warn!(%donation, error = %e, "PayDunya refused the phone payment");
            let failed = sqlx::query(
                "update donations.donations
                    set status = 'failed', failed_at = now(), failure_reason = $2
                  where id = $1 and status = 'pending'",
            )
            .bind(donation)
            .bind(format!("paydunya_softpay_refused: {e}"))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if failed == 1 {
                sqlx::query("select donations.publish_failed($1)")
                    .bind(donation)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    sqlx::query(
        "update donations.donations set wave_claim_id = null, wave_claim_until = null
          where id = $1 and wave_claim_id = $2",
    )
    .bind(donation)
    .bind(claim)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The owner's first name for a donor's SMS (`donations.pot_public_name`: never a minor's
/// or a private pot's), else the pot's code.
async fn pot_first_name(conn: &mut sqlx::PgConnection, pot: Uuid) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "select coalesce(donations.pot_public_name(p.id), p.short_code)
           from pots.pots p where p.id = $1",
    )
    .bind(pot)
    .fetch_one(conn)
    .await
}

/// What the donor does next, in their language.
pub fn instructions(operator: Operator, locale: &str) -> &'static str {
    match (operator, locale.starts_with("wo")) {
        (Operator::FreeMoney, false) => {
            "Validez le paiement sur votre téléphone : tapez #150#. Vous recevrez un SMS de confirmation."
        }
        (Operator::FreeMoney, true) => {
            "Dogalal fey bi ci sa telefon: wootal #150#. Dinga jot SMS bu fey bi agsee."
        }
        (Operator::OrangeMoney, false) => {
            "Votre paiement Orange Money est en cours. Vous recevrez un SMS de confirmation."
        }
        (Operator::OrangeMoney, true) => {
            "Sa fey Orange Money mu ngi dox. Dinga jot SMS bu fey bi agsee."
        }
    }
}

/// Starts every phone donation whose payment was not asked for yet (the background start of
/// a hop died, PayDunya was down). Returns how many were started.
pub async fn start_phone_payments_once(
    pool: &PgPool,
    paydunya: &PayDunya,
    links: &platform::links::Links,
) -> anyhow::Result<u64> {
    let due: Vec<Uuid> = sqlx::query_scalar(
        "select id from donations.donations
          where status = 'pending' and payment_provider = 'paydunya' and channel <> 'web'
            and provider_token is null
            and (wave_claim_until is null or wave_claim_until < now())
          order by initiated_at limit 50",
    )
    .fetch_all(pool)
    .await?;
    let mut n = 0;
    for id in due {
        match start_payment(pool, paydunya, links, id).await {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(donation = %id, error = %e, "phone payment not started"),
        }
    }
    Ok(n)
}

/// Erases USSD sessions older than a day (their phone numbers with them). Returns how many.
pub async fn purge_sessions_once(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "delete from donations.ussd_sessions where created_at < now() - interval '1 day'",
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// The menu's first screen in both languages, for documentation and the simulator.
pub fn welcome() -> serde_json::Value {
    json!({"fr": render(&Screen::Code { error: None }, Lang::Fr), "wo": render(&Screen::Code { error: None }, Lang::Wo)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pot(name: Option<&str>) -> MenuPot {
        MenuPot {
            id: Uuid::nil(),
            code: "48291377".into(),
            name: name.map(String::from),
            open: true,
            percent: Some(100),
        }
    }

    /// Every screen of the menu, with the longest values it can show.
    fn every_screen() -> Vec<Screen> {
        let long = "M".repeat(MAX_NAME_CHARS);
        let mut out = vec![
            Screen::NotOpen,
            Screen::HowToGetOrangeCode,
            Screen::Cancelled,
            Screen::TooManyCodes,
            Screen::TooManyUnpaid,
            Screen::Unavailable,
            Screen::NotSenegal,
        ];
        for error in [None, Some(Error::Unknown), Some(Error::Invalid)] {
            out.push(Screen::Code { error });
        }
        let private = MenuPot {
            percent: None,
            ..pot(None)
        };
        for p in [pot(Some(&long)), pot(None), private] {
            for error in [false, true] {
                out.push(Screen::Amount {
                    pot: p.clone(),
                    min: 5_000_000,
                    max: 5_000_000,
                    error,
                });
                out.push(Screen::Operator {
                    pot: p.clone(),
                    amount: 5_000_000,
                    error,
                });
                out.push(Screen::OrangeCode {
                    pot: p.clone(),
                    amount: 5_000_000,
                    error,
                });
                for operator in [Operator::OrangeMoney, Operator::FreeMoney] {
                    out.push(Screen::Confirm {
                        pot: p.clone(),
                        amount: 5_000_000,
                        operator,
                        error,
                    });
                }
            }
        }
        for operator in [Operator::OrangeMoney, Operator::FreeMoney] {
            out.push(Screen::Done { operator });
        }
        out
    }

    #[test]
    fn every_screen_fits_160_gsm7_characters_in_both_languages() {
        for s in every_screen() {
            for lang in [Lang::Fr, Lang::Wo] {
                let t = render(&s, lang);
                assert!(t.starts_with("CON ") || t.starts_with("END "), "{t}");
                assert!(is_gsm7(&t), "not GSM-7: {t:?}");
                assert!(
                    t.chars().count() <= MAX_SCREEN_CHARS,
                    "{} chars: {t:?}",
                    t.chars().count()
                );
            }
        }
    }

    #[test]
    fn names_become_gsm7() {
        assert_eq!(gsm_safe("Aïssatou"), "Aissatou");
        assert_eq!(gsm_safe("Françoise"), "Francoise");
        assert_eq!(gsm_safe("Ndèye"), "Ndèye");
        assert_eq!(gsm_safe("Jérôme\n"), "Jérome");
        assert!(is_gsm7(&gsm_safe("Ŋoor 😀 Sëñ")));
        assert_eq!(cfa(5_000_000), "5 000 000");
        assert_eq!(cfa(500), "500");
    }

    struct Fake;
    impl Lookup for Fake {
        async fn pot(&mut self, code: &str) -> Result<Option<MenuPot>, sqlx::Error> {
            Ok(match code {
                "482913" => Some(MenuPot {
                    id: Uuid::nil(),
                    code: code.into(),
                    name: Some("Awa".into()),
                    open: true,
                    percent: Some(45),
                }),
                "111111" => Some(MenuPot {
                    id: Uuid::nil(),
                    code: code.into(),
                    name: None,
                    open: false,
                    percent: None,
                }),
                _ => None,
            })
        }
    }

    async fn go(text: &str) -> Walk {
        let inputs: Vec<&str> = if text.is_empty() {
            vec![]
        } else {
            text.split('*').collect()
        };
        walk(&inputs, (100, 500_000), &mut Fake).await.unwrap()
    }

    #[tokio::test]
    async fn the_menu_walks_to_a_confirmation() {
        assert_eq!(go("").await.screen, Screen::Code { error: None });
        let w = go("0").await;
        assert_eq!(w.lang, Lang::Wo);
        assert!(render(&w.screen, w.lang).contains("Bindal code"));
        let w = go("482913").await;
        assert!(
            render(&w.screen, w.lang).contains("Cagnotte de Awa : 45 % atteint"),
            "{:?}",
            render(&w.screen, w.lang)
        );
        assert!(matches!(
            go("482913*50").await.screen,
            Screen::Amount { error: true, .. }
        ));
        assert!(matches!(
            go("482913*5000").await.screen,
            Screen::Operator { .. }
        ));
        assert!(matches!(
            go("482913*5000*1").await.screen,
            Screen::OrangeCode { .. }
        ));
        assert_eq!(
            go("482913*5000*1*0").await.screen,
            Screen::HowToGetOrangeCode
        );
        let w = go("482913*5000*1*123456*1").await;
        let c = w.confirmed.expect("confirmed");
        assert_eq!(
            (c.amount, c.operator, c.orange_code.as_deref()),
            (5000, Operator::OrangeMoney, Some("123456"))
        );
        let w = go("0*482913*5000*2*1").await;
        assert_eq!(w.lang, Lang::Wo);
        assert_eq!(w.confirmed.map(|c| c.operator), Some(Operator::FreeMoney));
        assert_eq!(go("482913*5000*2*2").await.screen, Screen::Cancelled);
        // A confirmation is the last input only: inputs after an END screen change nothing.
        let w = go("482913*5000*2*1*1").await;
        assert!(w.confirmed.is_none());
        let w = go("999999*482913").await;
        assert_eq!(w.misses, 1);
        assert!(matches!(w.screen, Screen::Amount { .. }));
        assert_eq!(go("111111").await.screen, Screen::NotOpen);
        assert_eq!(
            go("12").await.screen,
            Screen::Code {
                error: Some(Error::Invalid)
            }
        );
    }
}
