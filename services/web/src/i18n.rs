//! The pages' words in French (first), Wolof and English, and how a page picks one: `?lang=`
//! (the switch at the top of every page), else the browser's `Accept-Language`, else French.
//!
//! The Wolof strings are a first version, to be read again by a native speaker.

use axum::http::HeaderMap;
use chrono::NaiveDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Fr,
    Wo,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fr, Lang::Wo, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::Wo => "wo",
            Lang::En => "en",
        }
    }

    /// The name of the language in itself, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::Wo => "Wolof",
            Lang::En => "English",
        }
    }

    fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Lang::Fr),
            "wo" => Some(Lang::Wo),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `?lang=` when it names one of ours, else the first of ours in `Accept-Language` by
    /// its weight (`q`), else French.
    pub fn pick(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query_lang.and_then(Lang::parse) {
            return l;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut best: Option<(f32, Lang)> = None;
        // Bounded: a header of a hundred entries is read no further.
        for part in accept.split(',').take(32) {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::parse) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Fr)
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::Fr => &FR,
            Lang::Wo => &WO,
            Lang::En => &EN,
        }
    }

    /// "12 décembre 2026" (French and Wolof, as the messages write it), "12 December 2026".
    pub fn date(self, d: NaiveDate) -> String {
        platform::calendar::long_date(d, self.code())
    }

    /// "12 500 FCFA", digits grouped by three with a narrow no-break space (fr-SN), a
    /// comma in English.
    pub fn cfa(self, amount: i64) -> String {
        let sep = if self == Lang::En { ',' } else { '\u{202f}' };
        format!(
            "{}\u{a0}FCFA",
            platform::amounts::group_thousands(amount, sep)
        )
    }
}

/// Every word a page shows. `{}` marks where a value goes (filled by [`fill`]).
pub struct Words {
    pub tagline: &'static str,
    pub birthday_of: &'static str,
    pub birthday_on: &'static str,
    pub days_left: &'static str,
    pub last_day: &'static str,
    pub raised_of: &'static str,
    /// The pot's short code, for relatives on feature phones.
    pub short_code: &'static str,
    pub donors: &'static str,
    pub state_scheduled: &'static str,
    pub state_open: &'static str,
    pub state_funded: &'static str,
    pub state_closed: &'static str,
    pub state_expired: &'static str,
    pub gift: &'static str,
    pub wall: &'static str,
    pub wall_empty: &'static str,
    pub anonymous: &'static str,
    pub give_title: &'static str,
    pub amount: &'static str,
    pub your_name: &'static str,
    pub your_phone: &'static str,
    pub optional: &'static str,
    pub message: &'static str,
    pub hide_name: &'static str,
    pub show_amount: &'static str,
    pub give_button: &'static str,
    pub pay_with_wave: &'static str,
    /// The choice of how to pay, when PayDunya is offered.
    pub pay_with: &'static str,
    pub mobile_money: &'static str,
    pub private_title: &'static str,
    pub private_text: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub thanks_title: &'static str,
    pub thanks_text: &'static str,
    pub pending_title: &'static str,
    pub pending_text: &'static str,
    pub failed_title: &'static str,
    pub failed_text: &'static str,
    pub retry: &'static str,
    pub back_to_pot: &'static str,
    pub receipt: &'static str,
    pub receipt_ref: &'static str,
    pub receipt_date: &'static str,
    pub receipt_amount: &'static str,
    pub receipt_pot: &'static str,
    pub receipt_keep: &'static str,
    pub refunded_title: &'static str,
    pub refunded_text: &'static str,
    pub gift_title: &'static str,
    pub gift_show: &'static str,
    pub gift_code: &'static str,
    pub gift_valid: &'static str,
    pub gift_not_yet: &'static str,
    pub gift_redeemed: &'static str,
    pub gift_expired: &'static str,
    pub gift_cancelled: &'static str,
    pub venues: &'static str,
    pub hours: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub reset_title: &'static str,
    pub reset_again: &'static str,
    pub reset_button: &'static str,
    pub reset_done: &'static str,
    pub reset_mismatch: &'static str,
    pub link_expired: &'static str,
    pub confirm_title: &'static str,
    pub confirm_text: &'static str,
    pub confirm_button: &'static str,
    pub confirm_done: &'static str,
    pub invite_title: &'static str,
    pub invite_text: &'static str,
    pub invite_by: &'static str,
    pub invite_phone: &'static str,
    pub invite_send: &'static str,
    pub invite_code: &'static str,
    pub invite_join: &'static str,
    pub invite_done: &'static str,
}

/// `template` with each `{}` replaced by the next of `values`.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(values.next().copied().unwrap_or(""));
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

