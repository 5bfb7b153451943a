//! Background jobs: the dispatcher loop, digests, the analytics rollup.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use serde_json::json;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    config::NotifyConfig,
    dispatch::{dispatch_once, BATCH},
    providers::Providers,
    render::{Channel, DEFAULT_LOCALE},
    request::{load_template, Preferences},
};

pub const DISPATCH_INTERVAL: Duration = Duration::from_secs(1);
pub const DIGEST_INTERVAL: Duration = Duration::from_secs(60);
pub const ROLLUP_INTERVAL: Duration = Duration::from_secs(300);

#[derive(sqlx::FromRow)]
struct Held {
    id: Uuid,
    user_id: Option<Uuid>,
    channel: String,
    recipient_identifier: String,
    body: String,
    locale: Option<String>,
}

/// Folds the held low-priority messages whose digest time has come (scheduled_at <= now)
/// into one message per user and channel (`digest.<locale>`); the originals become
/// `digested` with `digest_id` set. A lone held message is simply released. Returns the
/// number of messages released or created.
pub async fn run_digest(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let held: Vec<Held> = sqlx::query_as(
        "select id, user_id, channel, recipient_identifier, body, locale
           from notifications.notifications
          where status = 'pending' and held_for_digest and scheduled_at <= $1
          order by user_id, channel, created_at
          for update skip locked",
    )
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut groups: BTreeMap<(Option<Uuid>, String), Vec<Held>> = BTreeMap::new();
    for h in held {
        groups
            .entry((h.user_id, h.channel.clone()))
            .or_default()
            .push(h);
    }
    let mut out = 0;
    for ((user_id, channel), rows) in groups {
        let prefs = Preferences::load(&mut tx, user_id).await?;
        let at = prefs.after_quiet_hours(now);
        if rows.len() == 1 {
            sqlx::query(
                "update notifications.notifications
                    set held_for_digest = false, scheduled_at = $2 where id = $1",
            )
            .bind(rows[0].id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            out += 1;
            continue;
        }
        let last = rows.last().unwrap();
        let locale = last.locale.clone().unwrap_or_else(|| DEFAULT_LOCALE.into());
        let Some(template) = load_template(&mut tx, "digest", &locale).await? else {
            anyhow::bail!("no digest template: migration V40 missing?");
        };
        let items = rows
            .iter()
            .map(|r| format!("- {}", r.body.replace('\n', " ")))
            .collect::<Vec<_>>()
            .join("\n");
        let data = json!({"count": rows.len() as i64, "items": items});
        let values = template.check(&data)?;
        let rendered = template.render(&values)?;
        let email = Channel::parse(&channel) == Some(Channel::Email);
        let digest_id: Uuid = sqlx::query_scalar(
            "insert into notifications.notifications
                 (user_id, recipient_identifier, template_id, channel, subject, body, body_html,
                  template_data, status, scheduled_at, message_key, locale)
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, 'digest', $10)
             returning id",
        )
        .bind(user_id)
        .bind(&last.recipient_identifier)
        .bind(template.id)
        .bind(&channel)
        .bind(if email {
            rendered.subject.clone()
        } else {
            None
        })
        .bind(&rendered.body_text)
        .bind(if email {
            rendered.body_html.clone()
        } else {
            None
        })
        .bind(&data)
        .bind(at)
        .bind(template.locale())
        .fetch_one(&mut *tx)
        .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        sqlx::query(
            "update notifications.notifications
                set status = 'digested', held_for_digest = false, digest_id = $2
              where id = any($1)",
        )
        .bind(&ids)
        .bind(digest_id)
        .execute(&mut *tx)
        .await?;
        out += 1;
    }
    tx.commit().await?;
    Ok(out)
}

