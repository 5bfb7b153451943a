//! `POST /analytics/events`: a batch of up to 1,000 client events, each validated and
//! enriched (platform and device from the User-Agent, country and region from the edge
//! headers), the valid ones inserted in one statement; rejected ones reported by index.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use rest::extract::{self, Anyone};
use rest::ApiError;

use crate::AppState;

/// Largest batch accepted.
pub const MAX_BATCH: usize = 1000;
/// How far in the past a client timestamp may be.
pub const MAX_AGE_DAYS: i64 = 7;
/// How far in the future a client timestamp may be (clock skew).
pub const MAX_SKEW_MINUTES: i64 = 5;
/// Largest `properties` object, serialized.
pub const MAX_PROPERTIES_BYTES: usize = 8192;

/// Device details read from a User-Agent.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Device {
    pub platform: &'static str,
    pub device_type: Option<&'static str>,
    pub os: Option<String>,
    pub browser: Option<String>,
}

/// Platform and device from a User-Agent: `mobile_app` when it names the WOLO app
/// (`WoloApp/…`), `web` for a recognised browser, `api` otherwise; device `desktop`,
/// `mobile` or `tablet` (iPad, Android without "Mobile").
pub fn parse_user_agent(ua: Option<&str>) -> Device {
    let Some(ua) = ua.filter(|u| !u.trim().is_empty()) else {
        return Device {
            platform: "api",
            ..Device::default()
        };
    };
    let parsed = woothee::parser::Parser::new().parse(ua);
    let known = |s: &str| (!s.is_empty() && s != "UNKNOWN").then(|| s.chars().take(50).collect());
    let (os, browser, category) = match &parsed {
        Some(r) => (known(r.os), known(r.name), r.category),
        None => (None, None, ""),
    };
    let lower = ua.to_ascii_lowercase();
    let tablet = lower.contains("ipad") || (lower.contains("android") && !lower.contains("mobile"));
    let device_type = match category {
        "pc" => Some("desktop"),
        "smartphone" if tablet => Some("tablet"),
        "smartphone" | "mobilephone" => Some("mobile"),
        _ => None,
    };
    let platform = if lower.contains("woloapp") {
        "mobile_app"
    } else if browser.is_some() && device_type.is_some() {
        "web"
    } else {
        "api"
    };
    Device {
        platform,
        device_type,
        os,
        browser,
    }
}

/// Country from the CDN header `CF-IPCountry` (or `X-Country`): two letters, upper case;
/// unknown (`XX`) and Tor (`T1`) are dropped.
pub fn country_from(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get("cf-ipcountry")
        .or_else(|| headers.get("x-country"))?
        .to_str()
        .ok()?
        .trim()
        .to_ascii_uppercase();
    (v.len() == 2 && v.chars().all(|c| c.is_ascii_uppercase()) && v != "XX" && v != "T1")
        .then_some(v)
}

/// A header as UTF-8 (region names carry accents: "Thiès").
fn header_str(headers: &HeaderMap, name: &str, max: usize) -> Option<String> {
    let v = std::str::from_utf8(headers.get(name)?.as_bytes())
        .ok()?
        .trim();
    (!v.is_empty()).then(|| v.chars().take(max).collect())
}

/// One rejected event.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub index: usize,
    pub code: &'static str,
    pub message: String,
}

fn reject(index: usize, code: &'static str, message: impl Into<String>) -> Rejection {
    Rejection {
        index,
        code,
        message: message.into(),
    }
}

fn ident(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    s.len() <= max
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

fn opt_string(
    ev: &Map<String, Value>,
    key: &str,
    max: usize,
    index: usize,
) -> Result<Option<String>, Rejection> {
    match ev.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(reject(
            index,
            "too_long",
            format!("{key} dépasse {max} caractères ({key} longer than {max})"),
        )),
        Some(_) => Err(reject(
            index,
            "invalid_type",
            format!("{key} doit être une chaîne ({key} must be a string)"),
        )),
    }
}

/// What the request adds to every event.
pub struct Context {
    pub user_id: Option<uuid::Uuid>,
    pub now: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
}

