//! Invitations: `POST /pots/{id}/invitations` (the owner invites someone) and their tracking,
//! `POST /pots/invitations/{id}/opened` and `/clicked` (anonymous).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use platform::events::{self, Channel, NotificationRequested, Recipient};
use rest::{
    extract::{Json, User},
    input::{db, normalise_email, normalise_phone, uuid as parse_id, validation},
    ApiError,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    access::{owned_pot, service_tx},
    lifecycle::SOURCE,
    AppState,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    method: String,
    recipient: String,
    #[serde(default)]
    message: Option<String>,
}

/// `POST /pots/{id}/invitations` {method: whatsapp|sms|email, recipient, message?}: the
/// owner invites someone; the invitation row, `share_count + 1` and the
/// `notification.requested` event are written in one transaction.
#[tracing::instrument(skip_all, fields(pot_id = %id))]
pub async fn post_invitation(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(req): Json<InvitationRequest>,
) -> Result<Response, ApiError> {
    let pot_id = parse_id(&id, "pot")?;
    let method = req.method.trim().to_lowercase();
    let recipient = req.recipient;
    let channel = Channel::parse(&method);
    let (recipient, address) =
        match channel {
            Some(Channel::Whatsapp | Channel::Sms) => {
                let phone = normalise_phone(&recipient)?;
                (
                    phone.clone(),
                    Recipient {
                        phone: Some(phone),
                        email: None,
                    },
                )
            }
            Some(Channel::Email) => {
                let email = normalise_email(&recipient)?;
                (
                    email.clone(),
                    Recipient {
                        phone: None,
                        email: Some(email),
                    },
                )
            }
            None => return Err(validation(
                "method doit valoir whatsapp, sms ou email (method must be whatsapp, sms or email)",
            )),
        };
    let message = req
        .message
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > 500) {
        return Err(validation(
            "message : 500 caractères au plus (message: at most 500 characters)",
        ));
    }

    let path = format!("/pots/{pot_id}/invitations");
    let mut tx = service_tx(&state, &user.caller, "POST", &path, &headers).await?;
    let (_, owner, title, birthday, status) =
        owned_pot(&mut tx, &user.caller, user.id, pot_id).await?;
    if status == "closed" || status == "expired" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "pot_not_open",
            format!(
                "Cette cagnotte est {} : on ne peut plus y inviter (the pot is {status})",
                if status == "closed" {
                    "fermée"
                } else {
                    "expirée"
                }
            ),
        ));
    }
    let invitation: (Uuid, DateTime<Utc>) = sqlx::query_as(
        "insert into pots.pot_invitations
             (pot_id, invited_by_user_id, invitation_method, recipient_identifier, custom_message)
         values ($1, $2, $3, $4, $5)
         returning id, sent_at",
    )
    .bind(pot_id)
    .bind(user.id)
    .bind(&method)
    .bind(&recipient)
    .bind(&message)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("update pots.pots set share_count = coalesce(share_count, 0) + 1 where id = $1")
        .bind(pot_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let inviter: Option<String> =
        sqlx::query_scalar("select full_name from profiles.profiles where user_id = $1")
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let url = state.links.pot_invitation(pot_id, invitation.0);
    let request = NotificationRequested::to_recipient(address, "pot_invitation")
        .channels(&channel.into_iter().collect::<Vec<_>>())
        .var(
            "inviter_name",
            inviter
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "Un proche".into()),
        )
        .var("pot_title", &title)
        .var("birthday_date", birthday)
        .var("custom_message", message.clone().unwrap_or_default())
        .var("pot_url", &url);
    events::publish(&mut tx, &request, SOURCE)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "id": invitation.0,
            "pot_id": pot_id,
            "invitation_method": method,
            "recipient_identifier": recipient,
            "custom_message": message,
            "sent_at": invitation.1,
            "url": url,
        })),
    )
        .into_response())
}

/// `POST /pots/invitations/{id}/opened` (anonymous): the first call stamps the time, later
/// ones change nothing.
#[tracing::instrument(skip_all, fields(invitation_id = %id))]
pub async fn post_invitation_opened(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    track(&state, &id, false).await
}

/// `POST /pots/invitations/{id}/clicked` (anonymous): as `opened`; a click implies the message
/// was opened.
#[tracing::instrument(skip_all, fields(invitation_id = %id))]
pub async fn post_invitation_clicked(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    track(&state, &id, true).await
}

/// opened_at, clicked_at.
type Stamps = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

async fn track(state: &AppState, id: &str, clicked: bool) -> Result<Response, ApiError> {
    let id = parse_id(id, "invitation")?;
    let row: Option<Stamps> = sqlx::query_as(
        "update pots.pot_invitations
         set opened_at = coalesce(opened_at, now()),
             clicked_at = case when $2 then coalesce(clicked_at, now()) else clicked_at end
         where id = $1
         returning opened_at, clicked_at",
    )
    .bind(id)
    .bind(clicked)
    .fetch_optional(&state.db)
    .await
    .map_err(db)?;
    let (opened_at, clicked_at) = row.ok_or_else(|| {
        ApiError::not_found(
            "invitation_not_found",
            "Invitation introuvable (invitation not found)",
        )
    })?;
    Ok(
        axum::Json(json!({"id": id, "opened_at": opened_at, "clicked_at": clicked_at}))
            .into_response(),
    )
}