pub static FR: Words = Words {
    tagline: "La cagnotte d'anniversaire entre proches",
    birthday_of: "L'anniversaire de {}",
    birthday_on: "le {}",
    days_left: "Plus que {} jours",
    last_day: "Dernier jour !",
    raised_of: "{} collectés sur {}",
    short_code: "Sans smartphone ? Participez par USSD ou par SMS avec le code {} (Orange Money, Free Money).",
    donors: "{} participant(s)",
    state_scheduled: "La cagnotte ouvre le {}.",
    state_open: "La cagnotte est ouverte : chaque participation compte.",
    state_funded: "Objectif atteint ! Merci à tous.",
    state_closed: "La cagnotte est clôturée.",
    state_expired: "La cagnotte est terminée.",
    gift: "Le cadeau",
    wall: "Le mur des participants",
    wall_empty: "Soyez le premier à participer !",
    anonymous: "Anonyme",
    give_title: "Participer",
    amount: "Montant (FCFA)",
    your_name: "Votre nom",
    your_phone: "Votre numéro",
    optional: "facultatif",
    message: "Un petit mot",
    hide_name: "Rester anonyme",
    show_amount: "Afficher mon montant",
    give_button: "Participer",
    pay_with_wave: "Vous payerez avec Wave.",
    pay_with: "Payer avec",
    mobile_money: "Orange Money, Free Money ou carte",
    private_title: "Cagnotte privée",
    private_text: "Cette cagnotte est privée. Ouvrez le lien d'invitation que vous avez reçu.",
    not_found_title: "Page introuvable",
    not_found_text: "Ce lien ne mène nulle part. Vérifiez-le ou demandez-en un nouveau.",
    thanks_title: "Merci !",
    thanks_text: "Votre participation de {} à « {} » est confirmée.",
    pending_title: "Paiement en cours",
    pending_text: "Nous attendons la confirmation de Wave. Cette page se met à jour toute seule.",
    failed_title: "Le paiement n'a pas abouti",
    failed_text: "Aucun montant n'a été débité. Vous pouvez réessayer.",
    retry: "Réessayer",
    back_to_pot: "Retour à la cagnotte",
    receipt: "Reçu",
    receipt_ref: "Référence",
    receipt_date: "Date",
    receipt_amount: "Montant",
    receipt_pot: "Cagnotte",
    receipt_keep: "Gardez cette page : elle vous sert de reçu.",
    refunded_title: "Participation remboursée",
    refunded_text: "Votre participation de {} a été remboursée.",
    gift_title: "Votre cadeau",
    gift_show: "Montrez ce QR code au comptoir.",
    gift_code: "Code à saisir si le scan ne marche pas",
    gift_valid: "Valable du {} au {}.",
    gift_not_yet: "Utilisable à partir du {}.",
    gift_redeemed: "Ce cadeau a déjà été utilisé.",
    gift_expired: "Ce cadeau a expiré.",
    gift_cancelled: "Ce cadeau a été annulé.",
    venues: "Où en profiter",
    hours: "Horaires",
    error_title: "Un souci",
    error_text: "Quelque chose s'est mal passé. Réessayez dans un instant.",
    reset_title: "Nouveau mot de passe",
    reset_again: "Confirmez-le",
    reset_button: "Changer mon mot de passe",
    reset_done: "Votre mot de passe est changé. Vous pouvez vous connecter avec lui.",
    reset_mismatch: "Les deux mots de passe ne sont pas identiques.",
    link_expired: "Ce lien n'est plus valable : demandez-en un nouveau.",
    confirm_title: "Confirmer votre adresse e-mail",
    confirm_text: "Appuyez sur le bouton pour confirmer votre adresse.",
    confirm_button: "Confirmer",
    confirm_done: "Votre adresse e-mail est confirmée. Merci !",
    invite_title: "Vous êtes invité(e) sur WOLO",
    invite_text: "WOLO, c'est la cagnotte d'anniversaire entre proches : on participe avec Wave, le cadeau s'ouvre avec un QR code.",
    invite_by: "{} vous invite à rejoindre WOLO.",
    invite_phone: "Votre numéro de téléphone",
    invite_send: "Recevoir un code par SMS",
    invite_code: "Le code reçu par SMS",
    invite_join: "Rejoindre WOLO",
    invite_done: "Bienvenue sur WOLO ! Votre invitation est acceptée.",
};