/// Validates one event and returns the row to insert (keys are the table's columns).
pub fn validate(index: usize, raw: &Value, ctx: &Context) -> Result<Value, Rejection> {
    let Some(ev) = raw.as_object() else {
        return Err(reject(
            index,
            "invalid_event",
            "L'événement doit être un objet JSON (event must be an object)",
        ));
    };
    let name =
        match ev.get("event_name").or_else(|| ev.get("event")) {
            Some(Value::String(s)) if ident(s, 100) => s.clone(),
            Some(_) => return Err(reject(
                index,
                "invalid_event_name",
                "event_name : minuscules, chiffres, _ et . (100 au plus) (lowercase snake_case)",
            )),
            None => {
                return Err(reject(
                    index,
                    "missing_event_name",
                    "event_name est obligatoire (event_name is required)",
                ))
            }
        };
    let category = match ev.get("event_category") {
        None | Some(Value::Null) => name
            .split(['_', '.'])
            .next()
            .unwrap_or("misc")
            .chars()
            .take(50)
            .collect(),
        Some(Value::String(s)) if ident(s, 50) => s.clone(),
        Some(_) => {
            return Err(reject(
                index,
                "invalid_event_category",
                "event_category : minuscules et _ (50 au plus) (lowercase, 50 chars max)",
            ))
        }
    };
    let properties = match ev.get("properties") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => {
            if p.to_string().len() > MAX_PROPERTIES_BYTES {
                return Err(reject(
                    index,
                    "properties_too_large",
                    format!(
                        "properties dépasse {MAX_PROPERTIES_BYTES} octets (properties too large)"
                    ),
                ));
            }
            p.clone()
        }
        Some(_) => {
            return Err(reject(
                index,
                "invalid_properties",
                "properties doit être un objet JSON (properties must be an object)",
            ))
        }
    };
    let timestamp =
        match ev.get("timestamp") {
            None | Some(Value::Null) => ctx.now,
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    return Err(reject(
                        index,
                        "invalid_timestamp",
                        "timestamp doit être au format RFC 3339 (timestamp must be RFC 3339)",
                    ))
                }
            },
            Some(_) => return Err(reject(
                index,
                "invalid_timestamp",
                "timestamp doit être une chaîne RFC 3339 (timestamp must be an RFC 3339 string)",
            )),
        };
    if timestamp > ctx.now + Duration::minutes(MAX_SKEW_MINUTES) {
        return Err(reject(
            index,
            "timestamp_in_future",
            "timestamp est dans le futur (timestamp is in the future)",
        ));
    }
    if timestamp < ctx.now - Duration::days(MAX_AGE_DAYS) {
        return Err(reject(
            index,
            "timestamp_too_old",
            format!("timestamp a plus de {MAX_AGE_DAYS} jours (timestamp older than {MAX_AGE_DAYS} days)"),
        ));
    }
    let anonymous_id = opt_string(ev, "anonymous_id", 100, index)?;
    let session_id = opt_string(ev, "session_id", 100, index)?;
    let page_url = opt_string(ev, "page_url", 500, index)?;
    let referrer = opt_string(ev, "referrer", 500, index)?;
    let city = opt_string(ev, "city", 100, index)?;
    match ev.get("user_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(s))
            if ctx
                .user_id
                .is_some_and(|u| u.to_string() == s.to_lowercase()) => {}
        Some(_) => {
            return Err(reject(
                index,
                "user_mismatch",
                "user_id ne correspond pas au jeton (user_id must be the signed-in user; omit it)",
            ))
        }
    }
    if ctx.user_id.is_none() && anonymous_id.is_none() {
        return Err(reject(
            index,
            "missing_subject",
            "anonymous_id est obligatoire sans connexion (anonymous_id required when signed out)",
        ));
    }
    let device = parse_user_agent(ctx.user_agent.as_deref());
    let platform = match ev.get("platform").and_then(Value::as_str) {
        Some(p @ ("web" | "mobile_app" | "api")) => p.to_string(),
        Some(_) => {
            return Err(reject(
                index,
                "invalid_platform",
                "platform : web, mobile_app ou api (platform must be web, mobile_app or api)",
            ))
        }
        None => device.platform.to_string(),
    };
    Ok(json!({
        "event_name": name,
        "event_category": category,
        "user_id": ctx.user_id,
        "session_id": session_id,
        "anonymous_id": anonymous_id,
        "properties": properties,
        "timestamp": timestamp,
        "ip_address": ctx.ip,
        "user_agent": ctx.user_agent.as_ref().map(|u| u.chars().take(1000).collect::<String>()),
        "referrer": referrer,
        "page_url": page_url,
        "platform": platform,
        "device_type": device.device_type,
        "os": device.os,
        "browser": device.browser,
        "country": ctx.country,
        "region": ctx.region,
        "city": city,
    }))
}

