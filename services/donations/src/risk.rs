//! `risk_score` (0-100) of a new donation and its reasons, computed at checkout. Simple and
//! explainable: each rule adds points, the total is capped at 100 (docs/donations.md).
//!
//! | rule | points |
//! |---|---|
//! | `phone_velocity_1h`: earlier donations from the same phone in the last hour, beyond 2 | 10 each, at most 30 |
//! | `phone_velocity_24h`: same phone in the last 24 h, beyond 5 | 5 each, at most 20 |
//! | `ip_velocity_1h`: same IP address in the last hour, beyond 3 | 10 each, at most 30 |
//! | `large_amount`: amount >= 1 000 000 FCFA | 20 |
//! | `amount_outlier`: amount > 10x the median of the pot's succeeded donations (5 or more) | 20 |

use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

pub const LARGE_AMOUNT_CFA: i32 = 1_000_000;

#[derive(Debug, Clone, Default)]
pub struct Risk {
    pub score: i32,
    pub reasons: Vec<Value>,
}

impl Risk {
    fn add(&mut self, rule: &str, points: i64, detail: String) {
        if points > 0 {
            self.score = (self.score + points as i32).min(100);
            self.reasons
                .push(json!({"rule": rule, "points": points, "detail": detail}));
        }
    }
}

/// Scores a donation about to be inserted (counts exclude it).
pub async fn assess(
    conn: &mut PgConnection,
    pot_id: Uuid,
    phone: Option<&str>,
    ip: Option<&str>,
    amount_cfa: i32,
) -> Result<Risk, sqlx::Error> {
    let mut risk = Risk::default();
    if let Some(phone) = phone {
        let (h, d): (i64, i64) = sqlx::query_as(
            "select count(*) filter (where created_at > now() - interval '1 hour'),
                    count(*)
             from donations.donations
             where donor_phone = $1 and created_at > now() - interval '24 hours'",
        )
        .bind(phone)
        .fetch_one(&mut *conn)
        .await?;
        risk.add(
            "phone_velocity_1h",
            ((h - 2).max(0) * 10).min(30),
            format!("{h} dons de ce numéro dans la dernière heure"),
        );
        risk.add(
            "phone_velocity_24h",
            ((d - 5).max(0) * 5).min(20),
            format!("{d} dons de ce numéro dans les dernières 24 h"),
        );
    }
    if let Some(ip) = ip {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from donations.donations
             where ip_address = $1::inet and created_at > now() - interval '1 hour'",
        )
        .bind(ip)
        .fetch_one(&mut *conn)
        .await?;
        risk.add(
            "ip_velocity_1h",
            ((n - 3).max(0) * 10).min(30),
            format!("{n} dons depuis cette adresse IP dans la dernière heure"),
        );
    }
    if amount_cfa >= LARGE_AMOUNT_CFA {
        risk.add(
            "large_amount",
            20,
            format!("montant {amount_cfa} FCFA >= {LARGE_AMOUNT_CFA} FCFA"),
        );
    } else {
        let (n, median): (i64, Option<f64>) = sqlx::query_as(
            "select count(*), percentile_cont(0.5) within group (order by amount_cfa)
             from donations.donations where pot_id = $1 and status = 'succeeded'",
        )
        .bind(pot_id)
        .fetch_one(&mut *conn)
        .await?;
        if let Some(m) = median.filter(|_| n >= 5) {
            if f64::from(amount_cfa) > 10.0 * m {
                risk.add(
                    "amount_outlier",
                    20,
                    format!(
                        "montant {amount_cfa} FCFA > 10 x la médiane de la cagnotte ({m} FCFA)"
                    ),
                );
            }
        }
    }
    Ok(risk)
}
