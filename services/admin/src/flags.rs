//! `GET /admin/flags/evaluate`: the value of every feature flag for one subject.
//!
//! A flag is on for a subject when all hold:
//! - `is_enabled`;
//! - its `environment` applies to `WOLO_ENV`: null applies everywhere; `production`
//!   flags also apply in development and test (so local matches production defaults);
//!   `development`/`test` flags apply only there;
//! - `target_user_groups` empty, or one of the subject's `groups`;
//! - `target_regions` empty, or the subject's `region` (case-insensitive);
//! - `bucket(flag_key, subject) < rollout_percentage`, bucket = first 8 bytes of
//!   sha256("<flag_key>:<subject>") mod 100. The bucket never changes, so raising the
//!   percentage only adds subjects. Without a subject only 100 % rollouts are on.
//!
//! Who may ask: anyone without `user_id` (their own token's user, or an `anonymous_id`,
//! evaluated as the subject `anon:<anonymous_id>` so it never shares a user's bucket); with
//! `user_id`, only that user's token or an admin's (401 anonymous, 403 another user). The
//! suite's services evaluate flags in the database (`admin.flag_on`), not here.
//!
//! Flags are read from the database on every request (no server cache); answers carry a
//! strong ETag (304 on If-None-Match) and `Cache-Control: private, max-age=15` (a change is
//! seen within 15 seconds), except a signed-in user's evaluation, which is personal:
//! `private, no-store`.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use rest::ApiError;

use crate::AppState;

/// How long clients may reuse an evaluation.
pub const MAX_AGE_SECONDS: u32 = 15;
/// What an `anonymous_id` subject is prefixed with (never a user id's bucket).
pub const ANONYMOUS_PREFIX: &str = "anon:";
/// Longest `anonymous_id`, `region` and `groups` query values, bytes.
pub const MAX_ANONYMOUS_ID_BYTES: usize = 128;
pub const MAX_REGION_BYTES: usize = 100;
pub const MAX_GROUPS_BYTES: usize = 1000;