/// Recomputes `notification_analytics` for one day (Africa/Dakar) from the queue: one row
/// per template_key (`<message>.<locale>`) and channel; idempotent (upsert on the unique
/// key). A message counts on the day it was sent (failed, for one never sent).
///
/// - sent = handed to the provider (`sent_at` set); failed = `failed`; bounced = `bounced`;
/// - delivered / opened / clicked = `delivered_at` / `opened_at` / `clicked_at` set;
/// - delivery_rate = delivered / sent; open_rate = opened / delivered;
///   click_rate = clicked / delivered (4 decimals, NULL when the divisor is 0).
pub async fn rollup_analytics(pool: &PgPool, day: NaiveDate) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "insert into notifications.notification_analytics as a
             (date, template_key, channel, sent_count, delivered_count, failed_count, bounce_count,
              opened_count, clicked_count, delivery_rate, open_rate, click_rate)
         select $1, template_key, channel, sent, delivered, failed, bounced, opened, clicked,
                round(delivered::numeric / nullif(sent, 0), 4),
                round(opened::numeric / nullif(delivered, 0), 4),
                round(clicked::numeric / nullif(delivered, 0), 4)
           from (select t.template_key, n.channel,
                        count(*) filter (where n.sent_at is not null) as sent,
                        count(*) filter (where n.delivered_at is not null) as delivered,
                        count(*) filter (where n.status = 'failed') as failed,
                        count(*) filter (where n.status = 'bounced') as bounced,
                        count(*) filter (where n.opened_at is not null) as opened,
                        count(*) filter (where n.clicked_at is not null) as clicked
                   from notifications.notifications n
                   join notifications.notification_templates t on t.id = n.template_id
                  where n.status in ('sent', 'delivered', 'failed', 'bounced')
                    and (coalesce(n.sent_at, n.failed_at) at time zone 'Africa/Dakar')::date = $1
                  group by t.template_key, n.channel) s
         on conflict (date, template_key, channel) do update set
             sent_count = excluded.sent_count, delivered_count = excluded.delivered_count,
             failed_count = excluded.failed_count, bounce_count = excluded.bounce_count,
             opened_count = excluded.opened_count, clicked_count = excluded.clicked_count,
             delivery_rate = excluded.delivery_rate, open_rate = excluded.open_rate,
             click_rate = excluded.click_rate",
    )
    .bind(day)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// Starts the outbox consumer of `notification.requested` and the three jobs, with the
/// settings read at start-up: the dispatcher every second (at once again while batches come
/// back full), digests every minute, the analytics rollup of today and yesterday every five
/// minutes. Every replica may run them.
pub fn spawn_jobs(ctx: &platform::Context) {
    let cfg = ctx.settings::<NotifyConfig>();
    if ctx.config.environment == platform::config::Environment::Production {
        let channels = [
            ("email", cfg.smtp.is_none()),
            ("sms", cfg.sms.is_none()),
            ("whatsapp", cfg.whatsapp.is_none()),
        ];
        for (channel, missing) in channels {
            if missing {
                tracing::warn!(channel, "no provider configured in production: messages on this channel are only recorded");
            }
        }
    }
    crate::events::requested_consumer().spawn(ctx.db.clone(), platform::outbox::watcher(ctx));
    let providers = match Providers::from_config(&cfg) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "notifications: providers not configured; jobs not started");
            return;
        }
    };
    let retry_base = cfg.retry_base();
    // The dispatcher is no fixed-period job: a full batch is followed by the next at once.
    let db = ctx.db.clone();
    tokio::spawn(
        async move {
            loop {
                match dispatch_once(&db, &providers, retry_base, Utc::now(), BATCH).await {
                    Ok(s) if s.claimed as i64 == BATCH => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "notifications dispatcher"),
                }
                tokio::time::sleep(DISPATCH_INTERVAL).await;
            }
        }
        .instrument(tracing::info_span!(
            "job",
            service = crate::NAME,
            job = "dispatch"
        )),
    );
    let db = ctx.db.clone();
    platform::jobs::every(&ctx.db, crate::NAME, "digest", DIGEST_INTERVAL, move || {
        let db = db.clone();
        async move { run_digest(&db, Utc::now()).await }
    });
    let db = ctx.db.clone();
    platform::jobs::every(
        &ctx.db,
        crate::NAME,
        "rollup_analytics",
        ROLLUP_INTERVAL,
        move || {
            let db = db.clone();
            async move {
                let today = Utc::now().with_timezone(&Dakar).date_naive();
                let mut rows = 0;
                for day in [today.pred_opt().unwrap_or(today), today] {
                    rows += rollup_analytics(&db, day).await?;
                }
                Ok(rows)
            }
        },
    );
}
