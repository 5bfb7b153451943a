//! Requesting a message: template for the locale, variables checked, preferences and quiet
//! hours applied, rendered, one `notifications` row per channel.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Africa::Dakar;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    error::NotifyError,
    render::{normalise_locale, Channel, Template, DEFAULT_LOCALE},
};

/// A request for one message: exactly the payload of the outbox event
/// `notification.requested` that producers build ([`platform::events::NotificationRequested`],
/// with its one builder), under the name this service has always given it.
pub use platform::events::NotificationRequested as MessageRequest;
/// Where a message goes, per channel ([`platform::events::Recipient`]).
pub use platform::events::Recipient;

/// What preferences may do with a kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// OTP, password reset: always sent, on the requested channels, quiet hours ignored.
    Security,
    Referral,
    Pot,
    Donation,
    /// Needs `marketing_notifications` (opt-in).
    Marketing,
    /// Everything else (partner settlements, digests): transactional, quiet hours apply.
    Transactional,
}

pub fn category(message: &str) -> Category {
    match message {
        "otp" | "password_reset" | "email_confirmation" | "email_change" => Category::Security,
        // A donor by phone waits for these (how to pay, the receipt, a failure, a reply to
        // their SMS): sent at once, like a security message.
        "donation_instructions" | "donation_receipt" | "donation_payment_failed" | "sms_reply" => {
            Category::Security
        }
        "referral_invitation" | "referral_accepted" | "points_matured" | "points_converted" => {
            Category::Referral
        }
        "pot_opened" | "pot_funded" | "qr_ready" | "redemption_done" => Category::Pot,
        "donation_received" => Category::Donation,
        m if m.starts_with("marketing") => Category::Marketing,
        _ => Category::Transactional,
    }
}

/// Messages that can wait for the user's daily or weekly digest.
pub fn is_low_priority(message: &str) -> bool {
    matches!(message, "referral_accepted" | "points_matured") || message.starts_with("marketing")
}

/// Hour (Africa/Dakar) at which digests go out; weekly digests on Sundays.
pub const DIGEST_HOUR: u32 = 18;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Preferences {
    pub email_enabled: Option<bool>,
    pub sms_enabled: Option<bool>,
    pub whatsapp_enabled: Option<bool>,
    pub referral_notifications: Option<bool>,
    pub pot_notifications: Option<bool>,
    pub donation_notifications: Option<bool>,
    pub marketing_notifications: Option<bool>,
    pub digest_frequency: Option<String>,
    pub quiet_hours_start: Option<NaiveTime>,
    pub quiet_hours_end: Option<NaiveTime>,
}

impl Default for Preferences {
    /// The column defaults of `notification_preferences`.
    fn default() -> Self {
        Preferences {
            email_enabled: Some(true),
            sms_enabled: Some(true),
            whatsapp_enabled: Some(true),
            referral_notifications: Some(true),
            pot_notifications: Some(true),
            donation_notifications: Some(true),
            marketing_notifications: Some(false),
            digest_frequency: Some("daily".into()),
            quiet_hours_start: NaiveTime::from_hms_opt(22, 0, 0),
            quiet_hours_end: NaiveTime::from_hms_opt(8, 0, 0),
        }
    }
}

/// What a request needs to know of its user, read by one statement: the preferences (the
/// column defaults with the admins' quiet hours when none are saved), the profile's locale,
/// the account's phone and e-mail, and whether the WhatsApp switch is on.
struct Context {
    prefs: Preferences,
    profile_locale: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    whatsapp: bool,
}

#[derive(sqlx::FromRow)]
struct ContextRow {
    saved: bool,
    #[sqlx(flatten)]
    prefs: Preferences,
    config_quiet_start: Option<NaiveTime>,
    config_quiet_end: Option<NaiveTime>,
    profile_locale: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    whatsapp: bool,
}

