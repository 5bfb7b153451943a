//! A/B tests: deterministic assignment and results.
//!
//! A subject (user id, else anonymous id) is hashed with the test id:
//! `sha256("<test id>:<subject>")`, first 8 bytes as a big-endian integer, divided by
//! 2^64 → a point `x` in [0, 1). Variants take consecutive slices of [0, 1) in the order
//! of `traffic_allocation` (`{"control": 0.5, "variant_a": 0.5}`); a subject whose `x`
//! falls past the sum of the shares is outside the test: no variant, nothing stored
//! (they see the default experience). Only `running` tests assign. The first assignment
//! is stored (unique per test and subject) and wins afterwards, even if the allocation
//! changes.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use rest::extract::{self, Anyone};
use rest::ApiError;

use crate::AppState;

/// The point in [0, 1) of `subject` for the test `test_id`.
pub fn unit_hash(test_id: &str, subject: &str) -> f64 {
    let digest = Sha256::digest(format!("{test_id}:{subject}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// The variant of `subject` under `allocation` (ordered shares), or None outside it.
pub fn pick_variant(
    test_id: &str,
    subject: &str,
    allocation: &Map<String, Value>,
) -> Option<String> {
    let x = unit_hash(test_id, subject);
    let mut acc = 0.0;
    for (variant, share) in allocation {
        acc += share.as_f64().unwrap_or(0.0).max(0.0);
        if x < acc {
            return Some(variant.clone());
        }
    }
    None
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    test: Option<String>,
    user_id: Option<String>,
    anonymous_id: Option<String>,
}

fn bad(code: &str, msg: &str) -> ApiError {
    ApiError::bad_request(code, msg)
}

#[tracing::instrument(skip_all, fields(test = tracing::field::Empty))]
pub async fn post_assign(
    State(state): State<AppState>,
    Anyone(caller): Anyone,
    client: platform::Client,
    extract::Json(req): extract::Json<AssignRequest>,
) -> Result<Response, ApiError> {
    let test = req.test.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        bad(
            "missing_test",
            "test est obligatoire (test name or id required)",
        )
    })?;
    tracing::Span::current().record("test", test.as_str());
    // A signed-in caller is assigned as themselves; user_id may only repeat it.
    let signed_in = (caller.role != auth::Role::Anon)
        .then_some(caller.user_id)
        .flatten();
    let user_id =
        match (signed_in, req.user_id.as_deref()) {
            (Some(me), None) => Some(me),
            (Some(me), Some(u)) if Uuid::parse_str(u).ok() == Some(me) => Some(me),
            (Some(_), Some(_)) if caller.role == auth::Role::Admin => Some(
                Uuid::parse_str(req.user_id.as_deref().unwrap_or_default())
                    .map_err(|_| bad("invalid_user_id", "user_id invalide (invalid user_id)"))?,
            ),
            (Some(_), Some(_)) => {
                return Err(ApiError::forbidden(
                    "user_id doit être l'utilisateur connecté (user_id must be the signed-in user)",
                ))
            }
            (None, Some(_)) => return Err(ApiError::unauthorized(
                "PGRST301",
                "Connectez-vous pour utiliser user_id, sinon anonymous_id (sign in to use user_id)",
            )),
            (None, None) => None,
        };
    let anonymous_id = match (&user_id, req.anonymous_id) {
        (Some(_), _) => None,
        (None, Some(a)) if !a.trim().is_empty() && a.chars().count() <= 100 => Some(a),
        _ => return Err(bad(
            "missing_subject",
            "user_id ou anonymous_id (100 caractères au plus) est obligatoire (subject required)",
        )),
    };
    let row: Option<(Uuid, String, Value)> = sqlx::query_as(
        "select id, status, traffic_allocation from analytics.ab_tests
          where test_name = $1 or id::text = $1 limit 1",
    )
    .bind(&test)
    .fetch_optional(&state.db)
    .await
    .map_err(|e| ApiError::from_sqlx(e, false))?;
    let Some((test_id, status, allocation)) = row else {
        return Err(ApiError::not_found(
            "test_not_found",
            "Test A/B introuvable (A/B test not found)",
        ));
    };
    let subject = user_id
        .map(|u| u.to_string())
        .or(anonymous_id.clone())
        .unwrap_or_default();
    let existing = stored(&state.db, test_id, user_id, anonymous_id.as_deref()).await?;
    if let Some(v) = existing {
        return Ok(answer(test_id, &test, Some(v), false));
    }
    if status != "running" {
        return Ok(answer(test_id, &test, None, false));
    }
    let Some(alloc) = allocation.as_object() else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_allocation",
            "traffic_allocation n'est pas un objet",
        ));
    };
    let Some(variant) = pick_variant(&test_id.to_string(), &subject, alloc) else {
        return Ok(answer(test_id, &test, None, false));
    };
    let inserted: Option<String> = sqlx::query_scalar(
        "insert into analytics.ab_test_assignments (test_id, user_id, anonymous_id, variant, ip_address, user_agent)
         values ($1, $2, $3, $4, $5::inet, $6)
         on conflict do nothing returning variant",
    )
    .bind(test_id)
    .bind(user_id)
    .bind(&anonymous_id)
    .bind(&variant)
    .bind(client.ip.as_deref())
    .bind(client.user_agent.as_deref())
    .fetch_optional(&state.db)
    .await
    .map_err(|e| ApiError::from_sqlx(e, false))?;
    let created = inserted.is_some();
    let variant = match inserted {
        Some(v) => v,
        None => stored(&state.db, test_id, user_id, anonymous_id.as_deref())
            .await?
            .unwrap_or(variant),
    };
    Ok(answer(test_id, &test, Some(variant), created))
}

