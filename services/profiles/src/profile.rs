//! The profile flow: `GET /me` (the caller's profile, the document number masked) and
//! `PUT /me` (create or update; a minor names a guardian, who is asked to confirm:
//! [`crate::guardians`]).

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use platform::calendar::{age_on, is_minor_on};
use serde::Deserialize;
use serde_json::Value;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::extract::{Json, User};
use rest::input::{db, validation};
use rest::{ApiError, ApiResult};

use crate::{crypto, guardians, AppState};

pub const LOCALES: [&str; 3] = ["fr-SN", "wo-SN", "en"];
pub const RELATIONSHIPS: [&str; 6] = [
    "parent",
    "guardian",
    "grandparent",
    "sibling",
    "uncle_aunt",
    "other",
];

/// The profile as its owner sees it: the document number masked, never its hash or
/// ciphertext.
pub async fn profile_json(
    conn: &mut PgConnection,
    keys: &crypto::IdKeys,
    user: Uuid,
    today: NaiveDate,
) -> ApiResult<Option<Value>> {
    let row = sqlx::query(
        "select to_jsonb(p) - 'id_number' - 'id_number_encrypted' - 'id_hash' as doc,
                p.id_number_encrypted
         from profiles.profiles p where p.user_id = $1",
    )
    .bind(user)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    Ok(row.map(|r| {
        let mut doc: Value = r.get("doc");
        let enc: Option<String> = r.get("id_number_encrypted");
        doc["id_number_masked"] = match enc.map(|e| keys.decrypt(&e)) {
            Some(Ok(n)) => Value::String(crypto::mask(&n)),
            _ => Value::Null,
        };
        if let Some(dob) = doc["date_of_birth"]
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            doc["is_minor"] = Value::Bool(is_minor_on(dob, today));
        }
        doc
    }))
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn get_me(State(state): State<AppState>, user: User) -> Result<Response, ApiError> {
    let me = user.id;
    let mut conn = state.db.acquire().await.map_err(db)?;
    match profile_json(&mut conn, &state.keys, me, state.clock.today()).await? {
        Some(p) => Ok(axum::Json(p).into_response()),
        None => Err(ApiError::not_found(
            "profile_not_found",
            "Profil non encore complété (profile not completed yet)",
        )),
    }
}

/// `PUT /me` body: absent fields keep their value (on creation, full_name and
/// date_of_birth are required).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub full_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub guardian_user_id: Option<Uuid>,
    pub relationship_type: Option<String>,
    pub is_profile_public: Option<bool>,
    pub allow_contact_by_sponsors: Option<bool>,
    pub notification_preferences: Option<Value>,
}