impl Context {
    async fn load(conn: &mut PgConnection, user_id: Option<Uuid>) -> sqlx::Result<Context> {
        // One round trip instead of five (issue #16: the consumer of `notification.requested`
        // trailed a burst of donations).
        let row: ContextRow = sqlx::query_as(
            "select np.user_id is not null as saved,
                    np.email_enabled, np.sms_enabled, np.whatsapp_enabled,
                    np.referral_notifications, np.pot_notifications, np.donation_notifications,
                    np.marketing_notifications, np.digest_frequency, np.quiet_hours_start,
                    np.quiet_hours_end,
                    qh.start as config_quiet_start, qh.end as config_quiet_end,
                    (select pr.locale from profiles.profiles pr where pr.user_id = $1 limit 1)
                        as profile_locale,
                    u.phone, u.email,
                    admin.flag_on('whatsapp_notifications') as whatsapp
               from (select 1) one
               left join notifications.notification_preferences np on np.user_id = $1
               left join identity.users u on u.id = $1
               left join lateral (
                    select (config_value ->> 'start')::time as start,
                           (config_value ->> 'end')::time as end
                      from admin.system_config where config_key = 'notifications.quiet_hours'
                       and config_value ->> 'start' ~ '^[0-9]{2}:[0-9]{2}$'
                       and config_value ->> 'end' ~ '^[0-9]{2}:[0-9]{2}$') qh on np.user_id is null",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        let prefs = if row.saved {
            row.prefs
        } else {
            Preferences::unsaved(row.config_quiet_start.zip(row.config_quiet_end))
        };
        Ok(Context {
            prefs,
            profile_locale: row.profile_locale,
            phone: row.phone,
            email: row.email,
            whatsapp: row.whatsapp,
        })
    }
}

impl Preferences {
    /// A user's preferences: their saved row, else [`Preferences::unsaved`].
    pub async fn load(conn: &mut PgConnection, user_id: Option<Uuid>) -> sqlx::Result<Preferences> {
        Ok(Context::load(conn, user_id).await?.prefs)
    }

    /// No preferences saved: the column defaults, with the quiet hours the admins set in
    /// `notifications.quiet_hours` ({"start": "22:00", "end": "08:00"}) when they did.
    fn unsaved(quiet_hours: Option<(NaiveTime, NaiveTime)>) -> Preferences {
        let mut p = Preferences::default();
        if let Some((start, end)) = quiet_hours {
            p.quiet_hours_start = Some(start);
            p.quiet_hours_end = Some(end);
        }
        p
    }

    pub fn channel_enabled(&self, c: Channel) -> bool {
        match c {
            Channel::Email => self.email_enabled,
            Channel::Sms => self.sms_enabled,
            Channel::Whatsapp => self.whatsapp_enabled,
        }
        .unwrap_or(true)
    }

    pub fn category_enabled(&self, c: Category) -> bool {
        match c {
            Category::Security | Category::Transactional => true,
            Category::Referral => self.referral_notifications.unwrap_or(true),
            Category::Pot => self.pot_notifications.unwrap_or(true),
            Category::Donation => self.donation_notifications.unwrap_or(true),
            Category::Marketing => self.marketing_notifications.unwrap_or(false),
        }
    }

    /// `daily` or `weekly` when low-priority messages wait for a digest.
    pub fn digest(&self) -> Option<&str> {
        match self.digest_frequency.as_deref() {
            Some(f @ ("daily" | "weekly")) => Some(f),
            _ => None,
        }
    }

    /// `at`, or the end of the quiet hours when `at` falls inside them.
    pub fn after_quiet_hours(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        match (self.quiet_hours_start, self.quiet_hours_end) {
            (Some(s), Some(e)) => after_quiet_hours(at, s, e),
            _ => at,
        }
    }
}

/// `at` moved to the end of the quiet hours `[start, end)` (Africa/Dakar) when inside them;
/// the window may wrap midnight (22:00-08:00). `start == end` means no quiet hours.
pub fn after_quiet_hours(at: DateTime<Utc>, start: NaiveTime, end: NaiveTime) -> DateTime<Utc> {
    let local = at.with_timezone(&Dakar);
    let t = local.time();
    let date = local.date_naive();
    let end_on = |d: chrono::NaiveDate| {
        Dakar
            .from_local_datetime(&d.and_time(end))
            .earliest()
            .map(|x| x.with_timezone(&Utc))
            .unwrap_or(at)
    };
    if start == end {
        at
    } else if start < end {
        if t >= start && t < end {
            end_on(date)
        } else {
            at
        }
    } else if t >= start {
        end_on(date + Duration::days(1))
    } else if t < end {
        end_on(date)
    } else {
        at
    }
}

