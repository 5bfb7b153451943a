//! Packs: the gift catalogue, partners and their venues, sponsor campaigns. Owns the `packs` schema.
//!
//! [`router`] serves the service at `/`; `wolo serve` mounts it under `/packs`.
//!
//! The tables are served PostgREST-style (catalog for everyone, admin management audited by
//! the triggers of V70). Custom endpoints:
//! - `POST /pots/{pot_id}/preferred-pack` {pack_id}: the pot's owner picks its pack;
//! - `POST /campaigns/{id}/impression`, `POST /campaigns/{id}/click`: campaign counters.
//!
//! SQL for other services: `packs.effective_price_cfa(pack_id)`, `packs.quantity_left`,
//! `packs.is_available`, `packs.apply_campaign_boost(sponsor, points, context)`. See docs/packs.md.

use axum::{
    body::Bytes,
    extract::{FromRef, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use rest::input::{db, uuid as parse_id};
use rest::ApiError;

/// The service's name: its schema and its path prefix under `wolo serve`.
pub const NAME: &str = "packs";
/// The port the `wolo-packs` binary listens on when `WOLO_HTTP_ADDR` is unset.
pub const DEFAULT_PORT: u16 = 8086;

/// The packs service as `wolo serve`, `wolo serve packs` and `wolo-packs` run it.
pub const SERVICE: platform::Service = platform::Service {
    name: NAME,
    default_port: DEFAULT_PORT,
    router,
    jobs: spawn_jobs,
    settings: platform::no_settings,
};

/// What the service's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub jwt: auth::Jwt,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

/// Custom endpoints beside the tables (listed in the OpenAPI document).
pub const ENDPOINTS: &[rest::Endpoint] = &[
    rest::Endpoint {
        method: "POST",
        path: "/pots/{pot_id}/preferred-pack",
        summary: "The pot's owner picks its pack: {pack_id} (active and available)",
    },
    rest::Endpoint {
        method: "POST",
        path: "/campaigns/{id}/impression",
        summary: "Count an impression of an active sponsor campaign",
    },
    rest::Endpoint {
        method: "POST",
        path: "/campaigns/{id}/click",
        summary: "Count a click on an active sponsor campaign",
    },
];

/// The service's routes: probes, custom endpoints, and its schema's tables PostgREST-style.
pub fn router(ctx: platform::Context) -> Router {
    let api = rest::Api::new(
        NAME,
        ctx.config.database_url.expose(),
        ctx.db.clone(),
        ctx.jwt(),
        ENDPOINTS.to_vec(),
    );
    let state = AppState {
        db: ctx.db.clone(),
        jwt: ctx.jwt(),
    };
    Router::new()
        .merge(platform::health::router(NAME))
        .route("/pots/{pot_id}/preferred-pack", post(post_preferred_pack))
        .route("/campaigns/{id}/{kind}", post(post_campaign_event))
        .with_state(state)
        .merge(rest::router(api.clone()))
        // Ended sessions are refused on every route (rest::sessions, V104).
        .layer(rest::sessions::layer(&api))
}

/// Starts the service's background jobs and outbox consumers (`wolo serve` calls it once).
/// The packs service has none: availability is computed on read, campaign budgets are
/// spent by `packs.apply_campaign_boost`.
pub fn spawn_jobs(_ctx: &platform::Context) {}

#[derive(Deserialize)]
struct PreferredPack {
    pack_id: Option<String>,
}

/// `POST /pots/{pot_id}/preferred-pack` {pack_id}: the owner (or an admin) sets the pot's
/// pack. The pot is locked, the pack must be active and available; `pack_id: null` clears it.
/// Answers the pot id, the pack and its effective price.
async fn post_preferred_pack(
    State(state): State<AppState>,
    Path(pot_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let caller = rest::authenticate(&state.jwt, &headers)?;
    let user = rest::require_user(&caller)?;
    let pot_id = parse_id(&pot_id, "pot_id")?;
    let req: PreferredPack = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request("PGRST102", "Corps JSON invalide (invalid JSON body)")
            .details(e.to_string())
    })?;
    let pack_id = req
        .pack_id
        .as_deref()
        .map(|p| parse_id(p, "pack_id"))
        .transpose()?;
    let mut tx = state.db.begin().await.map_err(db)?;
    let owner: Option<Uuid> =
        sqlx::query_scalar("select owner_user_id from pots.pots where id = $1 for update")
            .bind(pot_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let Some(owner) = owner else {
        return Err(ApiError::not_found(
            "pot_not_found",
            "Cagnotte introuvable (pot not found)",
        ));
    };
    if owner != user && caller.role != auth::Role::Admin {
        return Err(ApiError::forbidden(
            "Seul le propriétaire de la cagnotte peut choisir son pack (not the pot's owner)",
        ));
    }
    let issued: bool =
        sqlx::query_scalar("select exists (select 1 from qr.qr_codes where pot_id = $1)")
            .bind(pot_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
    if issued {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "qr_already_issued",
            "Le QR code de cette cagnotte est déjà émis : le pack ne peut plus changer.",
        ));
    }
    let mut price: Option<i32> = None;
    let mut name: Option<String> = None;
    if let Some(pack_id) = pack_id {
        let row = sqlx::query(
            "select name, packs.is_available(id) as available, packs.effective_price_cfa(id) as price
             from packs.packs where id = $1",
        )
        .bind(pack_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row.filter(|r| r.get::<bool, _>("available")) else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "pack_unavailable",
                "Ce pack n'est pas disponible (inactive, hors dates ou épuisé).",
            ));
        };
        price = row.get("price");
        name = row.get("name");
    }
    sqlx::query("update pots.pots set preferred_pack_id = $2 where id = $1")
        .bind(pot_id)
        .bind(pack_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((
        StatusCode::OK,
        Json(
            json!({"pot_id": pot_id, "preferred_pack_id": pack_id, "pack_name": name,
                    "effective_price_cfa": price}),
        ),
    )
        .into_response())
}

/// `POST /campaigns/{id}/impression|click`: 204, or 404 when the campaign is not active.
async fn post_campaign_event(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "id")?;
    if kind != "impression" && kind != "click" {
        return Err(ApiError::not_found("not_found", "Not found"));
    }
    let ok: bool = sqlx::query_scalar("select packs.record_campaign_event($1, $2)")
        .bind(id)
        .bind(&kind)
        .fetch_one(&state.db)
        .await
        .map_err(db)?;
    if !ok {
        return Err(ApiError::not_found(
            "campaign_not_active",
            "Campagne introuvable ou inactive (campaign not active)",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// [`packs.apply_campaign_boost`](docs/packs.md) from Rust: `(points to credit, campaign)`.
pub async fn apply_campaign_boost(
    conn: &mut sqlx::PgConnection,
    sponsor_user_id: Uuid,
    points: i32,
    context: &serde_json::Value,
) -> Result<(i32, Option<Uuid>), sqlx::Error> {
    let row = sqlx::query("select points, campaign_id from packs.apply_campaign_boost($1, $2, $3)")
        .bind(sponsor_user_id)
        .bind(points)
        .bind(context)
        .fetch_one(conn)
        .await?;
    Ok((row.get("points"), row.get("campaign_id")))
}