async fn stored(
    pool: &PgPool,
    test_id: Uuid,
    user_id: Option<Uuid>,
    anonymous_id: Option<&str>,
) -> Result<Option<String>, ApiError> {
    sqlx::query_scalar(
        "select variant from analytics.ab_test_assignments
          where test_id = $1 and (user_id = $2 or ($2 is null and anonymous_id = $3))",
    )
    .bind(test_id)
    .bind(user_id)
    .bind(anonymous_id)
    .fetch_optional(pool)
    .await
    .map_err(|e| ApiError::from_sqlx(e, false))
}

fn answer(test_id: Uuid, test: &str, variant: Option<String>, created: bool) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(json!({"test_id": test_id, "test": test, "variant": variant, "in_test": variant.is_some()})),
    )
        .into_response()
}

/// Standard normal CDF.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2))
}

/// Two-sided p-value of the two-proportion z-test (pooled), with z; None when undefined.
pub fn two_proportion_z(c1: u64, n1: u64, c2: u64, n2: u64) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (c1 as f64 / n1 as f64, c2 as f64 / n2 as f64);
    let p = (c1 + c2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (p2 - p1) / se;
    Some((z, 2.0 * (1.0 - normal_cdf(z.abs()))))
}

/// Significance threshold for declaring a winner.
pub const ALPHA: f64 = 0.05;

/// Results of every running or completed test at `now`: per variant, subjects and
/// conversions (a subject converts when an event named the test's `primary_metric` is
/// recorded for them at or after their assignment), rate; each variant against the
/// control (the first variant of traffic_allocation): z, p-value, lift. A variant whose
/// p < 0.05 and whose rate beats the control's is the winner (the best such);
/// confidence_level = 1 − p. Returns the number of tests updated.
pub async fn results_once(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let tests: Vec<(Uuid, Value, String)> = sqlx::query_as(
        "select id, traffic_allocation, primary_metric from analytics.ab_tests
          where status in ('running', 'completed')",
    )
    .fetch_all(pool)
    .await?;
    let mut n = 0;
    for (test_id, allocation, metric) in tests {
        let counts: Vec<(String, i64, i64)> = sqlx::query_as(
            "select a.variant, count(*),
                    count(*) filter (where exists (
                        select 1 from analytics.analytics_events e
                         where e.event_name = $2 and e.timestamp >= a.assigned_at and e.timestamp <= $3
                           and ((a.user_id is not null and e.user_id = a.user_id)
                             or (a.anonymous_id is not null and e.anonymous_id = a.anonymous_id))))
               from analytics.ab_test_assignments a where a.test_id = $1 group by a.variant",
        )
        .bind(test_id)
        .bind(&metric)
        .bind(now)
        .fetch_all(pool)
        .await?;
        let order: Vec<String> = allocation
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let get = |v: &str| {
            counts
                .iter()
                .find(|c| c.0 == v)
                .map(|c| (c.1 as u64, c.2 as u64))
                .unwrap_or((0, 0))
        };
        let mut variants = Map::new();
        for (v, subjects, conversions) in &counts {
            variants.insert(
                v.clone(),
                json!({"subjects": subjects, "conversions": conversions,
                       "rate": if *subjects == 0 { 0.0 } else { *conversions as f64 / *subjects as f64 }}),
            );
        }
        let control = order.first().cloned().unwrap_or_else(|| "control".into());
        let (cn, cc) = get(&control);
        let mut comparisons = Map::new();
        let mut winner: Option<(String, f64, f64)> = None;
        for v in order.iter().skip(1) {
            let (vn, vc) = get(v);
            let Some((z, p)) = two_proportion_z(cc, cn, vc, vn) else {
                comparisons.insert(
                    v.clone(),
                    json!({"z": null, "p_value": null, "significant": false}),
                );
                continue;
            };
            let (rc, rv) = (cc as f64 / cn as f64, vc as f64 / vn as f64);
            let lift = if rc == 0.0 {
                None
            } else {
                Some((rv - rc) / rc)
            };
            let significant = p < ALPHA;
            comparisons.insert(
                v.clone(),
                json!({"z": z, "p_value": p, "lift": lift, "significant": significant}),
            );
            if significant && rv > rc && winner.as_ref().is_none_or(|w| rv > w.1) {
                winner = Some((v.clone(), rv, p));
            }
        }
        let results = json!({
            "computed_at": now,
            "primary_metric": metric,
            "control": control,
            "alpha": ALPHA,
            "test": "two-proportion z-test (pooled, two-sided)",
            "variants": variants,
            "comparisons": comparisons,
        });
        sqlx::query(
            "update analytics.ab_tests set results = $2, winner_variant = $3, confidence_level = round($4::numeric, 4) where id = $1",
        )
        .bind(test_id)
        .bind(&results)
        .bind(winner.as_ref().map(|w| w.0.clone()))
        .bind(winner.as_ref().map(|w| (1.0 - w.2).clamp(0.0, 0.9999)))
        .execute(pool)
        .await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_test_matches_a_worked_example() {
        // 200/1000 vs 250/1000: z ≈ 2.68, p ≈ 0.0073.
        let (z, p) = two_proportion_z(200, 1000, 250, 1000).unwrap();
        assert!((z - 2.68).abs() < 0.01, "z = {z}");
        assert!((p - 0.0073).abs() < 0.0005, "p = {p}");
        assert!(two_proportion_z(0, 0, 1, 2).is_none());
    }
}
