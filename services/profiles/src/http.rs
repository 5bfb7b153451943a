//! Profile endpoints: `GET|PUT /me`, guardian confirmation, identity documents.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{NaiveDate, Utc};
use platform::calendar::{age_on, is_minor_on};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use rest::{ApiError, ApiResult};

use crate::{crypto, AppState};

pub(crate) use rest::input::{body, db, validation};

pub const LOCALES: [&str; 3] = ["fr-SN", "wo-SN", "en"];
pub const RELATIONSHIPS: [&str; 6] = [
    "parent",
    "guardian",
    "grandparent",
    "sibling",
    "uncle_aunt",
    "other",
];
pub const DOCUMENT_TYPES: [&str; 3] = ["passport", "national_id", "birth_certificate"];

/// The profile as its owner sees it: the document number masked, never its hash or
/// ciphertext.
pub(crate) async fn profile_json(
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

pub async fn get_me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let me = rest::require_user(&caller)?;
    let mut conn = state.db.acquire().await.map_err(db)?;
    match profile_json(&mut conn, &state.keys, me, state.clock.today()).await? {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(ApiError::not_found(
            "profile_not_found",
            "Profil non encore complété (profile not completed yet)",
        )),
    }
}

/// `PUT /me` body: absent fields keep their value (on creation, full_name and
/// date_of_birth are required).
#[derive(Debug, Default, Deserialize)]
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

pub async fn put_me(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let me = rest::require_user(&caller)?;
    let input: ProfileInput = body(&bytes)?;
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
            let relationship = match relationship.as_deref() {
                Some("parent") => "parent",
                Some("guardian") => "tuteur légal",
                Some("grandparent") => "grand-parent",
                Some("sibling") => "frère ou sœur",
                Some("uncle_aunt") => "oncle ou tante",
                _ => "proche",
            };
            platform::outbox::publish(
                &mut tx,
                "notification.requested",
                &json!({
                    "user_id": g,
                    "message": "guardian_confirmation_requested",
                    "data": {"minor_name": full_name, "relationship": relationship},
                }),
                crate::NAME,
            )
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
    Ok((status, Json(out)).into_response())
}

pub async fn post_confirm_guardianship(
    State(state): State<AppState>,
    Path(minor): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let me = rest::require_user(&caller)?;
    let minor = Uuid::parse_str(&minor)
        .map_err(|_| validation("Identifiant invalide (invalid user id)"))?;
    let mut tx = state.db.begin().await.map_err(db)?;
    let row = sqlx::query(
        "select guardian_user_id, guardian_confirmed_at from profiles.profiles where user_id = $1 for update",
    )
    .bind(minor)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| ApiError::not_found("profile_not_found", "Profil introuvable (profile not found)"))?;
    let guardian: Option<Uuid> = row.get("guardian_user_id");
    if guardian != Some(me) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_guardian",
            "Vous n'êtes pas le tuteur désigné de ce profil (not this minor's guardian)",
        ));
    }
    let confirmed: Option<chrono::DateTime<Utc>> = row.get("guardian_confirmed_at");
    let confirmed = match confirmed {
        Some(t) => t,
        None => sqlx::query_scalar(
            "update profiles.profiles set guardian_confirmed_at = now(), guardian_confirmed_by = $2
             where user_id = $1 returning guardian_confirmed_at",
        )
        .bind(minor)
        .bind(me)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?,
    };
    tx.commit().await.map_err(db)?;
    Ok(Json(
        json!({"minor_user_id": minor, "guardian_user_id": me, "guardian_confirmed_at": confirmed}),
    )
    .into_response())
}

#[derive(Deserialize)]
struct DocumentInput {
    #[serde(rename = "type")]
    kind: Option<String>,
    number: Option<String>,
    country: Option<String>,
    media_url: Option<String>,
}

