//! Every event of the outbox, in one place: its topic and its payload's type.
//!
//! Producers publish a value ([`publish`]); consumers decode the same type
//! ([`Published::decode`], or [`crate::outbox::Event::decode`]). No topic string and no payload
//! literal lives anywhere else, so a field renamed here is renamed for producer and consumer at
//! once, and a payload that no longer matches its contract is refused by the compiler, not
//! discovered in a parked event.
//!
//! ```no_run
//! # async fn f(tx: &mut sqlx::PgConnection, pot: uuid::Uuid, owner: uuid::Uuid, birthday: chrono::NaiveDate) -> Result<(), sqlx::Error> {
//! use platform::events::{self, PotOpened};
//! events::publish(tx, &PotOpened { pot_id: pot, owner_user_id: owner, birthday_date: birthday }, "pots").await?;
//! # Ok(()) }
//! ```
//!
//! Payloads are read leniently (an unknown field is ignored, an optional one may be missing):
//! events already in the outbox, written by an older version, keep being applied.
//!
//! `pot.created` is published by the database itself (`referral.create_birthday_pot` and the
//! pots trigger, migrations V60 and V93); its type here is the contract those functions keep.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// An event type: its topic, and the payload is the value itself.
pub trait Topic: Serialize + DeserializeOwned + Send + Sync {
    const TOPIC: &'static str;
}

/// Appends `event` to the outbox in the caller's transaction; `source` is the publishing
/// service. Returns the event's id.
pub async fn publish<T: Topic>(
    conn: &mut PgConnection,
    event: &T,
    source: &str,
) -> Result<i64, sqlx::Error> {
    let payload = serde_json::to_value(event)
        .map_err(|e| sqlx::Error::Encode(format!("{} payload: {e}", T::TOPIC).into()))?;
    crate::outbox::publish(conn, T::TOPIC, &payload, source).await
}

