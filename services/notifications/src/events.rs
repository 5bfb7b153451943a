//! The outbox consumer of `notification.requested`: how other services ask for a message
//! without touching this service's schema. The event's payload is a [`MessageRequest`].

use platform::outbox::{Consumer, Event, Handler, HandlerFuture};
use sqlx::PgConnection;

use crate::request::{request_message, MessageRequest};

/// The topic other services publish to ask for a message.
pub const REQUESTED: &str = "notification.requested";

struct Requested;

impl Handler for Requested {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let req: MessageRequest = serde_json::from_value(event.payload.clone())
                .map_err(|e| anyhow::anyhow!("payload is not a message request: {e}"))?;
            // A refused request (unknown template, missing variable) fails the same way on
            // every attempt and ends parked with its error.
            request_message(conn, req)
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