pub async fn post_identity_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let me = rest::require_user(&caller)?;
    let input: DocumentInput = body(&bytes)?;
    let kind = input.kind.unwrap_or_default();
    if !DOCUMENT_TYPES.contains(&kind.as_str()) {
        return Err(validation(
            "type : passport, national_id ou birth_certificate (unknown document type)",
        ));
    }
    let number = crypto::normalise_number(&input.number.unwrap_or_default());
    if !(4..=30).contains(&number.chars().count()) {
        return Err(validation(
            "Numéro de document invalide : 4 à 30 lettres ou chiffres (invalid number)",
        ));
    }
    let country = input
        .country
        .unwrap_or_else(|| "SEN".into())
        .trim()
        .to_uppercase();
    if country.len() != 3 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(validation(
            "country : code ISO à 3 lettres, par exemple SEN (invalid country)",
        ));
    }
    if let Some(u) = &input.media_url {
        if !u.starts_with("https://") || u.len() > 500 {
            return Err(validation(
                "media_url : une URL https de 500 caractères au plus",
            ));
        }
    }
    let hash = state.keys.id_hash(&number);
    let taken = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "id_document_already_registered",
            "Ce document d'identité est déjà enregistré sur un autre compte (document already registered)",
        )
    };
    let mut tx = state.db.begin().await.map_err(db)?;
    let current: Option<Option<String>> =
        sqlx::query_scalar("select id_hash from profiles.profiles where user_id = $1 for update")
            .bind(me)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let Some(current) = current else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "profile_required",
            "Complétez d'abord votre profil (complete the profile first)",
        ));
    };
    let other: bool = sqlx::query_scalar(
        "select exists (select 1 from profiles.profiles where id_hash = $1 and user_id <> $2)",
    )
    .bind(&hash)
    .bind(me)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if other {
        return Err(taken());
    }
    let same = current.as_deref() == Some(hash.as_str());
    sqlx::query(
        "update profiles.profiles set
             id_type = $2, id_country = $3, id_hash = $4, id_number = null,
             id_number_encrypted = $5, id_media_url = coalesce($6, id_media_url),
             id_verified_at = case when $7 then id_verified_at end,
             id_verified_by = case when $7 then id_verified_by end
         where user_id = $1",
    )
    .bind(me)
    .bind(&kind)
    .bind(&country)
    .bind(&hash)
    .bind(state.keys.encrypt(&number))
    .bind(&input.media_url)
    .bind(same)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => taken(),
        _ => db(e),
    })?;
    let out = profile_json(&mut tx, &state.keys, me, state.clock.today())
        .await?
        .ok_or_else(|| ApiError::internal("profile vanished"))?;
    tx.commit().await.map_err(db)?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize, Default)]
struct VerifyInput {
    reason: Option<String>,
}

pub async fn post_verify_document(
    State(state): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let admin = rest::require_admin(&caller)?;
    let user =
        Uuid::parse_str(&user).map_err(|_| validation("Identifiant invalide (invalid user id)"))?;
    let input: VerifyInput = if bytes.is_empty() {
        VerifyInput::default()
    } else {
        body(&bytes)?
    };
    let path = format!("/{user}/identity-document/verify");
    let mut tx = rest::begin(&state.db, &caller, "POST", &path, &headers, false).await?;
    let row = sqlx::query(
        "select id_hash, id_type, id_country, id_verified_at, id_verified_by
         from profiles.profiles where user_id = $1 for update",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| {
        ApiError::not_found(
            "profile_not_found",
            "Profil introuvable (profile not found)",
        )
    })?;
    let hash: Option<String> = row.get("id_hash");
    if hash.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_identity_document",
            "Aucun document d'identité enregistré (no identity document)",
        ));
    }
    let old = json!({
        "id_type": row.get::<Option<String>, _>("id_type"),
        "id_country": row.get::<Option<String>, _>("id_country"),
        "id_verified_at": row.get::<Option<chrono::DateTime<Utc>>, _>("id_verified_at"),
        "id_verified_by": row.get::<Option<Uuid>, _>("id_verified_by"),
    });
    let verified_at: chrono::DateTime<Utc> = sqlx::query_scalar(
        "update profiles.profiles set id_verified_at = now(), id_verified_by = $2
         where user_id = $1 returning id_verified_at",
    )
    .bind(user)
    .bind(admin)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let new = json!({"id_verified_at": verified_at, "id_verified_by": admin});
    sqlx::query("select wolo.audit('identity_document_verified', 'profile', $1, $2, $3, $4, $5)")
        .bind(user)
        .bind(&old)
        .bind(&new)
        .bind(&input.reason)
        .bind(json!({"id_type": old["id_type"], "id_country": old["id_country"]}))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(
        Json(json!({"user_id": user, "id_verified_at": verified_at, "id_verified_by": admin}))
            .into_response(),
    )
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
