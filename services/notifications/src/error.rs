//! What can go wrong when a message is requested, and its PostgREST-shaped answer.

use axum::http::StatusCode;
use rest::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No active template `<message>.<locale>` nor `<message>.fr-SN`.
    #[error("unknown message {0:?}: no active template")]
    UnknownMessage(String),
    #[error("missing variable {variable:?} for message {message:?}")]
    MissingVariable { message: String, variable: String },
    #[error("variable {variable:?} is not declared by message {message:?}")]
    UnknownVariable { message: String, variable: String },
    #[error("variable {variable:?} must be {expected}: {why}")]
    BadVariable {
        variable: String,
        expected: String,
        why: String,
    },
    #[error("`data` must be a JSON object of the template's variables")]
    DataNotObject,
    #[error("message {message:?} is not sent over {channel}")]
    ChannelNotSupported { message: String, channel: String },
    #[error("no {what} to send {channel} to")]
    NoRecipient { channel: String, what: String },
    /// The template itself is inconsistent (a placeholder it does not declare).
    #[error("template {template_key:?} is broken: {why}")]
    BrokenTemplate { template_key: String, why: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl NotifyError {
    /// True when the caller's request is at fault (as opposed to the database or a template).
    pub fn is_caller_error(&self) -> bool {
        !matches!(
            self,
            NotifyError::Database(_) | NotifyError::BrokenTemplate { .. }
        )
    }
}

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> ApiError {
        let msg = e.to_string();
        match e {
            NotifyError::UnknownMessage(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "PT404", msg).hint(
                    "message is a template key without its locale, e.g. \"otp\" or \"donation_received\"",
                )
            }
            NotifyError::MissingVariable { .. }
            | NotifyError::UnknownVariable { .. }
            | NotifyError::BadVariable { .. }
            | NotifyError::DataNotObject => ApiError::bad_request("22023", msg)
                .details("data is checked against the template's declared variables"),
            NotifyError::ChannelNotSupported { .. } | NotifyError::NoRecipient { .. } => {
                ApiError::bad_request("22023", msg)
            }
            NotifyError::BrokenTemplate { .. } => {
                tracing::error!(error = %msg, "broken notification template");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "XX000", msg)
            }
            NotifyError::Database(err) => ApiError::from_sqlx(err, false),
        }
    }
}
