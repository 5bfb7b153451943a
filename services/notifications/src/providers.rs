//! Delivery providers behind one trait: SMTP e-mail (lettre), SMS and WhatsApp over HTTP
//! (reqwest), and the development provider that only records.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::config::{HttpProviderConfig, NotifyConfig, SmtpConfig};

/// One message handed to a provider.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: uuid::Uuid,
    pub channel: String,
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub body_html: Option<String>,
}

/// The provider accepted the message.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub provider_message_id: Option<String>,
    pub response: Value,
}

/// The provider refused the message or could not be reached.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// HTTP status, SMTP code, or "network".
    pub code: String,
    pub message: String,
    /// False for refusals that a retry cannot fix (a malformed number, a 4xx other than 429).
    pub retryable: bool,
    pub response: Option<Value>,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// Stored in `notifications.provider`; also the `{provider}` of `POST /receipts/{provider}`.
    fn name(&self) -> &str;
    async fn send(&self, msg: &Outgoing) -> Result<Accepted, ProviderError>;
}

/// The provider of each channel.
#[derive(Clone)]
pub struct Providers {
    pub email: Arc<dyn Provider>,
    pub sms: Arc<dyn Provider>,
    pub whatsapp: Arc<dyn Provider>,
}

impl Providers {
    /// From the configuration: a configured URL gives the real provider, else [`DevProvider`].
    pub fn from_config(cfg: &NotifyConfig) -> anyhow::Result<Providers> {
        let dev: Arc<dyn Provider> = Arc::new(DevProvider);
        Ok(Providers {
            email: match &cfg.smtp {
                Some(s) => Arc::new(SmtpProvider::new(s)?),
                None => dev.clone(),
            },
            sms: match &cfg.sms {
                Some(h) => Arc::new(HttpProvider::sms(h)),
                None => dev.clone(),
            },
            whatsapp: match &cfg.whatsapp {
                Some(h) => Arc::new(HttpProvider::whatsapp(h)),
                None => dev,
            },
        })
    }

    pub fn for_channel(&self, channel: &str) -> Option<&Arc<dyn Provider>> {
        match channel {
            "email" => Some(&self.email),
            "sms" => Some(&self.sms),
            "whatsapp" => Some(&self.whatsapp),
            _ => None,
        }
    }
}

/// Development: accepts everything, logs it; the row is marked sent and its text stays
/// readable in `notifications.notifications.body` (how a developer reads an OTP).
pub struct DevProvider;

#[async_trait]
impl Provider for DevProvider {
    fn name(&self) -> &str {
        "dev"
    }
    async fn send(&self, msg: &Outgoing) -> Result<Accepted, ProviderError> {
        tracing::info!(
            notification_id = %msg.id, channel = %msg.channel, to = %msg.to,
            subject = ?msg.subject, body = %msg.body,
            "dev provider: message recorded, not sent"
        );
        Ok(Accepted {
            provider_message_id: Some(format!("dev-{}", msg.id)),
            response: json!({"provider": "dev", "recorded": true}),
        })
    }
}

#[derive(Clone, Copy)]
enum HttpShape {
    /// `{to, from, text}`
    Sms,
    /// WhatsApp Business Cloud API: `{messaging_product: "whatsapp", to, type: "text", text: {body}}`
    WhatsApp,
}

/// SMS or WhatsApp over a JSON HTTP API, with `Authorization: Bearer <key>`.
pub struct HttpProvider {
    name: &'static str,
    shape: HttpShape,
    cfg: HttpProviderConfig,
    client: reqwest::Client,
}

