//! `POST /messages`: an admin asks for a message over HTTP (the same request other services
//! publish as `notification.requested`).

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use rest::{
    extract::{self, Admin},
    ApiError,
};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::{render::Channel, request::request_message_at, AppState, MessageRequest, Recipient};

/// The body of `POST /messages`: the fields of a [`MessageRequest`], and no other (the
/// event payload itself is read leniently, an HTTP body strictly).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    #[serde(default)]
    pub user_id: Option<Uuid>,
    #[serde(default)]
    pub recipient: Option<RecipientBody>,
    pub message: String,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub channels: Option<Vec<Channel>>,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// The `recipient` of a [`MessageBody`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientBody {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl From<MessageBody> for MessageRequest {
    fn from(b: MessageBody) -> MessageRequest {
        let recipient = b
            .recipient
            .map(|r| Recipient {
                phone: r.phone,
                email: r.email,
            })
            .unwrap_or_default();
        MessageRequest {
            user_id: b.user_id,
            recipient,
            message: b.message,
            locale: b.locale,
            channels: b.channels,
            data: b.data,
            scheduled_at: b.scheduled_at,
        }
    }
}

/// POST /messages — body: a [`MessageBody`] (admins); 201 `{"ids": [...]}`.
#[tracing::instrument(skip_all, fields(admin_id = %admin.id, message = %body.message))]
pub async fn post_message(
    State(st): State<AppState>,
    admin: Admin,
    extract::Json(body): extract::Json<MessageBody>,
) -> Result<Response, ApiError> {
    let req = MessageRequest::from(body);
    let mut conn = st
        .db
        .acquire()
        .await
        .map_err(|e| ApiError::from_sqlx(e, false))?;
    let ids = request_message_at(&mut conn, req, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "ids": ids }))).into_response())
}