/// Inserts validated rows in one statement; returns how many.
pub async fn insert_rows(
    conn: &mut sqlx::PgConnection,
    rows: &[Value],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let r = sqlx::query(
        "insert into analytics.analytics_events
             (event_name, event_category, user_id, session_id, anonymous_id, properties,
              timestamp, ip_address, user_agent, referrer, page_url, platform, device_type,
              os, browser, country, region, city)
         select r.event_name, r.event_category,
                (select u.id from identity.users u where u.id = r.user_id),
                r.session_id, r.anonymous_id, r.properties, r.timestamp, r.ip_address,
                r.user_agent, r.referrer, r.page_url, r.platform, r.device_type, r.os,
                r.browser, r.country,
                coalesce(r.region, (select a.region from profiles.user_addresses a
                                     where a.user_id = r.user_id and a.region is not null
                                     order by a.is_default desc nulls last, a.created_at limit 1)),
                r.city
         from jsonb_to_recordset($1) as r(event_name text, event_category text, user_id uuid,
              session_id text, anonymous_id text, properties jsonb, \"timestamp\" timestamptz,
              ip_address inet, user_agent text, referrer text, page_url text, platform text,
              device_type text, os text, browser text, country text, region text, city text)",
    )
    .bind(Value::Array(rows.to_vec()))
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}

#[tracing::instrument(skip_all, fields(user_id = ?caller.user_id))]
pub async fn post_events(
    State(state): State<AppState>,
    Anyone(caller): Anyone,
    headers: HeaderMap,
    client: platform::Client,
    extract::Json(body): extract::Json<Value>,
) -> Result<Response, ApiError> {
    let events = match body {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("events") {
            // `{events: [...]}` and nothing else: another field is named, as the JSON
            // extractor names an unknown field.
            Some(Value::Array(_)) if !o.is_empty() => {
                let field = o.keys().next().cloned().unwrap_or_default();
                return Err(extract::unknown_field(&field, Some("events")));
            }
            Some(Value::Array(a)) => a,
            _ => return Err(ApiError::bad_request(
                "invalid_batch",
                "Attendu un tableau d'événements ou {events: [...]} (expected an array of events)",
            )),
        },
        _ => {
            return Err(ApiError::bad_request(
                "invalid_batch",
                "Attendu un tableau d'événements (expected an array of events)",
            ))
        }
    };
    if events.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "Au plus {MAX_BATCH} événements par lot (at most {MAX_BATCH} events per batch)"
            ),
        )
        .details(format!("{} events sent", events.len())));
    }
    let ctx = Context {
        user_id: if caller.role == auth::Role::Anon {
            None
        } else {
            caller.user_id
        },
        now: Utc::now(),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        country: country_from(&headers),
        region: header_str(&headers, "x-region", 100),
    };
    let mut rows = Vec::with_capacity(events.len());
    let mut rejected = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match validate(i, ev, &ctx) {
            Ok(row) => rows.push(row),
            Err(r) => rejected.push(r),
        }
    }
    let mut conn = state
        .db
        .acquire()
        .await
        .map_err(|e| ApiError::from_sqlx(e, false))?;
    let inserted = insert_rows(&mut conn, &rows)
        .await
        .map_err(|e| ApiError::from_sqlx(e, false))?;
    let status = if rejected.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let rejected: Vec<Value> = rejected
        .into_iter()
        .map(|r| json!({"index": r.index, "code": r.code, "message": r.message}))
        .collect();
    Ok((
        status,
        Json(json!({"inserted": inserted, "rejected": rejected})),
    )
        .into_response())
}