macro_rules! topics {
    ($($(#[$doc:meta])* $variant:ident = $topic:literal,)*) => {
        $(impl Topic for $variant {
            const TOPIC: &'static str = $topic;
        })*

        /// Any event of the outbox, decoded.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Published {
            $($(#[$doc])* $variant($variant),)*
        }

        impl Published {
            /// Every topic, in declaration order.
            pub const TOPICS: &'static [&'static str] = &[$($topic,)*];

            /// The event of `topic` carrying `payload`; an unknown topic or a payload that does
            /// not match its type is an error naming the topic.
            pub fn decode(topic: &str, payload: &Value) -> anyhow::Result<Published> {
                match topic {
                    $($topic => Ok(Published::$variant(contract(topic, payload)?)),)*
                    other => anyhow::bail!("unknown topic {other:?}"),
                }
            }

            /// The event's topic.
            pub fn topic(&self) -> &'static str {
                match self {
                    $(Published::$variant(_) => $topic,)*
                }
            }
        }
    };
}

fn contract<T: DeserializeOwned>(topic: &str, payload: &Value) -> anyhow::Result<T> {
    T::deserialize(payload)
        .map_err(|e| anyhow::anyhow!("{topic} payload does not match its contract: {e}"))
}

topics! {
    /// A pot was created (scheduled to open at J-30). Published by the database.
    PotCreated = "pot.created",
    /// A scheduled pot opened (J-30, Africa/Dakar).
    PotOpened = "pot.opened",
    /// An open pot reached its target.
    PotFunded = "pot.funded",
    /// A pot was closed (by its owner, at its birthday, or when its gift was issued).
    PotClosed = "pot.closed",
    /// A pot ended without reaching its target.
    PotExpired = "pot.expired",
    /// Every succeeded donation of a pot was refunded.
    PotRefunded = "pot.refunded",
    /// Sponsorship points were converted into CFA credited to a pot.
    PotCredited = "pot.credited",
    /// A pot's total moved (a donation counted or refunded): what a live pot page shows.
    PotProgressed = "pot.progressed",
    /// Wave (or another provider) confirmed a donation.
    DonationSucceeded = "donation.succeeded",
    /// A donation failed or its checkout was abandoned.
    DonationFailed = "donation.failed",
    /// A succeeded donation was refunded.
    DonationRefunded = "donation.refunded",
    /// A sponsored contact accepted an invitation and signed up.
    ReferralAccepted = "referral.accepted",
    /// A pot's gift QR code was issued.
    QrIssued = "qr.issued",
    /// A gift QR code was redeemed at a venue.
    QrRedeemed = "qr.redeemed",
    /// An account was deleted (its personal data erased).
    UserDeleted = "user.deleted",
    /// A service asks the notifications service for a message ([`NotificationRequested`]).
    NotificationRequested = "notification.requested",
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotCreated {
    pub pot_id: Uuid,
    pub owner_user_id: Uuid,
    pub birthday_date: NaiveDate,
    #[serde(default)]
    pub scheduled_open_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub target_amount_cfa: Option<i64>,
    #[serde(default)]
    pub created_from_referral_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotOpened {
    pub pot_id: Uuid,
    pub owner_user_id: Uuid,
    pub birthday_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotFunded {
    pub pot_id: Uuid,
    pub owner_user_id: Uuid,
    pub raised_amount_cfa: i64,
    pub target_amount_cfa: i64,
    pub preferred_pack_id: Option<Uuid>,
    pub birthday_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotClosed {
    pub pot_id: Uuid,
    pub owner_user_id: Uuid,
    /// `owner`, `birthday`, `qr_issued`, or the owner's own words.
    pub reason: String,
    pub raised_amount_cfa: i64,
    pub preferred_pack_id: Option<Uuid>,
    pub birthday_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotExpired {
    pub pot_id: Uuid,
    pub owner_user_id: Uuid,
    pub raised_amount_cfa: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotRefunded {
    pub pot_id: Uuid,
    pub owner_user_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotCredited {
    pub pot_id: Uuid,
    pub amount_cfa: i64,
    pub conversion_id: Uuid,
}

/// Published by the pots consumer in the statement that moves the total
/// (`services/pots/src/events.rs`); read by the live pot pages (`web::live`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PotProgressed {
    pub pot_id: Uuid,
    pub raised_amount_cfa: i64,
    pub donor_count: i64,
    pub target_amount_cfa: i64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DonationSucceeded {
    pub donation_id: Uuid,
    pub pot_id: Uuid,
    pub amount_cfa: i64,
    pub donor_user_id: Option<Uuid>,
    /// Personal data: never logged, never shown publicly.
    #[serde(default)]
    pub donor_phone: Option<String>,
    #[serde(default)]
    pub donor_name: Option<String>,
    #[serde(default)]
    pub is_anonymous: bool,
    pub confirmed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DonationFailed {
    pub donation_id: Uuid,
    pub pot_id: Uuid,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DonationRefunded {
    pub donation_id: Uuid,
    pub pot_id: Uuid,
    pub amount_cfa: i64,
    #[serde(default)]
    pub donor_user_id: Option<Uuid>,
    pub refund_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralAccepted {
    pub referral_id: Uuid,
    pub sponsor_user_id: Uuid,
    pub sponsored_user_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QrIssued {
    pub qr_code_id: Uuid,
    pub pot_id: Uuid,
    pub pack_id: Uuid,
    pub owner_user_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QrRedeemed {
    pub qr_code_id: Uuid,
    pub pot_id: Uuid,
    pub pack_id: Uuid,
    pub partner_id: Uuid,
    /// The venue's id within its partner's `venues` (a slug such as `cineteranga-plateau`,
    /// not a UUID).
    #[serde(default)]
    pub venue_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDeleted {
    pub user_id: Uuid,
}

/// A channel a message can go out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Whatsapp];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a message goes, per channel: `phone` for SMS and WhatsApp (E.164, `+221...`),
/// `email` for e-mail. Missing ones are taken from `identity.users` when `user_id` is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Recipient {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A request for one message (`notification.requested`), built with its one builder:
///
/// ```
/// use platform::events::{Channel, NotificationRequested};
/// let user = uuid::Uuid::nil();
/// let req = NotificationRequested::to_user(user, "pot_funded")
///     .var("first_name", "Awa")
///     .var("raised_cfa", 25_000);
/// assert_eq!(req.data["raised_cfa"], 25_000);
/// let otp = NotificationRequested::to_phone("+221771234567", "otp")
///     .channels(&[Channel::Sms])
///     .var("code", "123456");
/// assert_eq!(otp.recipient.phone.as_deref(), Some("+221771234567"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationRequested {
    #[serde(default)]
    pub user_id: Option<Uuid>,
    #[serde(default)]
    pub recipient: Recipient,
    /// The message: a template key without its locale (`otp`, `donation_received`).
    pub message: String,
    /// `fr-SN`, `wo-SN` or `en` (also `fr`, `wo_SN`...); default: the user's profile locale,
    /// else fr-SN. A locale without a template falls back to fr-SN.
    #[serde(default)]
    pub locale: Option<String>,
    /// Default: every channel of the template that the user allows and has an address for.
    #[serde(default)]
    pub channels: Option<Vec<Channel>>,
    /// The template's variables.
    #[serde(default)]
    pub data: Value,
    /// Not before this time (default now); quiet hours may move it later.
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
}

impl NotificationRequested {
    /// Message `message` to account `user` (its addresses and preferences apply).
    pub fn to_user(user: Uuid, message: &str) -> Self {
        Self::new(Some(user), Recipient::default(), message)
    }

    /// Message `message` to explicit addresses, with no account (an invitation).
    pub fn to_recipient(recipient: Recipient, message: &str) -> Self {
        Self::new(None, recipient, message)
    }

    /// Message `message` to a phone number, with no account.
    pub fn to_phone(phone: &str, message: &str) -> Self {
        Self::to_recipient(
            Recipient {
                phone: Some(phone.to_string()),
                email: None,
            },
            message,
        )
    }

    /// Message `message` to an e-mail address, with no account.
    pub fn to_email(email: &str, message: &str) -> Self {
        Self::to_recipient(
            Recipient {
                phone: None,
                email: Some(email.to_string()),
            },
            message,
        )
    }

    fn new(user_id: Option<Uuid>, recipient: Recipient, message: &str) -> Self {
        NotificationRequested {
            user_id,
            recipient,
            message: message.to_string(),
            locale: None,
            channels: None,
            data: Value::Object(Default::default()),
            scheduled_at: None,
        }
    }

    /// Sets the account too (a message to a given address of a known user).
    pub fn user(mut self, user: Uuid) -> Self {
        self.user_id = Some(user);
        self
    }

    /// Sets the address too (a message to a given address of a known user).
    pub fn recipient(mut self, recipient: Recipient) -> Self {
        self.recipient = recipient;
        self
    }

    pub fn locale(mut self, locale: &str) -> Self {
        self.locale = Some(locale.to_string());
        self
    }

    pub fn channels(mut self, channels: &[Channel]) -> Self {
        self.channels = Some(channels.to_vec());
        self
    }

    pub fn scheduled_at(mut self, at: DateTime<Utc>) -> Self {
        self.scheduled_at = Some(at);
        self
    }

    /// One variable of the template.
    pub fn var(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        if !self.data.is_object() {
            self.data = Value::Object(Default::default());
        }
        if let Value::Object(map) = &mut self.data {
            map.insert(name.to_string(), value);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_decodes_what_its_producer_publishes() {
        let id = Uuid::new_v4();
        let e = PotOpened {
            pot_id: id,
            owner_user_id: id,
            birthday_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        };
        let payload = serde_json::to_value(&e).unwrap();
        let decoded = Published::decode(PotOpened::TOPIC, &payload).unwrap();
        assert_eq!(decoded, Published::PotOpened(e));
        assert_eq!(decoded.topic(), "pot.opened");
        assert_eq!(Published::TOPICS.len(), 16);
        // pot.progressed as the pots consumer's SQL builds it (jsonb_build_object).
        let payload = serde_json::json!({"pot_id": id, "raised_amount_cfa": 5000, "donor_count": 1,
                                         "target_amount_cfa": 20000, "status": "open"});
        let Published::PotProgressed(p) = Published::decode("pot.progressed", &payload).unwrap()
        else {
            panic!("not pot.progressed")
        };
        assert_eq!((p.raised_amount_cfa, p.status.as_str()), (5000, "open"));
    }

    #[test]
    fn a_payload_that_breaks_its_contract_names_the_topic() {
        let err = Published::decode("donation.succeeded", &serde_json::json!({"pot_id": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("donation.succeeded"), "{err}");
        let err = Published::decode("pot.vanished", &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("pot.vanished"), "{err}");
    }

    #[test]
    fn a_notification_request_round_trips_and_reads_old_payloads() {
        let req = NotificationRequested::to_email("a@b.sn", "password_reset")
            .user(Uuid::nil())
            .locale("fr-SN")
            .channels(&[Channel::Email])
            .var("minutes", 60);
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["channels"], serde_json::json!(["email"]));
        assert_eq!(
            Published::decode(NotificationRequested::TOPIC, &v).unwrap(),
            Published::NotificationRequested(req)
        );
        // A payload of an older producer: no recipient, no data.
        let old = serde_json::json!({"user_id": Uuid::nil(), "message": "qr_ready"});
        assert!(Published::decode("notification.requested", &old).is_ok());
    }
}
