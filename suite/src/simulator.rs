//! `wolo ussd` and `wolo sms`: the USSD/SMS gateway played by hand, for development.
//!
//! They POST to a running suite what a gateway speaking Africa's Talking's protocol would
//! (`services/donations/src/ussd.rs`, `sms.rs`):
//!
//! - `wolo ussd [--phone P] [--url U]` dials the menu: one session (a random `sessionId`),
//!   each hop a form `sessionId, phoneNumber, networkCode, serviceCode, text` to
//!   `U/donations/ussd/<key>`, `text` holding every input so far joined by `*`. Each screen is
//!   printed; after a `CON` screen the next input is read from stdin (a line); an `END`
//!   screen, or the end of stdin, ends the session.
//! - `wolo sms [--from P] [--url U] TEXT` sends one incoming SMS (a random `id`) to
//!   `U/donations/sms/<key>` and prints the answer (`{"outcome": ...}`); the reply to the
//!   donor goes out through the notifications service.
//!
//! `<key>` is `WOLO_SMS_GATEWAY_KEY`, else [`DEV_GATEWAY_KEY`] (what `wolo serve` gives the
//! services outside production when it is unset). `U` defaults to `http://WOLO_HTTP_ADDR`,
//! else `http://127.0.0.1:8080`; the phone to `+221770000001`.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context as _};
use tokio::io::AsyncBufReadExt;

/// The gateway key `wolo serve` uses outside production when `WOLO_SMS_GATEWAY_KEY` is unset.
pub const DEV_GATEWAY_KEY: &str = "dev-gateway-key";
/// The caller when `--phone` / `--from` is not given.
const DEFAULT_PHONE: &str = "+221770000001";
/// The code the simulated donor dials (shown only; the menu does not read it).
const SERVICE_CODE: &str = "*889#";
/// The number the simulated SMS is sent to (a free ARTP short number, 21xxx).
const SHORT_NUMBER: &str = "21889";
/// Africa's Talking's sandbox network code.
const NETWORK_CODE: &str = "99999";

/// The options both commands take, and the rest of the arguments.
struct Options {
    phone: String,
    url: String,
    rest: Vec<String>,
}

fn options(args: &[&str], phone_flag: &str) -> anyhow::Result<Options> {
    let mut phone = DEFAULT_PHONE.to_string();
    let mut url = None;
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(&a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().map(|v| v.to_string()))
                .with_context(|| format!("{name} needs a value"))
        };
        match flag {
            f if f == phone_flag => phone = value(phone_flag)?,
            "--url" => url = Some(value("--url")?),
            "--" => rest.extend(args.by_ref().map(|a| a.to_string())),
            f if f.starts_with("--") => bail!("unknown option {f} (see `wolo help`)"),
            _ => rest.push(a.to_string()),
        }
    }
    let url = url.unwrap_or_else(default_url);
    Ok(Options {
        phone,
        url: url.trim_end_matches('/').to_string(),
        rest,
    })
}

/// `http://WOLO_HTTP_ADDR` (an unspecified IP as loopback), else `http://127.0.0.1:8080`.
fn default_url() -> String {
    let addr = std::env::var("WOLO_HTTP_ADDR")
        .ok()
        .and_then(|a| a.trim().parse::<std::net::SocketAddr>().ok());
    match addr {
        Some(mut a) => {
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{a}")
        }
        None => "http://127.0.0.1:8080".to_string(),
    }
}

fn gateway_key() -> String {
    std::env::var("WOLO_SMS_GATEWAY_KEY")
        .ok()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| DEV_GATEWAY_KEY.to_string())
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()?)
}

fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// `wolo ussd`: one USSD session, screens on stdout, inputs from stdin.
pub async fn ussd(args: &[&str]) -> anyhow::Result<()> {
    let o = options(args, "--phone")?;
    if let Some(extra) = o.rest.first() {
        bail!("wolo ussd takes no argument (got {extra:?}); inputs are read from stdin");
    }
    let endpoint = format!("{}/donations/ussd/{}", o.url, gateway_key());
    let http = client()?;
    let session = random_id("ATUid_sim_");
    // Piped inputs are echoed, so the transcript reads like a session.
    let echo = !std::io::stdin().is_terminal();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut inputs: Vec<String> = Vec::new();
    println!("{} dials {SERVICE_CODE} (session {session})", o.phone);
    loop {
        let text = inputs.join("*");
        let answer = http
            .post(&endpoint)
            .form(&[
                ("sessionId", session.as_str()),
                ("phoneNumber", o.phone.as_str()),
                ("networkCode", NETWORK_CODE),
                ("serviceCode", SERVICE_CODE),
                ("text", text.as_str()),
            ])
            .send()
            .await
            .with_context(|| format!("POST {endpoint}"))?;
        let status = answer.status();
        let body = answer.text().await?;
        if !status.is_success() {
            // A gateway ends the session on an HTTP error.
            bail!("POST {endpoint}: HTTP {status}: {body}");
        }
        let (kind, screen) = match body.split_at_checked(4) {
            Some(("CON ", s)) => ("CON", s),
            Some(("END ", s)) => ("END", s),
            _ => {
                bail!("not a USSD answer (CON/END expected; a gateway ends the session): {body:?}")
            }
        };
        println!("--- {kind} ({} chars)", body.chars().count());
        println!("{screen}");
        if kind == "END" {
            return Ok(());
        }
        print!("> ");
        std::io::stdout().flush()?;
        let Some(line) = stdin.next_line().await? else {
            println!();
            println!("(end of input: the donor hangs up)");
            return Ok(());
        };
        let input = line.trim().to_string();
        if echo {
            println!("{input}");
        }
        inputs.push(input);
    }
}

/// `wolo sms TEXT`: one incoming SMS; prints the service's answer.
pub async fn sms(args: &[&str]) -> anyhow::Result<()> {
    let o = options(args, "--from")?;
    if o.rest.is_empty() {
        bail!("usage: wolo sms [--from +221770000001] [--url http://127.0.0.1:8080] \"482913 5000 FREE\"");
    }
    let text = o.rest.join(" ");
    let endpoint = format!("{}/donations/sms/{}", o.url, gateway_key());
    let id = random_id("ATXid_sim_");
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let answer = client()?
        .post(&endpoint)
        .form(&[
            ("id", id.as_str()),
            ("from", o.phone.as_str()),
            ("to", SHORT_NUMBER),
            ("text", text.as_str()),
            ("date", date.as_str()),
            ("networkCode", NETWORK_CODE),
        ])
        .send()
        .await
        .with_context(|| format!("POST {endpoint}"))?;
    let status = answer.status();
    let body = answer.text().await?;
    println!("{} -> {SHORT_NUMBER}: {text:?} (id {id})", o.phone);
    println!("HTTP {status}: {body}");
    if !status.is_success() {
        bail!("POST {endpoint}: HTTP {status}");
    }
    println!("(any reply to the donor goes out by SMS through the notifications service)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read() {
        let o = options(
            &[
                "--from",
                "+221761112233",
                "--url=http://h:1/",
                "482913",
                "5000",
                "FREE",
            ],
            "--from",
        )
        .unwrap();
        assert_eq!(o.phone, "+221761112233");
        assert_eq!(o.url, "http://h:1");
        assert_eq!(o.rest, ["482913", "5000", "FREE"]);
        let o = options(&[], "--phone").unwrap();
        assert_eq!(o.phone, DEFAULT_PHONE);
        assert!(options(&["--phone"], "--phone").is_err());
        assert!(options(&["--nope", "x"], "--phone").is_err());
    }
}