impl HttpProvider {
    fn new(name: &'static str, shape: HttpShape, cfg: &HttpProviderConfig) -> HttpProvider {
        HttpProvider {
            name,
            shape,
            cfg: cfg.clone(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("http client"),
        }
    }
    pub fn sms(cfg: &HttpProviderConfig) -> HttpProvider {
        HttpProvider::new("sms", HttpShape::Sms, cfg)
    }
    pub fn whatsapp(cfg: &HttpProviderConfig) -> HttpProvider {
        HttpProvider::new("whatsapp", HttpShape::WhatsApp, cfg)
    }
}

/// The provider's id for the message, from the usual response shapes.
fn message_id_of(v: &Value) -> Option<String> {
    let s = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    v.get("id")
        .and_then(s)
        .or_else(|| v.get("message_id").and_then(s))
        .or_else(|| v.get("messageId").and_then(s))
        .or_else(|| v.pointer("/messages/0/id").and_then(s))
        .or_else(|| v.pointer("/messages/0/message_id").and_then(s))
        .or_else(|| v.pointer("/messages/0/messageId").and_then(s))
}

#[async_trait]
impl Provider for HttpProvider {
    fn name(&self) -> &str {
        self.name
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, ProviderError> {
        let body = match self.shape {
            HttpShape::Sms => json!({"to": msg.to, "from": self.cfg.from, "text": msg.body}),
            HttpShape::WhatsApp => json!({
                "messaging_product": "whatsapp",
                "to": msg.to.trim_start_matches('+'),
                "type": "text",
                "text": {"body": msg.body},
            }),
        };
        let res = self
            .client
            .post(&self.cfg.url)
            .bearer_auth(self.cfg.key.expose())
            .header("Idempotency-Key", msg.id.to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError {
                code: "network".into(),
                message: format!("{} provider unreachable: {e}", self.name),
                retryable: true,
                response: None,
            })?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
        if status.is_success() {
            Ok(Accepted {
                provider_message_id: message_id_of(&parsed),
                response: parsed,
            })
        } else {
            let detail = parsed
                .pointer("/error/message")
                .or_else(|| parsed.get("message"))
                .or_else(|| parsed.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| text.chars().take(500).collect());
            Err(ProviderError {
                code: status.as_u16().to_string(),
                message: format!(
                    "{} provider answered {}: {}",
                    self.name,
                    status.as_u16(),
                    detail
                ),
                retryable: status.is_server_error()
                    || status.as_u16() == 429
                    || status.as_u16() == 408,
                response: Some(parsed),
            })
        }
    }
}

/// E-mail over SMTP (lettre). `WOLO_SMTP_URL`: `smtp://host:port` (plain, for local sinks),
/// `smtp://host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465` (implicit TLS).
pub struct SmtpProvider {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpProvider {
    pub fn new(cfg: &SmtpConfig) -> anyhow::Result<SmtpProvider> {
        let transport =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(cfg.url.expose())
                .map_err(|e| anyhow::anyhow!("bad setting WOLO_SMTP_URL: {e}"))?
                .timeout(Some(Duration::from_secs(20)))
                .build();
        let from = cfg
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("bad setting WOLO_SMTP_FROM: {e}"))?;
        Ok(SmtpProvider { transport, from })
    }
}

#[async_trait]
impl Provider for SmtpProvider {
    fn name(&self) -> &str {
        "smtp"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Accepted, ProviderError> {
        use lettre::{
            message::{header::ContentType, MultiPart, SinglePart},
            AsyncTransport, Message,
        };
        let refused = |m: String| ProviderError {
            code: "address".into(),
            message: m,
            retryable: false,
            response: None,
        };
        let to = msg
            .to
            .parse()
            .map_err(|e| refused(format!("bad e-mail address {:?}: {e}", msg.to)))?;
        let message_id = format!("<{}@wolo.sn>", msg.id);
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone().unwrap_or_else(|| "WOLO".into()))
            .message_id(Some(message_id.clone()));
        let email = match &msg.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                msg.body.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(msg.body.clone()),
            ),
        }
        .map_err(|e| refused(format!("cannot build the e-mail: {e}")))?;
        match self.transport.send(email).await {
            Ok(resp) => Ok(Accepted {
                provider_message_id: Some(message_id),
                response: json!({
                    "code": resp.code().to_string(),
                    "message": resp.message().collect::<Vec<_>>(),
                }),
            }),
            Err(e) => Err(ProviderError {
                code: e
                    .status()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "network".into()),
                message: format!("smtp: {e}"),
                retryable: !e.is_permanent(),
                response: None,
            }),
        }
    }
}