/// The stable bucket 0..99 of `subject` for `flag_key`.
pub fn bucket(flag_key: &str, subject: &str) -> u8 {
    let d = Sha256::digest(format!("{flag_key}:{subject}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) % 100) as u8
}

/// Whether a flag declared for `flag_env` applies in `current`.
pub fn environment_applies(flag_env: Option<&str>, current: &str) -> bool {
    match flag_env {
        None => true,
        Some(e) if e == current => true,
        Some("production") => current != "production",
        _ => false,
    }
}

/// What a flag row holds for evaluation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Flag {
    pub flag_key: String,
    pub is_enabled: Option<bool>,
    pub flag_type: Option<String>,
    pub flag_value: Option<Value>,
    pub rollout_percentage: Option<i32>,
    pub target_user_groups: Option<Vec<String>>,
    pub target_regions: Option<Vec<String>>,
    pub environment: Option<String>,
}

/// Who a flag is evaluated for.
#[derive(Debug, Default, Clone)]
pub struct Subject {
    pub id: Option<String>,
    pub region: Option<String>,
    pub groups: Vec<String>,
}

/// (on, reason).
pub fn evaluate(flag: &Flag, subject: &Subject, env: &str) -> (bool, &'static str) {
    if !flag.is_enabled.unwrap_or(false) {
        return (false, "disabled");
    }
    if !environment_applies(flag.environment.as_deref(), env) {
        return (false, "environment");
    }
    if let Some(groups) = flag.target_user_groups.as_ref().filter(|g| !g.is_empty()) {
        if !groups.iter().any(|g| subject.groups.iter().any(|s| s == g)) {
            return (false, "group");
        }
    }
    if let Some(regions) = flag.target_regions.as_ref().filter(|r| !r.is_empty()) {
        let ok = subject
            .region
            .as_ref()
            .is_some_and(|r| regions.iter().any(|x| x.to_lowercase() == r.to_lowercase()));
        if !ok {
            return (false, "region");
        }
    }
    let pct = flag.rollout_percentage.unwrap_or(0).clamp(0, 100);
    if pct >= 100 {
        return (true, "on");
    }
    match &subject.id {
        Some(id) if (bucket(&flag.flag_key, id) as i32) < pct => (true, "rollout"),
        _ => (false, "rollout"),
    }
}

#[derive(Deserialize, Default)]
pub struct EvalQuery {
    user_id: Option<String>,
    anonymous_id: Option<String>,
    region: Option<String>,
    groups: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn get_evaluate(
    State(state): State<AppState>,
    rest::extract::Anyone(caller): rest::extract::Anyone,
    headers: HeaderMap,
    Query(q): Query<EvalQuery>,
) -> Result<Response, ApiError> {
    let me = (caller.role != auth::Role::Anon)
        .then_some(caller.user_id)
        .flatten();
    let user = match (&q.user_id, me) {
        (None, me) => me.map(|u| u.to_string()),
        (Some(u), _) if uuid::Uuid::parse_str(u).is_err() => {
            return Err(ApiError::bad_request(
                "invalid_user_id",
                "user_id invalide (invalid user_id)",
            ))
        }
        (Some(u), Some(me)) if uuid::Uuid::parse_str(u).ok() == Some(me) => Some(me.to_string()),
        (Some(u), _) if caller.role == auth::Role::Admin => Some(u.to_lowercase()),
        // A user's flags need that user's token (or an admin's): not an anonymous caller...
        (Some(_), None) => {
            return Err(ApiError::unauthorized(
                "42501",
                "Connectez-vous pour évaluer les drapeaux d'un utilisateur (evaluating a user_id needs that user's token or an admin's)",
            ))
        }
        // ...nor someone else.
        (Some(_), Some(_)) => {
            return Err(ApiError::forbidden(
                "user_id doit être l'utilisateur connecté (user_id must be the signed-in user)",
            ))
        }
    };
    let too_long = |v: &Option<String>, max: usize| v.as_ref().is_some_and(|s| s.len() > max);
    if too_long(&q.anonymous_id, MAX_ANONYMOUS_ID_BYTES)
        || too_long(&q.region, MAX_REGION_BYTES)
        || too_long(&q.groups, MAX_GROUPS_BYTES)
    {
        return Err(ApiError::bad_request(
            "validation_failed",
            format!(
                "Paramètre trop long (anonymous_id ≤ {MAX_ANONYMOUS_ID_BYTES}, region ≤ {MAX_REGION_BYTES}, groups ≤ {MAX_GROUPS_BYTES} bytes)"
            ),
        ));
    }
    // Anonymous subjects are namespaced: an anonymous_id equal to a user's id never lands in
    // that user's buckets, so a user's evaluation is only ever had with the rules above.
    let subject = Subject {
        id: user.clone().or_else(|| {
            q.anonymous_id
                .as_deref()
                .filter(|a| !a.is_empty())
                .map(|a| format!("{ANONYMOUS_PREFIX}{a}"))
        }),
        region: q.region.clone().filter(|r| !r.is_empty()),
        groups: q
            .groups
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect(),
    };
    let flags: Vec<Flag> = sqlx::query_as(
        "select flag_key, is_enabled, flag_type, flag_value, rollout_percentage,
                target_user_groups, target_regions, environment
           from admin.feature_flags order by flag_key",
    )
    .fetch_all(&state.db)
    .await
    .map_err(|e| ApiError::from_sqlx(e, false))?;
    let mut out = Map::new();
    for f in &flags {
        let (on, reason) = evaluate(f, &subject, &state.environment);
        let value = if on {
            f.flag_value.clone().unwrap_or(Value::Bool(true))
        } else if f.flag_type.as_deref() == Some("boolean") || f.flag_type.is_none() {
            Value::Bool(false)
        } else {
            Value::Null
        };
        out.insert(
            f.flag_key.clone(),
            json!({"enabled": on, "value": value, "reason": reason}),
        );
    }
    let body = json!({
        "environment": state.environment,
        "subject": subject.id,
        "flags": out,
    })
    .to_string();
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..16])
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex etag"),
    );
    // A signed-in user's evaluation is theirs (their buckets, region, groups): never stored.
    let cache_control = if user.is_some() {
        "private, no-store".to_string()
    } else {
        format!("private, max-age={MAX_AGE_SECONDS}")
    };
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&cache_control).expect("ascii"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Authorization"));
    Ok(res)
}