/// Field checks that need no database.
pub fn check_input(p: &ProfileInput, today: NaiveDate) -> ApiResult<()> {
    if let Some(n) = &p.full_name {
        let n = n.trim();
        if n.is_empty() || n.chars().count() > 255 {
            return Err(validation(
                "Nom complet requis, 255 caractères au plus (full_name: 1-255 characters)",
            ));
        }
    }
    if let Some(d) = p.date_of_birth {
        if d > today || age_on(d, today) > 120 {
            return Err(validation(
                "Date de naissance invalide (invalid date_of_birth)",
            ));
        }
    }
    if let Some(l) = &p.locale {
        if !LOCALES.contains(&l.as_str()) {
            return Err(validation(
                "Langue : fr-SN, wo-SN ou en (locale must be fr-SN, wo-SN or en)",
            ));
        }
    }
    if let Some(tz) = &p.timezone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            return Err(
                validation("Fuseau horaire IANA inconnu (unknown IANA time zone)")
                    .hint("Par exemple Africa/Dakar"),
            );
        }
    }
    if let Some(u) = &p.avatar_url {
        if !(u.starts_with("https://") || u.starts_with("http://"))
            || u.len() > 500
            || u.contains(char::is_whitespace)
        {
            return Err(validation(
                "avatar_url : une URL http(s) de 500 caractères au plus (invalid avatar_url)",
            ));
        }
    }
    if let Some(b) = &p.bio {
        if b.chars().count() > 1000 {
            return Err(validation("Bio : 1000 caractères au plus (bio too long)"));
        }
    }
    if let Some(r) = &p.relationship_type {
        if !RELATIONSHIPS.contains(&r.as_str()) {
            return Err(
                validation("Lien avec le tuteur inconnu (unknown relationship_type)")
                    .hint(RELATIONSHIPS.join(", ")),
            );
        }
    }
    if let Some(np) = &p.notification_preferences {
        if !np.is_object() {
            return Err(validation(
                "notification_preferences doit être un objet (must be an object)",
            ));
        }
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn put_me(
    State(state): State<AppState>,
    user: User,
    Json(input): Json<ProfileInput>,
) -> Result<Response, ApiError> {
    let me = user.id;
    let today = state.clock.today();
    check_input(&input, today)?;

    let mut tx = state.db.begin().await.map_err(db)?;
    let existing = sqlx::query(
        "select full_name, date_of_birth, guardian_user_id, relationship_type
         from profiles.profiles where user_id = $1 for update",
    )
    .bind(me)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let (full_name, dob, guardian, relationship) = match &existing {
        Some(r) => {
            let old_dob: NaiveDate = r.get("date_of_birth");
            if input.date_of_birth.is_some_and(|d| d != old_dob) {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "date_of_birth_locked",
                    "La date de naissance ne se change plus ; contactez le support (date_of_birth cannot be changed)",
                ));
            }
            (
                input
                    .full_name
                    .clone()
                    .map(|n| n.trim().to_string())
                    .unwrap_or_else(|| r.get("full_name")),
                old_dob,
                input.guardian_user_id.or(r.get("guardian_user_id")),
                input
                    .relationship_type
                    .clone()
                    .or(r.get("relationship_type")),
            )
        }
        None => {
            let (Some(n), Some(d)) = (&input.full_name, input.date_of_birth) else {
                return Err(validation(
                    "full_name et date_of_birth sont requis pour créer le profil (required to create the profile)",
                ));
            };
            (
                n.trim().to_string(),
                d,
                input.guardian_user_id,
                input.relationship_type.clone(),
            )
        }
    };
    let minor = is_minor_on(dob, today);
    if minor {
        let Some(g) = guardian else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "guardian_required",
                "Moins de 18 ans : un tuteur (guardian_user_id) et le lien (relationship_type) sont requis (a minor needs a guardian)",
            ));
        };
        if relationship.is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "guardian_required",
                "Moins de 18 ans : précisez le lien avec le tuteur (relationship_type is required)",
            ));
        }
        if g == me {
            return Err(validation(
                "On ne peut pas être son propre tuteur (own guardian)",
            ));
        }
        let row = sqlx::query(
            "select coalesce(u.is_active, true) as active, p.date_of_birth
             from identity.users u left join profiles.profiles p on p.user_id = u.id where u.id = $1",
        )
        .bind(g)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row.filter(|r| r.get::<bool, _>("active")) else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "guardian_not_found",
                "Tuteur introuvable (guardian user not found)",
            ));
        };
        let gdob: Option<NaiveDate> = row.get("date_of_birth");
        if gdob.is_some_and(|g| is_minor_on(g, today)) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "guardian_is_minor",
                "Le tuteur doit être majeur (the guardian must be an adult)",
            ));
        }
    }

    if existing.is_some() {
        sqlx::query(
            "update profiles.profiles set
                 full_name = $2,
                 locale = coalesce($3, locale),
                 timezone = coalesce($4, timezone),
                 avatar_url = coalesce($5, avatar_url),
                 bio = coalesce($6, bio),
                 guardian_user_id = $7,
                 relationship_type = $8,
                 is_profile_public = coalesce($9, is_profile_public),
                 allow_contact_by_sponsors = coalesce($10, allow_contact_by_sponsors),
                 notification_preferences = coalesce($11, notification_preferences)
             where user_id = $1",
        )
        .bind(me)
        .bind(&full_name)
        .bind(&input.locale)
        .bind(&input.timezone)
        .bind(&input.avatar_url)
        .bind(&input.bio)
        .bind(guardian)
        .bind(&relationship)
        .bind(input.is_profile_public)
        .bind(input.allow_contact_by_sponsors)
        .bind(&input.notification_preferences)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    } else {
        sqlx::query(
            "insert into profiles.profiles
                 (user_id, full_name, date_of_birth, locale, timezone, avatar_url, bio,
                  guardian_user_id, relationship_type, is_profile_public, allow_contact_by_sponsors,
                  notification_preferences)
             values ($1, $2, $3, coalesce($4, 'fr-SN'), coalesce($5, 'Africa/Dakar'), $6, $7, $8, $9,
                     coalesce($10, true), coalesce($11, true),
                     coalesce($12, '{\"email\": true, \"sms\": true, \"whatsapp\": true}'::jsonb))",
        )
        .bind(me)
        .bind(&full_name)
        .bind(dob)
        .bind(&input.locale)
        .bind(&input.timezone)
        .bind(&input.avatar_url)
        .bind(&input.bio)
        .bind(guardian)
        .bind(&relationship)
        .bind(input.is_profile_public)
        .bind(input.allow_contact_by_sponsors)
        .bind(&input.notification_preferences)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    // A minor naming a (new) guardian: the guardian is asked to confirm.
    let old_guardian: Option<Uuid> = existing.as_ref().and_then(|r| r.get("guardian_user_id"));
    if let (true, Some(g)) = (minor, guardian) {
        if existing.is_none() || old_guardian != Some(g) {
            guardians::ask_to_confirm(&mut tx, g, &full_name, relationship.as_deref())
                .await
                .map_err(db)?;
        }
    }
    // A sponsored user who completes the profile gets the referral's birthday pot now
    // (cross-schema: referral.create_referral_pot writes pots.pots, docs/profiles.md).
    sqlx::query(
        "update referral.referrals set ids_required = $2
         where sponsored_user_id = $1 and status = 'accepted' and ids_required is distinct from $2",
    )
    .bind(me)
    .bind(minor)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query(
        "select referral.create_referral_pot(id) from referral.referrals
         where sponsored_user_id = $1 and status = 'accepted'",
    )
    .bind(me)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let out = profile_json(&mut tx, &state.keys, me, state.clock.today())
        .await?
        .ok_or_else(|| ApiError::internal("profile vanished"))?;
    tx.commit().await.map_err(db)?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(out)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_checks() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-12-03");
        assert!(check_input(
            &ProfileInput {
                locale: Some("de".into()),
                ..Default::default()
            },
            today
        )
        .is_err());
        assert!(check_input(
            &ProfileInput {
                timezone: Some("Mars/Olympus".into()),
                ..Default::default()
            },
            today
        )
        .is_err());
        assert!(check_input(
            &ProfileInput {
                timezone: Some("Africa/Dakar".into()),
                ..Default::default()
            },
            today
        )
        .is_ok());
    }
}
