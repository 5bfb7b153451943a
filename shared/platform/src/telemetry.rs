//! One tracing set-up for every binary: `RUST_LOG` filters (default `info`),
//! `RUST_LOG_FORMAT=json` switches to JSON lines for production log shippers. A panic is
//! logged through it too (one error line, inside the current span: a handler's panic carries
//! its request id), not as the standard library's plain-text message.
//!
//! Logging starts before the settings are read (so that a refused setting is logged), which is
//! why [`init`] reads `RUST_LOG` and `RUST_LOG_FORMAT` from the process environment itself
//! rather than through [`crate::config::Env`].
//!
//! What may appear in a log line, and what never does, is in `docs/logging.md`; a phone number
//! or an e-mail address that a line must name goes through [`mask_phone`] / [`mask_email`].

use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

/// Installs the global subscriber once; later calls are no-ops (tests call it freely).
pub fn init(service: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("RUST_LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init()
    } else {
        registry.with(fmt::layer().with_target(false)).try_init()
    };
    if result.is_ok() {
        std::panic::set_hook(Box::new(log_panic));
        tracing::debug!(service, "telemetry initialised");
    }
}

fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_default();
    tracing::error!(panic = %message, %location, "panicked");
}

/// A phone number as logs may show it: the `+` and country code (the first 4 characters of an
/// E.164 number) and the last 2 digits, the rest starred: `+221*******67`. Anything shorter than
/// 8 characters keeps only its last 2.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    let n = chars.len();
    let tail = 2.min(n);
    let head = if n >= 8 && chars[0] == '+' { 4 } else { 0 };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

/// An e-mail address as logs may show it: the first character of the local part and the
/// domain, `a***@example.sn`; something that is not an address is starred whole.
pub fn mask_email(email: &str) -> String {
    match email.trim().split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_addresses_are_masked() {
        assert_eq!(mask_phone("+221771234567"), "+221*******67");
        assert_eq!(mask_phone("771234567"), "*******67");
        assert_eq!(mask_phone("12"), "12");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_email("awa.diop@example.sn"), "a***@example.sn");
        assert_eq!(mask_email("nope"), "***");
    }
}