pub static WO: Words = Words {
    tagline: "Kees bu bésu juddu, ci biir mbokk ak xarit",
    birthday_of: "Bésu juddu {}",
    birthday_on: "ci {}",
    days_left: "Des na {} fan",
    last_day: "Fan bu mujj bi!",
    raised_of: "{} ñu dajale ci {}",
    short_code: "Amoo smartphone ? Bokkal ci USSD walla SMS ak code {} (Orange Money, Free Money).",
    donors: "{} nit ñoo bokk",
    state_scheduled: "Kees bi dina ubbiku ci {}.",
    state_open: "Kees bi ubbeeku na: lépp lu ñu joxe am na solo.",
    state_funded: "Jub nañu ci jubluwaay bi! Jërëjëf ñépp.",
    state_closed: "Kees bi tëju na.",
    state_expired: "Kees bi jeex na.",
    gift: "May bi",
    wall: "Ñi bokk",
    wall_empty: "Nekkal ki jiitu ci bokk!",
    anonymous: "Ku dul tudd",
    give_title: "Bokk ci",
    amount: "Xaalis bi (FCFA)",
    your_name: "Sa tur",
    your_phone: "Sa nimero",
    optional: "bu la neexee",
    message: "Ab wax ju gàtt",
    hide_name: "Bul wone sama tur",
    show_amount: "Wone li ma joxe",
    give_button: "Bokk ci",
    pay_with_wave: "Dinga fey ak Wave.",
    pay_with: "Fey ak",
    mobile_money: "Orange Money, Free Money walla kart",
    private_title: "Kees bu sutura",
    private_text: "Kees bii sutura la. Ubbil lien bi ñu la yónnee.",
    not_found_title: "Xët wi amul",
    not_found_text: "Lien bii jëmul fenn. Seetaatal ko walla laaj beneen.",
    thanks_title: "Jërëjëf!",
    thanks_text: "Li nga joxe, {}, ci « {} » dugg na.",
    pending_title: "Fey bi mungi dox",
    pending_text: "Nungi xaar Wave mu dëggal ko. Xët wi dina yeesu boppam.",
    failed_title: "Fey bi antuwul",
    failed_text: "Benn xaalis jógul ci sa kont. Mën nga jéemaat.",
    retry: "Jéemaat",
    back_to_pot: "Dellu ci kees bi",
    receipt: "Kayitu fey",
    receipt_ref: "Référence",
    receipt_date: "Bés",
    receipt_amount: "Xaalis",
    receipt_pot: "Kees",
    receipt_keep: "Denc xët wii: mooy sa kayitu fey.",
    refunded_title: "Delloo nañu la sa xaalis",
    refunded_text: "Li nga joxe, {}, delloo nañu la ko.",
    gift_title: "Sa may",
    gift_show: "Wone QR code bii ci guichet bi.",
    gift_code: "Code bi ngay bind su scan bi doxul",
    gift_valid: "Mën nga ko jëfandikoo ci diggante {} ak {}.",
    gift_not_yet: "Mën nga ko jëfandikoo ci {}.",
    gift_redeemed: "May bii jëfandikoo nañu ko ba noppi.",
    gift_expired: "Jamono may bii jeex na.",
    gift_cancelled: "May bii neenal nañu ko.",
    venues: "Fan lañu koy jëfandikoo",
    hours: "Waxtu yi",
    error_title: "Am na jafe-jafe",
    error_text: "Am na lu baaxul. Jéemaatal ci kanam.",
    reset_title: "Baatu jàll bu bees",
    reset_again: "Bindaat ko",
    reset_button: "Soppi sama baatu jàll",
    reset_done: "Sa baatu jàll soppiku na. Mën nga dugg ak moom.",
    reset_mismatch: "Ñaari baatu jàll yi yemuñu.",
    link_expired: "Lien bii jeex na: laajal beneen.",
    confirm_title: "Dëggal sa adrees e-mail",
    confirm_text: "Bësal butoŋ bi ngir dëggal sa adrees.",
    confirm_button: "Dëggal",
    confirm_done: "Sa adrees e-mail dëggu na. Jërëjëf!",
    invite_title: "Ñu ngi lay woo ci WOLO",
    invite_text:
        "WOLO mooy kees bu bésu juddu ci biir mbokk: ñu joxe ak Wave, may bi ubbiku ak QR code.",
    invite_by: "{} mungi lay woo ci WOLO.",
    invite_phone: "Sa nimero telefon",
    invite_send: "Jot benn code ci SMS",
    invite_code: "Code bi nga jot ci SMS",
    invite_join: "Dugg ci WOLO",
    invite_done: "Dalal jàmm ci WOLO! Nangu nañu sa woote.",
};