/// The next digest time after `at`: DIGEST_HOUR in Dakar, daily or on Sundays.
pub fn next_digest_slot(at: DateTime<Utc>, frequency: &str) -> DateTime<Utc> {
    let local = at.with_timezone(&Dakar);
    let mut d = local.date_naive();
    loop {
        let slot = Dakar
            .from_local_datetime(&d.and_hms_opt(DIGEST_HOUR, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        let day_ok = frequency != "weekly" || d.weekday() == Weekday::Sun;
        if day_ok && slot > at {
            return slot;
        }
        d += Duration::days(1);
    }
}

/// [`request_message_at`] now.
pub async fn request_message(
    conn: &mut PgConnection,
    req: MessageRequest,
) -> Result<Vec<Uuid>, NotifyError> {
    request_message_at(conn, req, Utc::now()).await
}

/// Validates, renders and queues `req`; returns the ids of the rows queued (one per channel;
/// none when the user's preferences refuse this kind of message). Nothing is queued on error.
/// Runs on `conn` as is: inside the caller's transaction when it has one.
pub async fn request_message_at(
    conn: &mut PgConnection,
    req: MessageRequest,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, NotifyError> {
    let message = req.message.trim().to_string();
    let context = Context::load(conn, req.user_id).await?;
    // The locale: asked for, else the profile's, else fr-SN.
    let wanted = match req.locale.as_deref() {
        Some(l) => normalise_locale(l).unwrap_or(DEFAULT_LOCALE),
        None => context
            .profile_locale
            .as_deref()
            .and_then(normalise_locale)
            .unwrap_or(DEFAULT_LOCALE),
    };
    let template = load_template(conn, &message, wanted)
        .await?
        .ok_or_else(|| NotifyError::UnknownMessage(message.clone()))?;
    let values = template.check(&req.data)?;
    let rendered = template.render(&values)?;

    let cat = category(&message);
    let prefs = &context.prefs;
    let template_channels = template.channels();
    let explicit = req.channels.is_some();
    let channels = match &req.channels {
        Some(cs) => {
            for c in cs {
                if !template_channels.contains(c) {
                    return Err(NotifyError::ChannelNotSupported {
                        message: message.clone(),
                        channel: c.to_string(),
                    });
                }
            }
            let mut v: Vec<Channel> = vec![];
            for c in cs {
                if !v.contains(c) {
                    v.push(*c);
                }
            }
            v
        }
        // WhatsApp comes on top of SMS and e-mail only while the admins' switch
        // `whatsapp_notifications` is on; an explicit request for it is honoured.
        None => template_channels
            .into_iter()
            .filter(|c| context.whatsapp || *c != Channel::Whatsapp)
            .collect(),
    };

    // Addresses: given, else the user's own.
    let mut recipient = req.recipient.clone();
    recipient.phone = recipient.phone.or(context.phone);
    recipient.email = recipient.email.or(context.email);
    let address = |c: Channel| {
        match c {
            Channel::Email => recipient.email.clone(),
            Channel::Sms | Channel::Whatsapp => recipient.phone.clone(),
        }
        .filter(|a| !a.trim().is_empty())
    };

    let mut targets = vec![];
    for c in channels {
        match address(c) {
            Some(a) => targets.push((c, a)),
            None if explicit => {
                return Err(NotifyError::NoRecipient {
                    channel: c.to_string(),
                    what: if c == Channel::Email {
                        "e-mail address"
                    } else {
                        "phone number"
                    }
                    .into(),
                })
            }
            None => {}
        }
    }
    if targets.is_empty() {
        return Err(NotifyError::NoRecipient {
            channel: "any channel".into(),
            what: "phone number or e-mail address".into(),
        });
    }

    // Preferences (only a known user has any); security messages ignore them.
    if cat != Category::Security && req.user_id.is_some() {
        if !prefs.category_enabled(cat) {
            tracing::info!(%message, user_id = ?req.user_id, "not sent: the user opted out of this kind of message");
            return Ok(vec![]);
        }
        targets.retain(|(c, _)| prefs.channel_enabled(*c));
    }

    let base = req.scheduled_at.unwrap_or(now).max(now);
    let (scheduled_at, held) = if cat == Category::Security {
        (base, false)
    } else if let (Some(freq), true, true) = (
        prefs.digest(),
        is_low_priority(&message),
        req.user_id.is_some(),
    ) {
        (next_digest_slot(base, freq), true)
    } else {
        (prefs.after_quiet_hours(base), false)
    };

    let mut ids = Vec::with_capacity(targets.len());
    for (channel, to) in targets {
        let (subject, html) = if channel == Channel::Email {
            (rendered.subject.clone(), rendered.body_html.clone())
        } else {
            (None, None)
        };
        let id: Uuid = sqlx::query_scalar(
            "insert into notifications.notifications
                 (user_id, recipient_identifier, template_id, channel, subject, body, body_html,
                  template_data, status, scheduled_at, message_key, locale, held_for_digest,
                  max_retries)
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12,
                     admin.config_int('notifications.max_retries', 3))
             returning id",
        )
        .bind(req.user_id)
        .bind(to)
        .bind(template.id)
        .bind(channel.as_str())
        .bind(subject)
        .bind(&rendered.body_text)
        .bind(html)
        .bind(&req.data)
        .bind(scheduled_at)
        .bind(&message)
        .bind(template.locale())
        .bind(held)
        .fetch_one(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// The active template `<message>.<locale>`, else `<message>.fr-SN`.
pub async fn load_template(
    conn: &mut PgConnection,
    message: &str,
    locale: &str,
) -> Result<Option<Template>, NotifyError> {
    let t = sqlx::query_as::<_, Template>(
        "select id, template_key, subject, body_text, body_html, channels::text[] as channels,
                locale, variables
         from notifications.notification_templates
         where template_key = any($1) and coalesce(is_active, true)
         order by (template_key = $2) desc
         limit 1",
    )
    .bind(vec![
        format!("{message}.{locale}"),
        format!("{message}.{DEFAULT_LOCALE}"),
    ])
    .bind(format!("{message}.{locale}"))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let (s, e) = (hm(22, 0), hm(8, 0));
        assert_eq!(
            after_quiet_hours(t("2026-03-05T23:30:00Z"), s, e),
            t("2026-03-06T08:00:00Z")
        );
        assert_eq!(
            after_quiet_hours(t("2026-03-06T03:00:00Z"), s, e),
            t("2026-03-06T08:00:00Z")
        );
        assert_eq!(
            after_quiet_hours(t("2026-03-06T08:00:00Z"), s, e),
            t("2026-03-06T08:00:00Z")
        );
        assert_eq!(
            after_quiet_hours(t("2026-03-06T12:00:00Z"), s, e),
            t("2026-03-06T12:00:00Z")
        );
        assert_eq!(
            after_quiet_hours(t("2026-03-06T13:00:00Z"), hm(12, 0), hm(14, 0)),
            t("2026-03-06T14:00:00Z")
        );
    }

    #[test]
    fn digest_slots() {
        // 2026-03-05 is a Thursday.
        assert_eq!(
            next_digest_slot(t("2026-03-05T10:00:00Z"), "daily"),
            t("2026-03-05T18:00:00Z")
        );
        assert_eq!(
            next_digest_slot(t("2026-03-05T19:00:00Z"), "daily"),
            t("2026-03-06T18:00:00Z")
        );
        assert_eq!(
            next_digest_slot(t("2026-03-05T10:00:00Z"), "weekly"),
            t("2026-03-08T18:00:00Z")
        );
    }
}
