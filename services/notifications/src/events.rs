//! The outbox consumer of `notification.requested`: how other services ask for a message
//! without touching this service's schema. The event decodes to the very type producers
//! publish ([`platform::events::NotificationRequested`], here also [`crate::MessageRequest`]).

use platform::events::{NotificationRequested, Published, Topic};
use platform::outbox::{Consumer, Event, Handler, HandlerFuture};
use sqlx::PgConnection;
use tracing::Instrument;

use crate::request::request_message;

/// The topic other services publish to ask for a message.
pub const REQUESTED: &str = NotificationRequested::TOPIC;

struct Requested;

impl Handler for Requested {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let Published::NotificationRequested(req) = event.decode()? else {
                anyhow::bail!("notifications.requested does not apply {}", event.topic);
            };
            let span = tracing::info_span!(
                "notifications.requested",
                event_id = event.id,
                message = %req.message,
                user_id = ?req.user_id,
            );
            // A refused request (unknown template, missing variable) fails the same way on
            // every attempt and ends parked with its error.
            request_message(conn, req)
                .instrument(span)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
    }
}

/// The consumer, named `notifications.requested`.
pub fn requested_consumer() -> Consumer {
    Consumer::new("notifications.requested", &[REQUESTED], Requested)
}