pub static EN: Words = Words {
    tagline: "The birthday pot among friends and family",
    birthday_of: "{}'s birthday",
    birthday_on: "on {}",
    days_left: "{} days left",
    last_day: "Last day!",
    raised_of: "{} raised of {}",
    short_code: "No smartphone? Chip in by USSD or SMS with code {} (Orange Money, Free Money).",
    donors: "{} contributor(s)",
    state_scheduled: "The pot opens on {}.",
    state_open: "The pot is open: every contribution counts.",
    state_funded: "Target reached! Thank you all.",
    state_closed: "The pot is closed.",
    state_expired: "The pot has ended.",
    gift: "The gift",
    wall: "Contributors",
    wall_empty: "Be the first to contribute!",
    anonymous: "Anonymous",
    give_title: "Contribute",
    amount: "Amount (FCFA)",
    your_name: "Your name",
    your_phone: "Your phone number",
    optional: "optional",
    message: "A few words",
    hide_name: "Stay anonymous",
    show_amount: "Show my amount",
    give_button: "Contribute",
    pay_with_wave: "You will pay with Wave.",
    pay_with: "Pay with",
    mobile_money: "Orange Money, Free Money or card",
    private_title: "Private pot",
    private_text: "This pot is private. Open the invitation link you received.",
    not_found_title: "Page not found",
    not_found_text: "This link leads nowhere. Check it or ask for a new one.",
    thanks_title: "Thank you!",
    thanks_text: "Your contribution of {} to “{}” is confirmed.",
    pending_title: "Payment in progress",
    pending_text: "We are waiting for Wave's confirmation. This page updates by itself.",
    failed_title: "The payment did not go through",
    failed_text: "Nothing was charged. You can try again.",
    retry: "Try again",
    back_to_pot: "Back to the pot",
    receipt: "Receipt",
    receipt_ref: "Reference",
    receipt_date: "Date",
    receipt_amount: "Amount",
    receipt_pot: "Pot",
    receipt_keep: "Keep this page: it is your receipt.",
    refunded_title: "Contribution refunded",
    refunded_text: "Your contribution of {} was refunded.",
    gift_title: "Your gift",
    gift_show: "Show this QR code at the counter.",
    gift_code: "Code to type if the scan fails",
    gift_valid: "Valid from {} to {}.",
    gift_not_yet: "Usable from {}.",
    gift_redeemed: "This gift has already been used.",
    gift_expired: "This gift has expired.",
    gift_cancelled: "This gift was cancelled.",
    venues: "Where to enjoy it",
    hours: "Opening hours",
    error_title: "Something went wrong",
    error_text: "Something went wrong. Please try again in a moment.",
    reset_title: "New password",
    reset_again: "Type it again",
    reset_button: "Change my password",
    reset_done: "Your password is changed. You can sign in with it.",
    reset_mismatch: "The two passwords are not the same.",
    link_expired: "This link is no longer valid: ask for a new one.",
    confirm_title: "Confirm your e-mail address",
    confirm_text: "Press the button to confirm your address.",
    confirm_button: "Confirm",
    confirm_done: "Your e-mail address is confirmed. Thank you!",
    invite_title: "You are invited to WOLO",
    invite_text: "WOLO is the birthday pot among friends and family: everyone chips in with Wave, the gift opens with a QR code.",
    invite_by: "{} invites you to join WOLO.",
    invite_phone: "Your phone number",
    invite_send: "Get a code by SMS",
    invite_code: "The code you received by SMS",
    invite_join: "Join WOLO",
    invite_done: "Welcome to WOLO! Your invitation is accepted.",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("accept-language", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn the_switch_then_the_browser_then_french() {
        assert_eq!(Lang::pick(Some("wo"), &accept("en")), Lang::Wo);
        assert_eq!(Lang::pick(Some("de"), &accept("en-GB,en;q=0.8")), Lang::En);
        assert_eq!(
            Lang::pick(None, &accept("de-DE, wo;q=0.4, en;q=0.3")),
            Lang::Wo
        );
        assert_eq!(Lang::pick(None, &accept("fr-SN")), Lang::Fr);
        assert_eq!(Lang::pick(None, &accept("de, en;q=0")), Lang::Fr);
        assert_eq!(Lang::pick(None, &HeaderMap::new()), Lang::Fr);
    }

    #[test]
    fn amounts_and_dates_as_people_write_them() {
        assert_eq!(Lang::Fr.cfa(1_250_000), "1\u{202f}250\u{202f}000\u{a0}FCFA");
        assert_eq!(Lang::En.cfa(12_500), "12,500\u{a0}FCFA");
        assert_eq!(Lang::Fr.cfa(500), "500\u{a0}FCFA");
        let d = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(Lang::Fr.date(d), "4 décembre 2026");
        assert_eq!(Lang::En.date(d), "4 December 2026");
        assert_eq!(fill("{} sur {}", &["1", "2"]), "1 sur 2");
    }
}
